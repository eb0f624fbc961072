'use strict';
// The worker script of the reload-under-load benchmark: a plain HTTP server, no cluster code.
// Each request is answered after a random 0-150 ms delay with 200 and `{"pid": <this pid>}`.
//
// Nothing handles SIGINT (what PM2 sends on reload) or the cluster 'disconnect': Node's defaults
// apply, since the benchmark compares the process managers, not the app. With READY_MESSAGE=1
// and an IPC channel, the worker sends 'ready' once it listens (PM2's --wait-ready).

const http = require('node:http');

const port = Number(process.env.PORT) || 3000;

const server = http.createServer((req, res) => {
  req.resume();
  setTimeout(() => {
    const body = JSON.stringify({ pid: process.pid });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }, Math.random() * 150);
});

server.listen(port, () => {
  if (process.send && process.env.READY_MESSAGE === '1') process.send('ready');
});
