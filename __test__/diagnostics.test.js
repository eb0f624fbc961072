'use strict';
const { test } = require('node:test');
const { agree } = require('./helpers/oracle');

test('fork() publishes the worker process on the child_process diagnostics channel', async (t) => {
  await agree(t, 'diagnostics.js');
});
