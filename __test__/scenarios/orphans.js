'use strict';
// Primary with two workers, one stuck in a synchronous infinite loop. Prints the worker pids
// once both are online, then waits to be killed.
const { cluster, obs } = require('../helpers/observe');

if (cluster.isPrimary) {
  const spinner = cluster.fork({ SPIN: '1' });
  const idle = cluster.fork({ SPIN: '' });
  let online = 0;
  cluster.on('online', () => {
    if (++online === 2) obs('pids', { pids: [spinner.process.pid, idle.process.pid] });
  });
  setInterval(() => {}, 1000);
} else if (process.env.SPIN) {
  // Give the primary time to report, then never yield again.
  setTimeout(() => { for (;;); }, 100);
} else {
  setInterval(() => {}, 1000);
}
