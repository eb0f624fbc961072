'use strict';
const { test } = require('node:test');
const { agree } = require('./helpers/oracle');

for (const mode of ['both', 'process']) {
  test(`the primary's liveness after unref() of the worker's ${mode === 'both' ? 'process and channel' : 'process only'}`, async (t) => {
    await agree(t, 'unref.js', { args: [mode] });
  });
}
