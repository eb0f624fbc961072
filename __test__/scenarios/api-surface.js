'use strict';
// The public API as seen from the primary and from a worker: flags,
// constants, types of methods, the Worker class, and what is absent where.
const EventEmitter = require('node:events');
const fs = require('node:fs');
const util = require('node:util');
const { ChildProcess } = require('node:child_process');
const { cluster, obs, safety, attempt } = require('../helpers/observe');

safety();

const types = (obj, names) => Object.fromEntries(names.map((n) => [n, typeof obj[n]]));
const WORKER_METHODS = ['send', 'kill', 'destroy', 'disconnect', 'isConnected', 'isDead', 'on', 'once', 'emit'];

if (cluster.isPrimary) {
  obs('primary', {
    isPrimary: cluster.isPrimary, isMaster: cluster.isMaster, isWorker: cluster.isWorker,
    worker: cluster.worker,
    SCHED_NONE: cluster.SCHED_NONE, SCHED_RR: cluster.SCHED_RR, schedulingPolicy: cluster.schedulingPolicy,
    settings: cluster.settings, workers: cluster.workers,
    isEventEmitter: cluster instanceof EventEmitter,
    types: types(cluster, ['fork', 'setupPrimary', 'setupMaster', 'disconnect', 'Worker', 'on', 'once', 'emit']),
  });
  // A Worker made by hand, without a process (as tests with mocks do).
  const bare = new cluster.Worker();
  obs('bare Worker', {
    id: bare.id, state: bare.state, process: typeof bare.process,
    disconnect: attempt(() => bare.disconnect()), ead: bare.exitedAfterDisconnect,
    isConnected: attempt(() => bare.isConnected()), isDead: attempt(() => bare.isDead()),
  });
  const w = cluster.fork();
  obs('forked worker', {
    id: w.id, state: w.state, ead: w.exitedAfterDisconnect,
    isWorkerClass: w instanceof cluster.Worker, isEventEmitter: w instanceof EventEmitter,
    types: types(w, WORKER_METHODS),
    workers: Object.keys(cluster.workers), sameObject: cluster.workers[1] === w,
    workerStillUndefined: cluster.worker,
    // cluster's own listener that re-emits a worker's messages on cluster (anonymous in Node).
    messageListenerNames: w.listeners('message').map((f) => f.name),
  });
  // worker.process.channel: an own property, an EventEmitter with ref/unref and a descriptor
  // number; null once the channel is closed.
  const channel = () => {
    const c = w.process.channel;
    if (c === null || c === undefined) return { value: String(c) };
    return {
      own: Object.prototype.hasOwnProperty.call(w.process, 'channel'),
      listed: Object.keys(w.process).includes('channel'),
      isEventEmitter: c instanceof EventEmitter,
      fdIsSocket: Number.isInteger(c.fd) && c.fd > 2 && fs.fstatSync(c.fd).isSocket(),
      types: types(c, ['ref', 'unref']),
      same: c === w.process.channel,
    };
  };
  obs('channel after fork', channel());
  // worker.process as code that walks it sees it: its own properties in order, what for...in
  // visits, the class names util.inspect prints, Node's own functions and the deprecated alias.
  const shape = () => {
    const p = w.process;
    const visited = [];
    for (const k in p) visited.push(k);
    const alias = Object.getOwnPropertyDescriptor(p, '_channel');
    return {
      keys: Object.keys(p),
      own: Object.getOwnPropertyNames(p),
      forIn: visited.sort(),
      inspected: util.inspect(p, { depth: -1 }),
      isChildProcessCtor: p.constructor === ChildProcess,
      handle: p._handle === null ? null : p._handle.constructor.name,
      channel: p.channel === null ? null : p.channel.constructor.name,
      functions: ['send', '_send', 'disconnect', '_disconnect'].map((n) => [n, typeof p[n], p[n].name]),
      alias: alias && { enumerable: alias.enumerable, get: typeof alias.get, set: typeof alias.set },
    };
  };
  obs('process shape after fork', shape());
  w.on('message', (msg) => {
    obs('message', { msg });
    w.disconnect();
  });
  w.on('disconnect', () => obs('channel after disconnect', channel()));
  w.on('exit', (code, signal) => {
    obs('exit', { code, signal, workers: Object.keys(cluster.workers) });
    obs('process shape after exit', shape());
  });
} else {
  const me = cluster.worker;
  obs('worker', {
    isPrimary: cluster.isPrimary, isMaster: cluster.isMaster, isWorker: cluster.isWorker,
    isEventEmitter: cluster instanceof EventEmitter,
    // Primary-only members are absent in a worker.
    absent: types(cluster, ['fork', 'setupPrimary', 'setupMaster', 'disconnect', 'workers', 'settings',
      'SCHED_NONE', 'SCHED_RR', 'schedulingPolicy']),
    WorkerType: typeof cluster.Worker,
    id: me.id, state: me.state, ead: me.exitedAfterDisconnect,
    isWorkerClass: me instanceof cluster.Worker, workerIsEventEmitter: me instanceof EventEmitter,
    processIsGlobal: me.process === process,
    types: types(me, WORKER_METHODS),
    isConnected: me.isConnected(), isDead: me.isDead(), connected: process.connected,
    // Bootstrap removes the cluster variables from process.env.
    env: {
      NODE_UNIQUE_ID: 'NODE_UNIQUE_ID' in process.env,
      NODE_CHANNEL_FD: 'NODE_CHANNEL_FD' in process.env,
      NODE_CHANNEL_SERIALIZATION_MODE: 'NODE_CHANNEL_SERIALIZATION_MODE' in process.env,
    },
  });
  me.send('hello from worker');
}
