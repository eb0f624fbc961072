'use strict';
// Connections waiting on a worker's SCHED_REUSEPORT socket while its event loop is blocked.
// Two workers serve HTTP; W1 blocks in a busy loop, then 24 clients connect at once: the kernel
// puts about half of them in W1's socket.
//   argv: <mode>
//   exit:      rescue off (rescueAfter: 0); W1 blocks 800 ms and exits: what waited on its
//              socket is handed to W2.
//   kill:      rescue off; W1 blocks until the primary SIGKILLs it 500 ms after the clients
//              connected: the same.
//   stuck:     the default rescue window; W1 blocks 1500 ms: the engine hands what waits on its
//              socket to W2 while W1 is still blocked.
//   stuck-off: as stuck with rescue off: what waits on W1's socket waits for the block's end.
// Under Node's cluster (round-robin, no rescue) the scenario runs the same steps; the test
// compares failures.
const { cluster, obs, safety } = require('../../helpers/observe');
const { makeServer, request, sleep } = require('../server/common');
const { portSockets, heldOn } = require('./common');

const [mode] = process.argv.slice(2);
const CLIENTS = 24;
safety(20000);

if (cluster.isPrimary) {
  if (cluster.SCHED_REUSEPORT !== undefined) {
    cluster.schedulingPolicy = cluster.SCHED_REUSEPORT;
    if (mode !== 'stuck') cluster.setupPrimary({ rescueAfter: 0 });
  }
  const w1 = cluster.fork();
  const w2 = cluster.fork();
  const inbox = [];
  const next = (w) => new Promise((resolve) => { inbox.push([w, resolve]); });
  for (const w of [w1, w2]) {
    w.on('message', (m) => {
      const i = inbox.findIndex(([x]) => x === w);
      if (i >= 0) inbox.splice(i, 1)[0][1](m);
    });
  }
  let unblockedAt = null;
  w1.on('exit', (code, signal) => obs('W1 exit', { code, signal }));
  (async () => {
    const [r1] = await Promise.all([next(w1), next(w2)]);
    const { port } = r1;
    const blocked = next(w1);
    w1.send({ block: { exit: 800, kill: 60000, stuck: 1500, 'stuck-off': 1500 }[mode], exit: mode === 'exit' });
    await blocked; // W1 starts its loop right after saying so
    await sleep(50);
    const t0 = Date.now();
    const answers = Array.from({ length: CLIENTS }, (_, i) => request('http', port, { payload: `c${i}`, timeoutMs: 6000 })
      .then((a) => ({ a, at: Date.now() - t0 })));
    const back = mode === 'stuck-off' || mode === 'stuck'
      ? next(w1).then(() => { unblockedAt = Date.now() - t0; })
      : null;
    await sleep(400);
    if (mode === 'exit' || mode === 'kill') {
      // What waits on W1's own socket now (rust-cluster); Node's workers hold no socket.
      const mine = r1.held;
      const queued = portSockets('tcp', port).filter((s) => mine.includes(s.inode)).reduce((n, s) => n + s.queued, 0);
      obs('measure', { queuedOnW1: queued });
      if (mode === 'kill') w1.process.kill('SIGKILL');
    }
    const got = await Promise.all(answers);
    await back;
    const ok = got.filter((g) => typeof g.a === 'string');
    const by = (w) => ok.filter((g) => g.a.startsWith(`${w}:`));
    obs('measure', {
      answered: ok.length,
      failed: got.length - ok.length,
      byW1: by('W1').length,
      byW2: by('W2').length,
      // stuck modes: answers that came before W1 was back.
      beforeUnblock: unblockedAt === null ? null : ok.filter((g) => g.at < unblockedAt).length,
      unblockedAt,
    });
    for (const w of Object.values(cluster.workers)) w.process.kill('SIGKILL');
  })();
} else {
  const who = `W${cluster.worker.id}`;
  const server = makeServer('http', who);
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    process.send({ port, held: heldOn('tcp', port) });
  });
  process.on('message', (m) => {
    if (!m.block) return;
    process.send('blocking');
    const end = Date.now() + m.block;
    while (Date.now() < end) { /* blocked */ }
    if (m.exit) process.exit(0);
    process.send('unblocked');
  });
}
