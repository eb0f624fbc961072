'use strict';
// The send path of worker.process (Node's setupChannel, sending side): send() and _send(), the
// queue behind an unanswered handle, and what a failed write does.
//
// As in Node: a message with a handle goes out in a NODE_HANDLE envelope carrying the handle's
// descriptor; until the worker answers NODE_HANDLE_ACK/NACK every later message waits in
// `_handleQueue` (send() returns true only for the first one queued), and keeps its place in the
// engine's queue (engine.reserve), among the cluster messages the engine sends the worker
// meanwhile, which Node queues in the same line. A net.Socket sent without
// keepOpen is detached from its JS object at once and its native handle closed on the ACK, or
// sent again on a NACK (at most 3 more times).

const os = require('os');
const errors = require('./errors.js');
const { encodeFrame } = require('./serialization.js');
const { handleType, handleConversion } = require('./handles.js');
const { kState } = require('./process-state.js');
const native = require('./native.js');

const MAX_QUEUED = 128 * 1024; // send() returns false past this much queued (Node's rule)
const MAX_HANDLE_RETRANSMISSIONS = 3;
const { EPIPE } = os.constants.errno;

let nextToken = 1;

// The engine's send results, as the binding declares them (see Engine::send in src/primary.rs).
const { SEND_WRITTEN, SEND_HELD_FIRST, SEND_HELD_MORE, SEND_CLOSED, SEND_ERRNO_BASE } = native.constants;

// worker.process.send(): Node's argument handling, then _send().
function send(message, handle, options, callback) {
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
}

// worker.process._send().
function internalSend(message, handle, options, callback) {
  return sendMessage(this, message, handle, options, callback, false);
}

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
    conv = handleConversion[type];
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
  if (r === SEND_WRITTEN || r === SEND_HELD_FIRST || r === SEND_HELD_MORE || r >= 0) {
    if (native) {
      if (!proc._handleQueue) proc._handleQueue = [];
      if (conv.postSend) conv.postSend(proc, message, native, options, callback);
    }
    if (token !== undefined) {
      if (r === SEND_WRITTEN) process.nextTick(callback, null);
      else state.pending.set(token, callback);
    }
    // As Node's: true for the first message waiting behind a handle, false for the later ones
    // and past MAX_QUEUED bytes queued.
    if (r === SEND_HELD_MORE) return false;
    return r < 0 || r < MAX_QUEUED;
  }
  // A failed write. When the engine saw the channel end before this thread did (the worker
  // closed it), Node's write would have failed with EPIPE.
  return sendFailed(proc, native, conv, options, callback, r === SEND_CLOSED ? EPIPE : SEND_ERRNO_BASE - r);
}


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
function _onHandleAnswered(nack) {
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
}

// Runs `action` (which writes an internal message) in order with user messages: at once, or
// after the messages waiting behind an unanswered handle, as Node's primary queues it.
function _inOrder(action) {
  if (this._handleQueue) keepBack(this, { action }, false);
  else action();
}

function closePending(proc) {
  const p = proc._pendingMessage;
  proc._pendingMessage = null;
  if (p && p.handle && typeof p.handle.close === 'function') p.handle.close();
}

module.exports = { send, internalSend, _onHandleAnswered, _inOrder };
