'use strict';

// From the process/child_process/cluster tutorial ("sharing sockets"): the
// primary runs its own TCP server and hands some of the connections it
// accepts to a worker with worker.send('socket', socket); it answers the
// others itself. The worker program is examples/workers/subsocket.js, set with
// setupMaster({ exec }).
//
// Changes from the original: it chose by `Date.now() % 2`, which makes the
// output vary from run to run; this version alternates (odd connections go to
// the worker, even ones stay in the primary). The original serves forever; by
// default this version connects four clients itself (one after the other),
// prints the replies and the worker's notes, then closes the server and
// disconnects the worker. `--forever` serves outside clients instead.
//
// Port: env PORT, default 41234 (as in the original), on 'localhost'.

const cluster = require('rust-cluster');
const net = require('net');
const path = require('path');

const PORT = Number(process.env.PORT) || 41234;
const FOREVER = process.argv.includes('--forever');
const CLIENTS = 4;

cluster.setupMaster({
  exec: path.join(__dirname, 'workers', 'subsocket.js'),
});
const worker = cluster.fork();
const server = require('net').createServer();
let connections = 0;
server.on('connection', function (socket) {
  connections++;
  if (connections % 2 === 1) {
    worker.send('socket', socket);
  } else {
    socket.end('the client request was handled in the primary');
  }
});
let notes = 0;
worker.on('message', function (m, socket) {
  console.log(m);
  notes++;
  maybeFinish();
});

let replies = 0;
function maybeFinish() {
  if (FOREVER || replies !== CLIENTS || notes !== CLIENTS / 2) return;
  server.close(() => console.log('primary: server closed'));
  worker.disconnect();
}

// Wait for the worker to be online before listening, so the first connection
// can be handed over at once.
worker.on('online', () => {
  server.listen(PORT, 'localhost', async () => {
    if (FOREVER) return;
    const { address } = server.address();
    for (let i = 1; i <= CLIENTS; i++) {
      const reply = await talk(address, PORT);
      console.log(`client ${i}: ${reply}`);
      replies++;
    }
    maybeFinish();
  });
});
worker.on('exit', (code, signal) => console.log(`worker exited: code=${code} signal=${signal}`));

// Connect, read everything until the server ends the connection.
function talk(host, port) {
  return new Promise((resolve, reject) => {
    const client = net.connect(port, host);
    let data = '';
    client.setEncoding('utf8');
    client.on('data', (chunk) => { data += chunk; });
    client.on('end', () => resolve(data));
    client.on('error', reject);
  });
}
