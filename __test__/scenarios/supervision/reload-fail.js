'use strict';
// A reload whose replacement fails: it exits before it listens ('crash'), or never gets ready
// within readyTimeout ('hang'). The reload must stop at the first old worker, kill the
// replacement, keep the old workers serving, and reject with an error naming both workers.
//   node supervision/reload-fail.js crash|hang
const fs = require('node:fs');
const { cluster, watchdog, out, freePort, modeFile, forkApps, get, sleep, alive } = require('./common');

const how = process.argv[2];
watchdog(30000);

(async () => {
  const port = await freePort();
  const file = modeFile('');
  const olds = await forkApps(2, { PORT: String(port), MODE_FILE: file });
  fs.writeFileSync(file, how);
  const forked = [];
  cluster.on('fork', (w) => forked.push(w));
  let error = null;
  try {
    // Long enough for a loaded machine to start the crashing one; short for the hanging one.
    await cluster.reload({ readyTimeout: how === 'crash' ? 8000 : 1000 });
  } catch (err) {
    error = {
      code: err.code, reason: err.reason, message: err.message, isError: err instanceof Error,
      worker: err.worker && err.worker.id, replacement: err.replacement && err.replacement.id,
    };
  }
  await sleep(200);
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push((await get(port)).pid);
  out({
    error,
    olds: olds.map((w) => ({ id: w.id, pid: w.process.pid, state: w.state, alive: alive(w.process.pid) })),
    forked: forked.map((w) => ({ id: w.id, dead: w.isDead(), signal: w.process.signalCode, code: w.process.exitCode })),
    workers: Object.keys(cluster.workers).map(Number),
    answeredBy: [...new Set(answers)].sort(),
  });
  await cluster.shutdown({ shutdownTimeout: 1000 });
})();
