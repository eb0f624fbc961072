'use strict';
// rust-cluster/register: with the preload, libraries that require or import 'cluster' themselves
// get rust-cluster's primary. Real packages (dev dependencies): prom-client's AggregatorRegistry
// under `node -r`, and @socket.io/sticky with socket.io under `node --import` in an ES module
// app. Each is also run without the preload, to show the preload is what changes it.
const { describe, it } = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { execFile } = require('node:child_process');

const ROOT = path.join(__dirname, '..');
const DIR = path.join(__dirname, 'scenarios', 'register');

function run(args, env = {}) {
  return new Promise((resolve, reject) => {
    const options = { cwd: ROOT, timeout: 60000, env: { ...process.env, ...env } };
    execFile(process.execPath, args, options, (err, stdout, stderr) => {
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()));
      } catch {
        reject(new Error(`no result (${err && err.message})\n${stdout}\n${stderr}`));
      }
    });
  });
}

describe('rust-cluster/register', { concurrency: 2 }, () => {
  it("prom-client's AggregatorRegistry aggregates the workers through rust-cluster (node -r)", async () => {
    const script = path.join(DIR, 'prom-client.js');
    const withPreload = await run(['-r', 'rust-cluster/register', script], { PORT: '0' });
    assert.deepStrictEqual(withPreload, { rustCluster: true, sameAsCjsCluster: true, line: 'app_requests_total 6' });
    const without = await run([script], { PORT: '0' });
    assert.strictEqual(without.rustCluster, false);
  });

  it('@socket.io/sticky passes each session to one worker through rust-cluster (node --import, ESM)', async () => {
    const script = path.join(DIR, 'sticky.mjs');
    const withPreload = await run(['--import', 'rust-cluster/register', script]);
    assert.deepStrictEqual(withPreload, { rustCluster: true, sticky: [true, true], spread: 2 });
    const without = await run([script]);
    assert.strictEqual(without.rustCluster, false);
  });
});
