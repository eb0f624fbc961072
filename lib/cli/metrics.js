'use strict';
// `rust-cluster run --metrics [HOST:]PORT`: GET /metrics (Prometheus text exposition format:
// each worker's CPU, RSS, uptime, restarts and round-robin connections from worker.stats(), the
// primary's own, and the workers' prom-client registries merged through prom-client's cluster
// protocol when the app uses prom-client), GET /healthz (the primary is alive) and GET /readyz
// (200 once every worker is ready, 503 before).

const http = require('node:http');
const path = require('node:path');
const { CliError, parseAddress } = require('./args.js');

const PROM_REQ = 'prom-client:getMetricsReq';
const PROM_RES = 'prom-client:getMetricsRes';
const PROM_TIMEOUT_MS = 1000;

function escape(value) {
  return String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function family(out, name, type, help, samples) {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, value] of samples) {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`).join(',');
    out.push(`${name}${l ? `{${l}}` : ''} ${Number.isFinite(value) ? value : 0}`);
  }
}

// prom-client's AggregatorRegistry, from the app's own node_modules (it is the app's library).
function promClientFor(script) {
  try {
    return require(require.resolve('prom-client', { paths: [path.dirname(script)] }));
  } catch {
    return null;
  }
}

function start({ cluster, name, script, address, isReady, restartsOf, instanceOf }) {
  const { host, port } = parseAddress(address);
  const started = Date.now() / 1000;
  const promClient = promClientFor(script);
  const silent = new WeakSet(); // workers that did not answer prom-client's request once
  let nextRequest = 1;

  // The workers' prom-client metrics, aggregated as prom-client's AggregatorRegistry does.
  async function appMetrics(workers) {
    if (promClient === null || typeof promClient.AggregatorRegistry !== 'function') return '';
    const asked = workers.filter((w) => !silent.has(w) && w.isConnected());
    if (asked.length === 0) return '';
    const requestId = nextRequest++;
    const replies = new Map();
    await new Promise((resolve) => {
      const timer = setTimeout(done, PROM_TIMEOUT_MS);
      function onMessage(worker, msg) {
        if (msg && msg.type === PROM_RES && msg.requestId === requestId) {
          replies.set(worker, msg.metrics);
          if (replies.size === asked.length) done();
        }
      }
      function done() {
        clearTimeout(timer);
        cluster.off('message', onMessage);
        resolve();
      }
      cluster.on('message', onMessage);
      for (const w of asked) w.send({ type: PROM_REQ, requestId });
    });
    for (const w of asked) if (!replies.has(w)) silent.add(w);
    if (replies.size === 0) return '';
    // Each reply holds one array of metrics per registry of the worker, as prom-client sends it.
    const registry = promClient.AggregatorRegistry.aggregate([...replies.values()].flat(1));
    return await registry.metrics();
  }

  async function metrics() {
    const workers = Object.values(cluster.workers);
    const rows = workers.map((w) => ({ w, s: w.stats() })).filter((r) => r.s !== null);
    const labels = ({ w }) => ({ name, instance: instanceOf(w), pid: w.process.pid });
    const out = [];
    family(out, 'rust_cluster_workers', 'gauge', 'Live workers.', [[{ name }, rows.length]]);
    family(out, 'rust_cluster_worker_up', 'gauge', '1 for each live worker.', rows.map((r) => [labels(r), 1]));
    family(out, 'rust_cluster_worker_cpu_seconds_total', 'counter', 'User and system CPU time of the worker.',
      rows.map((r) => [labels(r), (r.s.cpu.user + r.s.cpu.system) / 1e6]));
    family(out, 'rust_cluster_worker_resident_memory_bytes', 'gauge', 'Resident memory of the worker.',
      rows.map((r) => [labels(r), r.s.rss]));
    family(out, 'rust_cluster_worker_uptime_seconds', 'gauge', 'Time since the worker was forked.',
      rows.map((r) => [labels(r), r.s.uptime / 1000]));
    family(out, 'rust_cluster_worker_connections_total', 'counter',
      'Connections the engine handed to the worker (round-robin, or rescued under SCHED_REUSEPORT).',
      rows.map((r) => [labels(r), r.s.connections]));
    family(out, 'rust_cluster_worker_restarts_total', 'counter', 'Replacements of the instance (respawn, reload).',
      rows.map((r) => [{ name, instance: instanceOf(r.w) }, restartsOf(r.w)]));
    const cpu = process.cpuUsage();
    family(out, 'rust_cluster_primary_cpu_seconds_total', 'counter', 'User and system CPU time of the primary.',
      [[{ name }, (cpu.user + cpu.system) / 1e6]]);
    family(out, 'rust_cluster_primary_resident_memory_bytes', 'gauge', 'Resident memory of the primary.',
      [[{ name }, process.memoryUsage().rss]]);
    family(out, 'rust_cluster_primary_start_time_seconds', 'gauge', 'Start of the primary, in Unix time.',
      [[{ name }, started]]);
    const app = await appMetrics(workers);
    return `${out.join('\n')}\n${app}`;
  }

  const server = http.createServer((req, res) => {
    const send = (status, type, body) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const url = (req.url || '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    if (url === '/metrics') {
      metrics().then((body) => send(200, 'text/plain; version=0.0.4; charset=utf-8', body),
        (err) => send(500, 'text/plain', `${err.message}\n`));
    } else if (url === '/healthz') {
      send(200, 'text/plain', 'ok\n');
    } else if (url === '/readyz') {
      if (isReady()) send(200, 'text/plain', 'ready\n');
      else send(503, 'text/plain', 'not ready\n');
    } else {
      send(404, 'text/plain', 'not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new CliError(`rust-cluster: --metrics cannot listen on ${host}:${port}: ${err.code}`, 1)));
    server.listen(port, host, () => {
      server.unref();
      resolve(server);
    });
  });
}

module.exports = { start };
