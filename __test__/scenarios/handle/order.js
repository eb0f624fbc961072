'use strict';
// Messages queued behind a handle, in both directions:
//   part 'queue': one synchronous burst of sends mixing handles (a net.Server
//     three times, a net.Socket first with keepOpen, then without,
//     then once more when the sender has no handle left for it) and plain
//     messages; first from the primary to the worker, then from the worker
//     to the primary. Observed: every return value, the order and arguments
//     of the callbacks, and the order and handle kinds on the receiving side.
//     The receiver then writes on both socket copies it got. (dgram.Socket
//     passing is covered by handle/server.js and handle/reverse.js.)
//   part 'both': the primary and the worker send each other ROUNDS handles
//     interleaved with plain messages at the same time (no deadlock, each
//     side gets everything in order).
//   part 'big': a ~600 KB message carrying a handle, each way, followed by a
//     plain message; length, hash, handle usable, order.
//   node handle/order.js [json|advanced] [queue|both|big]
const crypto = require('node:crypto');
const dgram = require('node:dgram');
const net = require('node:net');
const { cluster, obs, safety, errInfo } = require('../../helpers/observe');
const { modeFromArgv, onLines, kind, watchExit, Inbox } = require('./common');

safety(15000);
const mode = modeFromArgv();
const part = process.argv[3] || 'queue';
const ROUNDS = 100;
const BIG = 600 * 1024;

// [n, resource or null, options]
const BURST = [
  [1, 'server'], [2, null], [3, null], [4, 'server'], [5, 'server'],
  [6, 'socket', { keepOpen: true }], [7, 'socket'], [8, 'socket'], [9, null], [10, null],
];

const sha = (s) => crypto.createHash('sha256').update(s).digest('hex').slice(0, 16);

// ['0:net.Server', '1:undefined', ...] -> { order: 'in order' or the n's,
// kinds: 'S-S-...' } (short enough for one atomic stdout write).
function brief(got) {
  if (typeof got === 'string') return got;
  const ns = got.map((g) => Number(g.split(':')[0]));
  const inOrder = ns.every((n, i) => n === i);
  return {
    count: got.length,
    order: inOrder ? 'in order' : ns.join(','),
    kinds: got.map((g) => ({ 'net.Server': 'S', undefined: '-' }[g.split(':')[1]] || '?')).join(''),
  };
}

// Sends the burst through `send`; resolves when every callback ran.
function burst(send, res, lane) {
  const rets = [];
  const callbacks = [];
  return new Promise((resolve) => {
    for (const [n, what, options] of BURST) {
      const cb = (err) => {
        callbacks.push({ n, err: errInfo(err) });
        if (callbacks.length === BURST.length) {
          obs('burst callbacks', { lane, callbacks });
          resolve();
        }
      };
      const args = [{ n, what }];
      if (what) args.push(res[what]);
      if (options) args.push(options);
      rets.push({ n, ret: send(...args, cb) });
    }
    obs('burst returns', { lane, rets });
  });
}

// Receiving side of the burst: records order and kinds, then uses the two
// socket copies and releases everything. `done(record)` when complete.
function burstReceiver(done) {
  const record = [];
  const sockets = [];
  const closers = [];
  return (msg, handle) => {
    record.push({ n: msg.n, what: msg.what, kind: kind(handle) });
    if (handle instanceof net.Server || handle instanceof dgram.Socket) closers.push(handle);
    if (handle instanceof net.Socket) sockets.push(handle);
    if (record.length < BURST.length) return;
    for (const h of closers) h.close();
    const [copy6, copy7] = sockets;
    copy6.write(`via copy of message 6\n`, () => {
      copy6.destroy();
      copy7.end(`via copy of message 7\n`);
    });
    done(record);
  };
}

// Resources of one side: a listening server, a bound dgram socket, and a
// connection whose other end `peerLines` collects.
function listen(server, exclusive) {
  return new Promise((resolve) => server.listen({ port: 0, host: '127.0.0.1', exclusive }, resolve));
}
function bind(sock, exclusive) {
  return new Promise((resolve) => sock.bind({ port: 0, address: '127.0.0.1', exclusive }, resolve));
}

if (cluster.isPrimary) {
  cluster.setupPrimary({ serialization: mode });
  const w = cluster.fork();
  const finish = watchExit(w, obs);
  const inbox = new Inbox();
  let onHandleMessage = null;
  w.on('message', (msg, handle) => {
    if (onHandleMessage && msg && msg.ev === undefined) {
      onHandleMessage(msg, handle);
      return;
    }
    inbox.push({ msg, handle });
  });
  const fromWorker = (ev) => inbox.take((m) => m.msg && m.msg.ev === ev);

  // A server whose connections' lines are collected: the far end of passed sockets.
  const target = net.createServer();
  const targetConns = [];
  target.on('connection', (conn) => {
    const entry = { lines: [], ended: null };
    entry.ended = new Promise((resolve) => conn.on('end', () => { conn.end(); resolve(); }));
    onLines(conn, (l) => entry.lines.push(l));
    targetConns.push(entry);
  });

  async function queuePart() {
    // Primary -> worker.
    const server = net.createServer();
    await listen(server);
    const sock = dgram.createSocket('udp4');
    await bind(sock);
    const client = net.connect(target.address().port, '127.0.0.1');
    await new Promise((resolve) => client.on('connect', resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const far = targetConns.shift();
    w.send({ cmd: 'receive burst' });
    await fromWorker('receiving');
    const callbacksDone = burst((...a) => w.send(...a), { server, dgram: sock, socket: client }, 'P->W');
    obs('worker received', { record: (await fromWorker('received')).msg.record });
    await callbacksDone;
    await far.ended;
    obs('far end of the passed socket', { lines: far.lines });
    server.close();
    sock.close();

    // Worker -> primary.
    let received;
    const gotAll = new Promise((resolve) => { received = resolve; });
    onHandleMessage = burstReceiver(received);
    w.send({ cmd: 'send burst', port: target.address().port });
    obs('primary received', { record: await gotAll });
    onHandleMessage = null;
    await (await fromWorker('burst done')).msg;
    while (targetConns.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const far2 = targetConns.shift();
    await far2.ended;
    obs('far end of the passed socket', { lines: far2.lines });
  }

  async function bothPart() {
    const server = net.createServer();
    await listen(server);
    const got = [];
    let gotAll;
    const allIn = new Promise((resolve) => { gotAll = resolve; });
    onHandleMessage = (msg, handle) => {
      got.push(`${msg.n}:${kind(handle)}`);
      if (handle) handle.close();
      if (got.length === 2 * ROUNDS) gotAll();
    };
    w.send({ cmd: 'both' });
    // Start together with the worker, which starts on receiving 'both'.
    let callbacks = 0;
    let cbDone;
    const allCb = new Promise((resolve) => { cbDone = resolve; });
    for (let i = 0; i < ROUNDS; i++) {
      const cb = (err) => { if (err) obs('callback error', { err: errInfo(err) }); if (++callbacks === 2 * ROUNDS) cbDone(); };
      w.send({ n: 2 * i }, server, cb);
      w.send({ n: 2 * i + 1 }, cb);
    }
    const timeout = (label) => new Promise((resolve) => setTimeout(resolve, 8000, `timed out: ${label}`).unref());
    obs('primary got from the worker', { result: brief(await Promise.race([allIn.then(() => got), timeout('receive')])) });
    obs('primary callbacks', { result: await Promise.race([allCb.then(() => callbacks), timeout('callbacks')]) });
    const fromW = await fromWorker('both done');
    obs('worker got from the primary', { result: brief(fromW.msg.got) });
    onHandleMessage = null;
    server.close();
  }

  async function bigPart() {
    const server = net.createServer((conn) => conn.end('primary\n'));
    await listen(server);
    const pad = 'é'.repeat(16) + 'x'.repeat(BIG);
    let sync = true;
    let cbArgs;
    const cbDone = new Promise((resolve) => {
      const message = { pad, sha: sha(pad), port: server.address().port };
      const ret = w.send(message, server, (...a) => { cbArgs = { args: a, sync }; resolve(); });
      sync = false;
      const ret2 = w.send({ after: 'big' });
      obs('sent big with a handle', { ret, ret2 });
    });
    await cbDone;
    obs('big send callback', cbArgs);
    const strip = ({ ev, ...rest }) => rest;
    obs('worker got', strip((await fromWorker('big')).msg));
    obs('worker then got', strip((await fromWorker('after big')).msg));
    server.close();
    // And back.
    let got;
    const gotBig = new Promise((resolve) => { got = resolve; });
    const order = [];
    onHandleMessage = (msg, handle) => {
      if (msg.pad !== undefined) {
        order.push('big');
        const port = handle && handle.address().port;
        obs('primary got big', {
          length: msg.pad.length, intact: sha(msg.pad) === msg.sha, kind: kind(handle), samePort: port === msg.port,
        });
        handle.on('connection', (conn) => conn.end('primary, on the passed server\n'));
        w.send({ cmd: 'close big server' });
        fromWorker('closed').then(() => {
          net.connect(port, '127.0.0.1').on('data', (d) => {
            obs('passed server answers', { data: String(d) });
            handle.close();
            got();
          });
        });
      } else {
        order.push(msg.after);
      }
    };
    w.send({ cmd: 'big back' });
    await gotBig;
    obs('primary order', { order });
    onHandleMessage = null;
  }

  target.listen(0, '127.0.0.1', async () => {
    await fromWorker('ready');
    if (part === 'queue') await queuePart();
    else if (part === 'both') await bothPart();
    else await bigPart();
    target.close();
    finish();
    w.disconnect();
  });
} else {
  let onBurst = null;
  let big = 0;
  let bigServer = null;
  process.on('message', async (msg, handle) => {
    if (msg.n !== undefined && onBurst) {
      onBurst(msg, handle);
      return;
    }
    if (msg.pad !== undefined) {
      const port = handle && handle.address().port;
      process.send({ ev: 'big', length: msg.pad.length, intact: sha(msg.pad) === msg.sha, kind: kind(handle), samePort: port === msg.port });
      big++;
      handle.close();
      return;
    }
    if (msg.after !== undefined) {
      process.send({ ev: 'after big', after: msg.after, afterBig: big === 1 });
      return;
    }
    switch (msg.cmd) {
      case 'receive burst':
        onBurst = burstReceiver((record) => { onBurst = null; process.send({ ev: 'received', record }); });
        process.send({ ev: 'receiving' });
        break;
      case 'send burst': {
        const server = net.createServer();
        await listen(server, true);
        const sock = dgram.createSocket('udp4');
        await bind(sock, true);
        const client = net.connect(msg.port, '127.0.0.1');
        await new Promise((resolve) => client.on('connect', resolve));
        await burst((...a) => process.send(...a), { server, dgram: sock, socket: client }, 'W->P');
        server.close();
        sock.close();
        process.send({ ev: 'burst done' });
        break;
      }
      case 'both': {
        // The primary's first messages may come before the server listens.
        const got = [];
        let callbacks = 0;
        let finished = false;
        const finish = (why) => {
          if (finished) return;
          finished = true;
          server.close();
          process.send({ ev: 'both done', got: why || got });
        };
        onBurst = (m, h) => {
          got.push(`${m.n}:${kind(h)}`);
          if (h) h.close();
          if (got.length === 2 * ROUNDS && callbacks === 2 * ROUNDS) finish();
        };
        const server = net.createServer();
        await listen(server, true);
        for (let i = 0; i < ROUNDS; i++) {
          const cb = () => { if (++callbacks === 2 * ROUNDS && got.length === 2 * ROUNDS) finish(); };
          process.send({ n: 2 * i }, server, cb);
          process.send({ n: 2 * i + 1 }, cb);
        }
        setTimeout(() => finish(`timed out: got ${got.length}, callbacks ${callbacks}`), 8000).unref();
        break;
      }
      case 'big back': {
        const server = net.createServer((conn) => conn.end('worker\n'));
        await listen(server, true);
        const pad = 'x'.repeat(BIG) + '😀'.repeat(16);
        process.send({ pad, sha: sha(pad), port: server.address().port }, server);
        process.send({ after: 'after big' });
        bigServer = server;
        break;
      }
      case 'close big server':
        bigServer.close(() => process.send({ ev: 'closed' }));
        break;
      default:
    }
  });
  process.send({ ev: 'ready' });
}
