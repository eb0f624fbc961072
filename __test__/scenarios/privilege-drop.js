'use strict';
// A primary that drops its privileges after require() and before its first fork(), with the
// package where the new user cannot read it (an app under /root in a container). argv[2]: a
// worker script the new user can read. The rust-only 'measure' says whether the warden runs.
const fs = require('node:fs');
const path = require('node:path');
const { cluster, obs, safety } = require('../helpers/observe');

safety(10000);
const workerFile = process.argv[2];

// Our children's names, from /proc (readable for processes of the same user).
function childNames() {
  const names = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let status;
    try { status = fs.readFileSync(`/proc/${pid}/status`, 'utf8'); } catch { continue; }
    const field = (k) => (status.match(new RegExp(`^${k}:\\s*(.*)$`, 'm')) || [])[1];
    if (Number(field('PPid')) === process.pid) names.push(field('Name'));
  }
  return names;
}

process.setgid(65534);
process.setuid(65534);
obs('dropped', { uid: process.getuid(), gid: process.getgid() });
cluster.setupPrimary({ exec: workerFile, cwd: path.dirname(workerFile) });
const w = cluster.fork();
w.on('online', () => obs('online'));
w.on('message', (m) => {
  obs('message', { m });
  if (m === 'ready') {
    obs('measure', { warden: childNames().includes('rc-warden') });
    w.send('ping');
  } else {
    w.disconnect();
  }
});
w.on('exit', (code, signal) => obs('exit', { code, signal, exitedAfterDisconnect: w.exitedAfterDisconnect }));
