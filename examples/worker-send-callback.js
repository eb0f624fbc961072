'use strict';

// From the "Worker object" tutorial (worker.send() with a callback): the
// primary sends the worker a message and its callback reports whether the
// message was sent; the worker prints it and replies with process.send().
//
// The original never ends (the worker keeps waiting for messages). By
// default this version also prints the worker's reply in the primary, then
// disconnects the worker and exits; and it shows the callback's error once
// the worker is gone (sending to a disconnected worker fails).
// `--forever` behaves like the original.

const cluster = require('rust-cluster');

const FOREVER = process.argv.includes('--forever');

if (cluster.isMaster) {
  const worker = cluster.fork();

  // Send a message to the worker
  worker.send({ msg: 'message from the primary' }, (error) => {
    if (error) {
      console.error('failed to send the message', error);
    } else {
      console.log('message sent');
    }
  });

  if (!FOREVER) {
    worker.on('message', (msg) => {
      console.log('primary received:', msg);
      worker.disconnect();
    });
    worker.on('disconnect', () => {
      worker.send('too late', (error) => {
        console.log(`sending after the disconnect: ${error ? error.code : 'no error'}`);
      });
    });
    worker.on('error', (error) => console.log(`worker 'error' event: ${error.code}`));
  }
} else {
  process.on('message', (msg) => {
    console.log('worker received:', msg);
  });
  // Reply to the primary
  process.send({ msg: 'reply from the worker' });
}
