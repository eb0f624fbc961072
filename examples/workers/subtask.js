'use strict';

// Worker program of examples/setup-primary-settings.js (the tutorial's
// "subtask.js"): a small HTTP server on env PORT (default 8080).

const http = require('http');

const PORT = Number(process.env.PORT) || 8080;

http.createServer(function (req, res) {
  if (req.url !== '/favicon.ico') {
    res.writeHead(200);
    res.end('ok');
    console.log('this code runs in the worker');
  }
}).listen(PORT);
