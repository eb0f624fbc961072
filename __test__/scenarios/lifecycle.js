'use strict';
// One worker, ended in the way named by argv[2]. The primary records every
// cluster, Worker and ChildProcess event with the worker's state at that
// moment; the worker records what it can see of its own ending.
//
// Cases: primary_disconnect, primary_kill, primary_kill_sigkill,
// primary_destroy, process_kill, primary_process_disconnect, disconnect_then_kill, sigterm_handler,
// kill_before_online, worker_disconnect, worker_kill, worker_destroy,
// worker_process_disconnect, worker_exit7, worker_throw
const { cluster, obs, safety, snap, attempt, errInfo } = require('../helpers/observe');

const mode = process.argv[2];
safety();

if (cluster.isPrimary) {
  // `same`: the listener got the Worker object that fork() returned.
  cluster.on('setup', (settings) => obs('C.setup', { isSettings: settings === cluster.settings }));
  cluster.on('fork', (worker) => obs('C.fork', { same: worker === w, ...snap(worker) }));
  cluster.on('online', (worker) => obs('C.online', { same: worker === w, ...snap(worker) }));
  cluster.on('disconnect', (worker) => obs('C.disconnect', { same: worker === w, ...snap(worker) }));
  cluster.on('exit', (worker, code, signal) => obs('C.exit', { same: worker === w, code, signal, ...snap(worker) }));
  cluster.on('message', function (worker, msg, handle) {
    obs('C.message', { same: worker === w, msg, handle, argc: arguments.length });
  });

  const w = cluster.fork();
  obs('forked', { id: w.id, ...snap(w), keys: Object.keys(cluster.workers) });

  w.on('online', (...args) => obs('W.online', { argc: args.length, ...snap(w) }));
  w.on('disconnect', (...args) => obs('W.disconnect', { argc: args.length, ...snap(w) }));
  w.on('exit', (code, signal) => {
    obs('W.exit', { code, signal, ...snap(w), keys: Object.keys(cluster.workers) });
  });
  w.on('error', (err) => obs('W.error', { err: errInfo(err), ...snap(w) }));
  w.on('message', (msg, handle, ...rest) => {
    obs('W.message', { msg, handle, argc: 2 + rest.length, ...snap(w) });
    if (msg === 'ready') act();
  });

  const proc = w.process;
  const pstate = () => ({
    connected: proc.connected, exitCode: proc.exitCode, signalCode: proc.signalCode, killed: proc.killed,
    // The channel (a Control, null from disconnect() or the channel's end on) and the native
    // process handle (a Process until exit).
    channel: proc.channel === null ? null : proc.channel.constructor.name,
    handle: proc._handle === null ? null : proc._handle.constructor.name,
  });
  proc.on('spawn', () => obs('P.spawn', pstate()));
  proc.on('disconnect', () => obs('P.disconnect', pstate()));
  proc.on('exit', (code, signal) => obs('P.exit', { code, signal, ...pstate() }));
  proc.on('close', (code, signal) => {
    obs('P.close', { code, signal, ...pstate() });
    afterDeath();
  });
  proc.on('error', (err) => obs('P.error', { err: errInfo(err) }));

  if (mode === 'kill_before_online') {
    const r = attempt(() => w.kill());
    obs('kill() returned', { ...r, ...snap(w) });
  }

  function act() {
    let r;
    switch (mode) {
      case 'primary_disconnect':
        r = attempt(() => w.disconnect() === w);
        obs('disconnect() === worker', { ...r, ...snap(w), keys: Object.keys(cluster.workers) });
        break;
      case 'primary_kill':
        r = attempt(() => w.kill());
        obs('kill() returned', { ...r, ...snap(w), killed: proc.killed });
        break;
      case 'primary_kill_sigkill':
        r = attempt(() => w.kill('SIGKILL'));
        obs('kill(SIGKILL) returned', { ...r, ...snap(w), killed: proc.killed });
        break;
      case 'primary_destroy':
        r = attempt(() => w.destroy());
        obs('destroy() returned', { ...r, ...snap(w) });
        break;
      case 'process_kill':
        r = attempt(() => proc.kill());
        obs('process.kill() returned', { ...r, ...snap(w), killed: proc.killed });
        break;
      case 'primary_process_disconnect':
        // Closes the channel from the primary's side: Node emits 'disconnect' a tick later,
        // before the loop turns (the worker then exits by itself).
        r = attempt(() => proc.disconnect());
        obs('process.disconnect() returned', { ...r, ...snap(w), ...pstate() });
        setImmediate(() => obs('next loop turn', { ...snap(w), ...pstate() }));
        break;
      case 'disconnect_then_kill':
        w.disconnect();
        r = attempt(() => w.kill());
        obs('disconnect(); kill() returned', { ...r, ...snap(w) });
        break;
      case 'sigterm_handler':
        r = attempt(() => w.kill());
        obs('kill() returned', { ...r, ...snap(w) });
        break;
      default: // the worker ends itself when told to
        r = attempt(() => w.send('go'));
        obs('send(go) returned', r);
    }
  }

  // Once the worker is gone: nothing throws, and the worker stays gone.
  function afterDeath() {
    obs('after death', {
      ...snap(w),
      keys: Object.keys(cluster.workers),
      kill: attempt(() => w.kill()),
      send: attempt(() => w.send('too late', () => {})),
      disconnectReturnsWorker: attempt(() => w.disconnect() === w),
    });
  }

  process.on('exit', (code) => obs('primary exit', { code }));
} else {
  const me = cluster.worker;
  obs('worker start', { id: me.id, state: me.state, ead: me.exitedAfterDisconnect });
  // After disconnect(); kill() the worker may or may not run JS before the
  // SIGTERM lands (observed both ways in Node), so it stays quiet then.
  const quiet = mode === 'disconnect_then_kill';
  if (!quiet) me.on('disconnect', (...args) => obs('w.disconnect', { argc: args.length, state: me.state, ead: me.exitedAfterDisconnect }));
  if (!quiet) process.on('exit', (code) => obs('w.exit', { code, state: me.state, ead: me.exitedAfterDisconnect }));
  if (mode === 'sigterm_handler') {
    process.on('SIGTERM', () => {
      obs('w.SIGTERM');
      process.exit(0);
    });
  }
  process.on('message', (msg) => {
    if (msg !== 'go') return;
    let r;
    switch (mode) {
      case 'worker_disconnect':
        r = attempt(() => me.disconnect() === me);
        obs('disconnect() === worker', { ...r, state: me.state, ead: me.exitedAfterDisconnect });
        obs('again', { ...attempt(() => me.disconnect() === me), state: me.state });
        break;
      case 'worker_kill':
        r = attempt(() => me.kill());
        obs('kill() returned', { ...r, state: me.state, ead: me.exitedAfterDisconnect });
        obs('again', { ...attempt(() => me.kill()), state: me.state });
        break;
      case 'worker_destroy':
        r = attempt(() => me.destroy());
        obs('destroy() returned', { ...r, state: me.state, ead: me.exitedAfterDisconnect });
        break;
      case 'worker_process_disconnect':
        r = attempt(() => process.disconnect());
        obs('process.disconnect() returned', { ...r, state: me.state, connected: process.connected });
        break;
      case 'worker_exit7':
        process.exit(7);
        break;
      case 'worker_throw':
        throw new Error('boom (expected by the scenario)');
      default:
        obs('unknown mode', { mode });
    }
  });
  process.send('ready');
}
