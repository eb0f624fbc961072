'use strict';
// The order of a reload's steps. Part 1: two reload() calls made at once: the second starts only
// when the first has finished (its replacement is forked after the first promise resolved).
// Part 2: concurrency 2 with two workers: both replacements are forked before either old worker
// is disconnected.
const { cluster, watchdog, out, freePort, forkApps } = require('./common');

watchdog(40000);

(async () => {
  const port = await freePort();
  const log = [];
  cluster.on('fork', (w) => log.push(`fork ${w.id}`));
  cluster.on('disconnect', (w) => log.push(`disconnect ${w.id}`));
  await forkApps(1, { PORT: String(port), MODE_FILE: '' });
  const first = cluster.reload({ shutdownTimeout: 1000 }).then(() => log.push('first done'));
  const second = cluster.reload({ shutdownTimeout: 1000 }).then(() => log.push('second done'));
  await Promise.all([first, second]);
  const twice = log.splice(0);
  await forkApps(1, { PORT: String(port), MODE_FILE: '' });
  log.length = 0;
  await cluster.reload({ concurrency: 2, shutdownTimeout: 1000 });
  const parallel = log.splice(0);
  out({ twice, parallel });
  await cluster.shutdown({ shutdownTimeout: 1000 });
})();
