'use strict';

// worker.process is the worker's ChildProcess. From the "Worker object"
// tutorial (worker.process.on('exit') and worker.process.send()) and the Node
// v12 reference (worker.on('exit') telling a signal from an exit code).
//
// The original forks one worker that serves HTTP forever. This version runs
// three workers one after the other, each showing one branch of the exit
// listeners, and ends by itself:
//   1. the original: the worker gets { msg } through worker.process.send(),
//      serves one HTTP request from the primary, then is disconnected
//      -> exits with code 0
//   2. the worker is asked to call process.exit(3)   -> exit code 3
//   3. the primary sends SIGKILL with worker.process.kill() -> signal
// Each exit is reported twice: by the ChildProcess ('exit' on worker.process)
// and by the Worker ('exit' on worker).
//
// Port: env PORT, default 8000 (as in the original).

const cluster = require('rust-cluster');
const http = require('http');

const PORT = Number(process.env.PORT) || 8000;

if (cluster.isMaster) {
  const plans = ['disconnect', 'exit 3', 'SIGKILL'];
  const next = () => {
    const plan = plans.shift();
    if (!plan) return;
    const worker = cluster.fork();

    // Listen for the worker process's exit event
    worker.process.on('exit', (code, signal) => {
      if (signal) {
        console.log(`[${plan}] worker process was killed by signal ${signal}`);
      } else if (code !== 0) {
        console.log(`[${plan}] worker process exited with code ${code}`);
      } else {
        console.log(`[${plan}] worker process exited successfully`);
      }
    });

    // The same, one level up (Node v12 reference, worker 'exit' event).
    worker.on('exit', (code, signal) => {
      if (signal) {
        console.log(`[${plan}] worker was killed by signal: ${signal}`);
      } else if (code !== 0) {
        console.log(`[${plan}] worker exited with error code: ${code}`);
      } else {
        console.log(`[${plan}] worker success!`);
      }
      setImmediate(next);
    });

    // Send a message to the worker process
    worker.process.send({ msg: 'Hello from primary' });

    worker.on('listening', async () => {
      if (plan === 'disconnect') {
        const body = await get(PORT);
        console.log(`[${plan}] HTTP answer: ${body.trim()}`);
        worker.disconnect();
      } else if (plan === 'exit 3') {
        worker.send('exit 3');
      } else {
        worker.process.kill('SIGKILL');
      }
    });
  };
  next();
} else {
  // Worker logic
  process.on('message', (msg) => {
    if (msg === 'exit 3') {
      process.exit(3);
    }
    console.log(`worker #${cluster.worker.id} got a message from the primary:`, msg);
  });

  http.createServer((req, res) => {
    res.writeHead(200);
    res.end('Hello World\n');
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
