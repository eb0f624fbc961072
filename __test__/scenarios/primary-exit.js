'use strict';
// The primary ends while its workers run; argv[2] says how:
//   exit   process.exit(0) in the 'message' listener, right after sending 'bye' to each worker
//   throw  an uncaught exception in that listener, right after sending 'bye'
//   signal SIGTERM to itself on the next turn after sending 'bye'
// Node's workers see their channel close and exit by themselves, running their 'exit'
// listeners; every 'bye' sent before the end arrives.
const { cluster, obs } = require('../helpers/observe');

const how = process.argv[2] || 'exit';

if (cluster.isPrimary) {
  const workers = [cluster.fork(), cluster.fork()];
  let ready = 0;
  for (const w of workers) {
    w.on('message', () => {
      if (++ready < workers.length) return;
      for (const x of workers) x.send('bye');
      obs('primary ends', { how });
      if (how === 'exit') process.exit(0);
      if (how === 'throw') throw new Error('the primary gives up');
      setImmediate(() => process.kill(process.pid, 'SIGTERM'));
    });
  }
} else {
  process.on('message', (m) => obs('got', { m }));
  process.on('exit', (code) => obs('worker exit', { code }));
  process.send('ready');
}
