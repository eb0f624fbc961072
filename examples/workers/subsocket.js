'use strict';

// Worker program of examples/socket-handoff.js (the tutorial's
// "22.subsocket.js"): answers every connection the primary hands over, then
// tells the primary about it.

process.on('message', function (msg, socket) {
  if (msg == 'socket') {
    socket.end('reply from the worker: ' + msg);
    process.send('telling the primary that the worker handled a connection');
  }
});
