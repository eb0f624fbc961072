'use strict';
// Worker-side TCP server and primary-side helpers for the connection-distribution rows.
const net = require('node:net');
const path = require('node:path');
const readline = require('node:readline');
const { spawn } = require('node:child_process');
const common = require('./common.js');

// Worker: a TCP server on a cluster-shared loopback port that answers every connection with a
// short reply and ends it.
function workerServe() {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.end('ok\n');
  });
  server.listen({ port: 0, host: '127.0.0.1' });
}

// Primary: forks n serving workers and resolves with the shared port once all are listening.
async function startServers(cluster, n) {
  const workers = [];
  for (let i = 0; i < n; i++) workers.push(cluster.fork({ BENCH_ROLE: 'tcp' }));
  const infos = await common.waitFor(cluster, workers, 'listening');
  const port = infos[0].port;
  if (!port || infos.some((i) => i.port !== port)) {
    throw new Error(`workers did not share one port: ${JSON.stringify(infos)}`);
  }
  return { workers, port };
}

// Primary: spawns the client process. Returns { child, next(): Promise<line object> }.
function spawnClient(args) {
  const child = spawn(process.execPath, [path.join(__dirname, 'tcp-client.js'), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  common.trackHelper(child);
  child.stdin.on('error', () => {}); // a client that already exited
  const queue = [];
  const waiters = [];
  let closed = false;
  const rl = readline.createInterface({ input: child.stdout });
  rl.on('line', (l) => {
    let obj;
    try { obj = JSON.parse(l); } catch { return; }
    if (waiters.length) waiters.shift().resolve(obj);
    else queue.push(obj);
  });
  child.on('exit', () => {
    closed = true;
    // Lines still buffered in readline arrive before 'close'; fail waiters after that.
  });
  rl.on('close', () => {
    for (const w of waiters.splice(0)) w.reject(new Error('client exited without a result'));
  });
  function next(timeoutMs = 60000) {
    if (queue.length) return Promise.resolve(queue.shift());
    if (closed && rl.closed) return Promise.reject(new Error('client exited without a result'));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('client: no line in time')), timeoutMs);
      waiters.push({
        resolve: (v) => { clearTimeout(t); resolve(v); },
        reject: (e) => { clearTimeout(t); reject(e); },
      });
    });
  }
  return { child, next };
}

module.exports = { workerServe, startServers, spawnClient };
