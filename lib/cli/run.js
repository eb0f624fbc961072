'use strict';
// `rust-cluster run`: runs an unmodified app as N workers of a rust-cluster primary in the
// foreground. SIGHUP/SIGUSR2 reload it, SIGTERM/SIGINT shut it down (exit 0 when every worker
// left within --shutdown-timeout, 1 when some had to be killed). Workers' output is passed on line
// by line with the instance's name; the control socket answers status, reload, scale and stop.

const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const cluster = require('../primary.js');
const supervisor = require('../supervisor.js');
const { CliError } = require('./args.js');
const { ensureHome, socketPath } = require('./home.js');
const { LineSplitter } = require('./lines.js');
const systemd = require('./systemd.js');

const instanceOf = new WeakMap(); // worker -> instance number
const restarts = new Map(); // instance -> replacements so far
const ready = new WeakSet(); // workers that are ready (listening, or sent 'ready' with --ready message)

function resolveScript(script) {
  for (const candidate of [path.resolve(script), path.resolve(`${script}.js`)]) {
    try {
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {}
  }
  throw new CliError(`rust-cluster: no such script: ${script}`, 1);
}

// Refuses a name whose primary answers; removes the socket of one that is gone.
function claimSocket(name) {
  const file = socketPath(name);
  return new Promise((resolve, reject) => {
    const probe = net.connect(file);
    probe.once('connect', () => {
      probe.destroy();
      reject(new CliError(`rust-cluster: "${name}" is already running; stop it with: rust-cluster stop ${name}`, 1));
    });
    probe.once('error', () => {
      try { fs.unlinkSync(file); } catch {}
      resolve(file);
    });
  });
}

function output(opts) {
  const write = (worker, stream, line) => {
    const instance = instanceOf.get(worker);
    const target = stream === 'stderr' ? process.stderr : process.stdout;
    if (opts.logFormat === 'json') {
      target.write(`${JSON.stringify({
        time: new Date().toISOString(), name: opts.name, instance, pid: worker.process.pid, stream, message: line,
      })}\n`);
    } else {
      target.write(`${opts.name}:${instance} | ${line}\n`);
    }
  };
  return (worker) => {
    for (const stream of ['stdout', 'stderr']) {
      const source = worker.process[stream];
      if (!source) continue;
      const lines = new LineSplitter((line) => write(worker, stream, line));
      source.on('data', (chunk) => lines.push(chunk));
      source.on('end', () => lines.end());
    }
  };
}

async function sample(workers) {
  const first = new Map(workers.map((w) => [w, w.stats()]));
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, 200));
  const elapsedUs = Number(process.hrtime.bigint() - t0) / 1000;
  return workers.map((w) => {
    const a = first.get(w);
    const b = w.stats();
    const cpu = a && b ? ((b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / elapsedUs) * 100 : 0;
    return {
      instance: instanceOf.get(w), id: w.id, pid: w.process.pid, state: w.state,
      uptime: b ? b.uptime : 0, cpu: Math.max(0, Math.round(cpu * 10) / 10), rss: b ? b.rss : 0,
      restarts: restarts.get(instanceOf.get(w)) || 0, connections: b ? b.connections : 0,
    };
  });
}

async function run(opts) {
  const script = resolveScript(opts.script);
  ensureHome();
  const sockFile = await claimSocket(opts.name);
  let state = 'starting';
  let reloading = null;
  let desired = opts.instances;
  const listenFds = systemd.takeListenFds();
  const sd = systemd.notifier();

  // --policy; without it NODE_CLUSTER_SCHED_POLICY decides, as for any cluster program.
  if (opts.policy !== undefined) {
    const policies = { rr: cluster.SCHED_RR, none: cluster.SCHED_NONE, reuseport: cluster.SCHED_REUSEPORT };
    cluster.schedulingPolicy = policies[opts.policy];
  }
  cluster.setupPrimary({
    exec: script,
    args: opts.scriptArgs,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    respawn: opts.respawn,
    memoryLimit: opts.maxMemory,
    reload: { readiness: opts.readiness, shutdownTimeout: opts.shutdownTimeout },
  });
  if (listenFds.length > 0) supervisor.inheritListeners(listenFds);
  const attachOutput = output(opts);

  // Ready: every instance has a ready worker (during a reload the old one counts until its
  // replacement is ready).
  const isReady = () => {
    if (state !== 'running') return false;
    const have = new Set();
    for (const w of Object.values(cluster.workers)) {
      if (ready.has(w) && w.isConnected()) have.add(instanceOf.get(w));
    }
    for (let i = 0; i < desired; i++) if (!have.has(i)) return false;
    return true;
  };
  let announced = false;
  const checkReady = () => {
    if (!announced && isReady()) {
      announced = true;
      sd.notify(`READY=1\nSTATUS=${desired} worker(s) ready`);
    }
  };
  cluster.on('listening', (w) => {
    if (opts.readiness === 'listening') { ready.add(w); checkReady(); }
  });
  cluster.on('message', (w, msg) => {
    if (opts.readiness === 'message' && msg === 'ready') { ready.add(w); checkReady(); }
  });
  // Every worker, forked here or by the supervisor (respawn, reload, memory limit), gets its
  // instance from the env it was forked with, and its output passed on once.
  const attached = new WeakSet();
  const adopt = (worker) => {
    if (!instanceOf.has(worker)) {
      const env = supervisor.envOf(worker);
      instanceOf.set(worker, env ? Number(env.NODE_APP_INSTANCE) : 0);
    }
    if (!attached.has(worker)) {
      attached.add(worker);
      attachOutput(worker);
    }
  };
  cluster.on('fork', adopt);
  const forkInstance = (i) => {
    const w = cluster.fork({ NODE_APP_INSTANCE: String(i), RUST_CLUSTER_NAME: opts.name });
    adopt(w);
    return w;
  };
  const countRestart = (worker) => {
    const i = instanceOf.get(worker);
    restarts.set(i, (restarts.get(i) || 0) + 1);
  };
  cluster.on('respawn', (fresh) => {
    adopt(fresh);
    countRestart(fresh);
  });
  cluster.on('memoryLimit', (worker, rss) => {
    console.error(`rust-cluster: ${opts.name}:${instanceOf.get(worker)} uses ${rss} bytes; replacing it`);
    countRestart(worker);
  });
  cluster.on('respawnLimit', (old) => {
    console.error(`rust-cluster: ${opts.name}:${instanceOf.get(old)} keeps exiting; not respawned again`);
    maybeAllGone();
  });
  function maybeAllGone() {
    if (state !== 'running' || reloading) return;
    if (Object.keys(cluster.workers).length > 0) return;
    if (opts.respawn) return;
    console.error(`rust-cluster: every worker of ${opts.name} has exited`);
    finish(1);
  }
  cluster.on('exit', (worker, code, signal) => {
    if (state === 'running' && !worker.exitedAfterDisconnect && !opts.respawn) {
      console.error(`rust-cluster: ${opts.name}:${instanceOf.get(worker)} exited (${signal || `code ${code}`})`);
    }
    setImmediate(maybeAllGone);
  });

  async function reload(progress = () => {}) {
    if (reloading) return reloading;
    const before = new Map(Object.values(cluster.workers).map((w) => [instanceOf.get(w), w]));
    const onExit = (w) => {
      const i = instanceOf.get(w);
      if (before.get(i) !== w) return;
      const now = Object.values(cluster.workers).find((x) => instanceOf.get(x) === i && x !== w);
      countRestart(w);
      progress({ instance: i, old: w.process.pid, new: now ? now.process.pid : null });
    };
    cluster.on('exit', onExit);
    sd.notify(`RELOADING=1\nMONOTONIC_USEC=${systemd.monotonicUsec()}`);
    reloading = cluster.reload().finally(() => {
      cluster.off('exit', onExit);
      reloading = null;
      sd.notify('READY=1');
    });
    return reloading;
  }

  async function scale(count) {
    desired = count;
    const workers = Object.values(cluster.workers).sort((a, b) => instanceOf.get(a) - instanceOf.get(b));
    const used = new Set(workers.map((w) => instanceOf.get(w)));
    for (let i = 0; used.size < count; i++) {
      if (!used.has(i)) { used.add(i); forkInstance(i); }
    }
    const extra = workers.slice(count);
    await Promise.all(extra.map((w) => supervisor.retireOne(w)));
  }

  let finishing = null;
  function finish(code) {
    if (finishing) return finishing;
    state = 'stopping';
    sd.notify('STOPPING=1');
    finishing = (async () => {
      const workers = Object.values(cluster.workers);
      await cluster.shutdown();
      const killed = workers.filter((w) => w.process.signalCode === 'SIGKILL').length;
      if (killed > 0) {
        console.error(`rust-cluster: ${killed} worker(s) of ${opts.name} did not exit within ` +
          `${opts.shutdownTimeout} ms and were killed`);
      }
      server.close();
      try { fs.unlinkSync(sockFile); } catch {}
      process.exit(code !== 0 ? code : (killed > 0 ? 1 : 0));
    })();
    return finishing;
  }

  const server = net.createServer((conn) => {
    let buf = '';
    conn.setEncoding('utf8');
    const reply = (obj) => conn.write(`${JSON.stringify(obj)}\n`);
    conn.on('error', () => {});
    conn.on('data', async (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let req;
      try { req = JSON.parse(buf.slice(0, nl)); } catch { reply({ error: 'bad request' }); conn.end(); return; }
      buf = '';
      try {
        if (req.cmd === 'status') {
          reply({ name: opts.name, pid: process.pid, state, workers: await sample(Object.values(cluster.workers)) });
        } else if (req.cmd === 'reload') {
          await reload((p) => reply({ progress: p }));
          reply({ done: true });
        } else if (req.cmd === 'scale') {
          await scale(req.count);
          reply({ done: true, workers: Object.keys(cluster.workers).length });
        } else if (req.cmd === 'stop') {
          reply({ stopping: true });
          conn.end();
          finish(0);
          return;
        } else {
          reply({ error: `unknown command ${req.cmd}` });
        }
      } catch (err) {
        reply({ error: err.message });
      }
      conn.end();
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new CliError(`rust-cluster: cannot listen on ${sockFile}: ${err.code}`, 1)));
    server.listen(sockFile, resolve);
  });
  server.unref();

  for (const sig of ['SIGHUP', 'SIGUSR2']) {
    process.on(sig, () => {
      reload().catch((err) => console.error(`rust-cluster: reload stopped: ${err.message}`));
    });
  }
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => finish(0));

  if (opts.metrics !== undefined) {
    await require('./metrics.js').start({
      cluster, name: opts.name, script, address: opts.metrics, isReady,
      restartsOf: (w) => restarts.get(instanceOf.get(w)) || 0, instanceOf: (w) => instanceOf.get(w),
    });
  }
  state = 'running';
  for (let i = 0; i < opts.instances; i++) forkInstance(i);
}

module.exports = { run };
