'use strict';
// A worker's process.send(message, handle) to the primary. The primary gets
// the handle in worker.on('message', (msg, handle)) and in
// cluster.on('message', (worker, msg, handle)) and uses it:
//   net.Socket   (the worker's client connection to a server of the
//                 primary): the primary writes on it and reads the answer;
//   net.Server   (the worker's exclusive listener): the primary accepts on it;
//   dgram.Socket (udp4 and udp6, bound exclusively by the worker): the
//                 primary receives datagrams on it and answers.
// The worker closes its own copy of servers and dgram sockets once the
// primary has the handle. Part 'socketlist': the worker sends a connection it
// accepted on its own server (the envelope then carries `key`), then asks
// that server for getConnections() and closes it; Node's primary answers
// both for the sockets it holds (NODE_SOCKET_COUNT, NODE_SOCKET_ALL_CLOSED).
// Part 'native': the worker sends the raw TCP handle of its listening server
// (net.Native on the wire); Node's primary hands the raw handle over as is.
//   node handle/reverse.js [json|advanced] [use|socketlist|native]
const dgram = require('node:dgram');
const net = require('node:net');
const { cluster, obs, safety, errInfo } = require('../../helpers/observe');
const { modeFromArgv, onLines, describeHandle, watchExit, Inbox } = require('./common');

safety(10000);
const mode = modeFromArgv();
const part = process.argv[3] || 'use';

if (cluster.isPrimary) {
  cluster.setupPrimary({ serialization: mode });
  const w = cluster.fork();
  const finish = watchExit(w, obs);
  const inbox = new Inbox();
  let clusterSaw = null;
  cluster.on('message', (worker, msg, handle) => {
    clusterSaw = { sameWorker: worker === w, msg, handle };
  });
  w.on('message', (msg, handle, ...rest) => {
    const c = clusterSaw;
    clusterSaw = null;
    inbox.push({ msg, handle, argc: 2 + rest.length, cluster: c });
  });
  const fromWorker = (ev) => inbox.take((m) => m.msg && m.msg.ev === ev);
  // A message with a handle: what both listeners saw.
  async function handleFromWorker(ev) {
    const got = await fromWorker(ev);
    obs('primary got', {
      msg: got.msg, argc: got.argc, handle: describeHandle(got.handle),
      clusterEvent: got.cluster && {
        before: true, sameWorker: got.cluster.sameWorker,
        sameMsg: got.cluster.msg === got.msg, sameHandle: got.cluster.handle === got.handle,
      },
    });
    return got;
  }

  // A server of the primary that answers each line.
  const target = net.createServer((conn) => {
    onLines(conn, (line) => conn.write(`target got "${line}"\n`));
    conn.on('end', () => { obs('target saw end'); conn.end(); });
  });

  async function socketCase() {
    w.send({ cmd: 'connect', port: target.address().port });
    const { handle } = await handleFromWorker('socket');
    const line = await new Promise((resolve) => {
      onLines(handle, resolve);
      handle.write('written by the primary on the worker\'s connection\n');
    });
    obs('answer read through the passed socket', { line });
    handle.end();
    await new Promise((resolve) => handle.on('close', resolve));
    obs('passed socket closed');
  }

  async function serverCase() {
    w.send({ cmd: 'server' });
    const { handle: server } = await handleFromWorker('server');
    server.on('connection', (conn) => conn.end('served by the primary on the worker\'s server\n'));
    w.send({ cmd: 'close', what: 'server' });
    obs('worker closed its copy', { what: (await fromWorker('closed')).msg.what });
    const { port } = server.address();
    for (let i = 0; i < 2; i++) {
      const lines = await new Promise((resolve) => {
        const c = net.connect(port, '127.0.0.1');
        const seen = [];
        onLines(c, (l) => seen.push(l));
        c.on('end', () => resolve(seen));
        c.on('error', (err) => resolve([`error ${err.code}`]));
      });
      obs('client of the passed server', { i, lines });
    }
    await new Promise((resolve) => server.close(resolve));
  }

  async function dgramCase(type, host) {
    w.send({ cmd: 'dgram', type, host });
    const { handle: sock } = await handleFromWorker('dgram');
    sock.on('message', (m, rinfo) => sock.send(`primary echoes ${m}`, rinfo.port, rinfo.address));
    w.send({ cmd: 'close', what: 'dgram' });
    obs('worker closed its copy', { what: (await fromWorker('closed')).msg.what });
    const client = dgram.createSocket(type);
    await new Promise((resolve) => client.bind(0, host, resolve));
    const echoes = [];
    for (let i = 0; i < 3; i++) {
      const echo = new Promise((resolve) => client.once('message', (m) => resolve(String(m))));
      client.send(`datagram ${i}`, sock.address().port, host);
      echoes.push(await Promise.race([echo, new Promise((r) => setTimeout(r, 2000, '<no echo>').unref())]));
    }
    obs('echoes from the passed dgram socket', { type, echoes });
    client.close();
    sock.close();
  }

  async function socketListCase() {
    w.send({ cmd: 'accept' });
    const { port } = (await fromWorker('accepting')).msg;
    const client = net.connect(port, '127.0.0.1');
    const clientLines = [];
    onLines(client, (l) => clientLines.push(l));
    const clientEnd = new Promise((resolve) => client.on('end', resolve));
    const { handle } = await handleFromWorker('accepted socket');
    handle.write('the primary writes on the connection the worker accepted\n');
    const count = await fromWorker('getConnections');
    const { ev, ...answer } = count.msg;
    obs('worker getConnections', answer);
    await fromWorker('close started');
    obs('worker started server.close()');
    await new Promise((resolve) => setTimeout(resolve, 200));
    obs('worker server closed before the primary let go', { closed: inbox.items.some((m) => m.msg.ev === 'server closed') });
    handle.end();
    await clientEnd;
    obs('client', { lines: clientLines });
    const closed = await Promise.race([fromWorker('server closed'), new Promise((r) => setTimeout(r, 2000, null).unref())]);
    obs('worker server closed after the primary let go', { closed: closed !== null, err: closed && closed.msg.err });
    client.destroy();
  }

  target.listen(0, '127.0.0.1', async () => {
    await fromWorker('ready');
    if (part === 'use') {
      await socketCase();
      await serverCase();
      await dgramCase('udp4', '127.0.0.1');
      await dgramCase('udp6', '::1');
    } else if (part === 'socketlist') {
      await socketListCase();
    } else {
      w.send({ cmd: 'native' });
      const { handle } = await handleFromWorker('native');
      obs('raw handle', { isSocket: handle instanceof net.Socket, hasFd: typeof handle.fd === 'number' });
      if (typeof handle.close === 'function') handle.close();
      else handle.destroy();
      w.send({ cmd: 'close', what: 'native' });
      await fromWorker('closed');
    }
    target.close();
    finish();
    w.disconnect();
  });
} else {
  const mine = {};
  const send = (msg, handle) => {
    let sync = true;
    const ret = process.send(msg, handle, (err) => obs('worker send callback', { what: msg.ev, err: errInfo(err), sync }));
    sync = false;
    obs('worker sent', { what: msg.ev, ret });
  };
  process.on('message', (msg) => {
    switch (msg.cmd) {
      case 'connect': {
        const sock = net.connect(msg.port, '127.0.0.1', () => send({ ev: 'socket' }, sock));
        break;
      }
      case 'server': {
        const server = net.createServer((conn) => conn.end('served by the worker\n'));
        server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => send({ ev: 'server' }, server));
        mine.server = server;
        break;
      }
      case 'dgram': {
        const sock = dgram.createSocket(msg.type);
        sock.on('message', () => obs('worker copy got a datagram'));
        sock.bind({ port: 0, address: msg.host, exclusive: true }, () => send({ ev: 'dgram', type: msg.type }, sock));
        mine.dgram = sock;
        break;
      }
      case 'native': {
        const server = net.createServer();
        server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => send({ ev: 'native' }, server._handle));
        mine.native = server;
        break;
      }
      case 'close':
        mine[msg.what].close(() => process.send({ ev: 'closed', what: msg.what }));
        break;
      case 'accept': {
        const server = net.createServer((conn) => {
          send({ ev: 'accepted socket' }, conn);
          // getConnections() and close() ask the primary about the socket.
          let done = false;
          const proceed = (info) => {
            done = true;
            process.send({ ev: 'getConnections', ...info });
            server.close((err) => {
              // Without an answer from the primary this only completes at disconnect.
              if (process.connected) process.send({ ev: 'server closed', err: errInfo(err) });
            });
            process.send({ ev: 'close started' });
          };
          const timer = setTimeout(() => proceed({ answered: false }), 1500);
          server.getConnections((err, n) => {
            if (done) return;
            clearTimeout(timer);
            proceed({ answered: true, err: errInfo(err), n });
          });
        });
        server.listen({ port: 0, host: '127.0.0.1', exclusive: true },
          () => process.send({ ev: 'accepting', port: server.address().port }));
        break;
      }
      default:
    }
  });
  process.send({ ev: 'ready' });
}
