'use strict';
// Row 4: round-robin connection distribution. Two workers share a loopback TCP port; a separate
// Node client process opens short-lived connections (connect, read the reply, close) with many in
// flight. Results: connections per second, and the primary's CPU time per connection: utime+stime
// of the primary process (all threads) from /proc/<pid>/stat, read before and after the run.
//
//   node bench/cases/rr.js --impl=node|rust [--concurrency=32] [--count=20000] [--duration=ms]
//        [--warmup=connections]
const common = require('../lib/common.js');
const tcp = require('../lib/tcp.js');

if (common.isWorker) {
  tcp.workerServe();
} else {
  const { args, impl, cluster } = common.primary('rr');
  (async () => {
    cluster.schedulingPolicy = cluster.SCHED_RR;
    const { port } = await tcp.startServers(cluster, 2);
    const client = tcp.spawnClient([
      '--mode=rate', `--port=${port}`,
      `--concurrency=${common.num(args.concurrency, 32)}`,
      `--count=${common.num(args.count, 20000)}`,
      `--duration=${common.num(args.duration, 2000)}`,
      `--warmup=${common.num(args.warmup, 300)}`,
    ]);
    const warm = await client.next();
    if (warm.phase !== 'warm') throw new Error(`client: ${JSON.stringify(warm)}`);
    const cpu0 = common.procCpuMicros();
    const threads0 = common.threadCpuMicros();
    const ru0 = process.cpuUsage();
    client.child.stdin.write('go\n');
    const res = await client.next();
    const cpu1 = common.procCpuMicros();
    const threads1 = common.threadCpuMicros();
    const ru1 = process.cpuUsage(ru0);
    if (res.phase !== 'done') throw new Error(`client: ${JSON.stringify(res)}`);
    if (res.ok === 0) throw new Error(`no connection succeeded: ${JSON.stringify(res)}`);
    common.finish(cluster, {
      case: 'rr',
      impl,
      conns_per_s: res.conns_per_s,
      cpu_us_per_conn: (cpu1 - cpu0) / res.ok,
      cpu_us_per_conn_rusage: (ru1.user + ru1.system) / res.ok,
      // By thread (schedstat): the JavaScript thread's share is what a busy primary would feel.
      thread_cpu_us_per_conn: common.threadCpuPer(threads0, threads1, res.ok),
      conns: res.ok,
      failed: res.failed,
      reasons: res.reasons,
      latency_ms: res.latency_ms,
      elapsed_ms: res.elapsed_ms,
    });
  })().catch((e) => common.fail(cluster, 'rr', impl, e.stack || e));
}
