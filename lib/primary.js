'use strict';
// The primary's `cluster` object. The engine (Rust) spawns workers, owns their channels, speaks
// the protocol and shares servers; this file validates arguments, keeps the EventEmitters and
// emits what the engine reports, in the order Node's primary would.

const EventEmitter = require('events');
const diagnosticsChannel = require('diagnostics_channel');
const errors = require('./errors.js');
const { Worker } = require('./worker.js');
const { WorkerProcess } = require('./process.js');
const { spawnRequest } = require('./fork-options.js');
const events = require('./events.js');
const supervisor = require('./supervisor.js');
const supervisionOptions = require('./supervision-options.js');
// Loads the engine now: a primary may drop its privileges before its first fork().
const native = require('./native.js');

const SCHED_NONE = 1;
const SCHED_RR = 2;
// rust-cluster's own: one SO_REUSEPORT socket per worker (docs/reuseport.md).
const SCHED_REUSEPORT = 3;

const cluster = new EventEmitter();
const intercom = new EventEmitter();
const live = new Map(); // id -> Worker, until both 'disconnect' and 'exit' happened

let ids = 0;
let initialized = false;
let engine = null;
let frozenPolicy;

cluster.isWorker = false;
cluster.isMaster = true;
cluster.isPrimary = true;
cluster.Worker = Worker;
cluster.workers = {};
cluster.settings = {};
cluster.SCHED_NONE = SCHED_NONE;
cluster.SCHED_RR = SCHED_RR;

{
  const fromEnv = { __proto__: null, none: SCHED_NONE, rr: SCHED_RR, reuseport: SCHED_REUSEPORT }[
    process.env.NODE_CLUSTER_SCHED_POLICY];
  cluster.schedulingPolicy = fromEnv === undefined ? SCHED_RR : fromEnv;
}

function getEngine() {
  if (engine === null) {
    const { Engine } = native.load();
    engine = new Engine(events.onEngineEvents);
    events.init({ cluster, live, engine, updateRef, supervisor });
    // libuv 1.47 and later (Node 22 on) set a unix socket's readableAll/writableAll mode
    // exactly instead of adding to it; follow the Node this primary runs on.
    const [major, minor] = process.versions.uv.split('.').map(Number);
    engine.setExactPipeMode(major > 1 || (major === 1 && minor >= 47));
    // A message sent while a batch is dispatched waits for the batch's end (see pump); one sent
    // just before the process exits must not be lost.
    process.on('exit', () => engine.flush());
  }
  return engine;
}

cluster.setupPrimary = function setupPrimary(options) {
  supervisionOptions.checkSettings(options);
  const settings = {
    args: process.argv.slice(2),
    exec: process.argv[1],
    execArgv: process.execArgv,
    silent: false,
    ...cluster.settings,
    ...options,
  };
  // Separate V8 profile files per worker when profiling.
  // Written as Node's primordials behave, so an execArgv that is not an array fails (or not) as
  // it does in Node.
  const some = (list, prefix) => Array.prototype.some.call(list, (s) => String.prototype.startsWith.call(s, prefix));
  if (some(settings.execArgv, '--prof') && !some(settings.execArgv, '--logfile=')) {
    settings.execArgv = [...settings.execArgv, '--logfile=v8-%p.log'];
  }
  cluster.settings = settings;
  if (settings.memoryLimit !== undefined || settings.rescueAfter !== undefined || engine !== null) {
    supervisor.applySettings(settings);
  }
  if (initialized === true) {
    process.nextTick(() => cluster.emit('setup', settings));
    return;
  }
  initialized = true;
  frozenPolicy = cluster.schedulingPolicy; // frozen from here on, as in Node
  // Anything but round-robin and reuseport shares handles, also a bad policy whose error a
  // program caught.
  getEngine().setPolicy(frozenPolicy === SCHED_RR || frozenPolicy === SCHED_REUSEPORT ? frozenPolicy : SCHED_NONE);
  if (frozenPolicy !== SCHED_NONE && frozenPolicy !== SCHED_RR && frozenPolicy !== SCHED_REUSEPORT) {
    throw errors.internalAssertion(`Bad cluster.schedulingPolicy: ${frozenPolicy}`);
  }
  process.nextTick(() => cluster.emit('setup', settings));
};

cluster.setupMaster = cluster.setupPrimary;

function createWorkerProcess(id, env) {
  const req = spawnRequest(cluster, id, env);
  const { file, argv } = req;
  const proc = new WorkerProcess(getEngine(), id, file, argv, req.serialization);
  // Node publishes the new ChildProcess before it is spawned (its pid still undefined).
  publishSpawn(proc);
  const info = getEngine().spawn({
    id,
    file,
    args: argv,
    env: req.envPairs,
    cwd: req.cwd,
    uid: req.uid,
    gid: req.gid,
    stdio: req.stdio,
    serialization: req.serialization,
    maxFrame: req.maxMessageBytes,
  });
  if (info.errno != null) {
    const err = errors.errnoException(info.errno, `spawn ${file}`);
    err.path = file;
    err.spawnargs = argv.slice(1);
    const code = err.code;
    if (code === 'EACCES' || code === 'EAGAIN' || code === 'EMFILE' || code === 'ENFILE' || code === 'ENOENT') {
      proc._failSpawn(err);
      return proc;
    }
    throw errors.errnoException(info.errno, 'spawn');
  }
  proc._attach(info.pid, info.stdio, req.stdio.map((s) => (s === 'pipe' ? 'pipe' : 'other')));
  process.nextTick(() => proc.emit('spawn'));
  return proc;
}

let spawnChannel;
function publishSpawn(proc) {
  if (spawnChannel === undefined) spawnChannel = diagnosticsChannel.channel('child_process');
  if (spawnChannel.hasSubscribers) spawnChannel.publish({ process: proc });
}

function removeWorker(worker) {
  delete cluster.workers[worker.id];
  if (Object.keys(cluster.workers).length === 0) intercom.emit('disconnect');
}

function updateRef() {
  let alive = false;
  for (const w of live.values()) {
    if (w.process._keepsAlive()) { alive = true; break; }
  }
  if (engine !== null) engine.setRef(alive);
}

cluster.fork = function fork(env) {
  cluster.setupPrimary();
  const id = ++ids;
  const workerProcess = createWorkerProcess(id, env);
  const worker = new Worker({ id, process: workerProcess });

  supervisor.onFork(worker, env);
  worker.on('message', function (message, handle) {
    cluster.emit('message', this, message, handle);
    supervisor.onMessage(this, message);
  });

  worker.process.once('exit', (exitCode, signalCode) => {
    // With the channel already gone this is the last event: forget the worker.
    if (!worker.isConnected()) removeWorker(worker);
    worker.exitedAfterDisconnect = !!worker.exitedAfterDisconnect;
    worker.state = 'dead';
    worker.emit('exit', exitCode, signalCode);
    cluster.emit('exit', worker, exitCode, signalCode);
    supervisor.onExit(worker, exitCode, signalCode);
  });

  worker.process.once('disconnect', () => {
    if (worker.isDead()) removeWorker(worker);
    worker.exitedAfterDisconnect = !!worker.exitedAfterDisconnect;
    worker.state = 'disconnected';
    worker.emit('disconnect');
    cluster.emit('disconnect', worker);
  });

  if (workerProcess.pid !== undefined) {
    live.set(id, worker);
    workerProcess._watchRefs(updateRef);
    updateRef();
  }
  process.nextTick(() => cluster.emit('fork', worker));
  cluster.workers[worker.id] = worker;
  return worker;
};

cluster.disconnect = function disconnect(cb) {
  const workers = Object.keys(cluster.workers);
  if (workers.length === 0) {
    process.nextTick(() => intercom.emit('disconnect'));
  } else {
    for (const worker of Object.values(cluster.workers)) {
      if (worker.isConnected()) worker.disconnect();
    }
  }
  if (typeof cb === 'function') intercom.once('disconnect', cb);
};

Worker.prototype.disconnect = function disconnect() {
  this.exitedAfterDisconnect = true;
  // `this.process.connected` first: a Worker made without a process throws here, as in Node.
  if (this.process.connected && engine !== null) {
    const id = this.id;
    this.process._inOrder(() => engine.disconnect(id));
  }
  removeWorker(this);
  return this;
};

Worker.prototype.destroy = function destroy(signo) {
  const signal = signo || 'SIGTERM';
  this.process.kill(signal);
};

// rust-cluster's own (opt-in, see lib/supervisor.js): not enumerable, so that the cluster and
// Worker objects list what Node's list.
supervisor.init({ cluster, getEngine });
const hidden = (target, name, value) => Object.defineProperty(target, name, {
  value, writable: true, configurable: true, enumerable: false,
});
// Not enumerable, like the other extensions: Object.keys(cluster) stays Node's.
hidden(cluster, 'SCHED_REUSEPORT', SCHED_REUSEPORT);
hidden(cluster, 'reload', function reload(options) { return supervisor.reload(options); });
hidden(cluster, 'shutdown', function shutdown(options) { return supervisor.shutdown(options); });
hidden(Worker.prototype, 'stats', function stats() { return supervisor.stats(this); });

module.exports = cluster;
