'use strict';
// A worker that asks for a server and exits before the answer can arrive. A second worker then
// listens on the same port and serves; the primary keeps no handle for the dead one.
const fs = require('node:fs');
const net = require('node:net');
const { cluster, obs, safety } = require('../helpers/observe');

safety(10000);
if (cluster.isPrimary) {
  const fds = () => fs.readdirSync('/proc/self/fd').length;
  const first = cluster.fork({ ROLE: 'quitter' });
  // Node's primary may hit EPIPE answering the worker that is already gone (docs/PROTOCOL.md §8.17)
  // and would die of the unhandled 'error'; this scenario is about what happens afterwards.
  first.on('error', () => {});
  first.on('exit', (code) => {
    obs('quitter exit', { code });
    const before = fds();
    const second = cluster.fork({ ROLE: 'server' });
    second.on('listening', (address) => {
      obs('server listening', { port: typeof address.port });
      net.connect(address.port, '127.0.0.1').setEncoding('utf8').on('data', (d) => {
        obs('answer', { d });
        second.disconnect();
      });
    });
    second.on('exit', (c) => {
      obs('server exit', { code: c, fdsBack: fds() <= before + 1 });
    });
  });
} else if (process.env.ROLE === 'quitter') {
  net.createServer().listen(Number(process.env.PORT_FOR_TEST || 0) || 0);
  process.exit(0);
} else {
  net.createServer((c) => c.end('served')).listen(0);
}
