'use strict';
// The engine's events, pumped into the primary's EventEmitters: the only code that knows the
// engine's batch format. Messages are decoded here, received handles converted (lib/handles.js),
// and every event is emitted at the moment Node's primary would emit it.

const fs = require('fs');
const errors = require('./errors.js');
const { decodeAdvanced } = require('./serialization.js');
const { receive } = require('./handles.js');
const native = require('./native.js');

// Set by lib/primary.js when it creates the engine (init).
let cluster = null;
let live = null; // id -> Worker, until both 'disconnect' and 'exit' happened
let engine = null;
let updateRef = null;
let supervisor = null;

// The batch kinds, as the binding declares them (see events_to_js in src/convert.rs).
const { EVENT_JSON_RUN, EVENT_ADVANCED_RUN, EVENT_OBJECT } = native.constants;

function init(deps) {
  ({ cluster, live, engine, updateRef, supervisor } = deps);
}

const malformed = Symbol('malformed');

// A user message's value; a payload JS cannot decode disconnects the worker with an 'error'.
function decodeMessage(worker, ev) {
  try {
    return ev.text !== undefined ? JSON.parse(ev.text) : decodeAdvanced(ev.data);
  } catch (e) {
    const err = errors.malformedMessage(worker.id, e.message);
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

// `events`: (kind, worker id, value) triples from the engine, oldest first. EVENT_JSON_RUN: a run
// of messages from one worker as JSON texts, one per line (json mode, and advanced-mode messages
// of plain data, which the engine rewrites as JSON); EVENT_ADVANCED_RUN: a run of advanced
// messages, frames (a 4-byte big-endian length, then V8 bytes) back to back; EVENT_OBJECT: any
// other event, an object with its `type`.
function onEngineEvents(events) {
  for (let i = 0; i < events.length; i += 3) {
    const kind = events[i];
    const id = events[i + 1];
    const value = events[i + 2];
    if (kind === EVENT_OBJECT) {
      pendingEvents.push(value);
    } else if (kind === EVENT_JSON_RUN) {
      const lines = value.split('\n');
      for (let j = 0; j < lines.length; j++) pendingEvents.push({ type: 'message', id, text: lines[j] });
    } else if (kind === EVENT_ADVANCED_RUN) {
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
// listeners send leaves in one write per worker when it ends (a worker that waits may get a
// burst's first two frames early: `cork_for` in the engine). (pump is only ever called from
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
const readFromChannel = new Set([
  'message', 'internal', 'handleAnswered', 'online', 'listening', 'exitedAfterDisconnect', 'malformed',
]);

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
      receive(ev, proc, (handle) => {
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
      supervisor.onOnline(worker);
      return;
    case 'listening': {
      const info = { addressType: ev.addressType, address: ev.address, port: ev.port, fd: ev.fd };
      worker.state = 'listening';
      worker.emit('listening', info);
      cluster.emit('listening', worker, info);
      supervisor.onListening(worker, info);
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
    case 'malformed':
      proc.emit('error', errors.malformedMessage(ev.id, ev.reason));
      return;
    case 'sendDone':
      proc._onSendDone(ev.token, ev.error);
      return;
    case 'drained':
      supervisor.onDrained(worker);
      return;
    case 'memoryLimit':
      supervisor.onMemoryLimit(worker, ev.rss);
      return;
    default:
  }
}

function maybeForget(worker) {
  if (worker.isDead() && !worker.process._channelOpen()) live.delete(worker.id);
}

module.exports = { init, onEngineEvents };
