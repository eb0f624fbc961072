'use strict';

// From the Node v12 reference (worker.disconnect()), also in the "Worker
// object" and "worker.disconnect()" tutorials: a long-lived connection keeps a
// worker from disconnecting, so the primary asks it to shut down, disconnects
// it, and kills it if the 'disconnect' event has not come within 2 seconds.
//
// In the original nobody connects, so the disconnect completes at once and
// the timeout is simply cleared. This version makes the timeout matter: the
// primary first opens a TCP connection to the worker's server and keeps it
// open (the worker greets it so the primary knows the worker holds it; the
// worker never ends it, as in the original). The worker cannot finish
// disconnecting, the timeout fires, worker.kill() sends SIGTERM, and then the
// 'disconnect' and 'exit' events come. It ends by itself after ~2 seconds.
//
// Port: env PORT, default 8000 (as in the original).

const cluster = require('rust-cluster');
const net = require('net');

const PORT = Number(process.env.PORT) || 8000;

if (cluster.isMaster) {
  const worker = cluster.fork();
  let timeout;

  worker.on('listening', (address) => {
    // Added: hold one connection open in the worker.
    const client = net.connect(PORT, '127.0.0.1');
    client.setEncoding('utf8');
    client.once('data', (greeting) => {
      console.log(`client: ${greeting.trim()}`);

      // The original program from here on.
      worker.send('shutdown');
      worker.disconnect();
      console.log('primary: asked the worker to shut down and disconnect');
      timeout = setTimeout(() => {
        console.log('primary: no disconnect within 2000 ms, killing the worker');
        worker.kill();
      }, 2000);
    });
    client.on('error', () => {}); // the connection is reset when the worker dies
    client.on('close', () => console.log('client: connection closed'));
  });

  worker.on('disconnect', () => {
    clearTimeout(timeout);
    console.log('primary: worker disconnected');
  });

  worker.on('exit', (code, signal) => {
    console.log(`primary: worker exited: code=${code} signal=${signal} exitedAfterDisconnect=${worker.exitedAfterDisconnect}`);
  });
} else if (cluster.isWorker) {
  const server = net.createServer((socket) => {
    // Connections never end
    socket.write(`connected to worker #${cluster.worker.id}\n`);
  });

  server.listen(PORT);

  process.on('message', (msg) => {
    if (msg === 'shutdown') {
      // Initiate graceful close of any connections to server
      // (deliberately left undone, so the primary's timeout fires)
      console.log('worker: got shutdown');
    }
  });
}
