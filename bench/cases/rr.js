'use strict';
// Row 4: round-robin connection distribution. Two workers share a loopback TCP port; a separate
// Node client process opens short-lived connections (connect, read the reply, close) with many in
// flight. Results: connections per second, and the primary's CPU time per connection: utime+stime
// of the primary process (all threads) from /proc/<pid>/stat, read before and after the run.
//
// Rows 9 and 10 run the same loop with --policy=reuseport: rust-cluster then distributes with
// SCHED_REUSEPORT (one SO_REUSEPORT socket per worker, bound by the primary), while the built-in
// stays on round-robin, the baseline; --impl=node22-reuseport is Node's own cluster whose workers
// listen with `reusePort: true` (each binds its own socket; the primary is not involved). Row 10
// also pins the primary and its workers to --server-cpus and the client to --client-cpus.
//
// Besides the rows' figures the result has each process's CPU use over the measured run, as a
// fraction of one CPU (`util`), and each CPU's busy fraction (`cpu_busy`): what bounds the rate
// shows there.
//
//   node bench/cases/rr.js --impl=node|rust|node22-reuseport [--policy=rr|reuseport]
//        [--workers=2] [--concurrency=32] [--count=20000] [--duration=ms] [--warmup=connections]
//        [--server-cpus=LIST --client-cpus=LIST]
const common = require('../lib/common.js');
const tcp = require('../lib/tcp.js');

if (common.isWorker) {
  tcp.workerServe();
} else {
  const { args, impl, cluster } = common.primary('rr');
  (async () => {
    if (args['server-cpus'] !== undefined) common.pinSelf(args['server-cpus']);
    tcp.setPolicy(cluster, impl, args.policy || 'rr');
    const { port, workers } = await tcp.startServers(cluster, common.num(args.workers, 2),
      { reusePort: impl === 'node22-reuseport' });
    const client = tcp.spawnClient([
      '--mode=rate', `--port=${port}`,
      `--concurrency=${common.num(args.concurrency, 32)}`,
      `--count=${common.num(args.count, 20000)}`,
      `--duration=${common.num(args.duration, 2000)}`,
      `--warmup=${common.num(args.warmup, 300)}`,
    ], { cpus: args['client-cpus'] === undefined ? null : args['client-cpus'] });
    const warm = await client.next();
    if (warm.phase !== 'warm') throw new Error(`client: ${JSON.stringify(warm)}`);
    const workersCpu = () => workers.reduce((sum, w) => sum + common.procCpuMicros(w.process.pid), 0);
    const cpu0 = common.procCpuMicros();
    const threads0 = common.threadCpuMicros();
    const ru0 = process.cpuUsage();
    const wcpu0 = workersCpu();
    const ticks0 = common.cpuTicks();
    client.child.stdin.write('go\n');
    const res = await client.next();
    const cpu1 = common.procCpuMicros();
    const threads1 = common.threadCpuMicros();
    const ru1 = process.cpuUsage(ru0);
    const wcpu1 = workersCpu();
    const ticks1 = common.cpuTicks();
    if (res.phase !== 'done') throw new Error(`client: ${JSON.stringify(res)}`);
    if (res.ok === 0) throw new Error(`no connection succeeded: ${JSON.stringify(res)}`);
    const us = res.elapsed_ms * 1000;
    common.finish(cluster, {
      case: 'rr',
      impl,
      node: process.version,
      policy: impl === 'rust' ? args.policy || 'rr' : impl === 'node' ? 'rr' : 'reusePort',
      conns_per_s: res.conns_per_s,
      cpu_us_per_conn: (cpu1 - cpu0) / res.ok,
      cpu_us_per_conn_rusage: (ru1.user + ru1.system) / res.ok,
      // By thread (schedstat): the JavaScript thread's share is what a busy primary would feel.
      thread_cpu_us_per_conn: common.threadCpuPer(threads0, threads1, res.ok),
      // CPU used over the run, in CPUs: the primary (clock ticks), all workers (clock ticks) and
      // the client (its own process.cpuUsage()); and how busy each CPU of the machine was, by
      // anything, kernel included (/proc/stat).
      util: { primary: (cpu1 - cpu0) / us, workers: (wcpu1 - wcpu0) / us, client: res.cpu_us / us },
      cpu_busy: common.cpuBusy(ticks0, ticks1),
      conns: res.ok,
      failed: res.failed,
      reasons: res.reasons,
      latency_ms: res.latency_ms,
      elapsed_ms: res.elapsed_ms,
    });
  })().catch((e) => common.fail(cluster, 'rr', impl, e.stack || e));
}
