'use strict';
// The spawn request cluster.fork() builds from cluster.settings (lib/fork-options.js), checked as
// a plain function: the layout child_process.fork() would give the worker. Its errors are
// compared with node:cluster's in errors.test.js; these are the values that reach the engine.
const { test } = require('node:test');
const assert = require('node:assert');
const { spawnRequest } = require('../lib/fork-options.js');

const base = { args: ['a'], exec: '/app/worker.js', execArgv: ['--no-warnings'], silent: false };
const request = (settings, env = {}, id = 7) => spawnRequest({ settings: { ...base, ...settings } }, id, env);

test('argv is node, execArgv, the script, then its arguments', () => {
  const r = request({});
  assert.deepStrictEqual(r.argv, [process.execPath, '--no-warnings', '/app/worker.js', 'a']);
  assert.strictEqual(r.file, process.execPath);
});

test('the environment: the primary\'s, the fork env, the worker id, then the channel variables last', () => {
  const r = request({}, { EXTRA: 'x', GONE: undefined }, 3);
  const env = new Map(r.envPairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
  assert.strictEqual(env.get('EXTRA'), 'x');
  assert.strictEqual(env.has('GONE'), false);
  assert.strictEqual(env.get('NODE_UNIQUE_ID'), '3');
  assert.deepStrictEqual(r.envPairs.slice(-2), ['NODE_CHANNEL_FD=3', 'NODE_CHANNEL_SERIALIZATION_MODE=json']);
  assert.strictEqual(env.get('PATH'), process.env.PATH);
});

test('stdio: inherited by default, pipes when silent, an array padded to three in place', () => {
  assert.deepStrictEqual(request({}).stdio, [0, 1, 2, 'ipc']);
  assert.deepStrictEqual(request({ silent: true }).stdio, ['pipe', 'pipe', 'pipe', 'ipc']);
  const stdio = ['ipc'];
  const r = request({ stdio });
  assert.deepStrictEqual(r.stdio, ['ipc', 'pipe', 'pipe']);
  assert.strictEqual(stdio.length, 3, 'Node pads the settings\' own array');
  assert.ok(r.envPairs.includes('NODE_CHANNEL_FD=0'));
  assert.deepStrictEqual(request({ stdio: ['ignore', 'inherit', -1, 'ipc', null] }).stdio, ['ignore', 1, 'pipe', 'ipc', 'ignore']);
});

test('cwd: an empty one is the primary\'s; a URL is a path', () => {
  assert.strictEqual(request({ cwd: '' }).cwd, undefined);
  assert.strictEqual(request({ cwd: new URL('file:///srv/app') }).cwd, '/srv/app');
});

test('the inspector: each worker gets the next port after the primary\'s, or the one given', () => {
  const first = request({ execArgv: ['--inspect'] }).argv[2];
  const second = request({ execArgv: ['--inspect'] }).argv[2];
  assert.match(first, /^--inspect-port=\d+$/);
  assert.strictEqual(Number(second.split('=')[1]), Number(first.split('=')[1]) + 1);
  assert.strictEqual(request({ execArgv: ['--inspect'], inspectPort: 9300 }).argv[2], '--inspect-port=9300');
  assert.strictEqual(request({ execArgv: ['--inspect'], inspectPort: () => 9301 }).argv[2], '--inspect-port=9301');
});

test('serialization and maxMessageBytes', () => {
  const r = request({ serialization: 'advanced', maxMessageBytes: 4096 });
  assert.strictEqual(r.serialization, 'advanced');
  assert.strictEqual(r.maxMessageBytes, 4096);
  assert.ok(r.envPairs.includes('NODE_CHANNEL_SERIALIZATION_MODE=advanced'));
  assert.strictEqual(request({}).maxMessageBytes, 536870888);
  assert.throws(() => request({ maxMessageBytes: 0 }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => request({ maxMessageBytes: '1' }), { code: 'ERR_INVALID_ARG_TYPE' });
});
