'use strict';
const { test } = require('node:test');
const { agree } = require('./helpers/oracle');

test('a worker that exits during queryServer leaves nothing behind; the next one serves', async (t) => {
  await agree(t, 'exit-during-query.js');
});
