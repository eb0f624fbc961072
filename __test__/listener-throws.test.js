'use strict';
const { test } = require('node:test');
const { agree } = require('./helpers/oracle');

test('a throwing message listener loses and repeats nothing', async (t) => {
  await agree(t, 'listener-throws.js');
});
