'use strict';
// What child_process.fork() validates and builds, for cluster.fork(): from cluster.settings and
// the worker's env, the spawn request the engine carries out. Errors are Node's, thrown in the
// order Node's fork() throws them. (Node keeps this in child_process: normalizeSpawnArguments,
// getValidStdio.)

const { fileURLToPath } = require('url');
const errors = require('./errors.js');

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const DEFAULT_MAX_MESSAGE_BYTES = 536870888;
const minPort = 1024;
const maxPort = 65535;

let debugPortOffset = 1;

// Remembered per execArgv array, as Node does (an array changed in place after a fork is not
// looked at again).
const usingInspector = new WeakMap();
function isUsingInspector(execArgv) {
  if (!usingInspector.has(execArgv)) {
    const re = /--inspect(?:-brk|-port)?|--debug-port/;
    usingInspector.set(execArgv, Array.prototype.some.call(execArgv, (a) => re.test(a)) ||
      re.test(process.env.NODE_OPTIONS || ''));
  }
  return usingInspector.get(execArgv);
}

function validatePort(port) {
  const n = typeof port === 'string' && port.trim() !== '' ? Number(port) : port;
  if ((typeof n !== 'number') || n !== (n | 0) || n < 0 || n > 0xFFFF) {
    throw errors.socketBadPort('Port', port, true);
  }
  return n;
}

function stdioStringToArray(stdio, channel) {
  const options = [];
  switch (stdio) {
    case 'ignore':
    case 'overlapped':
    case 'pipe': options.push(stdio, stdio, stdio); break;
    case 'inherit': options.push(0, 1, 2); break;
    default: throw errors.invalidArgValue('stdio', stdio);
  }
  if (channel) options.push(channel);
  return options;
}

// The stdio layout child_process.fork() would build: string forms get 'ipc' appended.
function normalizeStdio(settings) {
  let stdio = settings.stdio;
  if (typeof stdio === 'string') stdio = stdioStringToArray(stdio, 'ipc');
  else if (!Array.isArray(stdio)) stdio = stdioStringToArray(settings.silent ? 'pipe' : 'inherit', 'ipc');
  else if (!stdio.includes('ipc')) throw errors.ipcRequired('options.stdio');
  // At least three entries, as Node pads them (in the settings' own array, as Node does).
  while (stdio.length < 3) stdio.push(undefined);
  const out = [];
  let ipcCount = 0;
  for (let i = 0; i < stdio.length; i++) {
    let s = stdio[i];
    if (s == null) s = i < 3 ? 'pipe' : 'ignore';
    if (s === 'ipc') { ipcCount++; out.push('ipc'); continue; }
    if (s === 'pipe' || s === 'overlapped' || (typeof s === 'number' && s < 0)) { out.push('pipe'); continue; }
    if (s === 'ignore') { out.push('ignore'); continue; }
    if (s === 'inherit') { out.push(i); continue; }
    if (typeof s === 'number') { out.push(s); continue; }
    if (s && typeof s === 'object' && typeof s.fd === 'number') { out.push(s.fd); continue; }
    if (s && typeof s === 'object' && s._handle && typeof s._handle.fd === 'number') { out.push(s._handle.fd); continue; }
    if (typeof s === 'string' || ArrayBuffer.isView(s)) throw errors.invalidSyncForkInput(s);
    throw errors.invalidArgValue('stdio', s);
  }
  if (ipcCount > 1) throw errors.ipcOnePipe();
  return out;
}

const PATH_WITHOUT_NUL = 'must be a string, Uint8Array, or URL without null bytes';

function noNul(value, name) {
  if (typeof value === 'string' && value.includes('\u0000')) {
    throw errors.invalidArgValue(name, value, 'must be a string without null bytes');
  }
}

function validateId(name, v) {
  if (v == null) return undefined;
  if (NODE_MAJOR >= 25) {
    // Node 25 on: validateInt32's three errors.
    if (typeof v !== 'number') throw errors.invalidArgType(`options.${name}`, 'number', v);
    if (!Number.isInteger(v)) throw errors.outOfRange(`options.${name}`, 'an integer', v);
    if (v !== (v | 0)) throw errors.outOfRange(`options.${name}`, '>= -2147483648 && <= 2147483647', v);
    return v;
  }
  // Before: Node's int32 test, which also throws as Node's does for a BigInt.
  if (v !== (v | 0)) {
    throw errors.invalidArgType(`options.${name}`, 'int32', v);
  }
  return v;
}

// The spawn request for worker `id`: { file, argv, envPairs, cwd, uid, gid, stdio,
// serialization, maxMessageBytes }. `cluster` is passed for its `settings`, read as Node reads
// them (the expression `cluster.settings.execArgv` is named in V8's "is not iterable" error).
function spawnRequest(cluster, id, env) {
  const settings = cluster.settings;
  const workerEnv = { ...process.env, ...env, NODE_UNIQUE_ID: `${id}` };
  // Spelled as in Node: V8 names this expression in its "... is not iterable" error.
  const execArgv = [...cluster.settings.execArgv];
  if (settings.inspectPort === null) throw errors.socketBadPort('Port', null, true);
  if (isUsingInspector(settings.execArgv)) {
    // A function gives the port; a port left out (undefined) is the next one after the primary's.
    let inspectPort = settings.inspectPort;
    if (typeof inspectPort === 'function') {
      inspectPort = inspectPort();
    } else if (inspectPort == null) {
      inspectPort = process.debugPort + debugPortOffset;
      if (inspectPort > maxPort) inspectPort = inspectPort - maxPort + minPort - 1;
      debugPortOffset++;
    }
    validatePort(inspectPort);
    execArgv.push(`--inspect-port=${inspectPort}`);
  }

  // What child_process.fork() validates and builds.
  let modulePath = settings.exec;
  if (modulePath instanceof URL) modulePath = fileURLToPath(modulePath);
  else if (Buffer.isBuffer(modulePath)) modulePath = modulePath.toString();
  if (typeof modulePath !== 'string') throw errors.invalidArgType('modulePath', ['string', 'Buffer', 'URL'], modulePath);
  if (modulePath.includes('\u0000')) throw errors.invalidArgValue('modulePath', modulePath, PATH_WITHOUT_NUL);
  const args = settings.args == null ? [] : settings.args;
  if (!Array.isArray(args)) throw errors.invalidArgType('args', 'Array', args);
  let cwd = settings.cwd;
  if (cwd instanceof URL) cwd = fileURLToPath(cwd);
  else if (Buffer.isBuffer(cwd)) cwd = cwd.toString();
  if (cwd != null && typeof cwd !== 'string') {
    throw errors.invalidArgType('options.cwd', ['string', 'Buffer', 'URL'], settings.cwd);
  }
  if (cwd != null && cwd.includes('\u0000')) throw errors.invalidArgValue('options.cwd', cwd, PATH_WITHOUT_NUL);
  const uid = validateId('uid', settings.uid);
  const gid = validateId('gid', settings.gid);
  if (settings.windowsHide != null && typeof settings.windowsHide !== 'boolean') {
    throw errors.invalidArgType('options.windowsHide', 'boolean', settings.windowsHide);
  }
  const serialization = settings.serialization === undefined ? 'json' : settings.serialization;
  if (serialization !== 'json' && serialization !== 'advanced') {
    throw errors.invalidArgValue('options.serialization', serialization, "must be one of: undefined, 'json', 'advanced'");
  }
  const stdio = normalizeStdio(settings);
  // rust-cluster's own setting: the largest message accepted from a worker before it is
  // disconnected as hostile (default: the most a Node worker can send, V8's string limit).
  let maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
  if (settings.maxMessageBytes !== undefined) {
    maxMessageBytes = settings.maxMessageBytes;
    if (typeof maxMessageBytes !== 'number') {
      throw errors.invalidArgType('options.maxMessageBytes', 'number', maxMessageBytes);
    }
    if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 1) {
      throw errors.outOfRange('options.maxMessageBytes', 'a positive integer', maxMessageBytes);
    }
  }
  const ipcIndex = stdio.indexOf('ipc');
  const file = process.execPath;
  // Node's names in its null-byte errors: the execArgv given, then the arguments after the
  // executable.
  Array.prototype.forEach.call(settings.execArgv, (a, i) => noNul(a, `options.execArgv[${i}]`));
  const argv = [file, ...execArgv, modulePath, ...args].map((a) => `${a}`);
  for (let i = 1; i < argv.length; i++) noNul(argv[i], `args[${i - 1}]`);
  const envPairs = [];
  for (const key of Object.keys(workerEnv)) {
    const value = workerEnv[key];
    if (value !== undefined) {
      noNul(key, `options.env['${key}']`);
      noNul(value, `options.env['${key}']`);
      envPairs.push(`${key}=${value}`);
    }
  }
  envPairs.push(`NODE_CHANNEL_FD=${ipcIndex}`);
  envPairs.push(`NODE_CHANNEL_SERIALIZATION_MODE=${serialization}`);

  return {
    file,
    argv,
    envPairs,
    cwd: cwd == null || cwd === '' ? undefined : cwd, // an empty cwd is the primary's, as in Node
    uid,
    gid,
    stdio,
    serialization,
    maxMessageBytes,
  };
}

module.exports = { spawnRequest, normalizeStdio, validatePort };
