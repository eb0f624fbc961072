'use strict';

// From the process/child_process/cluster tutorial (worker.disconnect()): the
// silent worker writes each request's URL to its stdout; two seconds after
// the primary reads it, the primary disconnects the worker (which then stops
// accepting connections and exits) and sends it a 'disconnect' message.
// The disconnect is graceful, so exitedAfterDisconnect is true.
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
  cluster.setupMaster({ silent: true });
  const worker = cluster.fork();
  worker.process.stdout.on('data', function (data) {
    console.log('received a request from a client, target path: ' + data);
    setTimeout(function () {
      worker.disconnect();
      worker.send('disconnect');
    }, 2000);
  });

  worker.on('disconnect', function () {
    console.log(`worker ${worker.id} disconnected`);
  });
  worker.on('exit', function (code, signal) {
    if (worker.exitedAfterDisconnect) {
      console.log(`worker ${worker.id} exited normally`);
    } else {
      console.log(`worker ${worker.id} exited abnormally`);
    }
    if (signal) {
      console.log('the exit signal is ' + signal);
    }
  });

  if (!FOREVER) {
    worker.on('error', (err) => console.log(`worker 'error' event: ${err.code || err.message}`));
    worker.on('listening', () => {
      get(PORT, '/disconnect-me').then((body) => console.log(`HTTP answer: ${body}`));
    });
  }
} else {
  let http = require('http');
  let server = http.createServer(function (req, res) {
    if (req.url !== '/favicon.ico') {
      res.end('hello');
      process.stdout.write(req.url);
    }
  }).listen(PORT);
  process.on('message', function (msg) {
    if (msg === 'disconnect') {
    }
  });
}

// One GET on a fresh connection (no keep-alive, so the worker can exit at once).
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
