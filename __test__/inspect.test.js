'use strict';
const { test } = require('node:test');
const { agree } = require('./helpers/oracle');

test('inspector ports for workers: default, number, function, string, bad values', async (t) => {
  await agree(t, 'inspect.js', { args: ['ports'], timeoutMs: 15000 });
});

test('--prof gets a per-process log file unless one is given', async (t) => {
  await agree(t, 'inspect.js', { args: ['prof'] });
});
