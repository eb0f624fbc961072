'use strict';
// Makes `count` short TCP connections (connect, read the reply, close), `concurrency` at a time.
const net = require('net');

const [port, count, concurrency] = process.argv.slice(2).map(Number);
let started = 0;
let ok = 0;
let failed = 0;
const deadline = Date.now() + 120000;

function one() {
  if (started >= count || Date.now() > deadline) return maybeDone();
  started++;
  let got = '';
  const c = net.connect(port, '127.0.0.1');
  c.setEncoding('utf8');
  c.on('data', (d) => { got += d; });
  c.on('error', () => {});
  c.on('close', () => {
    if (got === 'ok') ok++; else failed++;
    one();
  });
}

let running = concurrency;
function maybeDone() {
  if (--running === 0) process.stdout.write(JSON.stringify({ ok, failed }));
}

for (let i = 0; i < concurrency; i++) one();
