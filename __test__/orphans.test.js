'use strict';
// No orphaned workers: when the primary is killed with SIGKILL every worker is gone within 2 s,
// including one stuck in a synchronous loop (rust-cluster's warden kills what is left after a
// 1 s grace period). The same scenario under Node's cluster is run for contrast: its spinning
// worker survives.
const { test } = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function run(impl) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, RC_IMPL: impl };
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, [path.join(__dirname, 'scenarios', 'orphans.js')], {
      env, stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const guard = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no pids from ${impl}`)); }, 8000);
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"pids"'));
      if (!line) return;
      clearTimeout(guard);
      const { pids } = JSON.parse(line);
      setTimeout(() => {
        child.kill('SIGKILL');
        child.once('exit', () => {
          setTimeout(() => {
            const left = pids.filter(alive);
            for (const pid of left) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
            resolve({ pids, left });
          }, 2000);
        });
      }, 300);
    });
  });
}

test('SIGKILL of the primary leaves no worker running after 2 s', async () => {
  const [rust, node] = await Promise.all([run('rust'), run('node')]);
  assert.strictEqual(rust.pids.length, 2);
  assert.deepStrictEqual(rust.left, [], `rust-cluster workers still running: ${rust.left}`);
  // Contrast: the stock primary leaves the spinning worker behind.
  assert.ok(node.left.includes(node.pids[0]), `expected Node's spinning worker to survive: ${JSON.stringify(node)}`);
});
