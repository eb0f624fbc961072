'use strict';
// The worker of the supervision scenarios: an HTTP server on PORT answering `{"pid"}` after
// 0-150 ms. GET /grow keeps 200 MiB alive (for the memory limit). If the file named by
// MODE_FILE says 'crash', the worker exits with code 7 before it listens; 'hang', it never
// listens; 'ready', it sends the message 'ready' 300 ms after it listens.
const fs = require('node:fs');
const http = require('node:http');

let mode = '';
try { mode = fs.readFileSync(process.env.MODE_FILE, 'utf8').trim(); } catch {}
const kept = [];

if (mode === 'crash') {
  setTimeout(() => process.exit(7), 50);
} else if (mode !== 'hang') {
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/grow') {
      const b = Buffer.alloc(200 * 1024 * 1024, 1);
      kept.push(b);
    }
    setTimeout(() => {
      const body = JSON.stringify({ pid: process.pid });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    }, req.url === '/grow' ? 0 : Math.random() * 150);
  });
  server.listen(Number(process.env.PORT), '127.0.0.1', () => {
    if (mode === 'ready') setTimeout(() => process.send('ready'), 300);
  });
}
