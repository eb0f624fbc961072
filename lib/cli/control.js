'use strict';
// The commands that talk to a running primary over its control socket: status, reload, scale,
// stop. One JSON line asks; JSON lines answer.

const fs = require('node:fs');
const net = require('node:net');
const { CliError } = require('./args.js');
const { socketPath, listNames } = require('./home.js');

// Sends `request` to primary `name`; calls onReply for each line; resolves at the end.
function ask(name, request, onReply) {
  const file = socketPath(name);
  return new Promise((resolve, reject) => {
    const conn = net.connect(file);
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${JSON.stringify(request)}\n`));
    conn.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) !== -1) {
        onReply(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
    });
    conn.on('end', resolve);
    conn.on('error', (err) => {
      if (err.code === 'ECONNREFUSED') {
        try { fs.unlinkSync(file); } catch {}
        reject(new CliError(`rust-cluster: "${name}" is not running (its primary is gone; stale socket removed)`, 1));
      } else if (err.code === 'ENOENT') {
        reject(new CliError(`rust-cluster: no primary named "${name}" is running`, 1));
      } else {
        reject(new CliError(`rust-cluster: cannot reach "${name}": ${err.code}`, 1));
      }
    });
  });
}

function names(name) {
  if (name !== undefined) return [name];
  const all = listNames();
  if (all.length === 0) throw new CliError('rust-cluster: no primary is running', 1);
  return all;
}

function human(bytes) {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

function duration(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function table(statuses) {
  const rows = [['name', 'instance', 'pid', 'state', 'uptime', 'cpu', 'memory', 'restarts', 'connections']];
  for (const st of statuses) {
    for (const w of st.workers.sort((a, b) => a.instance - b.instance)) {
      rows.push([st.name, String(w.instance), String(w.pid), w.state, duration(w.uptime), `${w.cpu}%`,
        human(w.rss), String(w.restarts), String(w.connections)]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

async function status(opts) {
  const once = async () => {
    const statuses = [];
    for (const n of names(opts.name)) {
      try {
        await ask(n, { cmd: 'status' }, (r) => statuses.push(r));
      } catch (err) {
        if (opts.name !== undefined) throw err;
      }
    }
    if (statuses.length === 0) throw new CliError('rust-cluster: no primary is running', 1);
    return statuses;
  };
  if (!opts.watch) {
    const statuses = await once();
    console.log(opts.json ? JSON.stringify(statuses) : table(statuses));
    return;
  }
  for (;;) {
    const statuses = await once();
    process.stdout.write(opts.json ? `${JSON.stringify(statuses)}\n` : `\x1b[2J\x1b[H${table(statuses)}\n`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function control(opts) {
  if (opts.command === 'status') return status(opts);
  const request = opts.command === 'scale' ? { cmd: 'scale', count: opts.count } : { cmd: opts.command };
  let failed = null;
  for (const n of names(opts.name)) {
    await ask(n, request, (r) => {
      if (r.error) failed = r.error;
      else if (r.progress) {
        console.log(`${n}:${r.progress.instance} pid ${r.progress.old} -> ${r.progress.new ?? '(none)'}`);
      } else if (r.done && opts.command === 'reload') console.log(`${n}: reloaded`);
      else if (r.done && opts.command === 'scale') console.log(`${n}: ${r.workers} worker(s)`);
      else if (r.stopping) console.log(`${n}: stopping`);
    });
  }
  if (failed !== null) throw new CliError(`rust-cluster ${opts.command}: ${failed}`, 1);
}

module.exports = { control };
