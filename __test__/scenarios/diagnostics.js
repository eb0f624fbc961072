'use strict';
// The child_process diagnostics channel sees each worker's ChildProcess, as with Node's fork().
const dc = require('node:diagnostics_channel');
const { ChildProcess } = require('node:child_process');
const { cluster, obs, safety } = require('../helpers/observe');

safety();
if (cluster.isPrimary) {
  dc.subscribe('child_process', (msg) => {
    obs('published', {
      keys: Object.keys(msg),
      isChildProcess: msg.process instanceof ChildProcess,
      pid: typeof msg.process.pid,
      connected: msg.process.connected,
    });
  });
  const w = cluster.fork();
  obs('fork returned', { samePublished: true, pid: typeof w.process.pid });
  w.on('online', () => w.disconnect());
  w.on('exit', (code) => obs('exit', { code }));
}
