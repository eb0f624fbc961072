'use strict';
// The HTTP examples of the seed documents (Node v12 cluster docs), made to
// end on their own and with a free port instead of 8000 (the two
// implementations run side by side). Worker count: min(cpus, 4), as the
// seeds use os.cpus().length.
//   argv: numreqs | silent | isdead
//   numreqs: workers share one port and notify the primary of every request
//            with process.send({ cmd: 'notifyRequest' }); the primary counts.
//   silent:  setupPrimary({ silent: true }): the workers' console output goes
//            to worker.process.stdout/stderr in the primary (and not to the
//            primary's stdout); serving works.
//   isdead:  each worker kills itself after answering a request;
//            worker.isDead() in 'fork' and 'exit'.
const http = require('node:http');
const os = require('node:os');
const { cluster, obs, safety } = require('../../helpers/observe');
const { freePort, until } = require('./common');

const mode = process.argv[2];
const numCPUs = Math.min(os.cpus().length, 4);
safety(20000);

function get(port) {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', (err) => resolve({ err: err.code }));
  });
}

if (cluster.isPrimary) {
  freePort().then((port) => {
    process.env.RC_PORT = String(port);
    if (mode === 'silent') cluster.setupPrimary({ silent: true });
    let listening = 0;
    const onAllListening = () => main(port).catch((err) => {
      obs('primary failed', { stack: err.stack });
      process.exit(1);
    });
    cluster.on('listening', () => { if (++listening === numCPUs) onAllListening(); });
    if (mode === 'isdead') {
      cluster.on('fork', (worker) => obs('C.fork', { lane: `w${worker.id}`, isDead: worker.isDead() }));
      cluster.on('exit', (worker, code, signal) => obs('C.exit', { lane: `w${worker.id}`, isDead: worker.isDead(), code, signal }));
    }
    for (let i = 0; i < numCPUs; i++) cluster.fork();
  });

  async function main(port) {
    if (mode === 'numreqs') {
      // Keep track of http requests
      let numReqs = 0;
      const messageHandler = (msg) => {
        if (msg.cmd && msg.cmd === 'notifyRequest') numReqs += 1;
      };
      for (const id in cluster.workers) cluster.workers[id].on('message', messageHandler);
      const answers = [];
      for (let i = 0; i < 10; i++) answers.push(await get(port));
      await until(() => numReqs >= 10, 2000);
      obs('numReqs', { numReqs, answers });
      cluster.disconnect(() => obs('disconnected'));
    } else if (mode === 'silent') {
      const output = {};
      for (const id in cluster.workers) {
        const w = cluster.workers[id];
        output[id] = { stdout: '', stderr: '' };
        obs('stdio pipes', { lane: `w${id}`, stdout: w.process.stdout !== null, stderr: w.process.stderr !== null });
        w.process.stdout.setEncoding('utf8').on('data', (d) => { output[id].stdout += d; });
        w.process.stderr.setEncoding('utf8').on('data', (d) => { output[id].stderr += d; });
      }
      const answers = [];
      for (let i = 0; i < 2 * numCPUs; i++) answers.push(await get(port));
      obs('answers', { answers });
      let exited = 0;
      cluster.on('exit', () => {
        if (++exited < numCPUs) return;
        // Let the pipes drain.
        setTimeout(() => {
          for (const id of Object.keys(output)) {
            const clean = (s) => s.replace(/\d+/g, '<n>');
            obs('worker output', { id, stdout: clean(output[id].stdout), stderr: clean(output[id].stderr) });
          }
        }, 100);
      });
      cluster.disconnect();
    } else if (mode === 'isdead') {
      const answers = [];
      for (let i = 0; i < numCPUs; i++) {
        const r = await get(port);
        answers.push(r.body ? r.body.replace(/\d+/g, '<pid>') : r);
        // Wait for that worker to be gone before the next request.
        await until(() => Object.keys(cluster.workers).length === numCPUs - 1 - i, 2000);
      }
      obs('answers', { answers, workersLeft: Object.keys(cluster.workers).length });
    }
  }
} else {
  const port = Number(process.env.RC_PORT);
  if (mode === 'numreqs') {
    // Worker processes have a http server.
    http.Server((req, res) => {
      res.writeHead(200);
      res.end('hello world\n');
      // Notify primary about the request
      process.send({ cmd: 'notifyRequest' });
    }).listen(port);
  } else if (mode === 'silent') {
    http.createServer((req, res) => {
      res.writeHead(200);
      res.end('hello world\n');
    }).listen(port, () => console.log(`worker ${cluster.worker.id} listening`));
    console.log(`Worker ${process.pid} started`);
    console.error(`Worker ${cluster.worker.id} on stderr`);
  } else if (mode === 'isdead') {
    // Workers can share any TCP connection. In this case, it is an HTTP server.
    http.createServer((req, res) => {
      res.writeHead(200);
      res.end(`Current process\n ${process.pid}`);
      process.kill(process.pid);
    }).listen(port);
  }
}
