'use strict';
// setupPrimary({ memoryLimit }): under load, one worker grows past the limit (GET /grow keeps
// 200 MiB); the engine, reading /proc once a second, reports it ('memoryLimit') on the second
// read over the limit, and it is replaced the way reload() replaces one, with no failed request.
const { cluster, watchdog, out, freePort, forkApps, sleep } = require('./common');
const { startLoad } = require('../../helpers/load');

const LIMIT = 150 * 1024 * 1024;
watchdog(40000);

(async () => {
  const port = await freePort();
  cluster.setupPrimary({ memoryLimit: LIMIT, reload: { shutdownTimeout: 1500 } });
  const olds = await forkApps(2, { PORT: String(port), MODE_FILE: '' });
  const load = startLoad({ port, fresh: 2, keepAlive: 2 });
  const seen = [];
  const reported = new Promise((resolve) => cluster.on('memoryLimit', (w, rss) => {
    seen.push({ id: w.id, rss, at: Date.now() });
    resolve();
  }));
  await sleep(300);
  const t0 = Date.now();
  const grown = await new Promise((resolve) => {
    require('node:http').get({ host: '127.0.0.1', port, path: '/grow', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(JSON.parse(body).pid));
    });
  });
  await reported;
  const grownWorker = olds.find((w) => w.process.pid === grown);
  await new Promise((r) => (grownWorker.isDead() ? r() : grownWorker.once('exit', r)));
  await sleep(300);
  const report = await load.stop();
  out({
    limit: LIMIT,
    grown,
    reports: seen.map((s) => ({
      pid: olds.find((w) => w.id === s.id).process.pid, overLimit: s.rss > LIMIT, after: s.at - t0,
    })),
    workers: Object.values(cluster.workers).map((w) => w.process.pid),
    report,
  });
  await cluster.shutdown({ shutdownTimeout: 1000 });
})();
