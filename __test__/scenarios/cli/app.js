'use strict';
// An app with no cluster code, as `rust-cluster run` runs it: HTTP on PORT answering {"pid"}
// after 0-50 ms. At start it writes LINES lines of 20,000 characters to stdout (to check that
// the runner never splits or mixes lines), and STUBBORN=1 keeps it alive after a disconnect.
// CRASH_MS=n exits with code 5 n ms after it starts; READY_MSG=1 sends 'ready' 2 s after it
// listens.
const http = require('node:http');
const client = process.env.PROM ? require('prom-client') : null;

const instance = process.env.NODE_APP_INSTANCE;
let counter = null;
if (client) {
  // Constructing the registry makes prom-client answer the primary's requests (its cluster mode).
  new client.AggregatorRegistry();
  counter = new client.Counter({ name: 'app_requests_total', help: 'Requests answered.' });
}
for (let i = 0; i < Number(process.env.LINES || 0); i++) {
  console.log(`${instance}:${i}:${String(instance).repeat(20000)}`);
}
console.error(`started ${instance}`);
http.createServer((req, res) => {
  req.resume();
  if (counter) counter.inc();
  setTimeout(() => res.end(JSON.stringify({ pid: process.pid })), Math.random() * 50);
}).listen(Number(process.env.PORT), '127.0.0.1', () => {
  if (process.env.READY_MSG) setTimeout(() => process.send('ready'), 2000);
});
if (process.env.STUBBORN) setInterval(() => {}, 1000);
if (process.env.CRASH_MS) setTimeout(() => process.exit(5), Number(process.env.CRASH_MS));
