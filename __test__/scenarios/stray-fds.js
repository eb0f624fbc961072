'use strict';
// A worker whose channel carries descriptors that no NODE_HANDLE message claims (written by a
// Python grandchild on the worker's channel fd). The primary must cap them, disconnect that
// worker with an error and keep no descriptor.
const fs = require('node:fs');
const { spawn } = require('node:child_process');
const { cluster, obs, safety } = require('../helpers/observe');

safety(10000);
const PY = `
import socket, array
s = socket.socket(fileno=3)
for i in range(100):
    s.sendmsg([b'"stray"\\n'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [0]))])
`;

if (cluster.isPrimary) {
  const fds = () => fs.readdirSync('/proc/self/fd').length;
  let before;
  const bad = cluster.fork({ ROLE: 'bad' });
  bad.on('online', () => { before = fds(); });
  let strays = 0;
  bad.on('message', () => { strays++; });
  bad.on('error', (e) => obs('bad error', { code: e.code }));
  bad.on('exit', () => {
    setTimeout(() => {
      obs('after', { someDelivered: strays > 0, fdsBackToBefore: fds() <= before });
    }, 100);
  });
} else {
  const py = spawn('python3', ['-c', PY], { stdio: ['inherit', 'inherit', 'inherit', 3] });
  py.on('exit', () => {});
  process.on('message', () => {});
}
