'use strict';
// Row 11: a worker hangs and is killed under steady load. Two workers share a loopback TCP port;
// a client process opens connections at a fixed rate (open loop: arrivals do not wait for the
// server) for --before + --block + --after ms. --before ms in, the primary tells worker 1 to spin
// in a synchronous loop (its event loop blocked); --block ms later it kills it with SIGKILL, and
// forks a replacement when it exits (unless --no-replace). Results: requests failed (reset,
// refused, timed out after --timeout ms) and the latency of the others, counted from each
// connection's scheduled start: p50, p99, max, and a timeline in 100 ms buckets.
//
// The built-in runs round-robin; rust-cluster the policy --policy names (reuseport by default:
// SCHED_REUSEPORT); node22-reuseport is Node's own cluster with workers that listen with
// `reusePort: true`.
//
//   node bench/cases/kill.js --impl=node|rust|node22-reuseport [--policy=reuseport|rr]
//        [--rate=1000] [--before=500] [--block=1500] [--after=1000] [--timeout=3000] [--no-replace]
const common = require('../lib/common.js');
const tcp = require('../lib/tcp.js');

if (common.isWorker) {
  tcp.workerServe();
} else {
  const { args, impl, cluster } = common.primary('kill');
  (async () => {
    const rate = common.num(args.rate, 1000);
    const before = common.num(args.before, 500);
    const block = common.num(args.block, 1500);
    const after = common.num(args.after, 1000);
    const timeout = common.num(args.timeout, 3000);
    tcp.setPolicy(cluster, impl, args.policy || 'reuseport');
    const reusePort = impl === 'node22-reuseport';
    const env = { BENCH_BLOCKABLE: '1' };
    const { port, workers } = await tcp.startServers(cluster, 2, { reusePort, env });
    const victim = workers[0];
    const client = tcp.spawnClient([
      '--mode=open', `--port=${port}`, `--rate=${rate}`, `--window=${before + block + after}`,
      `--timeout=${timeout}`, '--bucket=100',
    ]);
    const ready = await client.next();
    if (ready.phase !== 'ready') throw new Error(`client: ${JSON.stringify(ready)}`);
    const start = Date.now() + 100;
    const events = {}; // ms from the start of the load
    const at = () => Date.now() - start;
    let replacement = null;
    victim.once('exit', () => {
      events.exit_ms = at();
      if (args['no-replace']) return;
      replacement = tcp.forkServer(cluster, { reusePort, port, env }).then(() => {
        events.replacement_listening_ms = at();
      });
    });
    await new Promise((r) => client.child.stdin.write(`${start}\n`, r));
    await new Promise((r) => setTimeout(r, start + before - Date.now()));
    // Spins past the kill: the worker never gets its event loop back.
    victim.send({ bench: 'block', ms: block + 10000 });
    events.block_ms = at();
    await new Promise((r) => setTimeout(r, block));
    victim.process.kill('SIGKILL');
    events.kill_ms = at();
    const res = await client.next(before + block + after + timeout + 10000);
    if (res.phase !== 'done') throw new Error(`client: ${JSON.stringify(res)}`);
    if (replacement) await replacement;
    common.finish(cluster, {
      case: 'kill',
      impl,
      node: process.version,
      policy: impl === 'rust' ? args.policy || 'reuseport' : impl === 'node' ? 'rr' : 'reusePort',
      requests: res.started,
      answered: res.ok,
      failed: res.failed,
      skipped: res.skipped,
      reasons: res.reasons,
      latency_ms: res.latency_ms,
      events,
      rate,
      block_ms: block,
      timeline: res.timeline,
    });
  })().catch((e) => common.fail(cluster, 'kill', impl, e.stack || e));
}
