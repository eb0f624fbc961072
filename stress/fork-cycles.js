'use strict';
// 1,000 fork/exit cycles (4 at a time): the primary's fds, threads and RSS end where they began.
const cluster = require('..');
const { sample, settle } = require('./common');

const TOTAL = Number(process.env.CYCLES || 1000);
const PARALLEL = 4;
const WARMUP = 20;

if (cluster.isWorker) {
  process.exit(0);
} else {
  let started = 0;
  let finished = 0;
  let before;
  const t0 = Date.now();
  const next = () => {
    if (started >= TOTAL) return;
    started++;
    cluster.fork().on('exit', async () => {
      finished++;
      if (finished === WARMUP) {
        await settle(200);
        if (global.gc) global.gc();
        before = sample();
      }
      if (finished === TOTAL) {
        await settle(300);
        if (global.gc) global.gc();
        const after = sample();
        console.log(JSON.stringify({ test: 'fork-cycles', cycles: TOTAL, seconds: (Date.now() - t0) / 1000, before, after }));
        return;
      }
      next();
    });
  };
  for (let i = 0; i < PARALLEL; i++) next();
}
