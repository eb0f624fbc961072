'use strict';
// Shared pieces of the handle-*.js scenarios: the serialization mode from
// argv, line readers, what a received handle looks like, fd counting.
const dgram = require('node:dgram');
const fs = require('node:fs');
const net = require('node:net');

// `node handle-x.js [json|advanced]`
function modeFromArgv() {
  const mode = process.argv[2] || 'json';
  if (mode !== 'json' && mode !== 'advanced') throw new Error(`bad mode ${mode}`);
  return mode;
}

// Calls onLine(line) for every '\n'-terminated line read from a stream.
function onLines(stream, onLine) {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      onLine(line);
    }
  });
}

// What kind of handle a 'message' listener got, without anything that
// differs from run to run (ports are reported under keys ending in "port").
function kind(handle) {
  if (handle === undefined) return 'undefined';
  if (handle === null) return 'null';
  if (handle instanceof net.Socket) return 'net.Socket';
  if (handle instanceof net.Server) return 'net.Server';
  if (handle instanceof dgram.Socket) return 'dgram.Socket';
  return `other:${handle && handle.constructor && handle.constructor.name}`;
}

function describeHandle(handle) {
  const k = kind(handle);
  const out = { kind: k };
  if (k === 'net.Socket') {
    Object.assign(out, {
      destroyed: handle.destroyed, readable: handle.readable, writable: handle.writable,
      remoteAddress: handle.remoteAddress, localAddress: handle.localAddress,
    });
  } else if (k === 'net.Server') {
    const a = handle.address();
    if (typeof a === 'string') Object.assign(out, { listening: handle.listening, path: a });
    else {
      Object.assign(out, {
        listening: handle.listening, address: a && a.address, family: a && a.family, port: a && a.port,
      });
    }
  } else if (k === 'dgram.Socket') {
    let a;
    try { a = handle.address(); } catch (err) { a = { error: err.code }; }
    Object.assign(out, { address: a.address, family: a.family, port: a.port, error: a.error, type: handle.type });
  }
  return out;
}

// Number of open descriptors of this process.
function fdCount() {
  return fs.readdirSync('/proc/self/fd').length;
}

// Resolves after `n` turns of the event loop (setImmediate), so that work
// that Node does on the next tick or the next turn has happened.
function turns(n = 3) {
  return new Promise((resolve) => {
    const step = (k) => (k === 0 ? resolve() : setImmediate(step, k - 1));
    step(n);
  });
}

module.exports = { modeFromArgv, onLines, kind, describeHandle, fdCount, turns };

// Records the worker's 'exit'. If the worker goes before the scenario
// called the returned finish(), say so and end the primary at once instead
// of waiting for the safety timeout.
function watchExit(worker, obs) {
  let done = false;
  worker.on('exit', (code, signal) => {
    obs('exit', { code, signal });
    if (!done) {
      obs('worker exited before the scenario ended');
      process.exit(3);
    }
  });
  return () => { done = true; };
}

module.exports.watchExit = watchExit;

// Items pushed by event listeners and taken in order by the scenario's async steps:
// take(match) resolves with the oldest item that matches, waiting for one if needed.
class Inbox {
  constructor() {
    this.items = [];
    this.wake = null;
  }

  push(item) {
    this.items.push(item);
    if (this.wake) this.wake();
  }

  async take(match = () => true) {
    for (;;) {
      const i = this.items.findIndex(match);
      if (i >= 0) return this.items.splice(i, 1)[0];
      await new Promise((resolve) => { this.wake = resolve; });
    }
  }
}
module.exports.Inbox = Inbox;

// The primary side shared by the handle scenarios: one worker in `mode`, its exit watched, and
// its messages (which must carry no handle) queued; fromWorker(ev) takes the next one whose
// `ev` is `ev`.
function forkWithInbox(cluster, mode, obs) {
  cluster.setupPrimary({ serialization: mode });
  const w = cluster.fork();
  const finish = watchExit(w, obs);
  const inbox = new Inbox();
  w.on('message', (msg, handle) => {
    if (handle !== undefined) obs('unexpected handle from worker', { msg });
    inbox.push(msg);
  });
  return { w, finish, fromWorker: (ev) => inbox.take((m) => m.ev === ev) };
}
module.exports.forkWithInbox = forkWithInbox;
