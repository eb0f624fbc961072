'use strict';
// The primary's `cluster` object. The engine (Rust) spawns workers, owns their channels, speaks
// the protocol and shares servers; this file validates arguments, keeps the EventEmitters and
// emits what the engine reports, in the order Node's primary would.

const EventEmitter = require('events');
const fs = require('fs');
const path = require('path');
const { fileURLToPath } = require('url');
const diagnosticsChannel = require('diagnostics_channel');
const net = require('net');
const dgram = require('dgram');
const errors = require('./errors.js');
const { Worker } = require('./worker.js');
const { WorkerProcess } = require('./process.js');
const { decodeAdvanced } = require('./serialization.js');
const { getSocketList } = require('./socket-list.js');
// Loads the engine now: a primary may drop its privileges before its first fork().
const native = require('./native.js');

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const SCHED_NONE = 1;
const SCHED_RR = 2;
const DEFAULT_MAX_MESSAGE_BYTES = 536870888;
const minPort = 1024;
const maxPort = 65535;

const cluster = new EventEmitter();
const intercom = new EventEmitter();
const live = new Map(); // id -> Worker, until both 'disconnect' and 'exit' happened

let ids = 0;
let initialized = false;
let debugPortOffset = 1;
let engine = null;
let frozenPolicy;

cluster.isWorker = false;
cluster.isMaster = true;
cluster.isPrimary = true;
cluster.Worker = Worker;
cluster.workers = {};
cluster.settings = {};
cluster.SCHED_NONE = SCHED_NONE;
cluster.SCHED_RR = SCHED_RR;

{
  const fromEnv = { __proto__: null, none: SCHED_NONE, rr: SCHED_RR }[process.env.NODE_CLUSTER_SCHED_POLICY];
  cluster.schedulingPolicy = fromEnv === undefined ? SCHED_RR : fromEnv;
}

function getEngine() {
  if (engine === null) {
    const { Engine } = native.load();
    engine = new Engine(onEngineEvents);
    // libuv 1.47 and later (Node 22 on) set a unix socket's readableAll/writableAll mode
    // exactly instead of adding to it; follow the Node this primary runs on.
    const [major, minor] = process.versions.uv.split('.').map(Number);
    engine.setExactPipeMode(major > 1 || (major === 1 && minor >= 47));
    // A message sent while a batch is dispatched waits for the batch's end (see pump); one sent
    // just before the process exits must not be lost.
    process.on('exit', () => engine.flush());
  }
  return engine;
}

cluster.setupPrimary = function setupPrimary(options) {
  const settings = {
    args: process.argv.slice(2),
    exec: process.argv[1],
    execArgv: process.execArgv,
    silent: false,
    ...cluster.settings,
    ...options,
  };
  // Separate V8 profile files per worker when profiling.
  // Written as Node's primordials behave, so an execArgv that is not an array fails (or not) as
  // it does in Node.
  const some = (list, prefix) => Array.prototype.some.call(list, (s) => String.prototype.startsWith.call(s, prefix));
  if (some(settings.execArgv, '--prof') && !some(settings.execArgv, '--logfile=')) {
    settings.execArgv = [...settings.execArgv, '--logfile=v8-%p.log'];
  }
  cluster.settings = settings;
  if (initialized === true) {
    process.nextTick(() => cluster.emit('setup', settings));
    return;
  }
  initialized = true;
  frozenPolicy = cluster.schedulingPolicy; // frozen from here on, as in Node
  // Anything but round-robin shares handles, also a bad policy whose error a program caught.
  getEngine().setPolicy(frozenPolicy === SCHED_RR ? SCHED_RR : SCHED_NONE);
  if (frozenPolicy !== SCHED_NONE && frozenPolicy !== SCHED_RR) {
    throw errors.internalAssertion(`Bad cluster.schedulingPolicy: ${frozenPolicy}`);
  }
  process.nextTick(() => cluster.emit('setup', settings));
};

cluster.setupMaster = cluster.setupPrimary;

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

function createWorkerProcess(id, env) {
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

  const proc = new WorkerProcess(getEngine(), id, file, argv, serialization);
  // Node publishes the new ChildProcess before it is spawned (its pid still undefined).
  publishSpawn(proc);
  getEngine().setMaxFrame(maxMessageBytes);
  const info = getEngine().spawn({
    id,
    file,
    args: argv,
    env: envPairs,
    cwd: cwd == null || cwd === '' ? undefined : cwd, // an empty cwd is the primary's, as in Node
    uid,
    gid,
    stdio,
    serialization,
    deathSignal: 9,
  });
  if (info.errno != null) {
    const err = errors.errnoException(info.errno, `spawn ${file}`);
    err.path = file;
    err.spawnargs = argv.slice(1);
    const code = err.code;
    if (code === 'EACCES' || code === 'EAGAIN' || code === 'EMFILE' || code === 'ENFILE' || code === 'ENOENT') {
      proc._failSpawn(err);
      return proc;
    }
    throw errors.errnoException(info.errno, 'spawn');
  }
  proc._attach(info.pid, info.stdio, stdio.map((s) => (s === 'pipe' ? 'pipe' : 'other')));
  process.nextTick(() => proc.emit('spawn'));
  return proc;
}

let spawnChannel;
function publishSpawn(proc) {
  if (spawnChannel === undefined) spawnChannel = diagnosticsChannel.channel('child_process');
  if (spawnChannel.hasSubscribers) spawnChannel.publish({ process: proc });
}

function removeWorker(worker) {
  delete cluster.workers[worker.id];
  if (Object.keys(cluster.workers).length === 0) intercom.emit('disconnect');
}

function updateRef() {
  let alive = false;
  for (const w of live.values()) {
    if (w.process._keepsAlive()) { alive = true; break; }
  }
  if (engine !== null) engine.setRef(alive);
}

cluster.fork = function fork(env) {
  cluster.setupPrimary();
  const id = ++ids;
  const workerProcess = createWorkerProcess(id, env);
  const worker = new Worker({ id, process: workerProcess });

  worker.on('message', function (message, handle) {
    cluster.emit('message', this, message, handle);
  });

  worker.process.once('exit', (exitCode, signalCode) => {
    // With the channel already gone this is the last event: forget the worker.
    if (!worker.isConnected()) removeWorker(worker);
    worker.exitedAfterDisconnect = !!worker.exitedAfterDisconnect;
    worker.state = 'dead';
    worker.emit('exit', exitCode, signalCode);
    cluster.emit('exit', worker, exitCode, signalCode);
  });

  worker.process.once('disconnect', () => {
    if (worker.isDead()) removeWorker(worker);
    worker.exitedAfterDisconnect = !!worker.exitedAfterDisconnect;
    worker.state = 'disconnected';
    worker.emit('disconnect');
    cluster.emit('disconnect', worker);
  });

  if (workerProcess.pid !== undefined) {
    live.set(id, worker);
    workerProcess._watchRefs(updateRef);
    updateRef();
  }
  process.nextTick(() => cluster.emit('fork', worker));
  cluster.workers[worker.id] = worker;
  return worker;
};

cluster.disconnect = function disconnect(cb) {
  const workers = Object.keys(cluster.workers);
  if (workers.length === 0) {
    process.nextTick(() => intercom.emit('disconnect'));
  } else {
    for (const worker of Object.values(cluster.workers)) {
      if (worker.isConnected()) worker.disconnect();
    }
  }
  if (typeof cb === 'function') intercom.once('disconnect', cb);
};

Worker.prototype.disconnect = function disconnect() {
  this.exitedAfterDisconnect = true;
  // `this.process.connected` first: a Worker made without a process throws here, as in Node.
  if (this.process.connected && engine !== null) {
    const id = this.id;
    this.process._inOrder(() => engine.disconnect(id));
  }
  removeWorker(this);
  return this;
};

Worker.prototype.destroy = function destroy(signo) {
  const signal = signo || 'SIGTERM';
  this.process.kill(signal);
};

// --- engine events -------------------------------------------------------------------------

// The object a received descriptor becomes, by envelope type (Node's handle conversion,
// receiving side). Servers and dgram sockets are delivered once they are listening or bound.
// `raw`: the descriptor's raw handle when one was made already (see fromRawHandle).
function toHandle(ev, proc, deliver, raw) {
  if (ev.envelope !== undefined) {
    fromRawHandle(ev, proc, deliver);
    return;
  }
  switch (ev.handleType) {
    case 'net.Socket': {
      const from = raw ? { handle: raw } : { fd: ev.fd };
      const socket = new net.Socket({ ...from, readable: true, writable: true });
      // A socket from one of the worker's servers: the worker's server counts it through us.
      if (ev.key !== undefined) getSocketList('got', proc, ev.key).add({ socket });
      deliver(socket);
      return;
    }
    case 'net.Native':
      deliver(raw || rawHandle(ev.fd));
      return;
    case 'net.Server': {
      const server = new net.Server();
      server.listen({ fd: ev.fd }, () => deliver(server));
      return;
    }
    case 'dgram.Socket':
    case 'dgram.Native': {
      const socket = dgram.createSocket(ev.dgramType || 'udp4');
      socket.bind({ fd: ev.fd }, () => deliver(socket));
      return;
    }
    default:
      fs.closeSync(ev.fd);
      deliver(undefined);
  }
}

// While 'internalMessage' is listened to, a handle's envelope is emitted there first, with the
// raw handle as in Node. A socket is then made from that raw handle; a server's raw handle is the
// one it listens on, so the envelope follows the listen (a unix-socket server would otherwise
// end up with two handles on one descriptor, as it does in Node). A raw UDP handle cannot be
// made outside Node's internals: a dgram socket's envelope comes without one.
function fromRawHandle(ev, proc, deliver) {
  const envelope = JSON.parse(ev.envelope);
  const plain = { ...ev, envelope: undefined };
  if (ev.handleType === 'net.Socket' || ev.handleType === 'net.Native') {
    const raw = rawHandle(ev.fd);
    try {
      proc.emit('internalMessage', envelope, raw);
    } finally {
      // Also when a listener threw: what the worker sent after the handle waits for it.
      toHandle(plain, proc, deliver, raw);
    }
    return;
  }
  toHandle(plain, proc, (handle) => {
    try {
      proc.emit('internalMessage', envelope, handle instanceof net.Server ? handle._handle : undefined);
    } finally {
      deliver(handle);
    }
  });
}

// The raw TCP/Pipe handle of a descriptor, taken from a socket wrapped around it.
function rawHandle(fd) {
  const carrier = new net.Socket({ fd, readable: false, writable: false });
  const raw = carrier._handle;
  carrier._handle = null;
  return raw;
}

const malformed = Symbol('malformed');

// A user message's value; a payload JS cannot decode disconnects the worker with an 'error'.
function decodeMessage(worker, ev) {
  try {
    return ev.text !== undefined ? JSON.parse(ev.text) : decodeAdvanced(ev.data);
  } catch (e) {
    const err = errors.malformedMessage(
      `Malformed IPC message from worker ${worker.id}: ${e.message}; the worker was disconnected`);
    engine.close(worker.id);
    worker.process.emit('error', err);
    return malformed;
  }
}

// Engine events wait here in order. Node learns of a channel's end and of a process exit in
// different loop turns, and everything the 'disconnect' listeners queue (next ticks, promises)
// runs before 'exit'; one engine batch can hold both, so after a 'disconnect' the rest waits for
// the next loop turn, and batches drained meanwhile queue behind it.
const pendingEvents = [];
let pumpPaused = false;

// `events`: (kind, worker id, value) triples from the engine, oldest first. Kind 0: a run of
// messages from one worker as JSON texts, one per line (json mode, and advanced-mode messages of
// plain data, which the engine rewrites as JSON); kind 1: a run of advanced messages,
// frames (a 4-byte big-endian length, then V8 bytes) back to back; kind 2: any other event, an
// object with its `type`.
function onEngineEvents(events) {
  for (let i = 0; i < events.length; i += 3) {
    const kind = events[i];
    const id = events[i + 1];
    const value = events[i + 2];
    if (kind === 2) {
      pendingEvents.push(value);
    } else if (kind === 0) {
      const lines = value.split('\n');
      for (let j = 0; j < lines.length; j++) pendingEvents.push({ type: 'message', id, text: lines[j] });
    } else {
      for (let off = 0; off + 4 <= value.length;) {
        const end = off + 4 + value.readUInt32BE(off);
        pendingEvents.push({ type: 'message', id, data: value.subarray(off, end) });
        off = end;
      }
    }
  }
  if (!pumpPaused) pump();
}

// While a batch of events is dispatched, the engine corks user messages: what the batch's
// listeners send leaves in one write per worker when it ends. (pump is only ever called from
// the event loop, never from inside a listener, so cork and uncork pair up.)
function pump() {
  pumpPaused = false;
  engine.cork();
  let i = 0;
  try {
    while (i < pendingEvents.length) {
      const ev = pendingEvents[i++];
      dispatch(ev);
      if (ev.type === 'disconnect' && i < pendingEvents.length) {
        pumpPaused = true;
        setImmediate(pump);
        break;
      }
    }
  } finally {
    // Also when a listener threw: what was dispatched is never dispatched again, and the rest
    // is still delivered, on the next tick.
    pendingEvents.splice(0, i);
    engine.uncork();
    if (!pumpPaused && pendingEvents.length > 0) {
      pumpPaused = true;
      process.nextTick(pump);
    }
  }
}

// Events of a worker that arrive while a received handle is still being converted wait for it:
// in Node nothing the worker sent after a handle can be read before the handle was answered.
const held = new Map(); // worker id -> events waiting

// Events that come from reading a worker's channel (the others: its end, its exit, and the
// completion of our own sends).
const readFromChannel = new Set(['message', 'internal', 'handleAnswered', 'online', 'listening', 'exitedAfterDisconnect', 'error']);

function dispatch(ev) {
  const queue = held.get(ev.id);
  if (queue !== undefined) {
    queue.push(ev);
    return;
  }
  const worker = live.get(ev.id);
  if (worker === undefined) {
    if (ev.fd !== undefined) fs.closeSync(ev.fd);
    return;
  }
  const proc = worker.process;
  if (proc._closedByUs() && readFromChannel.has(ev.type)) {
    // Our end is closed: as in Node, what the worker wrote is no longer read.
    if (ev.fd !== undefined) fs.closeSync(ev.fd);
    return;
  }
  switch (ev.type) {
    case 'message': {
      const value = decodeMessage(worker, ev);
      if (value === malformed) return;
      if (ev.fd === undefined) {
        proc.emit('message', value, undefined);
        return;
      }
      const waiting = [];
      held.set(ev.id, waiting);
      let sync = true;
      toHandle(ev, proc, (handle) => {
        const release = () => {
          held.delete(ev.id);
          proc.emit('message', value, handle);
          for (const later of waiting) dispatch(later);
        };
        if (sync) process.nextTick(release);
        else release();
      });
      sync = false;
      return;
    }
    case 'internal':
      proc.emit('internalMessage', JSON.parse(ev.message));
      return;
    case 'handleAnswered':
      proc._onHandleAnswered(ev.nack);
      return;
    case 'online':
      worker.state = 'online';
      worker.emit('online');
      cluster.emit('online', worker);
      return;
    case 'listening': {
      const m = JSON.parse(ev.message);
      const info = { addressType: m.addressType, address: m.address, port: m.port, fd: m.fd };
      worker.state = 'listening';
      worker.emit('listening', info);
      cluster.emit('listening', worker, info);
      return;
    }
    case 'exitedAfterDisconnect':
      worker.exitedAfterDisconnect = true;
      return;
    case 'disconnect':
      proc._onChannelClosed();
      maybeForget(worker);
      updateRef();
      return;
    case 'exit':
      proc._onExit(ev.code, ev.signal);
      maybeForget(worker);
      updateRef();
      return;
    case 'error': {
      const err = errors.malformedMessage(ev.message);
      err.code = ev.code;
      proc.emit('error', err);
      return;
    }
    case 'sendDone':
      proc._onSendDone(ev.token, ev.error);
      return;
    default:
  }
}

function maybeForget(worker) {
  if (worker.isDead() && !worker.process._channelOpen()) live.delete(worker.id);
}

module.exports = cluster;
