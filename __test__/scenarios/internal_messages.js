'use strict';
// 'internalMessage' on worker.process: every internal message the worker sends, in order with
// the cluster events it causes, once something listens (and for as long as it does).
// argv[2]: json | advanced. The worker goes online, listens (round-robin), takes a connection
// and sends that socket to the primary (a NODE_HANDLE envelope); then the listener is removed
// and the worker is disconnected.
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
      // For NODE_HANDLE Node passes the raw handle, rust-cluster passes none (README, Not
      // supported); every other internal message comes without one in both.
      obs('internalMessage', { m: shape(m), handle: m.cmd === 'NODE_HANDLE' ? 'not compared' : typeof handle });
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
      if (h) h.end('from the primary');
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
    process.send('done');
  }).listen(0, '127.0.0.1');
  process.on('disconnect', () => srv.close());
}
