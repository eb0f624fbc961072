'use strict';
// Scheduling policy: SCHED_NONE/SCHED_RR, NODE_CLUSTER_SCHED_POLICY read when
// the module is loaded, cluster.schedulingPolicy assignable until the first
// fork()/setupPrimary() and frozen after it. The worker shows which policy
// took effect: under SCHED_NONE its server owns the listening socket, under
// SCHED_RR the primary does.
// Cases (argv[2]): observe (policy from the environment), assign_before_fork,
// assign_after_fork, env_after_load, assign_bad
const fs = require('node:fs');
const net = require('node:net');
const { cluster, obs, safety } = require('../helpers/observe');

const mode = process.argv[2];
safety();

// Does this process hold a listening TCP socket on `port`?
function holdsListener(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines = [];
    try { lines = fs.readFileSync(table, 'utf8').trim().split('\n').slice(1); } catch { /* no IPv6 */ }
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      if (f[1].endsWith(':' + hex) && f[3] === '0A') inodes.add(f[9]);
    }
  }
  return fs.readdirSync('/proc/self/fd').some((fd) => {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`));
      return m !== null && inodes.has(m[1]);
    } catch { return false; }
  });
}

if (cluster.isPrimary) {
  const policy = (label) => obs('policy', {
    label, schedulingPolicy: cluster.schedulingPolicy, SCHED_NONE: cluster.SCHED_NONE, SCHED_RR: cluster.SCHED_RR,
  });
  policy('at load');
  if (mode === 'env_after_load') {
    process.env.NODE_CLUSTER_SCHED_POLICY = process.env.NODE_CLUSTER_SCHED_POLICY === 'none' ? 'rr' : 'none';
    policy('after changing the env var');
  }
  if (mode === 'assign_before_fork') {
    cluster.schedulingPolicy = cluster.schedulingPolicy === cluster.SCHED_RR ? cluster.SCHED_NONE : cluster.SCHED_RR;
    policy('assigned before fork');
  }
  if (mode === 'assign_bad') {
    // A policy that is neither: the first fork throws Node's internal assertion; a program that
    // catches it and forks again gets shared handles.
    cluster.schedulingPolicy = 'rr';
    try {
      cluster.fork();
    } catch (err) {
      obs('fork threw', { name: err.name, code: err.code, message: err.message });
    }
    policy('after the bad policy');
  }
  const w = cluster.fork();
  if (mode === 'assign_after_fork') {
    cluster.schedulingPolicy = cluster.schedulingPolicy === cluster.SCHED_RR ? cluster.SCHED_NONE : cluster.SCHED_RR;
    policy('assigned after fork');
  }
  w.on('listening', (address) => obs('W.listening', { addressType: address.addressType, port: address.port }));
  w.on('message', (msg) => {
    obs('message', msg);
    w.disconnect();
  });
  w.on('exit', (code, signal) => obs('exit', { code, signal }));
} else {
  obs('worker env', { NODE_CLUSTER_SCHED_POLICY: process.env.NODE_CLUSTER_SCHED_POLICY, schedulingPolicy: cluster.schedulingPolicy });
  const server = net.createServer();
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    process.send({ workerHoldsListener: holdsListener(port) });
  });
}
