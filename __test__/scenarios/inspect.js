'use strict';
// Inspector port assignment and --prof log files (cluster's own execArgv rewriting), observed
// through cluster.settings and each worker's process.execArgv. Nothing here turns the inspector
// on: --inspect-port alone only chooses a port.
const { cluster, obs, safety, attempt, errInfo } = require('../helpers/observe');

safety(8000);
const mode = process.argv[2];

if (cluster.isPrimary) {
  const forkAndReport = (label, env) => new Promise((resolve) => {
    let w;
    try {
      w = cluster.fork(env);
    } catch (err) {
      obs('fork threw', { label, err: errInfo(err), message: err.message });
      return resolve();
    }
    w.on('message', (m) => { obs('worker execArgv', { label, execArgv: m }); w.disconnect(); });
    w.on('exit', resolve);
  });
  (async () => {
    if (mode === 'prof') {
      cluster.setupPrimary({ execArgv: ['--prof-process-not-a-flag-but-starts-with--prof'] });
      obs('settings', { execArgv: cluster.settings.execArgv });
      cluster.setupPrimary({ execArgv: ['--prof', '--logfile=mine.log'] });
      obs('settings', { execArgv: cluster.settings.execArgv });
      return;
    }
    cluster.setupPrimary({ execArgv: ['--inspect-port=0'] });
    await forkAndReport('default ports 1');
    await forkAndReport('default ports 2');
    cluster.setupPrimary({ inspectPort: 12345 });
    await forkAndReport('number');
    let n = 20000;
    cluster.setupPrimary({ inspectPort: () => n++ });
    await forkAndReport('function 1');
    await forkAndReport('function 2');
    cluster.setupPrimary({ inspectPort: '23456' });
    await forkAndReport('string');
    cluster.setupPrimary({ inspectPort: 70000 });
    await forkAndReport('out of range');
    cluster.setupPrimary({ inspectPort: null });
    await forkAndReport('null');
    // undefined is a port left out: the next default one.
    cluster.setupPrimary({ inspectPort: undefined });
    await forkAndReport('undefined');
    cluster.setupPrimary({ inspectPort: () => null });
    await forkAndReport('function giving null');
    // Whether execArgv turns the inspector on is remembered per array, as Node does: a flag
    // pushed into the same array after a fork is not seen, a new array is.
    cluster.setupPrimary({ execArgv: [], inspectPort: 34567 });
    await forkAndReport('no inspector flag');
    cluster.settings.execArgv.push('--inspect-port=0');
    await forkAndReport('flag pushed in place');
    cluster.settings.execArgv = [...cluster.settings.execArgv];
    await forkAndReport('same flags, new array');
    obs('ids used', { next: attempt(() => Object.keys(cluster.workers).length) });
  })();
} else {
  process.send(process.execArgv);
}
