'use strict';
// worker.send(message, server) and worker.send(message, dgramSocket) from
// the primary. The worker accepts on the net.Server it got (TCP over IPv4
// and IPv6, and a unix socket) and receives datagrams on the dgram.Socket it
// got (udp4, udp6), answering on them. The primary closes its own copy once
// the worker has the handle, so only the worker's copy can serve.
// (Not a unix-socket server: a cluster worker's listen(pipeHandle) turns into
// a queryServer for fd N of the primary and fails under Node's cluster too.)
//   node handle/server.js [json|advanced]
const dgram = require('node:dgram');
const net = require('node:net');
const { cluster, obs, safety, errInfo } = require('../../helpers/observe');
const { modeFromArgv, onLines, describeHandle, forkWithInbox } = require('./common');

safety(10000);
const mode = modeFromArgv();

const CASES = [
  { what: 'tcp4', type: 'net', host: '127.0.0.1' },
  { what: 'tcp6', type: 'net', host: '::1' },
  { what: 'udp4', type: 'udp4', host: '127.0.0.1' },
  { what: 'udp6', type: 'udp6', host: '::1' },
];

if (cluster.isPrimary) {
  const { w, finish, fromWorker } = forkWithInbox(cluster, mode, obs);

  function open(c) {
    return new Promise((resolve) => {
      if (c.type === 'net') {
        const server = net.createServer((conn) => conn.end('served by the primary\n'));
        server.listen(0, c.host, () => resolve(server));
      } else {
        const socket = dgram.createSocket(c.type);
        socket.on('message', (m) => obs('primary copy got a datagram', { what: c.what, m: String(m) }));
        socket.bind(0, c.host, () => resolve(socket));
      }
    });
  }

  function tcpClient(c, where) {
    return new Promise((resolve) => {
      const sock = net.connect(where, c.host);
      const lines = [];
      onLines(sock, (l) => lines.push(l));
      sock.on('end', () => resolve({ lines, end: true }));
      sock.on('error', (err) => resolve({ lines, err: errInfo(err) }));
    });
  }

  // Sends three datagrams one after another and waits for each echo.
  async function udpClient(c, port) {
    const sock = dgram.createSocket(c.type);
    await new Promise((resolve) => sock.bind(0, c.host, resolve));
    const echoes = [];
    for (let i = 0; i < 3; i++) {
      const echo = new Promise((resolve) => sock.once('message', (m) => resolve(String(m))));
      sock.send(`datagram ${i}`, port, c.host);
      echoes.push(await Promise.race([echo, new Promise((r) => setTimeout(r, 2000, '<no echo>').unref())]));
    }
    sock.close();
    return echoes;
  }

  async function runCase(c) {
    const handle = await open(c);
    const { port } = handle.address();
    let cbArgs;
    let sync = true;
    const done = new Promise((resolve) => {
      const ret = w.send({ what: c.what, port }, handle, (...a) => { cbArgs = { args: a, sync }; resolve(); });
      sync = false;
      obs('sent', { what: c.what, ret });
    });
    await done;
    obs('send callback', { what: c.what, ...cbArgs });
    const got = await fromWorker('got');
    obs('worker got', got);
    // The primary keeps its handle after the send (Node closes only sockets).
    const stillMine = c.type === 'net' ? handle.listening : (() => { try { return handle.address().port === port; } catch { return false; } })();
    obs('primary copy after the send', { what: c.what, usable: stillMine });
    await new Promise((resolve) => handle.close(resolve));
    if (c.type === 'net') obs('client', { what: c.what, ...(await tcpClient(c, port)) });
    else obs('client', { what: c.what, echoes: await udpClient(c, port) });
    w.send({ cmd: 'close', what: c.what });
    obs('worker closed it', await fromWorker('closed'));
  }

  (async () => {
    await fromWorker('ready');
    for (const c of CASES) await runCase(c);
    finish();
    w.disconnect();
  })();
} else {
  const got = new Map();
  process.on('message', (msg, handle) => {
    if (msg && msg.cmd === 'close') {
      const h = got.get(msg.what);
      h.close(() => process.send({ ev: 'closed', what: msg.what }));
      return;
    }
    const desc = describeHandle(handle);
    const samePlace = desc.port === msg.port;
    process.send({ ev: 'got', what: msg.what, handle: desc, samePlace });
    if (desc.kind === 'net.Server') {
      got.set(msg.what, handle);
      handle.on('connection', (conn) => conn.end(`served by worker ${cluster.worker.id} (${msg.what})\n`));
    } else if (desc.kind === 'dgram.Socket') {
      got.set(msg.what, handle);
      handle.on('message', (m, rinfo) => handle.send(`worker ${cluster.worker.id} echoes ${m}`, rinfo.port, rinfo.address));
    }
  });
  process.send({ ev: 'ready' });
}
