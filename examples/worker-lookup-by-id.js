'use strict';

// From the Node v12 reference (cluster.workers): "Using the worker's unique id
// is the easiest way to locate the worker":
//   socket.on('data', (id) => { const worker = cluster.workers[id]; });
// Here the primary runs a small TCP control server; a client writes a worker
// id, the primary looks the worker up in cluster.workers and asks it to
// introduce itself, and the reply goes back to the client. By default the
// primary is its own client (127.0.0.1): it asks for every worker id and for
// one that does not exist, then closes the server, disconnects the workers
// and exits. `--forever` keeps the control server open for outside clients
// (try `echo 2 | nc 127.0.0.1 8000`).
//
// Port: env PORT, default 8000.

const cluster = require('rust-cluster');
const net = require('net');

const PORT = Number(process.env.PORT) || 8000;
const FOREVER = process.argv.includes('--forever');
const WORKERS = 2;

if (cluster.isMaster) {
  for (let i = 0; i < WORKERS; i++) cluster.fork();

  const server = net.createServer((socket) => {
    socket.setEncoding('utf8');
    socket.on('data', (id) => {
      id = id.trim();
      const worker = cluster.workers[id];
      if (!worker) {
        socket.end(`no worker with id ${id}\n`);
        return;
      }
      worker.once('message', (reply) => socket.end(`${reply}\n`));
      worker.send('who are you?');
    });
  });

  let online = 0;
  cluster.on('online', () => {
    if (++online !== WORKERS) return;
    server.listen(PORT, '127.0.0.1', async () => {
      if (FOREVER) return;
      for (const id of ['1', '2', '7']) {
        console.log(`asked for worker ${id}: ${(await ask(id)).trim()}`);
      }
      server.close();
      cluster.disconnect(() => console.log('all workers disconnected'));
    });
  });
} else {
  process.on('message', (msg) => {
    if (msg === 'who are you?') process.send(`I am worker #${cluster.worker.id}`);
  });
}

// Send one id to the control server, return its answer.
function ask(id) {
  return new Promise((resolve, reject) => {
    const client = net.connect(PORT, '127.0.0.1', () => client.write(id));
    let data = '';
    client.setEncoding('utf8');
    client.on('data', (chunk) => { data += chunk; });
    client.on('end', () => resolve(data));
    client.on('error', reject);
  });
}
