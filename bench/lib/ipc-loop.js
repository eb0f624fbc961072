'use strict';
// The IPC loop behind the echo, pipeline and broadcast rows.
//
// The primary works in "rounds": a round is `batch` sends of `payload` to each of the N workers.
// Workers answer every message, either with the message itself (reply=echo) or with a one-byte
// ack (reply=ack). A round is complete when every worker has answered all of its messages. At
// most `window` rounds are outstanding at a time:
//   echo row      N=1, batch 1|10, window 1   -> a round is one of echo.js's broadcasts
//   pipeline row  N=1, batch 1,    window 256 -> a round is one round trip
//   broadcast row N=8, batch 1,    window 16, reply=ack -> delivered = 8 per round
// The loop warms up for warmupMs, then measures for durationMs (or maxRounds rounds, whichever
// ends first), then stops sending and lets the outstanding replies drain.
const common = require('./common.js');

function workerMain() {
  const reply = process.env.BENCH_REPLY || 'echo';
  if (reply === 'echo') process.on('message', (m) => process.send(m));
  else process.on('message', () => process.send(1));
  process.send('ready');
}

async function primaryMain(caseName, cluster, impl, p) {
  const { workers: n, serialization, payload, batch, window, warmupMs, durationMs, maxRounds } = p;
  cluster.setupPrimary({ serialization });
  const workers = [];
  for (let i = 0; i < n; i++) workers.push(cluster.fork({ BENCH_REPLY: p.reply }));
  await Promise.all(workers.map((w) => common.firstMessage(w, (m) => m === 'ready')));

  const replies = new Array(n).fill(0);
  let totalReplies = 0;
  let sent = 0; // rounds sent
  let completed = 0; // rounds completed
  let phase = 'warmup';
  let t0 = 0; let t1 = 0; let c0 = 0; let c1 = 0; let r0 = 0; let r1 = 0;
  let cpu0 = null; let cpu1 = null;
  let threads0 = null; let threads1 = null;
  let wcpu0 = null; let wcpu1 = null; // the workers' CPU (their main thread's share too)
  const workerCpu = () => workers.map((w) => common.threadCpuMicros(w.process.pid));
  const start = common.now();
  const warmEnd = start + warmupMs;
  let measureEnd = Infinity;

  let resolveDone;
  const done = new Promise((r) => { resolveDone = r; });

  function sendRound() {
    sent++;
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < n; i++) workers[i].send(payload);
    }
  }

  function minReplies() {
    let m = replies[0];
    for (let i = 1; i < n; i++) if (replies[i] < m) m = replies[i];
    return m;
  }

  function onReply(i) {
    replies[i]++;
    totalReplies++;
    const c = Math.floor((n === 1 ? replies[0] : minReplies()) / batch);
    if (c === completed) return;
    completed = c;
    const t = common.now();
    if (phase === 'warmup' && t >= warmEnd) {
      phase = 'measure';
      t0 = t; c0 = completed; r0 = totalReplies; cpu0 = process.cpuUsage();
      threads0 = common.threadCpuMicros();
      wcpu0 = workerCpu();
      measureEnd = t0 + durationMs;
    } else if (phase === 'measure' && (t >= measureEnd || completed - c0 >= maxRounds)) {
      phase = 'drain';
      t1 = t; c1 = completed; r1 = totalReplies; cpu1 = process.cpuUsage(cpu0);
      threads1 = common.threadCpuMicros();
      wcpu1 = workerCpu();
    }
    if (phase === 'drain') {
      if (completed === sent) resolveDone();
      return;
    }
    while (sent - completed < window) sendRound();
  }

  workers.forEach((w, i) => w.on('message', () => onReply(i)));
  while (sent < window) sendRound();

  const drainLimit = new Promise((_, reject) => {
    const t = setTimeout(() => reject(new Error('outstanding replies did not drain')),
      warmupMs + durationMs + 20000);
    t.unref();
  });
  await Promise.race([done, drainLimit]);

  const secs = (t1 - t0) / 1000;
  const rounds = c1 - c0;
  common.finish(cluster, {
    case: caseName,
    impl,
    params: { workers: n, serialization, batch, window, reply: p.reply, payloadDesc: p.payloadDesc },
    rounds_per_s: rounds / secs,
    replies_per_s: (r1 - r0) / secs,
    cpu_us_per_round: (cpu1.user + cpu1.system) / Math.max(rounds, 1),
    // The same, by thread (schedstat): where the primary's time per round goes.
    thread_cpu_us_per_round: common.threadCpuPer(threads0, threads1, rounds),
    // Each worker's CPU (all threads) per round: what the primary's way of writing and reading
    // costs the other side, which is stock Node in both runs.
    worker_cpu_us_per_round: wcpu1.map((after, i) => {
      const per = common.threadCpuPer(wcpu0[i], after, rounds);
      return per.js + per.engine + per.other;
    }),
    rounds,
    elapsed_ms: t1 - t0,
  });
}

// Entry point for a case file. `build(args)` returns the loop parameters from the command line.
function run(caseName, build) {
  if (common.isWorker) {
    workerMain();
    return;
  }
  const { args, impl, cluster } = common.primary(caseName);
  let p;
  try {
    p = build(args);
  } catch (e) {
    common.fail(cluster, caseName, impl, e.message);
    return;
  }
  primaryMain(caseName, cluster, impl, p).catch((e) => common.fail(cluster, caseName, impl, e.stack || e));
}

module.exports = { run };
