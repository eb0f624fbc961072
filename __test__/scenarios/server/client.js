'use strict';
// A plain Node client process (no cluster) that the server-*.js scenarios
// spawn when the clients must not run in the primary. Prints one JSON line
// per report on stdout.
//   node server/client.js sequential <port> <durationMs> <timeoutMs>
//     HTTP GETs one after another for durationMs; prints {"started":true}
//     after the first answer, then {"requests":[{start,end,ok,err}]}.
//   node server/client.js many <port> <count> <concurrency> <timeoutMs>
//     <count> short TCP connections (send a line, read the answer to EOF),
//     <concurrency> at a time; prints {"ok","failed","errors"}.
const http = require('node:http');
const net = require('node:net');

const [mode, portArg, a, b, c] = process.argv.slice(2);
const port = Number(portArg);
const hardStop = setTimeout(() => {
  process.stdout.write(JSON.stringify({ hardStop: true }) + '\n');
  process.exit(3);
}, 30000);

function get(timeoutMs) {
  return new Promise((resolve) => {
    const start = Date.now();
    let done = false;
    const finish = (ok, err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ start, end: Date.now(), ok, err });
    };
    const req = http.get({ host: '127.0.0.1', port, path: '/x', agent: false }, (res) => {
      res.resume();
      res.on('end', () => finish(res.statusCode === 200));
      res.on('error', (e) => finish(false, e.code));
    });
    req.on('error', (e) => finish(false, e.code || e.message));
    const timer = setTimeout(() => finish(false, 'TIMEOUT'), timeoutMs);
  });
}

function connectOnce(timeoutMs) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let data = '';
    const timer = setTimeout(() => { s.destroy(); resolve('TIMEOUT'); }, timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => s.write('x\n'));
    s.on('data', (d) => { data += d; });
    s.on('end', () => { clearTimeout(timer); s.destroy(); resolve(data.length > 0 ? 'ok' : 'EMPTY'); });
    s.on('error', (e) => { clearTimeout(timer); resolve(e.code || e.message); });
  });
}

async function sequential(durationMs, timeoutMs) {
  const until = Date.now() + durationMs;
  const requests = [];
  let said = false;
  while (Date.now() < until && requests.length < 100000) {
    const r = await get(timeoutMs);
    requests.push(r);
    if (r.ok && !said) {
      said = true;
      process.stdout.write(JSON.stringify({ started: true }) + '\n');
    }
  }
  process.stdout.write(JSON.stringify({ requests }) + '\n');
}

async function many(count, concurrency, timeoutMs) {
  let next = 0;
  let ok = 0;
  const errors = {};
  const lane = async () => {
    while (next < count) {
      next++;
      const r = await connectOnce(timeoutMs);
      if (r === 'ok') ok++;
      else errors[r] = (errors[r] || 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  process.stdout.write(JSON.stringify({ ok, failed: count - ok, errors }) + '\n');
}

(mode === 'sequential' ? sequential(Number(a), Number(b)) : many(Number(a), Number(b), Number(c)))
  .then(() => clearTimeout(hardStop));
