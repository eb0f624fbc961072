'use strict';
// Supervision beyond Node's cluster, all of it opt-in: cluster.reload() and cluster.shutdown(),
// respawn with backoff, the memory limit, worker.stats(). The engine owns connection
// distribution, so a worker is taken out of rotation (engine.drain) before it is asked to leave:
// no connection is handed to a worker that is going away.
//
// Nothing here adds a listener to a program's emitters: the cluster object calls the on*
// functions below at the moments it emits, and a program that uses none of this sees Node's
// behaviour.

const options = require('./supervision-options.js');
const errors = require('./errors.js');

let cluster = null;
let getEngine = null;

const forkEnv = new WeakMap(); // worker -> the env given to fork()
const bornAt = new WeakMap(); // worker -> Date.now() at fork
const listenKeys = new WeakMap(); // worker -> Set of the servers it listens on
const slots = new WeakMap(); // worker -> its respawn slot (shared along a line of respawns)
const waiters = new Map(); // worker -> what a reload waits for from it
const leaving = new WeakSet(); // workers ended by reload/shutdown/memoryLimit: never respawned
const replacing = new WeakSet(); // workers whose replacement is on its way: not respawned either
const pendingRespawns = new Set(); // timers of respawns not yet forked (cleared by shutdown())

let reloadChain = Promise.resolve();
let shuttingDown = false;

function init(deps) {
  cluster = deps.cluster;
  getEngine = deps.getEngine;
}

function reloadError(message, old, fresh, reason) {
  const err = errors.makeNodeError(Error, 'ERR_RUST_CLUSTER_RELOAD', message);
  err.worker = old;
  err.replacement = fresh;
  err.reason = reason;
  return err;
}

function keyOf(info) {
  return JSON.stringify([info.addressType, info.address, info.port, info.fd]);
}

// Hooks called by the cluster object.

function onFork(worker, env) {
  forkEnv.set(worker, env);
  bornAt.set(worker, Date.now());
  listenKeys.set(worker, new Set());
}

function onOnline(worker) {
  const w = waiters.get(worker);
  if (w) w.online();
}

function onListening(worker, info) {
  const keys = listenKeys.get(worker);
  if (keys) keys.add(keyOf(info));
  const w = waiters.get(worker);
  if (w) w.listening();
}

function onMessage(worker, message) {
  const w = waiters.get(worker);
  if (w && message === 'ready') w.ready();
}

function onExit(worker, code, signal) {
  const w = waiters.get(worker);
  if (w) w.exit(code, signal);
  maybeRespawn(worker);
}

function onMemoryLimit(worker, rss) {
  if (leaving.has(worker) || worker.isDead() || shuttingDown) return;
  cluster.emit('memoryLimit', worker, rss);
  const opts = options.reloadOptions('options', undefined, cluster.settings.reload);
  // A failed replacement leaves the worker as it is; the limit is reported again for a new one.
  reloadChain = reloadChain.then(() => replace(worker, opts)).catch(() => {});
}

// Waits until `fresh`, the replacement of `old`, is ready: it listens on every server `old`
// listens on (or is online, if `old` listens on none), or with readiness 'message' it sent
// 'ready'. Rejects if it exits first or takes longer than readyTimeout.
function whenReady(fresh, old, opts) {
  const needed = new Set(listenKeys.get(old));
  return new Promise((resolve, reject) => {
    let online = false;
    const check = () => {
      if (opts.readiness === 'message') return;
      const have = listenKeys.get(fresh);
      const listening = [...needed].every((k) => have.has(k));
      if ((needed.size === 0 && online) || (needed.size > 0 && listening)) done(null);
    };
    const timer = setTimeout(() => {
      done(reloadError(`Worker ${fresh.id}, replacing worker ${old.id}, was not ready within ` +
        `${opts.readyTimeout} ms`, old, fresh, 'timeout'));
    }, opts.readyTimeout);
    function done(err) {
      clearTimeout(timer);
      waiters.delete(fresh);
      if (err === null) resolve();
      else reject(err);
    }
    waiters.set(fresh, {
      online() { online = true; check(); },
      listening: check,
      ready() { if (opts.readiness === 'message') done(null); },
      exit(code, signal) {
        leaving.add(fresh); // a failed replacement is not respawned
        const how = signal ? `signal ${signal}` : `code ${code}`;
        done(reloadError(`Worker ${fresh.id}, replacing worker ${old.id}, exited with ${how} before it ` +
          'was ready', old, fresh, 'exit'));
      },
    });
  });
}

function exited(worker) {
  if (worker.isDead()) return Promise.resolve();
  return new Promise((resolve) => worker.process.once('exit', () => resolve()));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// How long a connection the worker has just accepted may take to have its first request read.
const SETTLE_MS = 100;
// The most a drained worker is given to answer the connections on their way to it.
const DRAIN_WAIT_MS = 1000;
const drainWaiters = new Map(); // worker -> resolves at the engine's 'drained'

function onDrained(worker) {
  const resolve = drainWaiters.get(worker);
  drainWaiters.delete(worker);
  if (resolve) resolve();
}

// Takes `worker` out of rotation, asks it to leave, and kills it after shutdownTimeout. Between
// the two, the connections already on their way to it are let arrive and be read: a worker that
// disconnects closes its servers, and Node's http server then closes the connections it has no
// request on yet, which would reset a client that had just connected.
async function retire(worker, shutdownTimeout) {
  leaving.add(worker);
  if (worker.isDead()) return;
  // The engine reports 'drained' once the worker answered every connection on its way to it.
  const drained = new Promise((resolve) => drainWaiters.set(worker, resolve));
  getEngine().drain(worker.id);
  await Promise.race([drained, sleep(DRAIN_WAIT_MS)]);
  drainWaiters.delete(worker);
  await sleep(SETTLE_MS);
  if (worker.isDead()) return;
  if (worker.isConnected()) worker.disconnect();
  const timer = setTimeout(() => {
    if (!worker.isDead()) worker.process.kill('SIGKILL');
  }, shutdownTimeout);
  await exited(worker);
  clearTimeout(timer);
}

// Forks a replacement for `old` with its env, waits until it is ready, then retires `old`. A
// replacement that fails is killed and `old` stays.
async function replace(old, opts) {
  if (old.isDead() || !old.isConnected() || leaving.has(old)) return;
  replacing.add(old);
  const fresh = cluster.fork(forkEnv.get(old));
  if (slots.has(old)) slots.set(fresh, slots.get(old));
  try {
    await whenReady(fresh, old, opts);
  } catch (err) {
    replacing.delete(old);
    leaving.add(fresh);
    if (!fresh.isDead()) fresh.process.kill('SIGKILL');
    await exited(fresh);
    throw err;
  }
  await retire(old, opts.shutdownTimeout);
}

async function reloadAll(opts) {
  const olds = Object.values(cluster.workers).filter((w) => !leaving.has(w) && w.isConnected());
  let next = 0;
  let failure = null;
  async function lane() {
    while (failure === null && next < olds.length) {
      const old = olds[next++];
      try {
        await replace(old, opts);
      } catch (err) {
        if (failure === null) failure = err;
      }
    }
  }
  const lanes = Math.min(opts.concurrency, olds.length);
  await Promise.all(Array.from({ length: lanes }, lane));
  if (failure !== null) throw failure;
}

function reload(given) {
  const opts = options.reloadOptions('options', given, cluster.settings.reload);
  const run = reloadChain.then(() => reloadAll(opts));
  reloadChain = run.catch(() => {});
  return run;
}

function shutdown(given) {
  return shutdownAll(options.reloadOptions('options', given, cluster.settings.reload));
}

async function shutdownAll(opts) {
  shuttingDown = true;
  for (const timer of pendingRespawns) clearTimeout(timer);
  pendingRespawns.clear();
  try {
    const workers = Object.values(cluster.workers);
    // All out of rotation first, so that no connection goes to one while another leaves.
    for (const w of workers) {
      leaving.add(w);
      if (!w.isDead()) getEngine().drain(w.id);
    }
    await Promise.all(workers.map((w) => retire(w, opts.shutdownTimeout)));
  } finally {
    shuttingDown = false;
  }
}

// Respawn: a worker that ended without being asked to (no disconnect(), no kill() by the program,
// not retired here) is forked again after its slot's delay.
function maybeRespawn(worker) {
  const conf = options.respawnOptions(cluster.settings.respawn);
  if (conf === null || shuttingDown || leaving.has(worker) || replacing.has(worker)) return;
  if (worker.exitedAfterDisconnect || worker.process.killed) return;
  const now = Date.now();
  let slot = slots.get(worker);
  if (slot === undefined) slot = { next: conf.delay, restarts: [] };
  if (now - (bornAt.get(worker) ?? now) >= conf.resetAfter) slot.next = conf.delay;
  slot.restarts = slot.restarts.filter((t) => now - t < conf.window);
  if (slot.restarts.length >= conf.maxRestarts) {
    cluster.emit('respawnLimit', worker);
    return;
  }
  const delay = Math.min(slot.next, conf.maxDelay);
  slot.next = Math.min(delay * conf.factor, conf.maxDelay);
  slot.restarts.push(now);
  const timer = setTimeout(() => {
    pendingRespawns.delete(timer);
    const fresh = cluster.fork(forkEnv.get(worker));
    slots.set(fresh, slot);
    cluster.emit('respawn', fresh, worker, delay);
  }, delay);
  pendingRespawns.add(timer);
}

// worker.stats(): the engine's figures, null once the process has exited.
function stats(worker) {
  if (worker.process.pid === undefined || worker.isDead()) return null;
  const s = getEngine().stats(worker.id);
  if (s == null) return null;
  return {
    pid: s.pid, uptime: s.uptime, cpu: { user: s.user, system: s.system }, rss: s.rss, connections: s.connections,
  };
}

// setupPrimary() applies what it was given (already checked by options.checkSettings).
function applySettings(settings) {
  getEngine().setMemoryLimit(options.memoryLimitOption(settings.memoryLimit));
  getEngine().setRescueWindow(options.rescueAfterOption(settings.rescueAfter));
}

// For the CLI (lib/cli): the env a worker was forked with, and retiring one worker (scale down).
function envOf(worker) {
  return forkEnv.get(worker);
}

function inheritListeners(fds) {
  getEngine().inheritListeners(fds);
}

function retireOne(worker, given) {
  const opts = options.reloadOptions('options', given, cluster.settings.reload);
  return retire(worker, opts.shutdownTimeout);
}

module.exports = {
  init, onFork, onOnline, onListening, onMessage, onExit, onMemoryLimit, onDrained, reload, shutdown, stats,
  applySettings,
  envOf, retireOne, inheritListeners,
};
