'use strict';
// Respawn with backoff: a worker that exits with code 3 shortly after it starts, respawned with
// { delay: 50, factor: 2, maxDelay: 200, maxRestarts: 4 }: the delays grow and stop at
// maxDelay, and the fifth exit within the window gives 'respawnLimit'. Then workers ended by
// disconnect(), kill() and worker.process.kill() are not respawned, and one that stayed up
// longer than resetAfter starts its slot again at `delay`. A respawn still waiting when
// shutdown() is called is cancelled.
const { cluster, watchdog, out, sleep } = require('./common');

if (cluster.isPrimary) {
  watchdog(30000);
  cluster.setupPrimary({
    exec: __filename,
    respawn: { delay: 50, factor: 2, maxDelay: 200, maxRestarts: 4, window: 60000, resetAfter: 600 },
  });
  const respawns = [];
  const exits = new Map();
  cluster.on('exit', (w) => exits.set(w.id, Date.now()));
  cluster.on('respawn', (fresh, old, delay) => {
    respawns.push({ fresh: fresh.id, old: old.id, delay, waited: Date.now() - exits.get(old.id) });
  });
  (async () => {
    const limited = new Promise((resolve) => cluster.once('respawnLimit', (w) => resolve(w.id)));
    cluster.fork({ LIFE: '30' });
    const limitFor = await limited;
    const crashLine = respawns.slice();
    respawns.length = 0;
    // Ended on purpose: no respawn.
    const ended = [];
    for (const how of ['disconnect', 'kill', 'process.kill']) {
      const w = cluster.fork({ LIFE: 'forever' });
      await new Promise((r) => w.once('online', r));
      if (how === 'disconnect') w.disconnect();
      else if (how === 'kill') w.kill();
      else w.process.kill('SIGTERM');
      await new Promise((r) => w.once('exit', r));
      ended.push(how);
    }
    await sleep(400);
    const afterPurpose = respawns.length;
    // A worker up longer than resetAfter (600 ms): its slot starts again at 50 ms.
    const long = cluster.fork({ LIFE: '700' });
    await new Promise((r) => cluster.once('respawn', r));
    const reset = respawns.map((r) => r.delay);
    await cluster.shutdown({ shutdownTimeout: 500 });
    // A respawn still waiting for its delay when shutdown() is called does not happen.
    respawns.length = 0;
    const last = cluster.fork({ LIFE: '30' });
    await new Promise((r) => last.once('exit', r));
    await cluster.shutdown({ shutdownTimeout: 500 });
    await sleep(300);
    out({
      crashLine, limitFor, ended, afterPurpose, long: long.id, reset,
      afterShutdown: respawns.length, workersLeft: Object.keys(cluster.workers).length,
    });
  })();
} else if (process.env.LIFE !== 'forever') {
  setTimeout(() => process.exit(3), Number(process.env.LIFE));
} else {
  process.on('message', () => {}); // the channel keeps it alive until disconnect
}
