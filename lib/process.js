'use strict';
// `worker.process`: what user code sees of a ChildProcess, backed by the engine. The prototype
// chain reaches child_process.ChildProcess.prototype so `instanceof ChildProcess` holds; the
// ChildProcess constructor itself is never run (nothing here spawns through child_process).

const EventEmitter = require('events');
const util = require('util');
const os = require('os');
const net = require('net');
const { ChildProcess } = require('child_process');
const errors = require('./errors.js');
const channel = require('./channel.js');
const { kState, createState } = require('./process-state.js');

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);


// Node's ChildProcess keeps its native process in `_handle`, an object of class Process.
class Process {
  constructor(pid) {
    this.pid = pid;
  }
}

// The own properties are Node's, in Node's order (Object.keys, for...in and util.inspect show the
// same); the engine's state is kept under a symbol, out of sight.
function WorkerProcess(engine, id, spawnfile, spawnargs, serialization) {
  EventEmitter.call(this);
  Object.defineProperty(this, kState, { value: createState(engine, id, serialization) });
  this._closesNeeded = 1;
  this._closesGot = 0;
  this.connected = false;
  this.signalCode = null;
  this.exitCode = null;
  this.killed = false;
  this.spawnfile = spawnfile;
  this._handle = null;
  this.spawnargs = spawnargs;
  this.pid = undefined;
  this.stdin = null;
  this.stdout = null;
  this.stderr = null;
  this.stdio = [];
  this.channel = null;
  // The deprecated alias (DEP0129), removed in Node 25.
  if (NODE_MAJOR < 25) {
    Object.defineProperty(this, '_channel', {
      configurable: true,
      enumerable: false,
      get: deprecatedChannelGet,
      set: deprecatedChannelSet,
    });
  }
  this._handleQueue = null;
  this._pendingMessage = null;
  this.send = procSend;
  this._send = procInternalSend;
  this.disconnect = procDisconnect;
  this._disconnect = procCloseChannel;
}

const DEP0129 = ['_channel is deprecated. Use ChildProcess.channel instead.', 'DEP0129'];
const deprecatedChannelGet = util.deprecate(function () { return this.channel; }, ...DEP0129);
const deprecatedChannelSet = util.deprecate(function (value) { this.channel = value; }, ...DEP0129);

Object.setPrototypeOf(WorkerProcess.prototype, ChildProcess.prototype);
Object.setPrototypeOf(WorkerProcess, ChildProcess);
// As in Node, `worker.process.constructor` is ChildProcess (util.inspect names it so too).
Object.defineProperty(WorkerProcess.prototype, 'constructor', {
  configurable: true, writable: true, enumerable: false, value: ChildProcess,
});

// Methods of rust-cluster's own (called by lib/primary.js) are not enumerable, so for...in over a
// worker.process lists what it lists in Node.
function defineHidden(fn) {
  Object.defineProperty(WorkerProcess.prototype, fn.name, { configurable: true, writable: true, value: fn });
}

// Node's ChildProcess has send, _send, disconnect and _disconnect as own properties holding
// anonymous functions.
function anonymous(fn) {
  Object.defineProperty(fn, 'name', { value: '' });
  return fn;
}

// Internal messages reach JS only while something listens for them: the engine is told when the
// first 'internalMessage' listener arrives and when the last one leaves. The listener methods are
// wrapped rather than watched through 'newListener', which would show in eventNames() and be
// lost to removeAllListeners(). They are enumerable, as EventEmitter's own are.
function syncInternalWatch(proc) {
  const state = proc[kState];
  const on = proc.listenerCount('internalMessage') > 0;
  if (on === state.watchingInternal) return;
  state.watchingInternal = on;
  state.engine.watchInternal(state.id, on);
}
for (const name of ['addListener', 'on', 'prependListener', 'removeListener', 'off', 'removeAllListeners']) {
  const base = EventEmitter.prototype[name];
  Object.defineProperty(WorkerProcess.prototype, name, {
    configurable: true,
    writable: true,
    enumerable: true,
    value: { [name](type) {
      // apply, not call: removeAllListeners() tells "all" from "undefined" by arguments.length.
      const result = Reflect.apply(base, this, arguments);
      if (type === 'internalMessage' || (type === undefined && name === 'removeAllListeners')) syncInternalWatch(this);
      return result;
    } }[name],
  });
}

function maybeClose(proc) {
  proc._closesGot++;
  if (proc._closesGot === proc._closesNeeded) {
    proc.emit('close', proc.exitCode, proc.signalCode);
  }
}

// Called once the engine spawned the process: wire stdio streams and the channel.
defineHidden(function _attach(pid, stdioFds, stdioSpec) {
  this.pid = pid;
  this._handle = new Process(pid);
  this.connected = true;
  this._closesNeeded++; // the channel
  openChannel(this);
  const streams = [];
  for (let i = 0; i < stdioSpec.length; i++) {
    const fd = stdioFds[i];
    if (stdioSpec[i] !== 'pipe' || fd == null) {
      streams.push(null);
      continue;
    }
    const readable = i > 0;
    // As Node makes them: readable from the worker (fd > 0), and writable in every case.
    const socket = new net.Socket({ fd, readable });
    if (readable) {
      this._closesNeeded++;
      socket.on('close', () => maybeClose(this));
    }
    streams.push(socket);
  }
  this.stdio = streams;
  this.stdin = streams[0] || null;
  this.stdout = streams[1] || null;
  this.stderr = streams[2] || null;
});

// The channel reached end-of-file, or was closed by us (`byUs`): like Node, `connected` turns
// false at once. After an end seen by the engine, 'disconnect' follows on the next tick and the
// channel counts towards 'close'. After our own close (which already runs one tick after
// disconnect(), as Node's does), 'disconnect' is emitted at once and the channel never counts
// towards 'close': Node counts it only when it reads the end of the stream, which it no longer
// does once it closed the channel itself, so that process never emits 'close'.
defineHidden(function _onChannelClosed(byUs = false) {
  const state = this[kState];
  if (!state.channelOpen) return;
  state.channelOpen = false;
  this.connected = false;
  this.channel = null;
  for (const [, cb] of state.pending) process.nextTick(cb, errors.ipcChannelClosed());
  state.pending.clear();
  if (byUs) {
    this.emit('disconnect');
    return;
  }
  process.nextTick(() => this.emit('disconnect'));
  maybeClose(this);
});

// A spawn that failed with ENOENT/EACCES/EAGAIN: Node still opened the channel, reports the error
// through an exit code of -errno (no 'exit' event), then sees the channel end.
defineHidden(function _failSpawn(err) {
  this.connected = true;
  this._closesNeeded++;
  openChannel(this);
  process.nextTick(() => {
    this.exitCode = err.errno;
    this.emit('error', err);
    maybeClose(this);
  });
  setImmediate(() => this._onChannelClosed());
});

defineHidden(function _onExit(code, signal) {
  if (signal) this.signalCode = signal;
  else this.exitCode = code;
  this._handle = null;
  if (this.stdin) this.stdin.destroy();
  this.emit('exit', this.exitCode, this.signalCode);
  maybeClose(this);
});

defineHidden(function _onSendDone(token, error) {
  const pending = this[kState].pending;
  const cb = pending.get(token);
  if (!cb) return;
  pending.delete(token);
  if (error === undefined) cb(null);
  else if (error === 'closed') cb(errors.ipcChannelClosed());
  else cb(errors.errnoException(error, 'write'));
});

// Whether our end of the channel was closed by disconnect(): what the worker wrote after that is
// not read, as in Node.
defineHidden(function _closedByUs() {
  return this[kState].closedByUs;
});

defineHidden(function _channelOpen() {
  return this[kState].channelOpen;
});

const procSend = anonymous(channel.send);
const procInternalSend = anonymous(channel.internalSend);
defineHidden(channel._onHandleAnswered);
defineHidden(channel._inOrder);

const procDisconnect = anonymous(function () {
  if (!this.connected) {
    this.emit('error', errors.ipcDisconnected());
    return;
  }
  // No new messages from here on; what waits behind an unanswered handle still goes out first.
  this.connected = false;
  this[kState].disconnectRequested = true;
  if (!this._handleQueue) this._disconnect();
});

// `_disconnect`: as in Node, `channel` turns null at once; our end is closed on the next tick
// and 'disconnect' emitted right then, without waiting for the engine to report the end (which
// takes a trip through the engine thread and can come after the worker's own reaction). Nothing
// the worker wrote is read after this (see `_closedByUs` in dispatch).
const procCloseChannel = anonymous(function () {
  const state = this[kState];
  this.channel = null;
  process.nextTick(() => {
    state.engine.close(state.id);
    state.closedByUs = true;
    this._onChannelClosed(true);
  });
});

WorkerProcess.prototype.kill = function kill(sig) {
  const signal = sig === 0 ? sig : validSignal(sig === undefined ? 'SIGTERM' : sig);
  if (!this._handle) return false;
  const state = this[kState];
  // Messages corked during the current batch were sent before the signal: write them first.
  state.engine.flush();
  try {
    process.kill(this.pid, signal);
    this.killed = true;
    return true;
  } catch (err) {
    if (err.code === 'ESRCH') return false;
    if (err.code === 'EINVAL' || err.code === 'ENOSYS') throw err;
    // Anything else (EPERM) is an 'error' event, as in Node.
    this.emit('error', errors.errnoException(err.errno, 'kill'));
    return false;
  }
};

// Node's rule for a signal: a number that is a signal's number, or a signal's name in any case.
function validSignal(signal) {
  const { signals } = os.constants;
  if (typeof signal === 'number' && Object.values(signals).includes(signal)) return signal;
  if (typeof signal === 'string') {
    const number = signals[signal.toUpperCase()];
    if (number !== undefined) return number;
  }
  throw errors.unknownSignal(signal);
}

// Liveness as Node: the primary stays alive while a worker process runs (unless unref'd) or its
// channel is open (unless channel.unref()'d). lib/primary.js sums this up for the engine, which
// it is told of through `onRefChange`.
WorkerProcess.prototype.ref = function ref() {
  this[kState].processRef = true;
  refChanged(this);
};

WorkerProcess.prototype.unref = function unref() {
  this[kState].processRef = false;
  refChanged(this);
};

function refChanged(proc) {
  const state = proc[kState];
  if (state.onRefChange !== null) state.onRefChange();
}

defineHidden(function _watchRefs(onRefChange) {
  this[kState].onRefChange = onRefChange;
});

defineHidden(function _keepsAlive() {
  const state = this[kState];
  const running = this.exitCode == null && this.signalCode == null && this.pid !== undefined;
  return (running && state.processRef) || (state.channelOpen && state.channelRef);
});

// `worker.process.channel`, shaped like Node's Control (an EventEmitter with ref(), unref() and
// the descriptor number as `fd`); the socket itself belongs to the engine. ref()/unref() decide
// whether the open channel keeps the primary alive.
const kProc = Symbol('rustCluster.process');
class Control extends EventEmitter {
  constructor(proc) {
    super();
    Object.defineProperty(this, kProc, { value: proc });
  }

  get fd() {
    const state = this[kProc][kState];
    const fd = state.engine.channelFd(state.id);
    return fd < 0 ? undefined : fd;
  }

  ref() {
    setChannelRef(this[kProc], true);
  }

  unref() {
    setChannelRef(this[kProc], false);
  }
}

function setChannelRef(proc, on) {
  proc[kState].channelRef = on;
  refChanged(proc);
}

function openChannel(proc) {
  proc[kState].channelOpen = true;
  proc.channel = new Control(proc);
}

module.exports = { WorkerProcess };
