'use strict';
const { test } = require('node:test');
const { agree } = require('./helpers/oracle');

test('bad arguments and settings throw the same errors as Node (class, code, message)', async (t) => {
  await agree(t, 'errors.js');
});
