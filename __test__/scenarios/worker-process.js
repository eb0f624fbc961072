'use strict';
// worker.process as a ChildProcess: class, pid, spawnfile/spawnargs, stdio,
// connected, kill(), exitCode/signalCode/killed, and its events.
// Cases (argv[2]): kill (primary kills with worker.process.kill()),
// exit3 (the worker exits with code 3).
const { ChildProcess } = require('node:child_process');
const { cluster, obs, safety, attempt } = require('../helpers/observe');

const mode = process.argv[2];
safety();

if (cluster.isPrimary) {
  const w = cluster.fork();
  const proc = w.process;
  const pstate = () => ({
    connected: proc.connected, exitCode: proc.exitCode, signalCode: proc.signalCode, killed: proc.killed,
  });
  obs('process', {
    isChildProcess: proc instanceof ChildProcess,
    pidType: typeof proc.pid,
    pidValid: Number.isInteger(proc.pid) && proc.pid > 0 && proc.pid !== process.pid,
    spawnfile: proc.spawnfile,
    spawnargs: proc.spawnargs,
    stdio: proc.stdio.map((s) => (s === null ? null : 'stream')),
    stdin: proc.stdin, stdout: proc.stdout, stderr: proc.stderr,
    send: typeof proc.send, kill: typeof proc.kill, disconnect: typeof proc.disconnect,
    workerSendIsFunction: typeof w.send,
    ...pstate(),
    badSignal: attempt(() => proc.kill('SIGNOPE')),
    badSignalViaWorker: attempt(() => w.kill('SIGNOPE')),
  });
  for (const ev of ['spawn', 'disconnect']) proc.on(ev, (...args) => obs(`P.${ev}`, { args, ...pstate() }));
  for (const ev of ['exit', 'close']) proc.on(ev, (...args) => obs(`P.${ev}`, { args, ...pstate() }));
  proc.on('error', (err) => obs('P.error', { name: err.name, code: err.code }));

  w.once('message', (msg) => {
    obs('ready', { msg });
    // The worker checks what it sees against what the primary sees.
    w.send({ pid: proc.pid, ppid: process.pid });
  });
  w.on('message', (msg) => {
    if (msg !== 'checked') return;
    if (mode === 'kill') obs('process.kill()', { ...attempt(() => proc.kill()), ...pstate() });
    else w.send('exit');
  });
} else {
  process.on('message', (msg) => {
    if (msg === 'exit') process.exit(3);
    if (msg && msg.pid) {
      obs('ids', { pidMatches: msg.pid === process.pid, parentIsPrimary: msg.ppid === process.ppid });
      process.send('checked');
    }
  });
  process.send('ready');
}
