'use strict';

// Worker program of examples/setup-primary-message.js (the tutorial's
// "child.js"): prints each message from the primary and answers it.

process.on('message', function (m, setHandle) {
  console.log('worker received a message:', m);
  process.send({
    age: 9,
  });
});
