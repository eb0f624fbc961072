'use strict';
// Connections held open across worker changes (TCP, round robin unless the
// policy says otherwise).
//   argv: <case> <policy>
//   disconnect_waits: W1 has a server with an open connection; the primary
//     calls W1.disconnect(). W1 stays up (new connections go to W2) until the
//     client closes its connection; then W1 disconnects and exits.
//   maxconn: W1 has maxConnections=1 and one open connection. New
//     connections handed to W1 are refused by it and go to W2 (docs/PROTOCOL.md
//     §4.5/4.8, §7.8). Once W1's connection closes, W1 serves again.
// W1 listens alone first, so that the held connection is W1's under any
// policy; then W2 is forked.
const net = require('node:net');
const { cluster, obs, safety, snap } = require('../../helpers/observe');
const { applyPolicy, request, sleep } = require('./common');

const [mode, policy = 'rr'] = process.argv.slice(2);
safety(20000);

if (cluster.isPrimary) {
  obs('policy', { schedulingPolicy: applyPolicy(cluster, policy) });
  const inbox = new Map();
  const nextMsg = (w) => new Promise((resolve) => inbox.set(w.id, resolve));
  const fork = () => {
    const w = cluster.fork({ RC_MAXCONN: mode === 'maxconn' && !cluster.workers[1] ? '1' : '' });
    w.on('message', (m) => {
      const r = inbox.get(w.id);
      inbox.delete(w.id);
      if (r) r(m);
      else obs('unexpected message', { id: w.id, m });
    });
    // Workers end concurrently at the end: one lane each.
    w.on('disconnect', () => obs('W.disconnect', { lane: `w${w.id}`, ...snap(w) }));
    w.on('exit', (code, signal) => obs('W.exit', { lane: `w${w.id}`, code, signal, ...snap(w) }));
    return w;
  };
  const who = (answers) => answers.map((a) => (typeof a === 'string' ? a.split(':')[0] : a));

  (async () => {
    const w1 = fork();
    const { port } = await nextMsg(w1);
    // The held connection.
    const held = net.connect({ host: '127.0.0.1', port });
    let heldAnswer = '';
    const heldClosed = new Promise((resolve) => {
      held.setEncoding('utf8').on('data', (d) => { heldAnswer += d; }).on('close', resolve);
    });
    held.on('error', (err) => obs('held connection error', { code: err.code }));
    held.write('hold\n');
    obs('W1 got the held connection', await nextMsg(w1));

    const w2 = fork();
    await nextMsg(w2);

    if (mode === 'disconnect_waits') {
      w1.disconnect();
      obs('disconnect() called', snap(w1));
      await sleep(300);
      obs('300 ms later', snap(w1));
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await request('tcp', port, { payload: `d${i}` }));
      obs('new connections meanwhile', { answeredBy: who(answers) });
      const w1Exit = new Promise((resolve) => w1.once('exit', resolve));
      obs('releasing the held connection');
      held.end('bye\n');
      await heldClosed;
      obs('held connection closed', { answer: heldAnswer.trim() });
      await w1Exit;
      obs('W1 exited', snap(w1));
      const later = [];
      for (let i = 0; i < 2; i++) later.push(await request('tcp', port, { payload: `l${i}` }));
      obs('after W1 exited', { answeredBy: who(later) });
    } else {
      const answers = [];
      for (let i = 0; i < 6; i++) answers.push(await request('tcp', port, { payload: `m${i}` }));
      obs('while W1 is full', { answeredBy: who(answers) });
      w1.send('connections?');
      obs('W1 connections', await nextMsg(w1));
      const sawClose = nextMsg(w1);
      held.end('bye\n');
      await heldClosed;
      obs('held connection closed', { answer: heldAnswer.trim() });
      obs('W1 saw it close', await sawClose);
      const after = [];
      for (let i = 0; i < 8; i++) after.push(await request('tcp', port, { payload: `a${i}` }));
      const by = who(after);
      obs('after W1 has room again', { both: by.includes('W1') && by.includes('W2'), failures: by.filter((x) => typeof x !== 'string') });
    }
    cluster.disconnect(() => obs('disconnect callback'));
  })().catch((err) => {
    obs('primary failed', { stack: err.stack });
    process.exit(1);
  });
} else {
  const me = `W${cluster.worker.id}`;
  const server = net.createServer((socket) => {
    socket.setEncoding('utf8');
    let buf = '';
    socket.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line === 'hold') {
          socket.held = true;
          obs('holding a connection');
          process.send({ holding: true });
        } else if (line === 'bye') {
          socket.end(`${me}:bye\n`);
        } else {
          socket.end(`${me}:${line}\n`);
        }
      }
    });
    socket.on('close', () => {
      if (socket.held && mode === 'maxconn') process.send({ closed: true, connections: server._connections });
    });
    socket.on('error', () => {});
  });
  if (process.env.RC_MAXCONN) server.maxConnections = Number(process.env.RC_MAXCONN);
  server.on('close', () => obs('server closed'));
  server.listen(0, () => process.send({ port: server.address().port }));
  process.on('message', (m) => {
    if (m === 'connections?') server.getConnections((err, count) => process.send({ count }));
  });
}
