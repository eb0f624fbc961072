'use strict';
// Row 5: distribution while the primary's JavaScript is blocked. Two workers share a loopback TCP
// port; a client process keeps 8 connections in flight while the primary spins in a synchronous
// busy loop for --block ms (2000). Result: requests answered during the busy loop.
//
//   node bench/cases/blocked.js --impl=node|rust [--block=2000] [--concurrency=8]
const common = require('../lib/common.js');
const tcp = require('../lib/tcp.js');

if (common.isWorker) {
  tcp.workerServe();
} else {
  const { args, impl, cluster } = common.primary('blocked');
  (async () => {
    cluster.schedulingPolicy = cluster.SCHED_RR;
    const block = common.num(args.block, 2000);
    const { port } = await tcp.startServers(cluster, 2);
    const client = tcp.spawnClient([
      '--mode=window', `--port=${port}`, `--window=${block}`,
      `--concurrency=${common.num(args.concurrency, 8)}`, '--timeout=10000',
    ]);
    const ready = await client.next();
    if (ready.phase !== 'ready') throw new Error(`client: ${JSON.stringify(ready)}`);
    const start = Date.now() + 100;
    await new Promise((r) => client.child.stdin.write(`${start}\n`, r));
    // The busy loop: the JS thread does nothing else until start + block.
    let spins = 0;
    while (Date.now() < start + block) spins++;
    const res = await client.next(30000);
    if (res.phase !== 'done') throw new Error(`client: ${JSON.stringify(res)}`);
    common.finish(cluster, {
      case: 'blocked',
      impl,
      answered: res.answered_in_window,
      answered_after: res.answered_after_window,
      started: res.started,
      failed: res.failed,
      reasons: res.reasons,
      block_ms: block,
      spins,
    });
  })().catch((e) => common.fail(cluster, 'blocked', impl, e.stack || e));
}
