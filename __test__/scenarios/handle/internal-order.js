'use strict';
// One queue for everything the primary sends a worker: while a handle the primary sent waits for
// the worker's NODE_HANDLE_ACK, later user messages and the primary's own cluster messages (here
// a round-robin connection) wait in the order they were sent.
//   The worker listens (round-robin) and then blocks its event loop for a while, so the ACK of
//   the next handle is late. Meanwhile the primary sends: message 1 with a net.Server, message 2,
//   a client connection to the worker's port, then message 3. The worker reports the order in
//   which the messages and the connection reached it: 1, 2, connection, 3.
//   Part 'nack': message 1 carries a net.Socket instead, and the worker refuses it once (it
//   turns its first NODE_HANDLE_ACK into a NACK), so the primary sends it again before the rest.
//   Part 'throw' (json): message 2 holds a BigInt, which JSON cannot serialize when its turn
//   comes after the ACK. The primary's uncaughtException listener sees the TypeError; message 3,
//   kept behind it, is dropped; the client waits up to 1.5 s for a reply; then message 4 goes.
//   Part 'nofd': message 2 carries a dgram socket that was never bound, so it has no descriptor
//   when its turn comes after the ACK: it fails with EBADF, and the connection and message 3
//   keep their order (1, connection, 3).
//   node handle/internal-order.js [json|advanced] [order|nack|throw|nofd]
const dgram = require('node:dgram');
const net = require('node:net');
const { cluster, obs, safety } = require('../../helpers/observe');
const { modeFromArgv } = require('./common');

safety(15000);
const mode = modeFromArgv();
const BLOCK_MS = 400;
const part = process.argv[3] || 'order';
const LAST = part === 'throw' ? 4 : 3;

if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_RR;
  cluster.setupPrimary({ serialization: mode });
  if (part === 'throw') process.on('uncaughtException', (e) => obs('uncaught', { name: e.name }));
  const worker = cluster.fork();
  worker.on('message', (m) => {
    if (m.port !== undefined) {
      worker.send({ block: BLOCK_MS });
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        if (part === 'nack') {
          // A connection of the primary's own, its server side passed to the worker.
          server.once('connection', (socket) => sendRest(socket));
          net.connect(server.address().port, '127.0.0.1').on('close', () => {
            obs('closed by the worker', { lane: 'own' });
          });
        } else {
          sendRest(server);
        }
      });
      const sendRest = (handle) => {
        worker.send({ n: 1 }, handle);
        if (part === 'nofd') {
          const unbound = dgram.createSocket('udp4');
          worker.send({ n: 2 }, unbound, (err) => {
            obs('message 2 callback', { code: err && err.code });
            unbound.close();
          });
        } else {
          worker.send(part === 'throw' ? { n: 2, big: 1n } : { n: 2 });
        }
        const client = net.connect(m.port, '127.0.0.1');
        let reply = '';
        client.setEncoding('utf8');
        client.on('data', (d) => { reply += d; });
        client.on('end', () => obs('client got', { lane: 'client', reply }));
        client.on('connect', () => setTimeout(() => worker.send({ n: 3 }), 100));
        if (part === 'throw') {
          const giveUp = setTimeout(() => {
            obs('client got', { lane: 'client', reply: 'nothing in 1.5 s' });
            client.destroy();
          }, 1500);
          client.on('end', () => clearTimeout(giveUp));
          client.on('close', () => worker.send({ n: 4 }));
        }
      };
      worker.on('exit', () => server.close());
    } else if (m.order) {
      obs('worker saw', { order: m.order.join(',') });
      worker.disconnect();
    }
  });
} else {
  const order = [];
  const report = () => {
    if (order[order.length - 1] === LAST) process.send({ order });
  };
  if (part === 'nack') {
    const send = process._send;
    let refused = false;
    process._send = function refuseOnce(message, ...rest) {
      if (!refused && message && message.cmd === 'NODE_HANDLE_ACK') {
        refused = true;
        return send.call(this, { cmd: 'NODE_HANDLE_NACK' }, ...rest);
      }
      return send.call(this, message, ...rest);
    };
  }
  const server = net.createServer((c) => {
    order.push('connection');
    c.end('hello');
    report();
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', (m, handle) => {
    if (m.block) {
      const until = Date.now() + m.block;
      while (Date.now() < until);
      return;
    }
    order.push(m.n);
    if (handle instanceof net.Socket) handle.destroy();
    else if (handle) handle.close();
    report();
  });
  cluster.worker.on('disconnect', () => server.close());
}
