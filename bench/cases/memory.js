'use strict';
// Row 7: memory. The primary's resident set size (VmRSS from /proc/<pid>/status) with 8 idle
// workers online, after a short settle. Also reports the RSS before the first fork.
//
//   node bench/cases/memory.js --impl=node|rust [--workers=8] [--settle=ms]
const common = require('../lib/common.js');

if (common.isWorker) {
  // Idle: the open IPC channel keeps the worker alive until the primary disconnects it.
} else {
  const { args, impl, cluster } = common.primary('memory');
  (async () => {
    const n = common.num(args.workers, 8);
    const before = common.procMemKiB();
    const workers = [];
    for (let i = 0; i < n; i++) workers.push(cluster.fork({ BENCH_ROLE: 'idle' }));
    await common.waitFor(cluster, workers, 'online');
    await new Promise((r) => setTimeout(r, common.num(args.settle, 500)));
    const after = common.procMemKiB();
    common.finish(cluster, {
      case: 'memory',
      impl,
      workers: n,
      rss_kib: after.rss,
      rss_before_fork_kib: before.rss,
      rss_growth_kib: after.rss - before.rss,
      hwm_kib: after.hwm,
      threads: after.threads,
    });
  })().catch((e) => common.fail(cluster, 'memory', impl, e.stack || e));
}
