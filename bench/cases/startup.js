'use strict';
// Row 6: start-up. Forks N workers at once and measures the time from the first fork() call until
// every worker is 'online', and until every worker is 'listening' (each worker listens on a shared
// loopback TCP port as soon as its script runs). rust-cluster's addon is loaded by require(),
// before the clock starts (as Node's cluster module is loaded before it too); its engine thread
// starts with the first fork(), inside the measurement.
//
//   node bench/cases/startup.js --impl=node|rust [--workers=1|8]
const common = require('../lib/common.js');
const tcp = require('../lib/tcp.js');

if (common.isWorker) {
  tcp.workerServe();
} else {
  const { args, impl, cluster } = common.primary('startup');
  (async () => {
    const n = common.num(args.workers, 1);
    const t0 = common.now();
    let onlineAt = 0;
    let listeningAt = 0;
    let online = 0;
    let listening = 0;
    const all = new Promise((resolve) => {
      cluster.on('online', () => { if (++online === n) { onlineAt = common.now(); if (listening === n) resolve(); } });
      cluster.on('listening', () => { if (++listening === n) { listeningAt = common.now(); if (online === n) resolve(); } });
    });
    for (let i = 0; i < n; i++) cluster.fork({ BENCH_ROLE: 'tcp' });
    const forkedAt = common.now();
    await Promise.race([all, new Promise((_, rej) => setTimeout(() => rej(new Error('start-up took over 30 s')), 30000).unref())]);
    common.finish(cluster, {
      case: 'startup',
      impl,
      workers: n,
      fork_call_ms: forkedAt - t0,
      online_ms: onlineAt - t0,
      listening_ms: listeningAt - t0,
    });
  })().catch((e) => common.fail(cluster, 'startup', impl, e.stack || e));
}
