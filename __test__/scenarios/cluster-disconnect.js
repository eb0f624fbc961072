'use strict';
// cluster.disconnect([cb]): every worker is disconnected and leaves
// cluster.workers at once; cb runs when the first worker has gone, before
// that worker's 'exit' event (not after all of them); with no workers cb
// runs asynchronously, before a setImmediate queued at the same time.
// Cases (argv[2]): none, one, two
const { cluster, obs, safety, snap } = require('../helpers/observe');

const mode = process.argv[2];
safety();

if (cluster.isPrimary) {
  if (mode === 'none') {
    let sync = true;
    setImmediate(() => obs('setImmediate queued before'));
    const ret = cluster.disconnect(() => obs('callback', { sync, workers: Object.keys(cluster.workers) }));
    setImmediate(() => obs('setImmediate queued after'));
    sync = false;
    obs('disconnect() returned', { ret });
    obs('disconnect() without callback', { ret: cluster.disconnect() });
  } else {
    const count = mode === 'two' ? 2 : 1;
    let exits = 0;
    let ready = 0;
    const workers = [];
    for (let i = 0; i < count; i++) {
      const w = cluster.fork();
      workers.push(w);
      // With two workers their events interleave in no fixed order: each
      // worker gets its own lane.
      const lane = count === 2 ? `w${w.id}` : undefined;
      w.on('online', () => obs('W.online', { lane, ...snap(w) }));
      w.on('disconnect', () => obs('W.disconnect', { lane, ...snap(w) }));
      w.on('exit', (code, signal) => {
        exits++;
        obs('W.exit', { lane, code, signal, ...snap(w) });
      });
      w.on('message', () => {
        if (++ready === count) disconnectAll();
      });
    }
    cluster.on('disconnect', (w) => obs('C.disconnect', { lane: count === 2 ? `w${w.id}` : undefined, id: w.id }));
    cluster.on('exit', (w) => obs('C.exit', { lane: count === 2 ? `w${w.id}` : undefined, id: w.id }));

    let calls = 0;
    const disconnectAll = () => {
      let sync = true;
      const ret = cluster.disconnect(() => {
        calls++;
        obs('callback', { sync, calls, exitEventsBefore: exits, workers: Object.keys(cluster.workers) });
      });
      sync = false;
      obs('disconnect() returned', {
        ret, workers: Object.keys(cluster.workers), snaps: workers.map(snap),
      });
    };
    process.on('exit', () => obs('primary exit', { exits, calls }));
  }
} else {
  process.send('ready');
}
