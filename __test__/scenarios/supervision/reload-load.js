'use strict';
// cluster.reload() under load: workers of an HTTP app whose answers take 0-150 ms (app.js),
// fresh connections and keep-alive clients running, `reloads` reloads in a row. Node's http
// server keeps serving a busy keep-alive connection after close(), so an old worker under
// keep-alive load leaves only at shutdownTimeout's SIGKILL: a keep-alive request it was
// serving then fails on a reused socket and is retried once (counted). Prints one JSON line:
// the load report, the workers' pids before and after, each reload's duration.
//   node supervision/reload-load.js [reloads] [workers] [shutdownTimeout ms] [rr|reuseport]
const { cluster, freePort, forkApps } = require('./common');
const { startLoad } = require('../../helpers/load');

const reloads = Number(process.argv[2] || 3);
const count = Number(process.argv[3] || 2);
const shutdownTimeout = Number(process.argv[4] || 10000);
if (process.argv[5] === 'reuseport') cluster.schedulingPolicy = cluster.SCHED_REUSEPORT;
setTimeout(() => { console.log(JSON.stringify({ error: 'timeout' })); process.exit(2); }, 90000).unref();

(async () => {
  const port = await freePort();
  await forkApps(count, { PORT: String(port), MODE_FILE: '' });
  const before = Object.values(cluster.workers).map((w) => w.process.pid);
  const load = startLoad({ port, fresh: 4, keepAlive: 4 });
  await new Promise((r) => setTimeout(r, 500));
  const times = [];
  for (let i = 0; i < reloads; i++) {
    const t0 = Date.now();
    await cluster.reload({ shutdownTimeout });
    times.push(Date.now() - t0);
  }
  await new Promise((r) => setTimeout(r, 500));
  const report = await load.stop();
  const after = Object.values(cluster.workers).map((w) => w.process.pid);
  await cluster.shutdown({ shutdownTimeout });
  const left = Object.keys(cluster.workers).length;
  const alive = after.filter((pid) => { try { process.kill(pid, 0); return true; } catch { return false; } });
  console.log(JSON.stringify({ report, before, after, times, left, alive }));
})();
