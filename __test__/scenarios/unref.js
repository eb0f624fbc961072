'use strict';
// worker.process.unref() and worker.process.channel.unref(): the primary's event loop stays alive
// while either the process or its channel is still referenced, as in Node.
const { cluster, obs } = require('../helpers/observe');

const mode = process.argv[2];
if (cluster.isPrimary) {
  const w = cluster.fork();
  w.on('online', () => {
    if (mode === 'both' || mode === 'process') w.process.unref();
    if (mode === 'both' || mode === 'channel') w.process.channel.unref();
    obs('unref', { mode });
    // Fires only if something else keeps the loop alive.
    setTimeout(() => {
      obs('still alive');
      w.disconnect();
    }, 300).unref();
  });
  w.on('exit', (code) => obs('exit', { code }));
  process.on('exit', () => {
    obs('primary exit');
    w.process.kill('SIGKILL');
  });
} else {
  setInterval(() => {}, 1000);
}
