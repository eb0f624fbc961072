'use strict';

// From the process/child_process/cluster tutorial ('listening' event) and the
// Node v12 reference (cluster 'listening' event): after a worker's server
// listens, the primary gets 'listening' with the worker and the address
// (address, port, addressType). The worker listens on 'localhost'.
//
// The original serves forever. By default this version requests the worker's
// server once, at the address the 'listening' event reported, prints the
// answer, then disconnects the worker and exits.
// `--forever` behaves like the original.
//
// Port: env PORT, default 8080 (as in the original).

const cluster = require('rust-cluster');
const http = require('http');

const PORT = Number(process.env.PORT) || 8080;
const FOREVER = process.argv.includes('--forever');

if (cluster.isMaster) {
  cluster.fork();
  console.log('this code runs in the primary');
} else {
  http.createServer(function (req, res) {
    if (req.url !== '/favicon.ico') {
      res.end('hello');
      console.log('this code runs in the worker');
    }
  }).listen(PORT, 'localhost');
}
cluster.on('online', function (worker) {
  console.log('got the online message of worker #' + worker.id);
});
cluster.on('listening', function (worker, address) {
  console.log('the worker\'s server is listening on ' + address.address + ':' + address.port);
  console.log(`A worker is now connected to ${address.address}:${address.port}`);
  console.log(`address type: ${address.addressType}`);
  if (!FOREVER) {
    get(address.address, address.port).then((body) => {
      console.log(`HTTP answer: ${body}`);
      worker.disconnect();
    });
  }
});

// One GET on a fresh connection (no keep-alive, so the worker can exit at once).
function get(host, port) {
  return new Promise((resolve, reject) => {
    http.get({ host, port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}
