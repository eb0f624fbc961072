'use strict';
// `worker.process`: what user code sees of a ChildProcess, backed by the engine. The prototype
// chain reaches child_process.ChildProcess.prototype so `instanceof ChildProcess` holds; the
// ChildProcess constructor itself is never run (nothing here spawns through child_process).

const EventEmitter = require('events');
const net = require('net');
const dgram = require('dgram');
const { ChildProcess } = require('child_process');
const errors = require('./errors.js');
const { encodeFrame } = require('./serialization.js');
const { getSocketList } = require('./socket-list.js');

const MAX_QUEUED = 128 * 1024; // send() returns false past this much queued (Node's rule)
const kEngine = Symbol('rustCluster.engine');
const kId = Symbol('rustCluster.id');

let nextToken = 1;

function WorkerProcess(engine, id, spawnfile, spawnargs, serialization) {
  EventEmitter.call(this);
  this[kEngine] = engine;
  this[kId] = id;
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
  this._serialization = serialization;
  this._pending = new Map(); // send token -> callback
  this._handleQueue = null;
  this._pendingMessage = null;
  this._channelOpen = false;
  this._closedByUs = false; // our end of the channel was closed (disconnect())
  defineChannel(this);
}

Object.setPrototypeOf(WorkerProcess.prototype, ChildProcess.prototype);
Object.setPrototypeOf(WorkerProcess, ChildProcess);

// Internal messages reach JS only while something listens for them: the engine is told when the
// first 'internalMessage' listener arrives and when the last one leaves. The listener methods are
// wrapped rather than watched through 'newListener', which would show in eventNames() and be
// lost to removeAllListeners().
const kWatching = Symbol('rustCluster.watchingInternal');
function syncInternalWatch(proc) {
  const on = proc.listenerCount('internalMessage') > 0;
  if (on === Boolean(proc[kWatching])) return;
  proc[kWatching] = on;
  proc[kEngine].watchInternal(proc[kId], on);
}
for (const name of ['addListener', 'on', 'prependListener', 'removeListener', 'off', 'removeAllListeners']) {
  const base = EventEmitter.prototype[name];
  Object.defineProperty(WorkerProcess.prototype, name, {
    configurable: true,
    writable: true,
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
WorkerProcess.prototype._attach = function _attach(pid, stdioFds, stdioSpec) {
  this.pid = pid;
  this._handle = { pid };
  this.connected = true;
  this._channelOpen = true;
  this._closesNeeded++; // the channel
  const streams = [];
  for (let i = 0; i < stdioSpec.length; i++) {
    const fd = stdioFds[i];
    if (stdioSpec[i] !== 'pipe' || fd == null) {
      streams.push(null);
      continue;
    }
    const readable = i > 0;
    const socket = new net.Socket({ fd, readable, writable: !readable || i > 2 });
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
};

// The channel reached end-of-file, or was closed by us (`byUs`): like Node, `connected` turns
// false at once. After an end seen by the engine, 'disconnect' follows on the next tick and the
// channel counts towards 'close'. After our own close (which already runs one tick after
// disconnect(), as Node's does), 'disconnect' is emitted at once and the channel never counts
// towards 'close': Node counts it only when it reads the end of the stream, which it no longer
// does once it closed the channel itself, so that process never emits 'close'.
WorkerProcess.prototype._onChannelClosed = function _onChannelClosed(byUs = false) {
  if (!this._channelOpen) return;
  this._channelOpen = false;
  this.connected = false;
  for (const [, cb] of this._pending) process.nextTick(cb, errors.ipcChannelClosed());
  this._pending.clear();
  if (byUs) {
    this.emit('disconnect');
    return;
  }
  process.nextTick(() => this.emit('disconnect'));
  maybeClose(this);
};

// A spawn that failed with ENOENT/EACCES/EAGAIN: Node still opened the channel, reports the error
// through an exit code of -errno (no 'exit' event), then sees the channel end.
WorkerProcess.prototype._failSpawn = function _failSpawn(err) {
  this.connected = true;
  this._channelOpen = true;
  this._closesNeeded++;
  process.nextTick(() => {
    this.exitCode = err.errno;
    this.emit('error', err);
    maybeClose(this);
  });
  setImmediate(() => this._onChannelClosed());
};

WorkerProcess.prototype._onExit = function _onExit(code, signal) {
  if (signal) this.signalCode = signal;
  else this.exitCode = code;
  this._handle = null;
  if (this.stdin) this.stdin.destroy();
  this.emit('exit', this.exitCode, this.signalCode);
  maybeClose(this);
};

WorkerProcess.prototype._onSendDone = function _onSendDone(token, error) {
  const cb = this._pending.get(token);
  if (!cb) return;
  this._pending.delete(token);
  if (error === undefined) cb(null);
  else if (error === 'closed') cb(errors.ipcChannelClosed());
  else cb(errors.errnoException(error, 'write'));
};

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
  'net.Native': { send: (message, handle) => handle },
  'net.Server': { send: (message, server) => server._handle },
  'net.Socket': {
    send(message, socket, options) {
      // `this` is the WorkerProcess.
      if (!socket._handle) return undefined;
      if (socket.server) {
        // The server now counts this socket through the worker (getConnections, close).
        message.key = socket.server._connectionKey;
        const firstTime = !(this._socketLists && this._socketLists.send.has(message.key));
        const list = getSocketList('send', this, message.key);
        if (firstTime) socket.server._setupWorker(list);
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
    send(message, socket) {
      message.dgramType = socket.type;
      const state = dgramState(socket);
      return state && state.handle;
    },
  },
  'dgram.Native': { send: (message, handle) => handle },
};

WorkerProcess.prototype.send = function send(message, handle, options, callback) {
  if (typeof handle === 'function') {
    callback = handle;
    handle = undefined;
    options = undefined;
  } else if (typeof options === 'function') {
    callback = options;
    options = undefined;
  } else if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw errors.invalidArgType('options', 'object', options);
  }
  options = { swallowErrors: false, ...options };
  if (this.connected) return this._send(message, handle, options, callback);
  const ex = errors.ipcChannelClosed();
  if (typeof callback === 'function') process.nextTick(callback, ex);
  else process.nextTick(() => this.emit('error', ex));
  return false;
};

// `placed`: the message was kept back before and its place in the engine's queue is reserved.
WorkerProcess.prototype._send = function _send(message, handle, options, callback, placed) {
  if (message === undefined) throw errors.missingArgs('message');
  const t = typeof message;
  if (t !== 'string' && t !== 'object' && t !== 'number' && t !== 'boolean') {
    throw errors.invalidArgType('message', ['string', 'object', 'number', 'boolean'], message);
  }
  let conv = null;
  let native = null;
  if (handle) {
    const type = handleType(handle);
    if (type === null) throw errors.invalidHandleType();
    const envelope = { cmd: 'NODE_HANDLE', type, msg: message };
    if (this._handleQueue) return this._keepBack({ callback, handle, options, message }, placed);
    conv = conversion[type];
    native = conv.send.call(this, envelope, handle, options);
    // A handle that was already sent (or destroyed): the message goes without it.
    message = native ? envelope : message;
  } else if (this._handleQueue) {
    return this._keepBack({ callback, handle: null, options, message }, placed);
  }

  const frame = encodeFrame(message, this._serialization === 'advanced');
  const fd = native ? native.fd : undefined;
  const token = typeof callback === 'function' ? nextToken++ : undefined;
  const r = this[kEngine].send(this[kId], frame, fd, token);
  if (r === -1 || r === -2 || r === -3 || r >= 0) {
    if (native) {
      if (!this._handleQueue) this._handleQueue = [];
      if (conv.postSend) conv.postSend(this, message, native, options, callback);
    }
    if (token !== undefined) {
      if (r === -1) process.nextTick(callback, null);
      else this._pending.set(token, callback);
    }
    return r < 0 || r < MAX_QUEUED;
  }
  // A failed write. When the engine saw the channel end before this thread did (the worker
  // closed it), Node's write would have failed with EPIPE. A handle that could not be sent is
  // closed, as in Node.
  if (native && conv.postSend && !options.keepOpen) native.close();
  const ex = errors.errnoException(r === -4 ? 32 : -(r + 1000), 'write');
  if (typeof callback === 'function') {
    process.nextTick(callback, ex);
  } else if (!options.swallowErrors && ex.code !== 'EPIPE' && ex.code !== 'ECONNRESET') {
    // A peer that went away shows up as 'disconnect'; rust-cluster does not turn that race
    // into an 'error' that would crash a primary without an error listener.
    process.nextTick(() => this.emit('error', ex));
  }
  // Like Node, the return value reflects the write queue, which a failed write left empty.
  return true;
};

WorkerProcess.prototype._keepBack = function _keepBack(item, placed) {
  if (!placed) this[kEngine].reserve(this[kId]);
  this._handleQueue.push(item);
  return this._handleQueue.length === 1;
};

// The worker answered the last handle sent: close it (ACK) or send it again (NACK), then send
// what waited behind it, and run a disconnect requested meanwhile. After a NACK the engine holds
// a place before everything else for the handle sent again; it is given up when there is none.
WorkerProcess.prototype._onHandleAnswered = function _onHandleAnswered(nack) {
  const pending = this._pendingMessage;
  if (pending) {
    if (!nack) {
      this._closePending();
    } else if (pending.retransmissions++ === MAX_HANDLE_RETRANSMISSIONS) {
      this._closePending();
      process.emitWarning('Handle did not reach the receiving process correctly', 'SentHandleNotReceivedWarning');
    }
  }
  const queue = this._handleQueue || [];
  this._handleQueue = null;
  if (this._pendingMessage) {
    const p = this._pendingMessage;
    this._send(p.message.msg, p.handle, p.options, p.callback, true);
  } else if (nack) {
    this[kEngine].unreserve(this[kId], false);
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
        this._send(q.message, q.handle, q.options, q.callback, true);
      }
    }
  } catch (err) {
    // A kept message that can no longer be serialized: as in Node, it and the rest of the queue
    // are dropped; their places, the last ones reserved, are given up.
    for (let j = i; j < queue.length; j++) this[kEngine].unreserve(this[kId], true);
    throw err;
  }
  if (!this.connected && this._channelOpen && !this._handleQueue && this._disconnectRequested) {
    this._closeChannel();
  }
};

// Runs `action` (which writes an internal message) in order with user messages: at once, or
// after the messages waiting behind an unanswered handle, as Node's primary queues it.
WorkerProcess.prototype._inOrder = function _inOrder(action) {
  if (this._handleQueue) this._keepBack({ action }, false);
  else action();
};

WorkerProcess.prototype._closePending = function _closePending() {
  const p = this._pendingMessage;
  this._pendingMessage = null;
  if (p && p.handle && typeof p.handle.close === 'function') p.handle.close();
};

WorkerProcess.prototype.disconnect = function disconnect() {
  if (!this.connected) {
    this.emit('error', errors.ipcDisconnected());
    return;
  }
  // No new messages from here on; what waits behind an unanswered handle still goes out first.
  this.connected = false;
  this._disconnectRequested = true;
  if (!this._handleQueue) this._closeChannel();
};

// Closes our end on the next tick and emits 'disconnect' right then, as Node's disconnect()
// does, without waiting for the engine to report the end (which takes a trip through the engine
// thread and can come after the worker's own reaction). Nothing the worker wrote is read after
// this (see `_closedByUs` in dispatch).
WorkerProcess.prototype._closeChannel = function _closeChannel() {
  const engine = this[kEngine];
  const id = this[kId];
  process.nextTick(() => {
    engine.close(id);
    this._closedByUs = true;
    this._onChannelClosed(true);
  });
};

WorkerProcess.prototype.kill = function kill(sig) {
  const signal = sig === 0 ? 0 : (sig === undefined ? 'SIGTERM' : sig);
  if (typeof signal !== 'number' && typeof signal !== 'string') {
    throw errors.invalidArgType('signal', ['string', 'number'], sig);
  }
  if (!this._handle) return false;
  // Messages corked during the current batch were sent before the signal: write them first.
  this[kEngine].flush();
  try {
    process.kill(this.pid, signal);
    this.killed = true;
    return true;
  } catch (err) {
    if (err.code === 'ESRCH') return false;
    if (err.code === 'EPERM') {
      this.emit('error', errors.errnoException(1, 'kill'));
      return false;
    }
    throw err;
  }
};

// Liveness as Node: the primary stays alive while a worker process runs (unless unref'd) or its
// channel is open (unless channel.unref()'d). lib/primary.js sums this up for the engine.
WorkerProcess.prototype.ref = function ref() {
  this._processRef = true;
  if (this._onRefChange) this._onRefChange();
};

WorkerProcess.prototype.unref = function unref() {
  this._processRef = false;
  if (this._onRefChange) this._onRefChange();
};

WorkerProcess.prototype._keepsAlive = function _keepsAlive() {
  const running = this.exitCode == null && this.signalCode == null && this.pid !== undefined;
  return (running && this._processRef !== false) || (this._channelOpen && this._channelRef !== false);
};

// `worker.process.channel`, shaped like Node's (an EventEmitter with ref(), unref() and the
// descriptor number as `fd`); the socket itself belongs to the engine. ref()/unref() decide
// whether the open channel keeps the primary alive. null once the channel is closed, as in Node.
const kProc = Symbol('rustCluster.process');
class Channel extends EventEmitter {
  constructor(proc) {
    super();
    this[kProc] = proc;
  }

  get fd() {
    const proc = this[kProc];
    const fd = proc[kEngine].channelFd(proc[kId]);
    return fd < 0 ? undefined : fd;
  }

  ref() {
    this[kProc]._setChannelRef(true);
  }

  unref() {
    this[kProc]._setChannelRef(false);
  }
}

WorkerProcess.prototype._setChannelRef = function _setChannelRef(on) {
  this._channelRef = on;
  if (this._onRefChange) this._onRefChange();
};

// An own, enumerable property of each worker.process, as Node assigns it (and assignable).
function defineChannel(proc) {
  let channel = null;
  Object.defineProperty(proc, 'channel', {
    configurable: true,
    enumerable: true,
    get() {
      if (!proc._channelOpen) return null;
      if (channel === null) channel = new Channel(proc);
      return channel;
    },
    set(value) {
      Object.defineProperty(proc, 'channel', { value, writable: true, enumerable: true, configurable: true });
    },
  });
}

module.exports = { WorkerProcess, kEngine, kId };
