'use strict';
// The rust-cluster CLI driven as a person would: spawned processes, real signals, real HTTP on
// loopback, the control socket, systemd's socket activation (systemd-socket-activate) and a
// notification socket the test opens. Metrics are read with a Prometheus text parser
// (parse-prometheus-text-format), not a regex of ours.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFile, execFileSync } = require('node:child_process');
const parsePrometheus = require('parse-prometheus-text-format');
const { startLoad } = require('./helpers/load');
const { freePort } = require('./helpers/ports');

const CLI = path.join(__dirname, '..', 'bin', 'rust-cluster.js');
const APP = path.join(__dirname, 'scenarios', 'cli', 'app.js');
let home;
const children = new Set(); // killed at the end, so that a failed test leaves nothing running

before(() => { home = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-cli-home-')); });
after(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(home, { recursive: true, force: true });
});

// A running CLI process: its output so far, a wait for a line, and its exit.
function start(args, env = {}, command = process.execPath, prefix = [CLI]) {
  const child = spawn(command, [...prefix, ...args], {
    env: { ...process.env, RUST_CLUSTER_HOME: home, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const out = { stdout: '', stderr: '' };
  const waiters = [];
  for (const s of ['stdout', 'stderr']) {
    child[s].setEncoding('utf8');
    child[s].on('data', (d) => {
      out[s] += d;
      for (const w of waiters.splice(0)) if (!w()) waiters.push(w);
    });
  }
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const waitFor = (stream, re, ms = 20000) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${re} in ${stream}:\n${out[stream].slice(-2000)}`)), ms);
    const check = () => {
      const m = re.exec(out[stream]);
      if (m) { clearTimeout(timer); resolve(m); return true; }
      return false;
    };
    if (!check()) waiters.push(check);
  });
  return { child, out, exited, waitFor };
}

function cli(args, env = {}) {
  return new Promise((resolve) => {
    const options = { env: { ...process.env, RUST_CLUSTER_HOME: home, ...env }, timeout: 30000 };
    execFile(process.execPath, [CLI, ...args], options,
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

function get(port, urlPath = '/') {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', (err) => resolve({ error: err.code }));
  });
}

const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };

async function until(what, fn, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// The primary's status, or null while it is not answering yet.
async function status(name) {
  const r = await cli(['status', name, '--json']);
  return r.code === 0 ? JSON.parse(r.stdout)[0] : null;
}

const listeningCount = async (name) => {
  const s = await status(name);
  return s ? s.workers.filter((w) => w.state === 'listening').length : 0;
};

describe('rust-cluster CLI', { concurrency: 2 }, () => {
  it('run -i 2: an app with no cluster code as two workers; whole prefixed lines; SIGTERM exits 0', async () => {
    const port = await freePort();
    const p = start(['run', APP, '-i', '2', '--name', 'lines'], { PORT: String(port), LINES: '30' });
    await p.waitFor('stderr', /lines:0 \| started 0[\s\S]*lines:1 \| started 1|lines:1 \| started 1[\s\S]*lines:0 \| started 0/);
    const st = await until('both workers listening', async () => {
      const s = await status('lines');
      return s && s.workers.length === 2 && s.workers.every((w) => w.state === 'listening') && s;
    });
    const pids = new Set();
    for (let i = 0; i < 20; i++) pids.add(JSON.parse((await get(port)).body).pid);
    assert.deepStrictEqual([...pids].sort(), st.workers.map((w) => w.pid).sort());
    await until('all lines', () => p.out.stdout.split('\n').length >= 61);
    const lines = p.out.stdout.trim().split('\n');
    assert.strictEqual(lines.length, 60);
    for (const line of lines) {
      const m = /^lines:(\d) \| (\d):(\d+):(\d+)$/.exec(line);
      assert.ok(m, `a split or mixed line: ${line.slice(0, 80)}...`);
      assert.strictEqual(m[1], m[2]);
      assert.strictEqual(m[4], m[1].repeat(20000));
    }
    p.child.kill('SIGTERM');
    assert.deepStrictEqual(await p.exited, { code: 0, signal: null });
    assert.ok(st.workers.every((w) => !alive(w.pid)));
  });

  it('--log-format json: one JSON object per line', async () => {
    const port = await freePort();
    const p = start(['run', APP, '--name', 'jsonlog', '--log-format', 'json'], { PORT: String(port), LINES: '2' });
    await p.waitFor('stderr', /"message":"started 0"/);
    await until('the lines', () => p.out.stdout.trim().split('\n').length >= 2);
    const [first] = p.out.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepStrictEqual(Object.keys(first), ['time', 'name', 'instance', 'pid', 'stream', 'message']);
    assert.strictEqual(first.name, 'jsonlog');
    assert.strictEqual(first.stream, 'stdout');
    assert.ok(first.message.startsWith('0:0:000'));
    p.child.kill('SIGINT');
    assert.strictEqual((await p.exited).code, 0);
  });

  for (const policy of ['rr', 'reuseport']) {
    it(`SIGHUP reloads under load with no failed request; status counts the restarts (--policy ${policy})`, async (t) => {
      const port = await freePort();
      const name = `hup-${policy}`;
      const p = start(['run', APP, '-i', '2', '--name', name, '--shutdown-timeout', '1500', '--policy', policy], { PORT: String(port) });
      await until('listening', async () => (await listeningCount(name)) === 2);
      const sockets = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim().split('\n').length;
      assert.strictEqual(sockets, policy === 'reuseport' ? 2 : 1, 'listening sockets on the port');
      const load = startLoad({ port, fresh: 3, keepAlive: 3 });
      for (let i = 1; i <= 2; i++) {
        p.child.kill('SIGHUP');
        await until(`reload ${i}`, async () => {
          const s = await status(name);
          return s && s.workers.length === 2 && s.workers.every((w) => w.restarts === i && w.state === 'listening');
        }, 30000);
      }
      const report = await load.stop();
      t.diagnostic(`answered ${report.ok}, keep-alive retries ${report.retried}`);
      assert.strictEqual(report.failed, 0, JSON.stringify(report.failures));
      assert.strictEqual(Object.keys(report.byPid).length, 6);
      p.child.kill('SIGTERM');
      assert.strictEqual((await p.exited).code, 0);
    });
  }

  it('status, reload (worker by worker), scale and stop from another shell', async () => {
    const port = await freePort();
    const p = start(['run', APP, '-i', '2', '--name', 'ctl'], { PORT: String(port) });
    await until('listening', async () => (await listeningCount('ctl')) === 2);
    const table = await cli(['status']);
    assert.strictEqual(table.code, 0);
    const [header, ...rows] = table.stdout.trim().split('\n');
    assert.match(header, /^name\s+instance\s+pid\s+state\s+uptime\s+cpu\s+memory\s+restarts\s+connections$/);
    assert.ok(rows.filter((r) => r.startsWith('ctl ')).length === 2);
    // --watch prints the status again every second until stopped.
    const watch = start(['status', 'ctl', '--watch', '--json']);
    const twice = await watch.waitFor('stdout', /^(\[.*\]\n)(\[.*\]\n)/);
    assert.deepStrictEqual(JSON.parse(twice[2])[0].workers.map((w) => w.instance).sort(), [0, 1]);
    watch.child.kill();
    await watch.exited;
    const before = (await status('ctl')).workers.map((w) => w.pid);
    const reload = await cli(['reload', 'ctl']);
    assert.strictEqual(reload.code, 0, reload.stderr);
    const progress = reload.stdout.trim().split('\n');
    assert.strictEqual(progress.length, 3);
    for (const [i, line] of progress.slice(0, 2).entries()) assert.match(line, new RegExp(`^ctl:${i} pid ${before[i]} -> \\d+$`));
    assert.strictEqual(progress[2], 'ctl: reloaded');
    assert.strictEqual((await cli(['scale', 'ctl', '3'])).stdout.trim(), 'ctl: 3 worker(s)');
    await until('3 listening', async () => (await listeningCount('ctl')) === 3);
    assert.strictEqual((await cli(['scale', 'ctl', '1'])).stdout.trim(), 'ctl: 1 worker(s)');
    assert.deepStrictEqual((await status('ctl')).workers.map((w) => w.instance), [0]);
    assert.strictEqual((await cli(['stop', 'ctl'])).code, 0);
    assert.strictEqual((await p.exited).code, 0);
    const gone = await cli(['status', 'ctl']);
    assert.deepStrictEqual([gone.code, gone.stderr.trim()], [1, 'rust-cluster: no primary named "ctl" is running']);
  });

  it('errors a person can act on: one line, non-zero exit', async () => {
    const missing = await cli(['run', 'no-such-app.js']);
    assert.deepStrictEqual([missing.code, missing.stderr.trim()], [1, 'rust-cluster: no such script: no-such-app.js']);
    const badI = await cli(['run', APP, '-i', 'lots']);
    assert.strictEqual(badI.code, 2);
    assert.strictEqual(badI.stderr.trim().split('\n').length, 1);
    assert.match(badI.stderr, /-i takes a number of workers, max, or -N/);
    const unknown = await cli(['frobnicate']);
    assert.strictEqual(unknown.code, 2);
    assert.match(unknown.stderr, /^rust-cluster: unknown command "frobnicate"/);
    // A primary that is gone: its socket is stale.
    const stale = path.join(home, 'stale.sock');
    const srv = net.createServer().listen(stale);
    await new Promise((r) => srv.on('listening', r));
    srv.close();
    fs.writeFileSync(stale, ''); // a leftover file where the socket was
    const gone = await cli(['reload', 'stale']);
    assert.deepStrictEqual([gone.code, gone.stderr.trim()],
      [1, 'rust-cluster: "stale" is not running (its primary is gone; stale socket removed)']);
    assert.ok(!fs.existsSync(stale));
    // A name already running.
    const port = await freePort();
    const p = start(['run', APP, '--name', 'twice'], { PORT: String(port) });
    await until('running', async () => (await cli(['status', 'twice'])).code === 0);
    const again = await cli(['run', APP, '--name', 'twice'], { PORT: String(port) });
    assert.deepStrictEqual([again.code, again.stderr.trim()],
      [1, 'rust-cluster: "twice" is already running; stop it with: rust-cluster stop twice']);
    p.child.kill('SIGTERM');
    await p.exited;
  });

  it('--respawn replaces a crashing worker and counts it; --ready message holds /readyz at 503', async () => {
    const port = await freePort();
    const mport = await freePort();
    const crashy = start(['run', APP, '--name', 'crashy', '--respawn'], { PORT: String(port), CRASH_MS: '1000' });
    await crashy.waitFor('stderr', /(crashy:0 \| started 0\n[\s\S]*){3}/);
    const restarts = await until('two restarts', async () => {
      const s = await status('crashy');
      return s && s.workers[0] && s.workers[0].restarts >= 2 && s.workers[0].restarts;
    });
    assert.ok(restarts >= 2);
    crashy.child.kill('SIGTERM');
    assert.strictEqual((await crashy.exited).code, 0);

    const slow = start(['run', APP, '--name', 'slowready', '--ready', 'message', '--metrics', String(mport)],
      { PORT: String(port), READY_MSG: '1' });
    await until('listening', async () => (await listeningCount('slowready')) === 1);
    // Listening, but not ready until its 'ready' message (2 s later).
    assert.strictEqual((await get(mport, '/readyz')).status, 503);
    await until('ready', async () => (await get(mport, '/readyz')).status === 200);
    slow.child.kill('SIGTERM');
    assert.strictEqual((await slow.exited).code, 0);
  });

  it('a worker that does not leave within --shutdown-timeout is killed and the exit is 1', async () => {
    const port = await freePort();
    const p = start(['run', APP, '--name', 'stubborn', '--shutdown-timeout', '500'], { PORT: String(port), STUBBORN: '1' });
    await until('listening', async () => (await listeningCount('stubborn')) === 1);
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    assert.deepStrictEqual(await p.exited, { code: 1, signal: null });
    assert.ok(Date.now() - t0 >= 450);
    assert.match(p.out.stderr, /1 worker\(s\) of stubborn did not exit within 500 ms and were killed/);
  });

  it('--metrics: /metrics (with the app\'s prom-client metrics merged), /healthz, /readyz', async () => {
    const port = await freePort();
    const mport = await freePort();
    const p = start(['run', APP, '-i', '2', '--name', 'metrics', '--metrics', `127.0.0.1:${mport}`],
      { PORT: String(port), PROM: '1' });
    const early = await until('the metrics server', async () => {
      const r = await get(mport, '/readyz');
      return r.error ? null : r;
    });
    await until('ready', async () => (await get(mport, '/readyz')).status === 200);
    assert.deepStrictEqual(await get(mport, '/healthz'), { status: 200, body: 'ok\n' });
    for (let i = 0; i < 10; i++) await get(port);
    const text = (await get(mport, '/metrics')).body;
    const families = Object.fromEntries(parsePrometheus(text).map((f) => [f.name, f]));
    assert.strictEqual(families.rust_cluster_worker_up.metrics.length, 2);
    assert.strictEqual(families.rust_cluster_workers.metrics[0].value, '2');
    assert.strictEqual(families.rust_cluster_worker_cpu_seconds_total.type, 'COUNTER');
    assert.ok(families.rust_cluster_worker_resident_memory_bytes.metrics.every((m) => Number(m.value) > 1e6));
    const conns = families.rust_cluster_worker_connections_total.metrics.reduce((a, m) => a + Number(m.value), 0);
    assert.ok(conns >= 10, `connections ${conns}`);
    assert.deepStrictEqual(families.rust_cluster_worker_restarts_total.metrics.map((m) => m.value), ['0', '0']);
    assert.ok(Number(families.rust_cluster_primary_resident_memory_bytes.metrics[0].value) > 1e6);
    // The workers' own counter, summed by prom-client's aggregation.
    assert.strictEqual(families.app_requests_total.metrics[0].value, '10');
    assert.ok(early.status === 503 || early.status === 200);
    p.child.kill('SIGTERM');
    assert.strictEqual((await p.exited).code, 0);
  });

  it('systemd: socket activation serves the queued client; READY, WATCHDOG, RELOADING, STOPPING', async () => {
    const port = await freePort();
    const sock = path.join(home, 'notify.sock');
    // The notification socket, opened by the test (Node's dgram has no unix datagram sockets).
    const listener = spawn('python3', ['-u', '-c', [
      'import socket, sys',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
      `s.bind(${JSON.stringify(sock)})`,
      'print("bound", flush=True)',
      'while True:',
      '    print(s.recv(4096).decode().replace("\\n", " "), flush=True)',
    ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let notes = '';
    listener.stdout.setEncoding('utf8');
    listener.stdout.on('data', (d) => { notes += d; });
    await until('the notify socket', () => notes.includes('bound'));
    const p = start(['-l', `127.0.0.1:${port}`, '-E', `NOTIFY_SOCKET=${sock}`, '-E', 'WATCHDOG_USEC=200000',
      '-E', `PORT=${port}`, '-E', `RUST_CLUSTER_HOME=${home}`,
      process.execPath, CLI, 'run', APP, '-i', '2', '--name', 'sd'], {}, 'systemd-socket-activate', []);
    await p.waitFor('stderr', /Listening on/);
    // This client connects before anything runs: it waits in the kernel's queue, activates the
    // service, and is answered by a worker through the inherited socket.
    const first = await get(port);
    assert.strictEqual(first.status, 200);
    await until('READY=1', () => /READY=1 STATUS=2 worker\(s\) ready/.test(notes));
    await until('WATCHDOG=1', () => /WATCHDOG=1/.test(notes));
    const st = await status('sd');
    assert.strictEqual(st.pid, p.child.pid, 'systemd-socket-activate execs the CLI in place');
    p.child.kill('SIGHUP');
    await until('reload notes', () => /RELOADING=1 MONOTONIC_USEC=\d+\s[\s\S]*READY=1\n/.test(notes.split('STATUS=2 worker(s) ready')[1] || ''));
    p.child.kill('SIGTERM');
    assert.strictEqual((await p.exited).code, 0);
    await until('STOPPING=1', () => /STOPPING=1/.test(notes));
    listener.kill();
  });
});
