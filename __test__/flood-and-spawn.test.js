'use strict';
// Reliability: a flooding worker does not exhaust the primary or starve other workers; a spawn
// the system refuses fails the way Node's does.
const { test } = require('node:test');
const assert = require('node:assert');
const { runScenario, events, agree } = require('./helpers/oracle');

test('a worker flooding the primary: memory stays bounded and others are served', async () => {
  const rust = await runScenario('flood.js', 'rust', { timeoutMs: 15000 });
  assert.deepStrictEqual(rust.problems, [], rust.stderr);
  const [result] = events(rust.streams, 'P', 'result');
  assert.ok(result, rust.stdout);
  assert.ok(result.floodMessages > 10000, `flood messages delivered: ${result.floodMessages}`);
  assert.ok(result.pongs > 50, `pings answered while flooded: ${result.pongs}`);
  assert.ok(result.peakRssMiB < 200, `primary peak RSS ${result.peakRssMiB} MiB`);
});

test('fork() with a uid the system refuses fails as in Node', { skip: process.getuid() !== 0 && 'needs root to drop privileges' }, async (t) => {
  await agree(t, 'spawn-eperm.js');
});

const hasPython = require('node:child_process').spawnSync('python3', ['--version']).status === 0;

test('descriptors that no NODE_HANDLE claims: capped, the worker is disconnected, none kept', { skip: !hasPython && 'needs python3' }, async () => {
  const rust = await runScenario('stray-fds.js', 'rust', { timeoutMs: 15000 });
  assert.deepStrictEqual(rust.problems, [], rust.stderr);
  assert.deepStrictEqual(events(rust.streams, 'P', 'bad error'), [{ ev: 'bad error', code: 'ERR_IPC_MALFORMED_MESSAGE' }], rust.stdout);
  assert.deepStrictEqual(events(rust.streams, 'P', 'after'), [{ ev: 'after', someDelivered: true, fdsBackToBefore: true }], rust.stdout);
});
