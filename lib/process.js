'use strict';
// `worker.process`: what user code sees of a ChildProcess, backed by the engine. The prototype
// chain reaches child_process.ChildProcess.prototype so `instanceof ChildProcess` holds; the
// ChildProcess constructor itself is never run (nothing here spawns through child_process).

const EventEmitter = require('events');
const util = require('util');
const os = require('os');
const net = require('net');
const dgram = require('dgram');
const { ChildProcess } = require('child_process');
const errors = require('./errors.js');
const { encodeFrame } = require('./serialization.js');
const { getSocketList } = require('./socket-list.js');

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

const MAX_QUEUED = 128 * 1024; // send() returns false past this much queued (Node's rule)
const kState = Symbol('rustCluster.state');

let nextToken = 1;

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
  Object.defineProperty(this, kState, {
    value: {
      engine,
      id,
      serialization,
      pending: new Map(), // send token -> callback
      channelOpen: false,
      closedByUs: false, // our end of the channel was closed (disconnect())
      disconnectRequested: false,
      processRef: true,
      channelRef: true,
      watchingInternal: false,
      onRefChange: null,
    },
  });
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
function internal(fn) {
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
internal(function _attach(pid, stdioFds, stdioSpec) {
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
internal(function _onChannelClosed(byUs = false) {
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
internal(function _failSpawn(err) {
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

internal(function _onExit(code, signal) {
  if (signal) this.signalCode = signal;
  else this.exitCode = code;
  this._handle = null;
  if (this.stdin) this.stdin.destroy();
  this.emit('exit', this.exitCode, this.signalCode);
  maybeClose(this);
});

internal(function _onSendDone(token, error) {
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
internal(function _closedByUs() {
  return this[kState].closedByUs;
});

internal(function _channelOpen() {
  return this[kState].channelOpen;
});

// --- sending, with handles --------------------------------------------------------------------
// As in Node: a message with a handle goes out in a NODE_HANDLE envelope carrying the handle's
// descriptor; until the worker answers NODE_HANDLE_ACK/NACK every later message waits in
// `_handleQueue` (send() returns true only for the first one queued), and keeps its place in the
// engine's queue (engine.reserve), among the cluster messages the engine sends the worker
// meanwhile, which Node queues in the same line. A net.Socket sent without
// keepOpen is detached from its JS object at once and its native handle closed on the ACK, or
// sent again on a NACK (at most 3 more times).

const MAX_HANDLE_RETRANSMISSIONS = 3;

function dgramState(socket) {
  const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  return sym ? socket[sym] : undefined;
}

function isNative(handle, names) {
  return handle !== null && typeof handle === 'object' && names.includes(handle.constructor && handle.constructor.name) &&
    typeof handle.fd === 'number';
}

function handleType(handle) {
  if (handle instanceof net.Socket) return 'net.Socket';
  if (handle instanceof net.Server) return 'net.Server';
  if (isNative(handle, ['TCP', 'Pipe'])) return 'net.Native';
  if (handle instanceof dgram.Socket) return 'dgram.Socket';
  if (isNative(handle, ['UDP'])) return 'dgram.Native';
  return null;
}

const nop = () => {};

// The native handle each kind of object sends (Node's handle conversion, sending side).
const conversion = {
  'net.Native': { send: (proc, message, handle) => handle },
  'net.Server': { send: (proc, message, server) => server._handle },
  'net.Socket': {
    send(proc, message, socket, options) {
      if (!socket._handle) return undefined;
      if (socket.server) {
        // The server now counts this socket through the worker (getConnections, close).
        message.key = socket.server._connectionKey;
        getSocketList('send', proc, message.key, (list) => socket.server._setupWorker(list));
        if (!options.keepOpen) socket.server._connections--;
      }
      const handle = socket._handle;
      if (!options.keepOpen) {
        handle.onread = nop;
        socket._handle = null;
        socket.setTimeout(0);
      }
      return handle;
    },
    postSend(proc, message, handle, options, callback) {
      if (handle && !options.keepOpen) {
        proc._pendingMessage = { callback, message, handle, options, retransmissions: 0 };
      }
    },
  },
  'dgram.Socket': {
    send(proc, message, socket) {
      message.dgramType = socket.type;
      const state = dgramState(socket);
      return state && state.handle;
    },
  },
  'dgram.Native': { send: (proc, message, handle) => handle },
};

const procSend = anonymous(function (message, handle, options, callback) {
  if (typeof handle === 'function') {
    callback = handle;
    handle = undefined;
    options = undefined;
  } else if (typeof options === 'function') {
    callback = options;
    options = undefined;
  } else if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw errors.invalidArgType('options', 'object', options);
  }
  options = { swallowErrors: false, ...options };
  if (this.connected) return this._send(message, handle, options, callback);
  const ex = errors.ipcChannelClosed();
  if (typeof callback === 'function') process.nextTick(callback, ex);
  else process.nextTick(() => this.emit('error', ex));
  return false;
});

const procInternalSend = anonymous(function (message, handle, options, callback) {
  return sendMessage(this, message, handle, options, callback, false);
});

// `placed`: the message was kept back before and its place in the engine's queue is reserved.
function sendMessage(proc, message, handle, options, callback, placed) {
  if (message === undefined) throw errors.missingArgs('message');
  const t = typeof message;
  if (t !== 'string' && t !== 'object' && t !== 'number' && t !== 'boolean') {
    throw errors.invalidArgType('message', ['string', 'object', 'number', 'boolean'], message);
  }
  const state = proc[kState];
  let conv = null;
  let native = null;
  if (handle) {
    const type = handleType(handle);
    if (type === null) throw errors.invalidHandleType();
    const envelope = { cmd: 'NODE_HANDLE', type, msg: message };
    if (proc._handleQueue) return keepBack(proc, { callback, handle, options, message }, placed);
    conv = conversion[type];
    native = conv.send(proc, envelope, handle, options);
    // A handle that was already sent (or destroyed): the message goes without it.
    message = native ? envelope : message;
  } else if (proc._handleQueue) {
    return keepBack(proc, { callback, handle: null, options, message }, placed);
  }

  const frame = encodeFrame(message, state.serialization === 'advanced');
  // A handle with no descriptor yet (a dgram socket still binding, a socket still connecting)
  // has fd -1: the engine fails that send with EBADF, as Node's write does.
  const fd = native ? native.fd : undefined;
  const token = typeof callback === 'function' ? nextToken++ : undefined;
  const r = state.engine.send(state.id, frame, fd, token);
  if (r === -1 || r === -2 || r === -3 || r >= 0) {
    if (native) {
      if (!proc._handleQueue) proc._handleQueue = [];
      if (conv.postSend) conv.postSend(proc, message, native, options, callback);
    }
    if (token !== undefined) {
      if (r === -1) process.nextTick(callback, null);
      else state.pending.set(token, callback);
    }
    return r < 0 || r < MAX_QUEUED;
  }
  // A failed write. When the engine saw the channel end before this thread did (the worker
  // closed it), Node's write would have failed with EPIPE.
  return sendFailed(proc, native, conv, options, callback, r === -4 ? EPIPE : -(r + 1000));
}

const EPIPE = 32;

// A message that could not be written: as in Node, a handle that was to go with it is closed and
// the error goes to the callback, or to an 'error' event.
function sendFailed(proc, native, conv, options, callback, errno) {
  if (native && conv.postSend && !options.keepOpen) native.close();
  const ex = errors.errnoException(errno, 'write');
  if (typeof callback === 'function') {
    process.nextTick(callback, ex);
  } else if (!options.swallowErrors && ex.code !== 'EPIPE' && ex.code !== 'ECONNRESET') {
    // A peer that went away shows up as 'disconnect'; rust-cluster does not turn that race
    // into an 'error' that would crash a primary without an error listener.
    process.nextTick(() => proc.emit('error', ex));
  }
  // Like Node, the return value reflects the write queue, which a failed write left empty.
  return true;
}

function keepBack(proc, item, placed) {
  const state = proc[kState];
  if (!placed) state.engine.reserve(state.id);
  proc._handleQueue.push(item);
  return proc._handleQueue.length === 1;
}

// The worker answered the last handle sent: close it (ACK) or send it again (NACK), then send
// what waited behind it, and run a disconnect requested meanwhile. After a NACK the engine holds
// a place before everything else for the handle sent again; it is given up when there is none.
internal(function _onHandleAnswered(nack) {
  const state = this[kState];
  const pending = this._pendingMessage;
  if (pending) {
    if (!nack) {
      closePending(this);
    } else if (pending.retransmissions++ === MAX_HANDLE_RETRANSMISSIONS) {
      closePending(this);
      process.emitWarning('Handle did not reach the receiving process correctly', 'SentHandleNotReceivedWarning');
    }
  }
  const queue = this._handleQueue || [];
  this._handleQueue = null;
  if (this._pendingMessage) {
    const p = this._pendingMessage;
    sendMessage(this, p.message.msg, p.handle, p.options, p.callback, true);
  } else if (nack) {
    state.engine.unreserve(state.id, false);
  }
  let i = 0;
  try {
    for (; i < queue.length; i++) {
      const q = queue[i];
      if (q.action !== undefined) {
        // An internal message of the primary's (cluster disconnect) queued behind the handle.
        if (this._handleQueue) this._handleQueue.push(q);
        else q.action();
      } else {
        sendMessage(this, q.message, q.handle, q.options, q.callback, true);
      }
    }
  } catch (err) {
    // A kept message that can no longer be serialized: as in Node, it and the rest of the queue
    // are dropped; their places, the last ones reserved, are given up.
    for (let j = i; j < queue.length; j++) state.engine.unreserve(state.id, true);
    throw err;
  }
  if (!this.connected && state.channelOpen && !this._handleQueue && state.disconnectRequested) {
    this._disconnect();
  }
});

// Runs `action` (which writes an internal message) in order with user messages: at once, or
// after the messages waiting behind an unanswered handle, as Node's primary queues it.
internal(function _inOrder(action) {
  if (this._handleQueue) keepBack(this, { action }, false);
  else action();
});

function closePending(proc) {
  const p = proc._pendingMessage;
  proc._pendingMessage = null;
  if (p && p.handle && typeof p.handle.close === 'function') p.handle.close();
}

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

internal(function _watchRefs(onRefChange) {
  this[kState].onRefChange = onRefChange;
});

internal(function _keepsAlive() {
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
