'use strict';

// From the "Worker object" tutorial (calling disconnect from inside the
// worker): the worker answers one HTTP request and then calls
// process.disconnect(), closing its IPC channel; the primary sees
// 'disconnect', and the worker exits (code 0). Since the primary did not ask
// for it, worker.exitedAfterDisconnect is false.
//
// The original waits for a request from outside. By default this version
// makes that request itself (127.0.0.1) and ends by itself once the worker is
// gone. `--forever` waits for an outside request instead.
//
// Port: env PORT, default 8000 (as in the original).

const cluster = require('rust-cluster');
const http = require('http');

const PORT = Number(process.env.PORT) || 8000;
const FOREVER = process.argv.includes('--forever');

if (cluster.isMaster) {
  // Primary logic
  const worker = cluster.fork();

  worker.on('disconnect', () => {
    console.log('the worker has disconnected');
  });

  worker.on('exit', (code, signal) => {
    console.log(`the worker exited: code=${code} signal=${signal} exitedAfterDisconnect=${worker.exitedAfterDisconnect}`);
  });

  if (!FOREVER) {
    worker.on('listening', async () => {
      const body = await get(PORT);
      console.log(`HTTP answer: ${body.trim()}`);
    });
  }
} else {
  // Worker logic
  const server = http.createServer((req, res) => {
    res.writeHead(200);
    res.end('Hello World\n');

    // Disconnect once the request has been handled
    process.disconnect();
  });

  server.listen(PORT);

  process.on('disconnect', () => {
    console.log('the worker is about to disconnect...');
  });
}

// One GET on a fresh connection (no keep-alive).
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
