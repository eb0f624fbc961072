'use strict';
// Shared helpers for the bench case scripts (bench/cases/*.js).
//
// A case script is both the primary and the worker program: cluster.fork() re-runs the same
// file with the same argv. Workers never load rust-cluster: they use Node's own worker-side
// cluster (which is what rust-cluster hands out in a worker anyway), so the worker side of both
// implementations runs identical code.

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

// `--key=value` and bare `--flag` arguments into an object.
function parseArgs(argv = process.argv.slice(2)) {
  const out = {};
  for (const a of argv) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (m) out[m[1]] = m[2] === undefined ? true : m[2];
  }
  return out;
}

function num(v, dflt) {
  if (v === undefined || v === true) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${v}`);
  return n;
}

const isWorker = require('node:cluster').isWorker;

// The cluster module of the implementation under test (primary side only). `node22-reuseport`
// is Node's own cluster whose workers listen with `reusePort: true` (run on Node 22.12+).
function loadCluster(impl) {
  if (impl === 'node' || impl === 'node22-reuseport') return require('node:cluster');
  if (impl === 'rust') {
    try {
      return require('rust-cluster'); // package self-reference, as a user of the repo would
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
      return require(path.join(__dirname, '..', '..'));
    }
  }
  throw new Error(`--impl must be node, rust or node22-reuseport, got ${JSON.stringify(impl)}`);
}

// Sets up a primary: argument parsing, the implementation, and a hard watchdog so that the
// process always ends by itself even if a measurement hangs.
function primary(caseName, { watchdogMs = 60000 } = {}) {
  const args = parseArgs();
  const impl = args.impl || 'rust';
  const cluster = loadCluster(impl);
  const limit = num(args.watchdog, watchdogMs);
  const watchdog = setTimeout(() => {
    fail(cluster, caseName, impl, `watchdog: no result after ${limit} ms`);
  }, limit);
  watchdog.unref();
  return { args, impl, cluster };
}

// Helper processes a case started (the TCP client), ended with the case.
const helpers = new Set();
function trackHelper(child) {
  helpers.add(child);
  child.once('exit', () => helpers.delete(child));
}

// `workers`: the cluster's workers unless given.
function killAll(cluster, workers = Object.values(cluster.workers || {})) {
  for (const c of helpers) {
    try { c.kill('SIGKILL'); } catch { /* gone */ }
  }
  for (const w of workers) {
    if (w.process.exitCode !== null || w.process.signalCode !== null) continue;
    try { w.process.kill('SIGKILL'); } catch { /* gone */ }
  }
}

// Prints the one JSON result line, then disconnects the workers and exits (bounded). Every worker
// alive at the start, and still alive then, is killed.
function finish(cluster, result) {
  process.stdout.write(JSON.stringify({ ok: true, ...result }) + '\n');
  const workers = Object.values(cluster.workers || {});
  const hard = setTimeout(() => { killAll(cluster, workers); process.exit(0); }, 3000);
  hard.unref();
  try {
    cluster.disconnect(() => {
      // Give 'exit' a moment so no worker outlives the primary; then leave.
      setTimeout(() => { killAll(cluster, workers); process.exit(0); }, 50);
    });
  } catch {
    killAll(cluster);
    process.exit(0);
  }
}

function fail(cluster, caseName, impl, message) {
  process.stdout.write(JSON.stringify({ ok: false, case: caseName, impl, error: String(message) }) + '\n');
  killAll(cluster);
  process.exit(1);
}

// Resolves when `n` workers have emitted `event` (online / listening); rejects after timeoutMs.
function waitFor(cluster, workers, event, timeoutMs = 20000) {
  return Promise.all(workers.map((w) => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`worker ${w.id}: no '${event}' in ${timeoutMs} ms`)), timeoutMs);
    w.once(event, (info) => { clearTimeout(t); resolve(info); });
  })));
}

// Resolves with the first message a worker sends that satisfies pred.
function firstMessage(w, pred, timeoutMs = 20000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`worker ${w.id}: no expected message in ${timeoutMs} ms`)), timeoutMs);
    const on = (m) => {
      if (!pred(m)) return;
      clearTimeout(t);
      w.removeListener('message', on);
      resolve(m);
    };
    w.on('message', on);
  });
}

let clkTck;
function clockTicks() {
  if (clkTck === undefined) {
    try { clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { clkTck = 100; }
  }
  return clkTck;
}

// utime+stime of a whole process (all threads, live and exited), in microseconds, from /proc.
function procCpuMicros(pid = process.pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) * 1e6 / clockTicks();
}

// CPU time of the live threads of a process, in microseconds, from /proc/<pid>/task/*/schedstat
// (nanoseconds on a CPU, exact where utime/stime are sampled at each clock tick), split into
// `js` (the main thread, which runs JavaScript), `engine` (rust-cluster's engine thread) and
// `other` (libuv's and V8's helper threads).
function threadCpuMicros(pid = process.pid) {
  const out = { js: 0, engine: 0, other: 0 };
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    let ns;
    let comm;
    try {
      ns = Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      comm = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch { continue; } // the thread ended meanwhile
    const part = Number(tid) === pid ? 'js' : comm === 'rust-cluster' ? 'engine' : 'other';
    out[part] += ns / 1000;
  }
  return out;
}

// Per-unit thread CPU between two threadCpuMicros() readings.
function threadCpuPer(before, after, units) {
  const n = Math.max(units, 1);
  return {
    js: (after.js - before.js) / n,
    engine: (after.engine - before.engine) / n,
    other: (after.other - before.other) / n,
  };
}

// Busy and total clock ticks of each CPU since boot, from /proc/stat (busy: all but idle and
// iowait; softirq time, where loopback TCP does much of its work, counts as busy).
function cpuTicks() {
  const out = [];
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal; guest is in user
    out[Number(m[1])] = { busy: total - v[3] - v[4], total };
  }
  return out;
}

// Each CPU's busy fraction between two cpuTicks() readings.
function cpuBusy(before, after) {
  return after.map((a, i) => {
    const b = before[i] || { busy: 0, total: 0 };
    return a.total > b.total ? (a.busy - b.busy) / (a.total - b.total) : null;
  });
}

// VmRSS (and VmHWM) of a process, in KiB, from /proc/<pid>/status.
function procMemKiB(pid = process.pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k) => {
    const m = new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) : null;
  };
  return { rss: get('VmRSS'), hwm: get('VmHWM'), threads: Number((/^Threads:\s+(\d+)/m.exec(status) || [])[1]) };
}

// Pins this process, all its threads, to the CPUs `cpus` (a taskset list such as "1"); the
// workers it forks and the threads it starts later inherit that.
function pinSelf(cpus) {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpus), String(process.pid)], { stdio: 'ignore' });
}

function now() { return performance.now(); }

module.exports = {
  parseArgs, num, isWorker, loadCluster, primary, finish, fail, killAll, trackHelper, waitFor, firstMessage,
  procCpuMicros, procMemKiB, clockTicks, now, threadCpuMicros, threadCpuPer, pinSelf, cpuTicks, cpuBusy,
};
