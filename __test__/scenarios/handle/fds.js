'use strict';
// Descriptor accounting over many handle sends. The primary counts
// /proc/self/fd before and after TOTAL handle sends and reports the
// difference in a 'measure' observation (compared by the test with a
// tolerance, not between implementations).
//   part 'send': the primary sends TOTAL handles to the worker, cycling
//     through a net.Server, a dgram.Socket and a net.Socket with
//     keepOpen:true, in batches; the worker closes every copy it gets.
//   part 'recv': the worker sends TOTAL handles (its exclusive net.Server,
//     dgram.Socket, and a connection with keepOpen:true) to the primary,
//     which closes every copy it gets.
//   part 'fresh': TOTAL new connections, each accepted socket sent to the
//     worker without options (the primary's copy goes), the worker closes
//     its copy, the client sees EOF and is destroyed.
// Afterwards the passed connection still carries data both ways.
//   node handle/fds.js [json|advanced] [send|recv|fresh] [TOTAL] [KINDS]
// KINDS: comma-separated subset of server,dgram,socket (default: all).
const dgram = require('node:dgram');
const net = require('node:net');
const { cluster, obs, safety, errInfo } = require('../../helpers/observe');
const { modeFromArgv, onLines, kind, fdCount, turns, watchExit } = require('./common');

safety(25000);
const mode = modeFromArgv();
const part = process.argv[3] || 'send';
const TOTAL = Number(process.argv[4] || 10000);
const BATCH = 500;
const KINDS = (process.argv[5] || 'server,dgram,socket').split(',');

// Sends `count` handles starting at `from` through `send`; resolves with
// the callback errors once every callback ran.
function sendBatch(send, res, from, count) {
  return new Promise((resolve) => {
    let left = count;
    const errs = [];
    for (let i = from; i < from + count; i++) {
      const what = KINDS[i % KINDS.length];
      const args = [{ i, what }, res[what]];
      if (what === 'socket') args.push({ keepOpen: true });
      send(...args, (err) => {
        if (err) errs.push(errInfo(err));
        if (--left === 0) resolve(errs);
      });
    }
  });
}

// Closes every handle it gets and counts them by kind.
function closer(counts) {
  return (msg, handle) => {
    const k = kind(handle);
    counts[k] = (counts[k] || 0) + 1;
    if (handle instanceof net.Socket) handle.destroy();
    else if (handle) handle.close();
    counts.total++;
  };
}

function open(exclusive) {
  const server = net.createServer();
  const sock = dgram.createSocket('udp4');
  return Promise.all([
    new Promise((resolve) => server.listen({ port: 0, host: '127.0.0.1', exclusive }, resolve)),
    new Promise((resolve) => sock.bind({ port: 0, address: '127.0.0.1', exclusive }, resolve)),
  ]).then(() => ({ server, dgram: sock }));
}

if (cluster.isPrimary) {
  cluster.setupPrimary({ serialization: mode });
  const w = cluster.fork();
  const finish = watchExit(w, obs);
  const inbox = [];
  let wake = null;
  const counts = { total: 0 };
  const onHandle = closer(counts);
  w.on('message', (msg, handle) => {
    if (msg && msg.i !== undefined) {
      onHandle(msg, handle);
      if (wake) wake();
      return;
    }
    inbox.push(msg);
    if (wake) wake();
  });
  // Waits for pred(), re-checked on every message and every 10 ms.
  async function until(pred) {
    while (!pred()) {
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(resolve, 10);
      });
    }
  }
  async function fromWorker(ev) {
    let found;
    await until(() => {
      const i = inbox.findIndex((m) => m.ev === ev);
      if (i >= 0) found = inbox.splice(i, 1)[0];
      return i >= 0;
    });
    return found;
  }

  // The primary's end of the connection that gets passed around.
  const far = net.createServer();
  let farConn;
  const farLines = [];
  far.on('connection', (c) => {
    farConn = c;
    onLines(c, (l) => farLines.push(l));
  });

  (async () => {
    await new Promise((resolve) => far.listen(0, '127.0.0.1', resolve));
    await fromWorker('ready');
    const started = Date.now();
    if (part === 'send') {
      const res = await open(false);
      res.socket = net.connect(far.address().port, '127.0.0.1');
      await new Promise((resolve) => res.socket.on('connect', resolve));
      const lines = [];
      onLines(res.socket, (l) => lines.push(l));
      await until(() => farConn !== undefined);
      await turns();
      const before = fdCount();
      const errs = [];
      for (let from = 0; from < TOTAL; from += BATCH) {
        errs.push(...await sendBatch((...a) => w.send(...a), res, from, Math.min(BATCH, TOTAL - from)));
      }
      obs('send callbacks', { errors: errs.slice(0, 3), errorCount: errs.length });
      const report = await fromWorker('closed all');
      obs('worker got', { counts: report.counts });
      await turns();
      const after = fdCount();
      obs('measure', { part, before, after, delta: after - before, sends: TOTAL, took: Date.now() - started });
      obs('fds after the sends', { withinTwo: Math.abs(after - before) <= 2 });
      // The connection passed 1/3 of the time still works both ways.
      farConn.write('far end still here\n');
      res.socket.write('primary end still here\n');
      await until(() => lines.length > 0 && farLines.length > 0);
      obs('connection after the sends', { primaryRead: lines, farRead: farLines });
      res.server.close();
      res.dgram.close();
      res.socket.destroy();
    } else if (part === 'fresh') {
      const server = net.createServer({ pauseOnConnect: true });
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const accepted = [];
      server.on('connection', (c) => accepted.push(c));
      await turns();
      const before = fdCount();
      let eofs = 0;
      const errs = [];
      for (let from = 0; from < TOTAL; from += 50) {
        const n = Math.min(50, TOTAL - from);
        for (let i = 0; i < n; i++) {
          const c = net.connect(server.address().port, '127.0.0.1');
          c.on('end', () => { eofs++; c.destroy(); });
          c.resume();
        }
        await until(() => accepted.length === n);
        const sent = accepted.splice(0, n).map((sock, k) => new Promise((resolve) => {
          w.send({ i: from + k, what: 'fresh' }, sock, (err) => { if (err) errs.push(errInfo(err)); resolve(); });
        }));
        await Promise.all(sent);
        await until(() => eofs === from + n);
      }
      obs('send callbacks', { errors: errs.slice(0, 3), errorCount: errs.length });
      obs('clients saw EOF', { eofs });
      const report = await fromWorker('closed all');
      obs('worker got', { counts: report.counts });
      await turns();
      const after = fdCount();
      obs('measure', { part, before, after, delta: after - before, sends: TOTAL, took: Date.now() - started });
      obs('fds after the sends', { withinTwo: Math.abs(after - before) <= 2 });
      server.close();
      far.close();
      finish();
      w.disconnect();
      return;
    } else {
      await turns();
      const before = fdCount();
      w.send({ cmd: 'send', port: far.address().port, total: TOTAL });
      await until(() => counts.total >= TOTAL);
      const report = await fromWorker('sent all');
      obs('worker callbacks', { errors: report.errs.slice(0, 3), errorCount: report.errs.length });
      const { total, ...byKind } = counts;
      obs('primary got', { total, byKind });
      await turns();
      const after = fdCount();
      obs('measure', { part, before, after, delta: after - before, sends: TOTAL, took: Date.now() - started });
      obs('fds after the sends', { withinTwo: Math.abs(after - before) <= 2 });
      farConn.write('far end still here\n');
      w.send({ cmd: 'write' });
      await until(() => farLines.length > 0);
      obs('connection after the sends', { workerRead: (await fromWorker('read')).lines, farRead: farLines });
    }
    far.close();
    farConn.destroy();
    finish();
    w.disconnect();
  })();
} else {
  const counts = { total: 0 };
  const onHandle = closer(counts);
  let socket;
  const lines = [];
  process.on('message', async (msg, handle) => {
    if (msg.i !== undefined) {
      onHandle(msg, handle);
      if (counts.total === TOTAL) {
        const { total, ...byKind } = counts;
        process.send({ ev: 'closed all', counts: { total, ...byKind } });
      }
      return;
    }
    if (msg.cmd === 'send') {
      const res = await open(true);
      socket = net.connect(msg.port, '127.0.0.1');
      await new Promise((resolve) => socket.on('connect', resolve));
      onLines(socket, (l) => lines.push(l));
      res.socket = socket;
      const errs = [];
      for (let from = 0; from < msg.total; from += BATCH) {
        errs.push(...await sendBatch((...a) => process.send(...a), res, from, Math.min(BATCH, msg.total - from)));
      }
      res.server.close();
      res.dgram.close();
      process.send({ ev: 'sent all', errs });
    } else if (msg.cmd === 'write') {
      socket.write('worker end still here\n');
      const wait = () => (lines.length > 0 ? process.send({ ev: 'read', lines }) : setTimeout(wait, 10));
      wait();
    }
  });
  process.send({ ev: 'ready' });
}
