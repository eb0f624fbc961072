'use strict';
// Bad supervision options: Node-style errors at the call, never later.
const { cluster, out } = require('./common');

function attempt(fn) {
  try {
    const r = fn();
    if (r && typeof r.then === 'function') r.catch(() => {});
    return 'no error';
  } catch (err) {
    return `${err.name} ${err.code}: ${err.message}`;
  }
}

out({
  respawn: attempt(() => cluster.setupPrimary({ respawn: 'yes' })),
  respawnDelay: attempt(() => cluster.setupPrimary({ respawn: { delay: -1 } })),
  respawnFactor: attempt(() => cluster.setupPrimary({ respawn: { factor: 0.5 } })),
  memoryLimit: attempt(() => cluster.setupPrimary({ memoryLimit: '1G' })),
  memoryLimitFraction: attempt(() => cluster.setupPrimary({ memoryLimit: 1.5 })),
  reloadSettings: attempt(() => cluster.setupPrimary({ reload: { concurrency: 0 } })),
  rescueAfter: attempt(() => cluster.setupPrimary({ rescueAfter: '40ms' })),
  rescueAfterNegative: attempt(() => cluster.setupPrimary({ rescueAfter: -1 })),
  settingsUntouched: cluster.settings.respawn === undefined && cluster.settings.memoryLimit === undefined &&
    cluster.settings.rescueAfter === undefined,
  reloadOptions: attempt(() => cluster.reload(5)),
  concurrency: attempt(() => cluster.reload({ concurrency: 1.5 })),
  readiness: attempt(() => cluster.reload({ readiness: 'soon' })),
  readyTimeout: attempt(() => cluster.reload({ readyTimeout: '10s' })),
  shutdownTimeout: attempt(() => cluster.shutdown({ shutdownTimeout: -5 })),
  good: attempt(() => cluster.setupPrimary({ respawn: true, memoryLimit: 0, rescueAfter: 0 })),
  enumerable: ['reload', 'shutdown', 'SCHED_REUSEPORT'].filter((k) => Object.keys(cluster).includes(k)),
  workerEnumerable: Object.keys(cluster.Worker.prototype).includes('stats'),
});
