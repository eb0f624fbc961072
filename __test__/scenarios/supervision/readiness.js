'use strict';
// reload({ readiness: 'message' }): the old worker leaves only once its replacement sent 'ready'
// (app.js sends it 300 ms after it listens), as PM2's wait_ready; with the default readiness it
// leaves once the replacement listens on the same server. Prints the gap between the
// replacement's 'listening' and the old worker's 'disconnect' in each case, and the order.
const fs = require('node:fs');
const { cluster, watchdog, out, freePort, modeFile, forkApps } = require('./common');

watchdog(30000);

(async () => {
  const port = await freePort();
  const file = modeFile('ready');
  const result = {};
  await forkApps(1, { PORT: String(port), MODE_FILE: file });
  for (const readiness of ['message', 'listening']) {
    const seen = [];
    let listenedAt = 0;
    const current = Object.values(cluster.workers)[0];
    const onListening = (w) => { if (w !== current) { listenedAt = Date.now(); seen.push('new listening'); } };
    const onMessage = (w, m) => { if (m === 'ready' && w !== current) seen.push('new ready'); };
    cluster.on('listening', onListening);
    cluster.on('message', onMessage);
    let gap = -1;
    current.once('disconnect', () => { gap = Date.now() - listenedAt; seen.push('old disconnect'); });
    await cluster.reload({ readiness, shutdownTimeout: 1000 });
    cluster.off('listening', onListening);
    cluster.off('message', onMessage);
    result[readiness] = { seen, gap, oldDead: current.isDead() };
    fs.writeFileSync(file, '');
  }
  out(result);
  await cluster.shutdown({ shutdownTimeout: 1000 });
})();
