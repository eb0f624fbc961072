'use strict';
// Runs a scenario script against one cluster implementation, or against
// both and checks that they agree.
//
//   node --test __test__/                     oracle (Node's cluster) vs rust-cluster
//   RC_CHECK_ORACLE=1 node --test __test__/   oracle vs a second oracle run: shows
//                                             that the scenarios are deterministic
//
// Scenario scripts (scenarios/*.js) print one JSON observation per stdout
// line through helpers/observe.js, in the primary and in the workers.
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const TEST_DIR = path.resolve(__dirname, '..');
const SCENARIOS = path.join(TEST_DIR, 'scenarios');
const TMP = [fs.realpathSync(os.tmpdir()), os.tmpdir()];

// Variables that would change how a scenario behaves if inherited from the
// environment the tests happen to run in.
const SCRUB = ['NODE_UNIQUE_ID', 'NODE_CHANNEL_FD', 'NODE_CHANNEL_SERIALIZATION_MODE',
  'NODE_CLUSTER_SCHED_POLICY', 'NODE_OPTIONS', 'NODE_TEST_CONTEXT', 'RC_IMPL', 'RC_PACKAGE'];

// Processes (not zombies) still alive in process group `pgid`.
function groupMembers(pgid) {
  const alive = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try { stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8'); } catch { continue; }
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') alive.push(Number(name));
  }
  return alive;
}

function killGroup(pgid) {
  try { process.kill(-pgid, 'SIGKILL'); } catch { /* already gone */ }
}

// Spawn `node [execArgv] file [args]` with RC_IMPL=impl in its own process
// group, in the scenarios directory. Resolves with exit code/signal, output, parsed observations and a
// list of harness-level problems (timeout, processes left behind).
function runScenario(file, impl, { args = [], env = {}, execArgv = [], timeoutMs = 8000 } = {}) {
  const scriptPath = path.resolve(SCENARIOS, file);
  const childEnv = { ...process.env };
  for (const k of SCRUB) delete childEnv[k];
  Object.assign(childEnv, env, { RC_IMPL: impl });

  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...execArgv, scriptPath, ...args], {
      cwd: SCENARIOS, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const problems = [];
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });

    const hardTimer = setTimeout(() => {
      problems.push(`timed out after ${timeoutMs} ms: process group killed`);
      killGroup(child.pid);
    }, timeoutMs);
    let lingerTimer;
    child.on('exit', () => {
      // stdout stays open while any worker still holds it.
      lingerTimer = setTimeout(() => {
        problems.push('primary exited but its stdout stayed open (workers left running?)');
        killGroup(child.pid);
      }, 1500);
    });
    child.on('error', (err) => problems.push(`spawn failed: ${err.message}`));
    child.on('close', (code, signal) => {
      clearTimeout(hardTimer);
      clearTimeout(lingerTimer);
      const finish = () => {
        const left = groupMembers(child.pid);
        if (left.length > 0) {
          problems.push(`${left.length} process(es) of the scenario still running after the primary exited`);
          killGroup(child.pid);
        }
        resolve({ impl, file, args, code, signal, stdout, stderr, problems, ...parse(stdout) });
      };
      // A worker can be seen between closing its descriptors and becoming a zombie: look again
      // after a short grace period before calling it left behind.
      if (groupMembers(child.pid).length > 0) setTimeout(finish, 300);
      else finish();
    });
  });
}

// Split stdout into ordered streams: one per process ("P", "W1", ...) and
// per lane ("P:w1"). Order is compared within a stream, never across.
function parse(stdout) {
  const streams = {};
  const push = (key, item) => { (streams[key] = streams[key] || []).push(item); };
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    let o;
    try { o = JSON.parse(line); } catch { o = null; }
    if (o === null || typeof o !== 'object' || typeof o.src !== 'string') {
      push('text', line);
      continue;
    }
    const { src, lane, ...rest } = o;
    push(lane === undefined ? src : `${src}:${lane}`, rest);
  }
  return { streams };
}

// Replace what legitimately differs between runs: pids, ports, timings,
// absolute paths of node, of this test tree and of temp directories.
function normalize(value, key) {
  if (typeof value === 'number') {
    if (/^(pid|ppid)$/i.test(key)) return '<pid>';
    if (/port$/i.test(key) && value > 0) return '<port>';
    if (/(ms|Ms|time)$/.test(key)) return '<ms>';
    return value;
  }
  if (typeof value === 'string') {
    let s = value.split(process.execPath).join('<node>').split(TEST_DIR).join('<test>');
    for (const t of TMP) s = s.replace(new RegExp(escapeRe(t) + '/[^/"\\s]+', 'g'), '<tmp>');
    return s;
  }
  if (Array.isArray(value)) return value.map((v) => normalize(v, key));
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const k of Object.keys(value)) out[k] = normalize(value[k], k);
    return out;
  }
  return value;
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// What is compared between implementations.
function summary(result) {
  return normalize({
    exit: { code: result.code, signal: result.signal },
    problems: result.problems,
    streams: result.streams,
  });
}

function describe(result) {
  const lines = [`--- ${result.impl}: exit code=${result.code} signal=${result.signal}`];
  for (const p of result.problems) lines.push(`    problem: ${p}`);
  for (const [key, items] of Object.entries(normalize(result.streams))) {
    lines.push(`  [${key}]`);
    for (const item of items) lines.push(`    ${JSON.stringify(item)}`);
  }
  const err = result.stderr.trim();
  if (err) lines.push('  stderr (last 1500 chars):', err.slice(-1500).replace(/^/gm, '    '));
  return lines.join('\n');
}

// Where two summaries part, in a few lines: CI logs keep only part of a long failure message, so
// this comes first.
function firstDifference(expected, actual, other) {
  const out = [];
  const show = (v) => (v === undefined ? '(nothing)' : JSON.stringify(v));
  if (JSON.stringify(expected.exit) !== JSON.stringify(actual.exit)) {
    out.push(`exit: node ${show(expected.exit)}, ${other} ${show(actual.exit)}`);
  }
  if (JSON.stringify(expected.problems) !== JSON.stringify(actual.problems)) {
    out.push(`problems: node ${show(expected.problems)}, ${other} ${show(actual.problems)}`);
  }
  const keys = [...new Set([...Object.keys(expected.streams), ...Object.keys(actual.streams)])];
  for (const key of keys) {
    const a = expected.streams[key] || [];
    const b = actual.streams[key] || [];
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (JSON.stringify(a[i]) === JSON.stringify(b[i])) continue;
      out.push(`[${key}] item ${i}:`, `  node:  ${show(a[i])}`, `  ${other}: ${show(b[i])}`);
      break;
    }
  }
  return `first difference:\n${out.map((l) => '  ' + l).join('\n')}`;
}

// Run `file` under Node's cluster and under rust-cluster and require the
// same normalized observations and primary exit status. The oracle run must
// itself be clean and end as `expectExit` says, so a broken scenario cannot
// pass. Returns the oracle's summary for further checks.
// RC_CHECK_ORACLE=1 compares the oracle with a second oracle run instead
// (to prove a scenario deterministic); it never replaces the default.
// `t` is the node:test context (unused for now; kept for diagnostics).
// opts: { args, env, execArgv, timeoutMs, expectExit }.
async function agree(t, file, opts = {}) {
  const { expectExit = { code: 0, signal: null }, ...runOpts } = opts;
  const other = process.env.RC_CHECK_ORACLE === '1' ? 'node' : 'rust';
  const [oracle, candidate] = await Promise.all([
    runScenario(file, 'node', runOpts),
    runScenario(file, other, runOpts),
  ]);
  const expected = summary(oracle);
  assert.deepStrictEqual({ exit: expected.exit, problems: expected.problems }, { exit: expectExit, problems: [] },
    `the scenario itself misbehaved under Node's cluster:\n${describe(oracle)}`);
  const label = [file, ...(runOpts.args || [])].join(' ');
  assert.deepStrictEqual(summary(candidate), expected,
    `${label}: ${other} differs from node\n${firstDifference(expected, summary(candidate), other)}\n` +
    `${describe(oracle)}\n${describe(candidate)}`);
  return expected;
}

// Like agree(), for scenarios that also report numbers that vary between runs ('measure'
// observations: descriptor counts, peak RSS, timings). Those are left out of the comparison and
// returned as { oracle, candidate } for checks with a tolerance.
async function agreeMeasured(t, file, opts = {}) {
  const other = process.env.RC_CHECK_ORACLE === '1' ? 'node' : 'rust';
  const [oracle, candidate] = await Promise.all([
    runScenario(file, 'node', opts),
    runScenario(file, other, opts),
  ]);
  const strip = (r) => {
    const s = summary(r);
    for (const k of Object.keys(s.streams)) s.streams[k] = s.streams[k].filter((o) => o.ev !== 'measure');
    return s;
  };
  const measure = (r) => events(summary(r), 'P', 'measure')[0];
  const show = (r) => JSON.stringify(summary(r), null, 1) + (r.stderr ? `\nstderr: ${r.stderr.slice(-1500)}` : '');
  const measures = { oracle: measure(oracle), candidate: measure(candidate) };
  const label = [file, ...(opts.args || [])].join(' ');
  t.diagnostic(`${label}: node ${JSON.stringify(measures.oracle)}; ${other} ${JSON.stringify(measures.candidate)}`);
  const o = strip(oracle);
  assert.deepStrictEqual({ exit: o.exit, problems: o.problems }, { exit: { code: 0, signal: null }, problems: [] },
    `the scenario itself misbehaved under Node's cluster:\n${show(oracle)}`);
  const c = strip(candidate);
  assert.deepStrictEqual(c, o, `${label}: ${other} differs from node\n${firstDifference(o, c, other)}\n--- node\n${show(oracle)}\n--- ${other}\n${show(candidate)}`);
  return { oracle: o, measures };
}

// The observations of one stream with a given event name.
function events(summaryOrStreams, stream, ev) {
  const streams = summaryOrStreams.streams || summaryOrStreams;
  return (streams[stream] || []).filter((o) => ev === undefined || o.ev === ev);
}

module.exports = { runScenario, normalize, agree, agreeMeasured, events, summary, SCENARIOS };
