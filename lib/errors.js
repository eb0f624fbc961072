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

// How Node's errors describe a received value ("type number (7)", "an instance of Foo", ...).
function specificType(value) {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'bigint': return `type bigint (${value}n)`;
    case 'number':
      if (Object.is(value, -0)) return 'type number (-0)';
      return `type number (${value})`;
    case 'boolean': return `type boolean (${value})`;
    case 'symbol': return `type symbol (${String(value)})`;
    case 'function': return `function ${value.name}`;
    case 'object':
      if (value.constructor && 'name' in value.constructor) return `an instance of ${value.constructor.name}`;
      return util.inspect(value, { depth: -1 });
    case 'string': {
      const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value;
      return shown.includes("'") ? `type string (${JSON.stringify(shown)})` : `type string ('${shown}')`;
    }
    default: {
      let shown = util.inspect(value, { colors: false });
      if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
      return `type ${typeof value} (${shown})`;
    }
  }
}

function describeReceived(value) {
  return ` Received ${specificType(value)}`;
}

const PRIMITIVE_TYPES = new Set(['string', 'function', 'number', 'object', 'Function', 'Object', 'boolean', 'bigint', 'symbol']);

function joinOr(list) {
  if (list.length > 2) return `${list.slice(0, -1).join(', ')}, or ${list[list.length - 1]}`;
  return list.join(' or ');
}

// Node's wording: primitive types first ("of type x", "one of type x or y"), then classes
// ("an instance of X"); 'object' joins the classes as 'Object' when classes are listed.
function invalidArgType(name, expected, actual) {
  const list = Array.isArray(expected) ? expected : [expected];
  const types = [];
  const instances = [];
  const other = [];
  for (const e of list) {
    if (PRIMITIVE_TYPES.has(e)) types.push(e.toLowerCase());
    else if (/^[A-Z][a-zA-Z0-9]*$/.test(e)) instances.push(e);
    else other.push(e);
  }
  if (instances.length > 0 && types.includes('object')) {
    types.splice(types.indexOf('object'), 1);
    instances.push('Object');
  }
  const kind = name.endsWith(' argument') ? '' : (name.includes('.') ? ' property' : ' argument');
  let msg = `The "${name}"${kind} must be `;
  if (types.length > 0) {
    msg += types.length === 1 ? `of type ${types[0]}` : `one of type ${joinOr(types)}`;
    if (instances.length > 0 || other.length > 0) msg += ' or ';
  }
  if (instances.length > 0) {
    msg += `an instance of ${joinOr(instances)}`;
    if (other.length > 0) msg += ' or ';
  }
  if (other.length > 0) msg += other.length > 1 ? `one of ${joinOr(other)}` : other[0];
  return makeNodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `${msg}.${describeReceived(actual)}`);
}

function invalidArgValue(name, value, reason = 'is invalid') {
  const kind = name.includes('.') ? 'property' : 'argument';
  return makeNodeError(TypeError, 'ERR_INVALID_ARG_VALUE',
    `The ${kind} '${name}' ${reason}. Received ${util.inspect(value)}`);
}

function outOfRange(name, range, value) {
  // As Node's: an integer beyond 2 ** 32 is written with numeric separators (1_099_511_627_776).
  const big = Number.isInteger(value) && Math.abs(value) > 2 ** 32;
  const received = util.inspect(value, { numericSeparator: big });
  return makeNodeError(RangeError, 'ERR_OUT_OF_RANGE',
    `The value of "${name}" is out of range. It must be ${range}. Received ${received}`);
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
  unknownSignal: (signal) => makeNodeError(TypeError, 'ERR_UNKNOWN_SIGNAL', util.format('Unknown signal: %s', signal)),
  invalidSyncForkInput: (value) => makeNodeError(TypeError, 'ERR_INVALID_SYNC_FORK_INPUT',
    `Asynchronous forks do not support Buffer, TypedArray, DataView or string input: ${util.inspect(value)}`),
  /** Node's internal assert(): the message and Node's note that this is a bug or a misuse. */
  internalAssertion: (message) => makeNodeError(Error, 'ERR_INTERNAL_ASSERTION', `${message}\n` +
    'This is caused by either a bug in Node.js or incorrect usage of Node.js internals.\n' +
    'Please open an issue with this stack trace at https://github.com/nodejs/node/issues\n'),
  invalidHandleType: () => makeNodeError(TypeError, 'ERR_INVALID_HANDLE_TYPE', 'This handle type cannot be sent'),
  socketBadPort: (name, port, allowZero = true) => makeNodeError(RangeError, 'ERR_SOCKET_BAD_PORT',
    `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${specificType(port)}.`),
  /** What a worker sent is not the protocol; the worker was disconnected for it. */
  malformedMessage: (id, reason) => makeNodeError(Error, 'ERR_IPC_MALFORMED_MESSAGE',
    `Malformed IPC message from worker ${id}: ${reason}; the worker was disconnected`),
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
