'use strict';
// listen({ fd }) in a worker means a descriptor of the primary's (docs/PROTOCOL.md §8.11), under both
// scheduling policies: the same events as Node's cluster, and clients answered by the workers.
const { test } = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const net = require('node:net');
const dgram = require('node:dgram');
const path = require('node:path');
const { normalize, summary } = require('./helpers/oracle');

function get(port) {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let body = '';
    c.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => resolve(body)).on('error', reject);
  });
}

async function run(impl, policy) {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  const env = { ...process.env, RC_IMPL: impl, NODE_CLUSTER_SCHED_POLICY: policy };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, [path.join(__dirname, 'scenarios', 'listen-fd.js')], {
    env, stdio: ['pipe', 'pipe', 'inherit', server._handle],
  });
  // The primary has its own copy now; this process stops accepting on it.
  server.close();
  const lines = [];
  let buffered = '';
  const ready = new Promise((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (d) => {
      buffered += d;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        if (line.ev === 'ready') resolve();
      }
    });
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
  await ready;
  const answers = [];
  for (let i = 0; i < 6; i++) answers.push(await get(port));
  child.stdin.end();
  const code = await new Promise((r) => child.on('exit', r));
  clearTimeout(timer);
  const listening = lines.filter((l) => l.ev === 'listening').map((l) => l.address).map((a) => normalize(a));
  const workerSide = lines.filter((l) => l.ev === 'worker listening').map(({ src, ...rest }) => rest);
  // Under SCHED_NONE the kernel picks the worker for each connection; only RR fixes the spread.
  const workersAnswering = policy === 'rr' ? new Set(answers).size : undefined;
  return { code, listening, workerSide, workersAnswering, answered: answers.filter((a) => /^worker \d$/.test(a)).length };
}

for (const policy of ['rr', 'none']) {
  test(`listen({ fd }) of the primary's descriptor (${policy})`, async () => {
    const [node, rust] = await Promise.all([run('node', policy), run('rust', policy)]);
    assert.strictEqual(node.code, 0);
    assert.strictEqual(node.answered, 6);
    assert.deepStrictEqual(rust, node);
  });
}

// dgram's bind({ fd }) in a worker: the primary's descriptor, shared with the worker, so the
// 'listening' event reports the socket's real port; descriptors of the wrong kind are refused.
function runUdp(impl) {
  return new Promise((resolve, reject) => {
    const udp = dgram.createSocket('udp4');
    const tcp = net.createServer();
    udp.bind(0, '127.0.0.1', () => tcp.listen(0, '127.0.0.1', () => {
      const env = { ...process.env, RC_IMPL: impl };
      delete env.NODE_OPTIONS;
      delete env.NODE_CLUSTER_SCHED_POLICY;
      // dgram keeps its handle under a symbol (its `_handle` alias is deprecated, DEP0112).
      const state = Object.getOwnPropertySymbols(udp).map((k) => udp[k]).find((v) => v && v.handle);
      const udpHandle = state.handle;
      const child = spawn(process.execPath, [path.join(__dirname, 'scenarios', 'listen-fd-udp.js')], {
        env, stdio: ['ignore', 'pipe', 'inherit', udpHandle, tcp._handle],
      });
      udp.close();
      tcp.close();
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
      const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve(summary({ code, signal, problems: [], streams: parseLines(stdout) }));
      });
    }));
  });
}

function parseLines(stdout) {
  const streams = {};
  for (const line of stdout.split('\n').filter(Boolean)) {
    const { src, ...rest } = JSON.parse(line);
    (streams[src] = streams[src] || []).push(rest);
  }
  return streams;
}

test("dgram bind({ fd }) of the primary's descriptor, and descriptors of the wrong kind", async () => {
  const [node, rust] = await Promise.all([runUdp('node'), runUdp('rust')]);
  assert.deepStrictEqual(node.exit, { code: 0, signal: null });
  assert.ok(node.streams.P.some((o) => o.ev === 'primary got'), JSON.stringify(node.streams));
  assert.deepStrictEqual(rust, node);
});
