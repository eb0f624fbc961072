'use strict';

// From the process/child_process/cluster tutorial (worker.kill() and the
// worker 'exit' event): the silent worker writes each request's URL to its
// stdout; when the primary reads it, it kills the worker with worker.kill()
// and reports how the worker exited.
// On Node 20, worker.kill() in the primary only sends SIGTERM, so the worker
// exits with code null and signal 'SIGTERM', and exitedAfterDisconnect is
// false (the "exited abnormally" branch).
//
// The original waits for a request from outside. By default this version
// makes that request itself (to 127.0.0.1), prints the answer, and ends once
// the worker is gone. `--forever` waits for outside requests instead.
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
  worker.process.stdout.on('data', function (data) {
    console.log('received a request from a client, target path: ' + data);
    worker.kill();
  });
  worker.on('exit', function (code, signal) {
    console.log(arguments);

    if (worker.exitedAfterDisconnect == true) {
      console.log(`worker ${worker.id} exited by itself`);
    } else if (worker.exitedAfterDisconnect == false) {
      console.log(`worker ${worker.id} exited abnormally, exit code ${code}`);
    }

    if (signal) {
      console.log('the exit signal is %s', signal);
    }
  });

  if (!FOREVER) {
    worker.on('listening', () => {
      get(PORT, '/kill-me').then((body) => console.log(`HTTP answer: ${body}`));
    });
  }
} else {
  const server = http.createServer(function (req, res) {
    if (req.url != '/favicon.ico') {
      res.end('hello');
      process.stdout.write(req.url);
    }
  }).listen(PORT);
}

// One GET on a fresh connection (no keep-alive).
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
