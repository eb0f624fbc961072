'use strict';
// Loopback TCP client for the round-robin rows. Each connection: connect, read the reply until
// the server ends it, close. `concurrency` connections are kept open at a time. Everything is
// bounded: total connections (--count), time (--duration / --window) and a per-connection timeout.
//
// --mode=rate   Warms up with --warmup connections, prints {"phase":"warm"}, waits for a line on
//               stdin, then runs until --count connections or --duration ms, and prints the result.
// --mode=window Prints {"phase":"ready"}, waits for a line "<start epoch ms>" on stdin, and from
//               that moment opens connections for --window ms. Counts the replies that arrived
//               inside the window; then waits (bounded) for the rest and prints the result.
// --mode=open   Open loop: as window, but opens connections at a fixed --rate per second for
//               --window ms whatever the server does (at most --max-inflight open at once), so a
//               stalled server meets the same arrivals as a healthy one. Latency counts from each
//               connection's scheduled start to its reply line; the result has a timeline of
//               --bucket ms buckets.
const net = require('node:net');
const readline = require('node:readline');
const { parseArgs, num } = require('./common.js');

const a = parseArgs();
const port = num(a.port);
const host = '127.0.0.1';
const concurrency = num(a.concurrency, 32);
const connTimeout = num(a.timeout, 5000);

function out(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }
// The primary went away: nobody reads the result, stop.
process.stdout.on('error', () => process.exit(1));

// Opens one connection; calls back with (ok, reason) exactly once. Done when the server ends it,
// or with `line` as soon as the reply's line has arrived (the reply is complete then, whether or
// not the server's FIN follows: a worker that wrote the reply and then blocked sends it late).
function oneConnection(cb, { line = false } = {}) {
  let got = 0;
  let called = false;
  const t0 = performance.now();
  const s = net.connect({ port, host });
  const end = (ok, why) => {
    if (called) return;
    called = true;
    s.destroy();
    cb(ok, why, performance.now() - t0);
  };
  s.setTimeout(connTimeout, () => end(false, 'timeout'));
  s.on('data', (d) => {
    got += d.length;
    if (line && d.includes(10)) end(true, null);
  });
  s.on('end', () => end(got > 0, got > 0 ? null : 'empty'));
  s.on('error', (e) => end(false, e.code || 'error'));
  s.on('close', () => end(got > 0, got > 0 ? null : 'closed'));
}

// Runs connections with `concurrency` in flight while shouldStart() is true; resolves with stats
// when none is left in flight.
function drive(shouldStart, onDone) {
  return new Promise((resolve) => {
    const stats = { started: 0, ok: 0, failed: 0, reasons: {} };
    const lat = [];
    let inFlight = 0;
    const finish = () => {
      lat.sort((x, y) => x - y);
      const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : null);
      resolve({ ...stats, latency_ms: { p50: q(0.5), p99: q(0.99), max: q(1) } });
    };
    const next = () => {
      while (inFlight < concurrency && shouldStart(stats)) {
        inFlight++;
        stats.started++;
        oneConnection((ok, why, ms) => {
          inFlight--;
          if (lat.length < 1e6) lat.push(ms);
          if (ok) stats.ok++;
          else { stats.failed++; stats.reasons[why] = (stats.reasons[why] || 0) + 1; }
          if (onDone) onDone(ok);
          next();
          if (inFlight === 0 && !shouldStart(stats)) finish();
        });
      }
      if (inFlight === 0) finish();
    };
    next();
  });
}

function firstLine() {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin });
    rl.once('line', (l) => { rl.close(); resolve(l); });
    process.stdin.once('end', () => resolve(null));
  });
}

// Open loop: `rate` connection starts per second from `start` (epoch ms) for `windowMs`.
function openDrive(start, windowMs, rate, maxInflight, bucketMs) {
  return new Promise((resolve) => {
    const stats = { started: 0, ok: 0, failed: 0, skipped: 0, reasons: {} };
    const lat = [];
    const buckets = [];
    const bucket = (at) => {
      const i = Math.max(0, Math.floor((at - start) / bucketMs));
      while (buckets.length <= i) buckets.push({ ok: 0, failed: 0, slowest_ms: 0 });
      return buckets[i];
    };
    const total = Math.floor(windowMs * rate / 1000);
    const t0 = performance.now() + (start - Date.now());
    let inFlight = 0;
    let due = 0; // connections whose scheduled start has passed (started or skipped)
    let done = false;
    const maybeDone = () => {
      if (done || due < total || inFlight > 0) return;
      done = true;
      lat.sort((x, y) => x - y);
      const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : null);
      resolve({ ...stats, latency_ms: { p50: q(0.5), p99: q(0.99), max: q(1) }, timeline: buckets });
    };
    const tick = () => {
      const nowP = performance.now();
      const target = Math.min(total, Math.floor((nowP - t0) * rate / 1000) + 1);
      for (; due < target; due++) {
        const scheduled = t0 + due * 1000 / rate;
        if (inFlight >= maxInflight) { stats.skipped++; continue; }
        inFlight++;
        stats.started++;
        oneConnection((ok, why) => {
          inFlight--;
          // From the scheduled start: a client that fell behind does not hide the wait.
          const ms = performance.now() - scheduled;
          const b = bucket(Date.now());
          if (ms > b.slowest_ms) b.slowest_ms = Math.round(ms);
          if (ok) { stats.ok++; b.ok++; lat.push(ms); } else {
            stats.failed++;
            b.failed++;
            stats.reasons[why] = (stats.reasons[why] || 0) + 1;
          }
          maybeDone();
        }, { line: true });
      }
      if (due < total) setTimeout(tick, Math.max(0, Math.min(1, t0 + due * 1000 / rate - performance.now())));
      else maybeDone();
    };
    tick();
  });
}

async function rateMode() {
  const warmup = num(a.warmup, 200);
  const count = num(a.count, 10000);
  const duration = num(a.duration, 2000);
  await drive((s) => s.started < warmup);
  out({ phase: 'warm' });
  if (await firstLine() === null) process.exit(1);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const deadline = t0 + duration;
  const stats = await drive((s) => s.started < count && performance.now() < deadline);
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  out({ phase: 'done', ...stats, elapsed_ms: elapsed, conns_per_s: stats.ok / (elapsed / 1000),
    cpu_us: cpu.user + cpu.system });
}

async function windowMode() {
  const windowMs = num(a.window, 2000);
  const maxCount = num(a.count, 200000);
  out({ phase: 'ready' });
  const line = await firstLine();
  if (line === null) process.exit(1);
  const start = Number(line);
  const endAt = start + windowMs;
  await new Promise((r) => setTimeout(r, Math.max(0, start - Date.now())));
  let inWindow = 0;
  let afterWindow = 0;
  const stats = await drive((s) => s.started < maxCount && Date.now() < endAt, (ok) => {
    if (!ok) return;
    if (Date.now() <= endAt) inWindow++;
    else afterWindow++;
  });
  out({ phase: 'done', ...stats, answered_in_window: inWindow, answered_after_window: afterWindow, window_ms: windowMs });
}

async function openMode() {
  const windowMs = num(a.window, 3000);
  const rate = num(a.rate, 1000);
  out({ phase: 'ready' });
  const line = await firstLine();
  if (line === null) process.exit(1);
  const start = Number(line);
  await new Promise((r) => setTimeout(r, Math.max(0, start - Date.now())));
  const stats = await openDrive(start, windowMs, rate, num(a['max-inflight'], 2000), num(a.bucket, 100));
  out({ phase: 'done', ...stats, window_ms: windowMs, rate });
}

const modes = { rate: rateMode, window: windowMode, open: openMode };
const hard = setTimeout(() => { out({ phase: 'error', error: 'client hard timeout' }); process.exit(1); },
  num(a.hard, 60000));
hard.unref();

(modes[a.mode] || rateMode)().then(() => process.exit(0), (e) => {
  out({ phase: 'error', error: String(e && e.stack || e) });
  process.exit(1);
});
