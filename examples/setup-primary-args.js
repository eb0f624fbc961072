'use strict';

// From the Node v12 reference (cluster.setupMaster()): settings only apply to
// the workers forked after them, so two setupMaster() calls give two workers
// of the same program (examples/workers/use-worker.js) different arguments;
// the first call also sets silent: true. Later calls start from the current
// settings, so the second worker is silent too: both workers' stdout is piped
// to the primary, which prints it with a prefix. The 'setup' event reports the
// settings (Node emits it for each setupMaster() call and again for each
// fork(), which applies the settings).
// Each worker prints its arguments and disconnects, so this ends by itself.

const cluster = require('rust-cluster');
const path = require('path');

cluster.on('setup', (settings) => {
  console.log(`'setup' event: args=${JSON.stringify(settings.args)} silent=${settings.silent}`);
});

cluster.setupMaster({
  exec: path.join(__dirname, 'workers', 'use-worker.js'),
  args: ['--use', 'https'],
  silent: true,
});
const httpsWorker = cluster.fork(); // https worker
printPiped(httpsWorker);

cluster.setupMaster({
  exec: path.join(__dirname, 'workers', 'use-worker.js'),
  args: ['--use', 'http'],
});
const httpWorker = cluster.fork(); // http worker
console.log(`the second worker's stdout is piped: ${httpWorker.process.stdout !== null}`);
printPiped(httpWorker);

cluster.on('exit', (worker, code, signal) => {
  console.log(`worker #${worker.id} exited: code=${code} signal=${signal}`);
});

// Print a silent worker's stdout, line by line, with a prefix.
function printPiped(worker) {
  let pending = '';
  worker.process.stdout.setEncoding('utf8');
  worker.process.stdout.on('data', (data) => {
    pending += data;
    let nl;
    while ((nl = pending.indexOf('\n')) !== -1) {
      console.log(`[piped from worker #${worker.id}] ${pending.slice(0, nl)}`);
      pending = pending.slice(nl + 1);
    }
  });
}
