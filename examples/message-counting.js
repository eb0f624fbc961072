'use strict';

// From the Node v12 cluster reference (worker 'message' event), also in the
// "Worker object" tutorial: the primary keeps count of the HTTP requests the
// workers received, from the { cmd: 'notifyRequest' } messages they send.
//
// The original runs until interrupted and prints the count every second. By
// default this version runs bounded: once every worker listens, the primary
// makes three requests per worker to 127.0.0.1, waits until it has been
// notified of each of them, prints the final count, then disconnects the
// workers and exits (the per-second report is only printed with --forever,
// because its timing makes the output vary from run to run).
// `node examples/message-counting.js --forever` behaves like the original.
//
// Port: env PORT, default 8000 (as in the original).

const cluster = require('rust-cluster');
const http = require('http');

const PORT = Number(process.env.PORT) || 8000;
const FOREVER = process.argv.includes('--forever');

if (cluster.isMaster) {
  // Keep track of http requests
  let numReqs = 0;
  if (FOREVER) {
    setInterval(() => {
      console.log(`numReqs = ${numReqs}`);
    }, 1000);
  }

  // Count requests
  function messageHandler(msg) {
    if (msg.cmd && msg.cmd === 'notifyRequest') {
      numReqs += 1;
      if (!FOREVER) onCounted(numReqs);
    }
  }

  // Start workers and listen for messages containing notifyRequest
  const numCPUs = require('os').cpus().length;
  for (let i = 0; i < numCPUs; i++) {
    cluster.fork();
  }

  for (const id in cluster.workers) {
    cluster.workers[id].on('message', messageHandler);
  }

  // Bounded mode.
  const total = 3 * numCPUs;
  let answered = 0;
  let counted = 0;
  function onCounted(n) {
    counted = n;
    maybeFinish();
  }
  function maybeFinish() {
    if (answered !== total || counted !== total) return;
    console.log(`numReqs = ${numReqs}`);
    cluster.disconnect(() => console.log('all workers disconnected'));
  }
  if (!FOREVER) {
    let listening = 0;
    cluster.on('listening', async () => {
      if (++listening !== numCPUs) return;
      for (let i = 1; i <= total; i++) {
        const body = await get(PORT);
        console.log(`request ${i} answered: ${body.trim()}`);
        answered++;
      }
      maybeFinish();
    });
  }
} else {
  // Worker processes have a http server.
  http.Server((req, res) => {
    res.writeHead(200);
    res.end('hello world\n');

    // Notify primary about the request
    process.send({ cmd: 'notifyRequest' });
  }).listen(PORT);
}

// One GET on a fresh connection (no keep-alive, so workers can exit at once).
function get(port) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}
