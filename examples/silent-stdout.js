'use strict';

// From the process/child_process/cluster tutorial ("use a separate output in
// the worker"): with setupMaster({ silent: true }) the worker's stdout is a
// pipe to the primary (worker.process.stdout) instead of the terminal, and
// the primary prints what the worker writes.
// (The original's log line had a quoting slip and printed the text
// "' + data" instead of the data; this version prints the data.)
//
// The original serves HTTP forever. By default this version runs bounded: the
// primary makes two requests to 127.0.0.1, prints the answers and the lines
// the worker wrote to its piped stdout, then disconnects the worker and exits.
// `node examples/silent-stdout.js --forever` behaves like the original.
//
// Port: env PORT, default 8080 (as in the original).

const cluster = require('rust-cluster');
const http = require('http');

const PORT = Number(process.env.PORT) || 8080;
const FOREVER = process.argv.includes('--forever');

if (cluster.isMaster) {
  cluster.setupMaster({
    silent: true,
  });
  const worker = cluster.fork();
  console.log(`worker.process.stdout is piped: ${worker.process.stdout !== null}`);

  let pending = '';
  const lines = [];
  worker.process.stdout.on('data', function (data) {
    // Data arrives in chunks; print it line by line.
    pending += data;
    let nl;
    while ((nl = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      lines.push(line);
      console.log(`received from the worker's stdout: ${line}`);
      if (!FOREVER) maybeFinish();
    }
  });

  const answers = [];
  function maybeFinish() {
    if (answers.length === 2 && lines.length === 2) worker.disconnect();
  }
  if (!FOREVER) {
    worker.on('listening', async () => {
      for (const path of ['/first', '/second']) {
        const body = await get(PORT, path);
        console.log(`HTTP answer for ${path}: ${body}`);
        answers.push(body);
      }
      maybeFinish();
    });
    worker.on('exit', (code, signal) => console.log(`worker exited: code=${code} signal=${signal}`));
  }
} else {
  http.createServer(function (req, res) {
    if (req.url !== '/favicon.ico') {
      let sum = 0;
      for (let i = 0; i < 1000000; i++) {
        sum += i;
      }
      res.writeHead(200);
      console.log(`request for ${req.url} handled in worker ${cluster.worker.id}`);
      res.write(`request handled in worker ${cluster.worker.id}; `);
      res.end(`result computed in worker ${cluster.worker.id} = ${sum}`);
    }
  }).listen(PORT);
}

// One GET on a fresh connection (no keep-alive, so workers can exit at once).
function get(port, path) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}
