'use strict';
// worker.stats() against /proc: pid, uptime, CPU (user and system, from /proc/<pid>/stat in
// clock ticks) and RSS (from /proc/<pid>/statm in pages), and `connections`, the round-robin
// hand-offs to the worker (one per fresh HTTP connection here). null once it has exited.
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const { watchdog, out, freePort, forkApps, get } = require('./common');

watchdog(20000);
const TICK = Number(execFileSync('getconf', ['CLK_TCK'])) || 100;
const PAGE = Number(execFileSync('getconf', ['PAGESIZE'])) || 4096;

function proc(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const statm = fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
  return { user: (Number(f[11]) * 1e6) / TICK, system: (Number(f[12]) * 1e6) / TICK, rss: Number(statm[1]) * PAGE };
}

(async () => {
  const port = await freePort();
  const forkedAt = Date.now();
  const [w] = await forkApps(1, { PORT: String(port), MODE_FILE: '' });
  for (let i = 0; i < 5; i++) await get(port);
  const before = proc(w.process.pid);
  const s = w.stats();
  const after = proc(w.process.pid);
  const elapsed = Date.now() - forkedAt;
  const within = (v, lo, hi) => v >= lo && v <= hi;
  const result = {
    keys: Object.keys(s), cpuKeys: Object.keys(s.cpu),
    pid: s.pid === w.process.pid,
    uptime: within(s.uptime, 0, elapsed + 5),
    user: within(s.cpu.user, before.user, after.user),
    system: within(s.cpu.system, before.system, after.system),
    rss: within(s.rss, Math.min(before.rss, after.rss) * 0.9, Math.max(before.rss, after.rss) * 1.1),
    connections: s.connections,
    figures: { s, before, after },
  };
  w.kill();
  await new Promise((r) => w.once('exit', r));
  result.afterExit = w.stats();
  out(result);
})();
