'use strict';
// Reload under load, PM2's side: how many requests fail while `pm2 reload` replaces the workers
// of a cluster-mode app that is serving traffic.
//
//   node bench/reload/pm2.js [--reloads=3] [--instances=2] [--wait-ready]
//
// Installs pm2@7 once into <tmpdir>/rust-cluster-bench-pm2 (reused afterwards), runs its daemon
// with PM2_HOME in a fresh temp dir (a user's own PM2 is never touched), starts bench/reload/app.js
// with `-i <instances>` on a free loopback port, puts the load of __test__/helpers/load.js on it
// (4 fresh-connection loops, 4 keep-alive loops), runs `pm2 reload` <reloads> times in a row, keeps
// the load 1 s more, and prints one JSON line. The daemon is always killed at the end (`pm2 kill`,
// then SIGKILL to whatever pid file is left), also on error and from a 120 s watchdog.
// Nothing leaves the machine: PM2's version check is turned off (PM2_DISABLE_VERSION_CHECK, and the
// `touch` file that marks PM2_HOME as already greeted), and no pm2.io agent is configured.

const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { execFile, execFileSync } = require('node:child_process');
const { parseArgs, promisify } = require('node:util');
const { startLoad } = require('../../__test__/helpers/load');
const { resultLine } = require('./result');

const NAME = 'rc-reload-bench';
const APP = path.join(__dirname, 'app.js');
const INSTALL_DIR = path.join(os.tmpdir(), 'rust-cluster-bench-pm2');
const PM2_PKG = path.join(INSTALL_DIR, 'node_modules', 'pm2', 'package.json');
const PM2_BIN = path.join(INSTALL_DIR, 'node_modules', 'pm2', 'bin', 'pm2');
const WATCHDOG_MS = 120000;
const TAIL_MS = 1000;

const execFileP = promisify(execFile);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function options() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        reloads: { type: 'string', default: '3' },
        instances: { type: 'string', default: '2' },
        'wait-ready': { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    console.error(`pm2 bench: ${err.message}`);
    console.error('usage: node bench/reload/pm2.js [--reloads=3] [--instances=2] [--wait-ready]');
    process.exit(2);
  }
  const int = (name) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) {
      console.error(`pm2 bench: --${name} must be a positive integer, not ${values[name]}`);
      process.exit(2);
    }
    return n;
  };
  return { reloads: int('reloads'), instances: int('instances'), waitReady: values['wait-ready'] };
}

function installedVersion() {
  try {
    return JSON.parse(fs.readFileSync(PM2_PKG, 'utf8')).version;
  } catch {
    return null;
  }
}

// pm2@7 in INSTALL_DIR, installed when missing; returns its version.
function installPm2() {
  const have = installedVersion();
  if (have && have.startsWith('7.')) return have;
  try {
    fs.mkdirSync(INSTALL_DIR, { recursive: true });
    const pkg = path.join(INSTALL_DIR, 'package.json');
    if (!fs.existsSync(pkg)) fs.writeFileSync(pkg, '{ "private": true }\n');
    execFileSync('npm', ['install', 'pm2@7', '--no-audit', '--no-fund', '--loglevel=error'],
      { cwd: INSTALL_DIR, stdio: ['ignore', 'ignore', 'pipe'], timeout: 300000 });
  } catch (err) {
    const why = String(err.stderr || err.message).trim().split('\n')[0];
    console.log(`pm2 bench: could not install pm2@7 into ${INSTALL_DIR}: ${why}`);
    process.exit(1);
  }
  const version = installedVersion();
  if (!version) {
    console.log(`pm2 bench: npm install pm2@7 left no ${PM2_PKG}`);
    process.exit(1);
  }
  return version;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function pm2(env, args) {
  return execFileP(process.execPath, [PM2_BIN, ...args], { env, timeout: 60000, maxBuffer: 16 << 20 })
    .catch((err) => {
      const out = `${err.stdout || ''}${err.stderr || ''}`.trim().split('\n').slice(-10).join('\n');
      throw new Error(`pm2 ${args.join(' ')} failed (${err.code || err.signal}):\n${out}`);
    });
}

function getPid(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? JSON.parse(body).pid : null);
        } catch {
          resolve(null);
        }
      });
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

// Until the port answers, and from as many distinct pids as there are instances (or 15 s).
async function waitForApp(port, instances) {
  const pids = new Set();
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    const pid = await getPid(port);
    if (pid) pids.add(pid);
    if (pids.size >= instances) return;
    await sleep(pid ? 20 : 100);
  }
  if (pids.size === 0) throw new Error(`the app never answered on port ${port}`);
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

// `pm2 kill`, then SIGKILL for the daemon and the workers if their pid files outlive it.
function killDaemon(home, env) {
  try {
    execFileSync(process.execPath, [PM2_BIN, 'kill'], { env, stdio: 'ignore', timeout: 20000 });
  } catch {}
  const files = [path.join(home, 'pm2.pid')];
  try {
    for (const f of fs.readdirSync(path.join(home, 'pids'))) files.push(path.join(home, 'pids', f));
  } catch {}
  for (const file of files) {
    let pid;
    try {
      pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    } catch {
      continue;
    }
    if (pid > 1 && isAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
}

async function main() {
  const { reloads, instances, waitReady } = options();
  const version = installPm2();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-pm2-home-'));
  fs.writeFileSync(path.join(home, 'touch'), String(Date.now()));
  const port = await freePort();
  const env = {
    ...process.env,
    PM2_HOME: home,
    PORT: String(port),
    PM2_DISABLE_VERSION_CHECK: 'true',
    PM2_NO_INTERACTION: 'true',
  };
  if (waitReady) env.READY_MESSAGE = '1';
  else delete env.READY_MESSAGE;

  const watchdog = setTimeout(() => {
    console.error(`pm2 bench: watchdog: still running after ${WATCHDOG_MS} ms, killing the PM2 daemon`);
    killDaemon(home, env);
    fs.rmSync(home, { recursive: true, force: true });
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();

  let load = null;
  try {
    const start = ['start', APP, '-i', String(instances), '--name', NAME];
    if (waitReady) start.push('--wait-ready');
    await pm2(env, start);
    await waitForApp(port, instances);

    const t0 = performance.now();
    load = startLoad({ port, host: '127.0.0.1', fresh: 4, keepAlive: 4 });
    const reloadMs = [];
    for (let i = 0; i < reloads; i++) {
      const t = performance.now();
      await pm2(env, ['reload', NAME]);
      reloadMs.push(Math.round(performance.now() - t));
    }
    await sleep(TAIL_MS);
    const report = await load.stop();
    load = null;
    const durationMs = Math.round(performance.now() - t0);

    console.log(resultLine({ manager: 'pm2', version, instances, reloads, report, durationMs, reloadMs }));
  } finally {
    if (load) await load.stop();
    killDaemon(home, env);
    clearTimeout(watchdog);
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`pm2 bench: ${err.message}`);
  process.exitCode = 1;
});
