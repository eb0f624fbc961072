'use strict';
// 100,000 short connections through round-robin to 2 workers: the primary's fds, threads and RSS
// end where they began.
const cluster = require('..');
const net = require('net');
const { spawn } = require('child_process');
const { sample, settle } = require('./common');

const TOTAL = Number(process.env.CONNECTIONS || 100000);
const CONCURRENCY = 64;

if (cluster.isWorker) {
  net.createServer((c) => c.end('ok')).listen(0);
} else {
  let listening = 0;
  cluster.on('listening', (w, address) => {
    if (++listening < 2) return;
    const run = (count) => new Promise((resolve, reject) => {
      const client = spawn(process.execPath, [require.resolve('./client.js'), String(address.port), String(count), String(CONCURRENCY)],
        { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      client.stdout.on('data', (d) => { out += d; });
      client.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`client exited ${code}`))));
    });
    (async () => {
      await run(1000);
      await settle(200);
      if (global.gc) global.gc();
      const before = sample();
      const t0 = Date.now();
      const result = await run(TOTAL);
      const seconds = (Date.now() - t0) / 1000;
      await settle(500);
      if (global.gc) global.gc();
      const after = sample();
      console.log(JSON.stringify({ test: 'rr-connections', connections: TOTAL, ...result, seconds, before, after }));
      cluster.disconnect();
    })().catch((err) => { console.error(err); process.exit(1); });
  });
  cluster.fork();
  cluster.fork();
}
