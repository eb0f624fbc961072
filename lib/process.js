'use strict';
// `worker.process`: what user code sees of a ChildProcess, backed by the engine. The prototype
// chain reaches child_process.ChildProcess.prototype so `instanceof ChildProcess` holds; the
// ChildProcess constructor itself is never run (nothing here spawns through child_process).

const EventEmitter = require('events');
const net = require('net');
const dgram = require('dgram');
const { ChildProcess } = require('child_process');
const errors = require('./errors.js');
const { encodeJson, encodeAdvanced } = require('./serialization.js');

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
  this._channelOpen = false;
}

Object.setPrototypeOf(WorkerProcess.prototype, ChildProcess.prototype);
Object.setPrototypeOf(WorkerProcess, ChildProcess);

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

// The channel reached end-of-file (or was closed by us): like Node, `connected` turns false at
// once, 'disconnect' follows on the next tick, and the channel counts towards 'close'.
WorkerProcess.prototype._onChannelClosed = function _onChannelClosed() {
  if (!this._channelOpen) return;
  this._channelOpen = false;
  this.connected = false;
  for (const [, cb] of this._pending) process.nextTick(cb, errors.ipcChannelClosed());
  this._pending.clear();
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

function handleInfo(handle, options) {
  if (handle instanceof net.Socket) {
    const fd = handle._handle && handle._handle.fd;
    if (typeof fd !== 'number' || fd < 0) return null;
    const info = { type: 'net.Socket', fd, socket: handle, keepOpen: !!(options && options.keepOpen) };
    if (handle.server && handle.server._connectionKey) info.key = handle.server._connectionKey;
    return info;
  }
  if (handle instanceof net.Server) {
    const fd = handle._handle && handle._handle.fd;
    return typeof fd === 'number' && fd >= 0 ? { type: 'net.Server', fd } : null;
  }
  if (handle instanceof dgram.Socket) {
    const h = handle[Object.getOwnPropertySymbols(handle).find((s) => String(s) === 'Symbol(state symbol)')];
    const fd = h && h.handle && h.handle.fd;
    return typeof fd === 'number' && fd >= 0 ? { type: 'dgram.Socket', fd, dgramType: h.type } : null;
  }
  return undefined;
}

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

WorkerProcess.prototype._send = function _send(message, handle, options, callback) {
  if (message === undefined) throw errors.missingArgs('message');
  const t = typeof message;
  if (t !== 'string' && t !== 'object' && t !== 'number' && t !== 'boolean') {
    throw errors.invalidArgType('message', ['string', 'object', 'number', 'boolean'], message);
  }
  let fd;
  let info = null;
  if (handle != null) {
    info = handleInfo(handle, options);
    if (info === undefined) throw errors.invalidHandleType();
    if (info === null) {
      // A destroyed socket: the message goes without its envelope, as in Node.
      handle = undefined;
    } else {
      const envelope = { cmd: 'NODE_HANDLE', type: info.type, msg: message };
      if (info.key !== undefined) envelope.key = info.key;
      if (info.dgramType !== undefined) envelope.dgramType = info.dgramType;
      message = envelope;
      fd = info.fd;
    }
  }
  const frame = this._serialization === 'advanced' ? encodeAdvanced(message) : encodeJson(message);
  const token = typeof callback === 'function' ? nextToken++ : undefined;
  const r = this[kEngine].send(this[kId], frame, fd, token);
  if (info && info.type === 'net.Socket' && !info.keepOpen && r > -4) {
    // The descriptor now travels in the channel; the sender's copy is closed (Node: on ACK).
    info.socket.destroy();
  }
  if (r === -1 || r === -2 || r === -3 || r >= 0) {
    if (token !== undefined) {
      if (r === -1) process.nextTick(callback, null);
      else this._pending.set(token, callback);
    }
    if (r === -1) return true;
    if (r === -2) return true;
    if (r === -3) return false;
    return r < MAX_QUEUED;
  }
  // A failed write. When the engine saw the channel end before this thread did (the worker
  // closed it), Node's write would have failed with EPIPE.
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

WorkerProcess.prototype.disconnect = function disconnect() {
  if (!this.connected) {
    this.emit('error', errors.ipcDisconnected());
    return;
  }
  this.connected = false;
  this._disconnectRequested = true;
  const engine = this[kEngine];
  const id = this[kId];
  process.nextTick(() => engine.close(id));
};

WorkerProcess.prototype.kill = function kill(sig) {
  const signal = sig === 0 ? 0 : (sig === undefined ? 'SIGTERM' : sig);
  if (typeof signal !== 'number' && typeof signal !== 'string') {
    throw errors.invalidArgType('signal', ['string', 'number'], sig);
  }
  if (!this._handle) return false;
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

WorkerProcess.prototype.ref = function ref() {};
WorkerProcess.prototype.unref = function unref() {};

Object.defineProperty(WorkerProcess.prototype, 'channel', {
  configurable: true,
  enumerable: false,
  get() {
    if (!this._channelOpen) return undefined;
    return { ref() {}, unref() {}, fd: -1 };
  },
});

module.exports = { WorkerProcess, kEngine, kId };
