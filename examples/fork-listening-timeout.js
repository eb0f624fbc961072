'use strict';

// From the Node v12 reference (cluster 'fork' event): the primary starts a
// timer when a worker is forked and clears it when the worker listens; if
// the timer fires, or a worker exits, something must be wrong.
//
// Here worker #1 listens (its timer is cleared) and worker #2 never listens,
// so its 2-second timer fires. Then the primary disconnects both workers;
// as in the original, each exit prints the error message too.
// It ends by itself after ~2 seconds.
//
// Port: env PORT, default 8000.

const cluster = require('rust-cluster');
const net = require('net');

const PORT = Number(process.env.PORT) || 8000;

if (cluster.isMaster) {
  const timeouts = [];
  function errorMsg(worker, why) {
    console.error(`Something must be wrong with the connection ... (worker #${worker.id}: ${why})`);
  }

  cluster.on('fork', (worker) => {
    timeouts[worker.id] = setTimeout(() => {
      errorMsg(worker, 'not listening after 2000 ms');
      // Added: stop here, the demonstration is over.
      cluster.disconnect(() => console.log('primary: all workers disconnected'));
    }, 2000);
  });
  cluster.on('listening', (worker, address) => {
    console.log(`primary: worker #${worker.id} is listening on port ${address.port}`);
    clearTimeout(timeouts[worker.id]);
  });
  cluster.on('exit', (worker, code, signal) => {
    clearTimeout(timeouts[worker.id]);
    errorMsg(worker, `exited with code ${code}`);
  });

  // Worker #2 is forked once worker #1 listens, so that the two never start
  // at the same time (on a loaded machine, starting both at once could make
  // worker #1 late too).
  cluster.fork({ SHOULD_LISTEN: '1' }).once('listening', () => {
    cluster.fork({ SHOULD_LISTEN: '0' });
  });
} else if (process.env.SHOULD_LISTEN === '1') {
  net.createServer((socket) => socket.end('hi\n')).listen(PORT);
} else {
  // Never listens; the IPC channel keeps this worker alive.
}
