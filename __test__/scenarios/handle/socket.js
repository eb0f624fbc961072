'use strict';
// worker.send(message, socket[, options][, callback]) from the primary with a
// net.Socket the primary accepted on its own net.Server (pauseOnConnect).
// The worker reads what the client wrote, writes a reply on the socket and
// closes its copy (destroy: close(2) without shutdown). Observed: send()
// return value, the callback, the sender's socket (destroyed or not) and
// whether the client sees EOF when only the worker has closed its copy
// (it does iff the primary let go of its own copy: keepOpen false).
// Then: server.getConnections() and server.close() while the worker still
// holds a socket it got from that server.
//   node handle/socket.js [json|advanced] [send|held]
const net = require('node:net');
const { cluster, obs, safety, errInfo } = require('../../helpers/observe');
const { modeFromArgv, onLines, describeHandle, forkWithInbox } = require('./common');

safety(10000);
const mode = modeFromArgv();
const part = process.argv[3] || 'send';

const CASES = [
  { label: 'no options', args: [] },
  { label: 'keepOpen:false', args: [{ keepOpen: false }] },
  { label: 'keepOpen:true', args: [{ keepOpen: true }] },
  { label: 'options {}', args: [{}] },
];

if (cluster.isPrimary) {
  const { w, finish, fromWorker } = forkWithInbox(cluster, mode, obs);

  const server = net.createServer({ pauseOnConnect: true });
  const accepted = [];
  let onAccept = null;
  server.on('connection', (socket) => {
    accepted.push(socket);
    if (onAccept) onAccept();
  });
  async function nextConnection() {
    while (accepted.length === 0) await new Promise((resolve) => { onAccept = resolve; });
    return accepted.shift();
  }

  // A client of `server` that records every line and its end.
  function client(label) {
    const c = net.connect(server.address().port, '127.0.0.1');
    const seen = { lines: [], end: false, closed: false };
    c.on('connect', () => c.write(`hello from client (${label})\n`));
    onLines(c, (line) => seen.lines.push(line));
    seen.ended = new Promise((resolve) => c.on('end', () => { seen.end = true; resolve(); }));
    c.on('close', (hadError) => { seen.closed = true; seen.hadError = hadError; });
    c.on('error', (err) => obs('client error', { label, err: errInfo(err) }));
    seen.socket = c;
    return seen;
  }

  async function runCase({ label, args }) {
    const seen = client(label);
    const socket = await nextConnection();
    socket.on('error', (err) => obs('sender socket error', { label, err: errInfo(err) }));
    let cbArgs;
    let sync = true;
    const cbDone = new Promise((resolve) => {
      const ret = w.send({ case: label }, socket, ...args, (...a) => { cbArgs = { args: a, sync }; resolve(); });
      sync = false;
      obs('sent', { label, ret, destroyedAtOnce: socket.destroyed });
    });
    await cbDone;
    obs('send callback', { label, ...cbArgs, args: cbArgs.args.map((a) => (a instanceof Error ? errInfo(a) : a)) });
    const got = await fromWorker('got');
    obs('worker got', { label, msg: got.msg, handle: got.handle, line: got.line });
    await fromWorker('closed its copy');
    const keepOpen = args[0] && args[0].keepOpen === true;
    if (!keepOpen) {
      // Only the worker's copy was closed; EOF proves the primary's is gone too.
      await seen.ended;
      obs('client saw', { label, lines: seen.lines, end: seen.end });
      obs('sender socket after ack', { label, destroyed: socket.destroyed });
    } else {
      // The primary's copy is still open: the client has no EOF yet, and
      // the primary can still write on it.
      await new Promise((resolve) => setTimeout(resolve, 100));
      obs('client before the primary writes', { label, lines: seen.lines, end: seen.end });
      obs('sender socket after ack', { label, destroyed: socket.destroyed });
      socket.end(`primary still here (${label})\n`);
      await seen.ended;
      obs('client saw', { label, lines: seen.lines, end: seen.end });
      socket.destroy(); // paused: it would never read the client's FIN
    }
    seen.socket.destroy();
  }

  // The worker keeps the socket it got; the server's connection count and
  // close() take the worker's sockets into account in Node.
  async function heldCase() {
    const seen = client('held');
    const socket = await nextConnection();
    w.send({ case: 'held' }, socket);
    const got = await fromWorker('got');
    obs('worker got', { label: 'held', msg: got.msg, handle: got.handle, line: got.line });
    const count = await new Promise((resolve) => server.getConnections((err, n) => resolve({ err: errInfo(err), n })));
    obs('getConnections while the worker holds a socket', count);
    let closed = false;
    let closeErr;
    server.close((err) => {
      closed = true;
      closeErr = errInfo(err);
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    obs('server closed before the worker let go', { closed });
    w.send({ cmd: 'release' });
    await fromWorker('released');
    await seen.ended;
    obs('client saw', { label: 'held', lines: seen.lines, end: seen.end });
    await new Promise((resolve) => setTimeout(resolve, 200));
    obs('server closed after the worker let go', { closed, err: closeErr });
  }

  server.listen(0, '127.0.0.1', async () => {
    await fromWorker('ready');
    if (part === 'send') {
      for (const c of CASES) await runCase(c);
      server.close();
    } else {
      await heldCase();
    }
    finish();
    w.disconnect();
  });
} else {
  let held = null;
  process.on('message', (msg, handle) => {
    if (msg && msg.cmd === 'release') {
      held.end('bye from worker (held)\n', () => process.send({ ev: 'released' }));
      return;
    }
    const desc = describeHandle(handle);
    if (desc.kind !== 'net.Socket') {
      process.send({ ev: 'got', msg, handle: desc });
      return;
    }
    handle.on('error', (err) => obs('worker socket error', { err: errInfo(err) }));
    let first = true;
    onLines(handle, (line) => {
      if (!first) return;
      first = false;
      process.send({ ev: 'got', msg, handle: desc, line });
      if (msg.case === 'held') {
        held = handle;
        return;
      }
      handle.write(`reply from worker to "${line}"\n`, () => {
        // close(2) of the worker's descriptor only: no FIN while another
        // process still holds the connection.
        handle.destroy();
        process.send({ ev: 'closed its copy' });
      });
    });
  });
  process.send({ ev: 'ready' });
}
