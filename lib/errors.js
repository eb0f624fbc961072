'use strict';
// Node-style errors: the same classes, `code`s and message shapes Node's cluster and
// child_process use, so code that checks `err.code` or `err instanceof TypeError` keeps working.

const util = require('util');

function makeNodeError(Base, code, message) {
  const err = new Base(message);
  Object.defineProperty(err, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  // Node prints "TypeError [ERR_X]: message" in stacks and toString().
  const name = Base.name;
  Object.defineProperty(err, 'toString', {
    value() { return `${name} [${code}]: ${this.message}`; },
    enumerable: false, writable: true, configurable: true,
  });
  if (typeof err.stack === 'string') {
    err.stack = err.stack.replace(`${name}: `, `${name} [${code}]: `);
  }
  return err;
}

function describeReceived(value) {
  if (value == null) return ` Received ${value}`;
  if (typeof value === 'function') return ` Received function ${value.name}`;
  if (typeof value === 'object') {
    if (value.constructor && value.constructor.name) {
      return ` Received an instance of ${value.constructor.name}`;
    }
    return ` Received ${util.inspect(value, { depth: -1 })}`;
  }
  let inspected = util.inspect(value, { colors: false });
  if (inspected.length > 28) inspected = `${inspected.slice(0, 25)}...`;
  return ` Received type ${typeof value} (${inspected})`;
}

function formatList(list, last = 'or') {
  if (list.length <= 2) return list.join(` ${last} `);
  return `${list.slice(0, -1).join(', ')}, ${last} ${list[list.length - 1]}`;
}

function invalidArgType(name, expected, actual) {
  const types = Array.isArray(expected) ? expected : [expected];
  const kind = name.includes('.') ? 'property' : 'argument';
  const msg = `The "${name}" ${kind} must be ${types.length > 1 ? 'one of type' : 'of type'} ` +
    `${formatList(types)}.${describeReceived(actual)}`;
  return makeNodeError(TypeError, 'ERR_INVALID_ARG_TYPE', msg);
}

function invalidArgValue(name, value, reason = 'is invalid') {
  const kind = name.includes('.') ? 'property' : 'argument';
  return makeNodeError(TypeError, 'ERR_INVALID_ARG_VALUE',
    `The ${kind} '${name}' ${reason}. Received ${util.inspect(value)}`);
}

function outOfRange(name, range, value) {
  return makeNodeError(RangeError, 'ERR_OUT_OF_RANGE',
    `The value of "${name}" is out of range. It must be ${range}. Received ${util.inspect(value)}`);
}

const errors = {
  makeNodeError,
  invalidArgType,
  invalidArgValue,
  outOfRange,
  missingArgs: (name) => makeNodeError(TypeError, 'ERR_MISSING_ARGS', `The "${name}" argument must be specified`),
  ipcChannelClosed: () => makeNodeError(Error, 'ERR_IPC_CHANNEL_CLOSED', 'Channel closed'),
  ipcDisconnected: () => makeNodeError(Error, 'ERR_IPC_DISCONNECTED', 'IPC channel is already disconnected'),
  ipcRequired: (name) => makeNodeError(Error, 'ERR_CHILD_PROCESS_IPC_REQUIRED',
    `Forked processes must have an IPC channel, missing value 'ipc' in ${name}`),
  ipcOnePipe: () => makeNodeError(Error, 'ERR_IPC_ONE_PIPE', 'Child process can have only one IPC pipe'),
  invalidHandleType: () => makeNodeError(TypeError, 'ERR_INVALID_HANDLE_TYPE', 'This handle type cannot be sent'),
  socketBadPort: (name, port, allowZero = true) => makeNodeError(RangeError, 'ERR_SOCKET_BAD_PORT',
    `${name} should be >= 0 and < 65536. Received ${util.inspect(port)}.`.replace('>= 0', allowZero ? '>= 0' : '> 0')),
  malformedMessage: (message) => makeNodeError(Error, 'ERR_IPC_MALFORMED_MESSAGE', message),
  /** An errno failure shaped like Node's ErrnoException (`errno` negative, `code`, `syscall`). */
  errnoException(errno, syscall, extra) {
    const positive = Math.abs(errno);
    const code = errnoName(positive);
    const err = new Error(`${syscall} ${code}${extra ? ` ${extra}` : ''}`);
    err.errno = -positive;
    err.code = code;
    err.syscall = syscall;
    return err;
  },
};

let errnoNames;
function errnoName(positive) {
  if (!errnoNames) {
    errnoNames = new Map();
    const { errno } = require('os').constants;
    for (const [name, value] of Object.entries(errno)) errnoNames.set(value, name);
  }
  return errnoNames.get(positive) || `E${positive}`;
}
errors.errnoName = errnoName;

module.exports = errors;
