'use strict';
// A spawn the system refuses: a primary that is not root asks for uid 0.
const { cluster, obs } = require('../helpers/observe');

if (cluster.isPrimary) {
  if (process.getuid() === 0) {
    process.setgid(65534);
    process.setuid(65534);
  }
  cluster.setupPrimary({ uid: 0 });
  try {
    const w = cluster.fork();
    obs('forked', { pid: typeof w.process.pid });
    w.on('error', (e) => obs('W.error', { code: e.code, syscall: e.syscall }));
  } catch (e) {
    obs('fork threw', { name: e.name, code: e.code, errno: e.errno, syscall: e.syscall, message: e.message });
  }
  obs('workers', { ids: Object.keys(cluster.workers) });
}
