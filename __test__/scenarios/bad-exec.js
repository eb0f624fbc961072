'use strict';
// Workers that cannot run: a script that does not exist, one that does not
// parse, and a cwd that does not exist (spawn itself fails). Every event on
// the cluster, the Worker and its ChildProcess is recorded in order.
// Cases (argv[2]): missing_script, syntax_error, missing_cwd
const path = require('node:path');
const { cluster, obs, safety, snap, errInfo } = require('../helpers/observe');

const mode = process.argv[2];
safety();

if (cluster.isPrimary) {
  const settings = {
    missing_script: { exec: path.join(__dirname, 'fixtures', 'does-not-exist.js') },
    syntax_error: { exec: path.join(__dirname, 'fixtures', 'bad-syntax.js') },
    missing_cwd: { cwd: path.join(__dirname, 'fixtures', 'no-such-dir') },
  }[mode];
  cluster.setupPrimary(settings);
  for (const ev of ['fork', 'online', 'disconnect', 'listening']) {
    cluster.on(ev, (w) => obs(`C.${ev}`, { id: w.id, ...snap(w) }));
  }
  cluster.on('exit', (w, code, signal) => obs('C.exit', { id: w.id, code, signal, ...snap(w) }));
  cluster.on('message', (w, msg) => obs('C.message', { id: w.id, msg }));

  let w;
  try {
    w = cluster.fork();
  } catch (err) {
    obs('fork threw', errInfo(err));
    return;
  }
  obs('forked', { id: w.id, ...snap(w), pidType: typeof w.process.pid });
  for (const ev of ['online', 'disconnect']) w.on(ev, () => obs(`W.${ev}`, snap(w)));
  w.on('exit', (code, signal) => obs('W.exit', { code, signal, ...snap(w) }));
  w.on('error', (err) => obs('W.error', { err: errInfo(err), ...snap(w) }));
  const proc = w.process;
  const pstate = () => ({ connected: proc.connected, exitCode: proc.exitCode, signalCode: proc.signalCode });
  for (const ev of ['spawn', 'disconnect']) proc.on(ev, () => obs(`P.${ev}`, pstate()));
  for (const ev of ['exit', 'close']) proc.on(ev, (code, signal) => obs(`P.${ev}`, { code, signal, ...pstate() }));
  proc.on('error', (err) => obs('P.error', { err: errInfo(err), ...pstate() }));
  process.on('exit', (code) => obs('primary exit', { code, workers: Object.keys(cluster.workers) }));
} else {
  obs('worker ran (only possible in missing_cwd if spawn did not fail)');
  process.disconnect();
}
