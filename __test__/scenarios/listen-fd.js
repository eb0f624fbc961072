'use strict';
// Workers listen on a descriptor of the primary's (`listen({ fd: 3 })`): the primary was started
// with a listening socket as its fd 3. Each worker answers with its id; the primary reports the
// 'listening' events, then the test's client connects.
const net = require('node:net');
const { cluster, obs, safety } = require('../helpers/observe');

safety(15000);
if (cluster.isPrimary) {
  let listening = 0;
  cluster.on('listening', (w, address) => {
    obs('listening', { id: w.id, address });
    if (++listening === 2) obs('ready');
  });
  cluster.fork();
  cluster.fork();
  process.stdin.on('data', () => cluster.disconnect());
  process.stdin.on('end', () => cluster.disconnect());
} else {
  net.createServer((c) => c.end(`worker ${cluster.worker.id}`)).listen({ fd: 3 }, function onListening() {
    obs('worker listening', { address: this.address() === null ? null : typeof this.address() });
  });
}
