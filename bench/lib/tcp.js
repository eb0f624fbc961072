'use strict';
// Worker-side TCP server and primary-side helpers for the connection-distribution rows.
const net = require('node:net');
const path = require('node:path');
const readline = require('node:readline');
const { spawn } = require('node:child_process');
const common = require('./common.js');

// Worker: a TCP server on a cluster-shared loopback port that answers every connection with a
// short reply and ends it. With BENCH_REUSEPORT_PORT set, the worker binds its own socket with
// Node's `reusePort: true` (Node 22.12+) on that port (0: any) instead, which the primary never
// sees, and tells the primary its port by message. With BENCH_BLOCKABLE set, a {bench: 'block',
// ms} message from the primary makes it spin in a synchronous loop for that long.
function workerServe() {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.end('ok\n');
  });
  const own = process.env.BENCH_REUSEPORT_PORT;
  if (own === undefined) {
    server.listen({ port: 0, host: '127.0.0.1' });
  } else {
    server.listen({ port: Number(own), host: '127.0.0.1', reusePort: true }, () => {
      process.send({ bench: 'listening', port: server.address().port });
    });
    // disconnect() closes only the servers the cluster knows; the primary's disconnect waits for
    // the worker to exit, so this one closes its own as disconnect would.
    process.once('disconnect', () => server.close());
  }
  if (process.env.BENCH_BLOCKABLE) {
    process.on('message', (m) => {
      if (!m || m.bench !== 'block') return;
      const until = Date.now() + m.ms;
      while (Date.now() < until) { /* the event loop is blocked */ }
    });
  }
}

// The reusePort option of listen() (Node 22.12+; older versions ignore it).
function hasReusePort(version = process.versions.node) {
  const [major, minor] = version.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

// Primary: the scheduling policy a case asks for: the built-in always round-robin; rust-cluster the one
// --policy names; node22-reuseport none (its workers bind their own sockets).
function setPolicy(cluster, impl, policy) {
  cluster.schedulingPolicy = cluster.SCHED_RR;
  if (impl !== 'rust' || policy === 'rr') return;
  if (policy !== 'reuseport') throw new Error(`--policy must be rr or reuseport, got ${policy}`);
  if (cluster.SCHED_REUSEPORT === undefined) throw new Error('this rust-cluster has no SCHED_REUSEPORT');
  cluster.schedulingPolicy = cluster.SCHED_REUSEPORT;
}

// Primary: forks one serving worker; resolves with { worker, port } once it listens. `reusePort`
// workers listen on their own SO_REUSEPORT socket on `port` (0: the first picks one).
async function forkServer(cluster, { reusePort = false, port = 0, env = {} } = {}) {
  if (!reusePort) {
    const worker = cluster.fork({ BENCH_ROLE: 'tcp', ...env });
    const [info] = await common.waitFor(cluster, [worker], 'listening');
    return { worker, port: info.port };
  }
  if (!hasReusePort()) throw new Error(`node ${process.version} has no listen({ reusePort }) (22.12+)`);
  const worker = cluster.fork({ BENCH_ROLE: 'tcp', BENCH_REUSEPORT_PORT: String(port), ...env });
  const m = await common.firstMessage(worker, (x) => x && x.bench === 'listening');
  return { worker, port: m.port };
}

// Primary: forks n serving workers and resolves with the shared port once all are listening.
// With `reusePort`, the first picks the port and the others then bind it too.
async function startServers(cluster, n, { reusePort = false, env = {} } = {}) {
  const workers = [];
  let port;
  if (reusePort) {
    for (let i = 0; i < n; i++) {
      const s = await forkServer(cluster, { reusePort, port: port || 0, env });
      if (port && s.port !== port) throw new Error(`worker bound port ${s.port}, not ${port}`);
      port = s.port;
      workers.push(s.worker);
    }
    return { workers, port };
  }
  for (let i = 0; i < n; i++) workers.push(cluster.fork({ BENCH_ROLE: 'tcp', ...env }));
  const infos = await common.waitFor(cluster, workers, 'listening');
  port = infos[0].port;
  if (!port || infos.some((i) => i.port !== port)) {
    throw new Error(`workers did not share one port: ${JSON.stringify(infos)}`);
  }
  return { workers, port };
}

// Primary: spawns the client process. Returns { child, next(): Promise<line object> }. The client
// runs on BENCH_CLIENT_NODE when the driver sets it (the driver's own Node, so that every side of
// a comparison meets the same client whatever Node runs the case), and on the CPUs `cpus` (a
// taskset list) when given.
function spawnClient(args, { cpus = null } = {}) {
  const node = process.env.BENCH_CLIENT_NODE || process.execPath;
  const argv = [node, path.join(__dirname, 'tcp-client.js'), ...args];
  if (cpus !== null) argv.unshift('taskset', '-c', String(cpus));
  const child = spawn(argv[0], argv.slice(1), {
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

module.exports = { workerServe, hasReusePort, setPolicy, forkServer, startServers, spawnClient };
