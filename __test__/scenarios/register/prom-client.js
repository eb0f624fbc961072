'use strict';
// Under `node -r rust-cluster/register`: prom-client's AggregatorRegistry, which requires
// 'cluster' itself, aggregates the workers' metrics through rust-cluster's primary. Each worker
// counts one event per request it answers; the primary's aggregate must sum them. Prints one JSON
// line: whether cluster in this file is rust-cluster, and the aggregated counter.
const cluster = require('node:cluster');
const http = require('node:http');
const client = require('prom-client');

// As prom-client's cluster example does, in the primary and in the workers (whose registry
// answers the primary's requests).
const registry = new client.AggregatorRegistry();

if (cluster.isPrimary) {
  const workers = [cluster.fork(), cluster.fork()];
  let listening = 0;
  cluster.on('listening', async (w, address) => {
    if (++listening < 2) return;
    const port = address.port;
    for (let i = 0; i < 6; i++) {
      await new Promise((resolve) => http.get({ port, host: '127.0.0.1', agent: false }, (res) => {
        res.resume();
        res.on('end', resolve);
      }));
    }
    const text = await registry.clusterMetrics();
    const line = text.split('\n').find((l) => l.startsWith('app_requests_total'));
    console.log(JSON.stringify({
      rustCluster: typeof cluster.reload === 'function',
      sameAsCjsCluster: require('cluster') === cluster,
      line,
    }));
    for (const w of workers) w.disconnect();
  });
} else {
  const counter = new client.Counter({ name: 'app_requests_total', help: 'Requests answered.' });
  const port = Number(process.env.PORT);
  http.createServer((req, res) => {
    counter.inc();
    res.end('ok');
  }).listen(port, '127.0.0.1');
}
