'use strict';

// A tour of the primary's cluster events, from the Node v12 reference and the
// process/child_process/cluster tutorial: 'setup', 'fork', 'online',
// 'listening', 'message', 'disconnect' and 'exit', as they come for one worker
// that listens, sends a message from its listen callback and is then
// disconnected. ('setup' comes twice: for setupMaster() and again when fork()
// applies the settings.) It ends by itself.
//
// Port: env PORT, default 8000.

const cluster = require('rust-cluster');
const net = require('net');

const PORT = Number(process.env.PORT) || 8000;

if (cluster.isMaster) {
  cluster.on('setup', (settings) => {
    console.log(`'setup': exec is ${settings.exec === __filename ? 'this file' : settings.exec}`);
  });
  cluster.on('fork', function (worker) {
    console.log(`'fork': worker ${worker.id} was forked`);
  });
  cluster.on('online', function (worker) {
    console.log(`'online': got worker #${worker.id}'s online message`);
  });
  cluster.on('listening', (worker, address) => {
    console.log(`'listening': a worker is now connected to ${address.address}:${address.port} (addressType ${address.addressType})`);
  });
  cluster.on('message', (worker, message, handle) => {
    console.log(`'message': worker #${worker.id} says ${JSON.stringify(message)}; handle: ${handle}`);
    worker.disconnect();
  });
  cluster.on('disconnect', (worker) => {
    console.log(`'disconnect': the worker #${worker.id} has disconnected`);
  });
  cluster.on('exit', (worker, code, signal) => {
    console.log(`'exit': worker #${worker.id} exited with code ${code}, signal ${signal}`);
  });

  cluster.setupMaster({ exec: __filename });
  cluster.fork();
} else {
  const server = net.createServer((socket) => socket.end());
  server.listen(PORT, '127.0.0.1', () => {
    process.send({ hello: 'from the worker', listening: server.address().port });
  });
}
