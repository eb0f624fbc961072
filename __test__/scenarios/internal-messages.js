'use strict';
// 'internalMessage' on worker.process: every internal message the worker sends, in order with
// the cluster events it causes, once something listens (and for as long as it does).
// argv[2]: json | advanced. The worker goes online, listens (round-robin), takes a connection
// and sends that socket to the primary, then a server of its own (NODE_HANDLE envelopes); then
// the listener is removed and the worker is disconnected.
const net = require('node:net');
const { cluster, obs, safety } = require('../helpers/observe');

safety();

// Ports differ between runs; keep the message's keys and its other values.
const shape = (m) => JSON.parse(JSON.stringify(m, (k, v) => (k === 'port' && v !== 0 ? '<port>' : v)));

if (cluster.isPrimary) {
  cluster.setupPrimary({ serialization: process.argv[2] });
  cluster.on('fork', (w) => {
    w.process.once('internalMessage', (m) => obs('once', { cmd: m.cmd, act: m.act }));
    const all = (m, handle) => {
      // A NODE_HANDLE envelope comes with the raw handle (a TCP wrap), everything else without.
      obs('internalMessage', { m: shape(m), handle: handle === undefined ? 'none' : handle.constructor.name });
    };
    w.process.on('internalMessage', all);
    w.on('online', () => obs('online'));
    let client = null;
    w.on('listening', (a) => {
      obs('listening', { port: typeof a.port });
      client = net.connect(a.port, '127.0.0.1');
    });
    w.on('message', (msg, h) => {
      obs('message', { msg, handle: h ? h.constructor.name : typeof h });
      if (h && h instanceof net.Socket) h.end('from the primary');
      if (h && h instanceof net.Server) {
        obs('server', { listening: h.listening, port: typeof h.address().port });
        h.close();
      }
      if (msg === 'done') {
        // The listener leaves: what the worker sends from now on is not reported.
        w.process.removeListener('internalMessage', all);
        let got = '';
        client.on('data', (d) => { got += d; });
        client.on('close', () => {
          obs('client', { got });
          w.disconnect();
        });
      }
    });
    w.on('disconnect', () => obs('disconnect'));
    w.on('exit', (code, signal) => obs('exit', { code, signal }));
  });
  cluster.fork();
} else {
  // The connection the primary makes goes to the primary as a socket of the worker's.
  const srv = net.createServer((s) => {
    process.send({ sock: 1 }, s);
    // A server of the worker's own (exclusive: not shared through the primary).
    const own = net.createServer().listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      process.send('server', own, () => {
        own.close();
        process.send('done');
      });
    });
  }).listen(0, '127.0.0.1');
  process.on('disconnect', () => srv.close());
}
