'use strict';
// HTTP load generator for tests that prove "no request fails during a reload" (node:http only).
//
//   const load = startLoad({ port, host: '127.0.0.1', fresh: 4, keepAlive: 4, path: '/' });
//   const report = await load.stop();
//   // { ok, failed, retried, failures: [{ kind, code, message }] (first 20), byPid: { [pid]: n } }
//
// `fresh` loops send each request on a new connection (agent: false, Connection: close);
// `keepAlive` loops share one http.Agent({ keepAlive: true, maxSockets: keepAlive }). Each loop
// sends its next request as soon as the previous one is settled. A request is ok only when the
// status is 200 and the whole body has been read; the body is the app's JSON `{"pid": <pid>}`,
// counted in byPid ('?' when the body has no pid). Anything else (an error, another status, no
// answer within 10 s) is a failure, with one exception, the race Node's docs describe under
// `request.reusedSocket`: the server closed an idle keep-alive socket just as the agent reused
// it. A keep-alive request that fails with ECONNRESET, EPIPE or 'socket hang up' on a reused
// socket, before any response arrived, is retried once on a new connection (counted in
// `retried`; if the retry fails too, it counts in `failed`). A response cut off mid-body is a
// failure: the server had taken the request. Fresh-connection requests are never retried.
// stop() stops issuing, waits for the requests in flight, and destroys the agent.

const http = require('node:http');

const TIMEOUT_MS = 10000;
const MAX_FAILURES = 20;
const RETRIABLE_CODES = new Set(['ECONNRESET', 'EPIPE']);

// One request; resolves (never rejects) to { ok: true, pid } or { ok: false, code, message, retriable }.
function request(options) {
  return new Promise((resolve) => {
    let settled = false;
    let responded = false;
    let req = null;
    const finish = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const fail = (err) => finish({
      ok: false,
      code: err.code || 'ERROR',
      message: err.message,
      retriable: !responded && req !== null && req.reusedSocket === true &&
        (RETRIABLE_CODES.has(err.code) || err.message === 'socket hang up'),
    });
    const timer = setTimeout(() => {
      const err = new Error(`no complete response within ${TIMEOUT_MS} ms`);
      err.code = 'ETIMEDOUT';
      fail(err);
      if (req) req.destroy();
    }, TIMEOUT_MS);
    req = http.request(options, (res) => {
      responded = true;
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(Object.assign(new Error('response closed before its end'), { code: 'ECONNRESET' }));
      });
      res.on('end', () => {
        if (res.statusCode !== 200) {
          finish({ ok: false, code: `HTTP_${res.statusCode}`, message: `status ${res.statusCode}`, retriable: false });
          return;
        }
        let pid;
        try {
          pid = JSON.parse(Buffer.concat(chunks).toString('utf8')).pid;
        } catch {}
        finish({ ok: true, pid: pid === undefined || pid === null ? '?' : String(pid) });
      });
    });
    req.on('error', fail);
    req.end();
  });
}

function startLoad({ port, host = '127.0.0.1', fresh = 4, keepAlive = 4, path = '/' } = {}) {
  if (!Number.isInteger(port) || port <= 0) throw new TypeError(`startLoad: bad port ${port}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(1, keepAlive) });
  const base = { host, port, path, method: 'GET' };
  const freshOptions = { ...base, agent: false, headers: { connection: 'close' } };
  const keepAliveOptions = { ...base, agent };
  const report = { ok: 0, failed: 0, retried: 0, failures: [], byPid: {} };
  let stopping = false;

  function record(kind, result) {
    if (result.ok) {
      report.ok++;
      report.byPid[result.pid] = (report.byPid[result.pid] || 0) + 1;
      return;
    }
    report.failed++;
    if (report.failures.length < MAX_FAILURES) {
      report.failures.push({ kind, code: result.code, message: result.message });
    }
  }

  async function loop(kind, options) {
    while (!stopping) {
      let result = await request(options);
      if (!result.ok && result.retriable) {
        report.retried++;
        result = await request(freshOptions);
      }
      record(kind, result);
    }
  }

  const loops = [];
  for (let i = 0; i < fresh; i++) loops.push(loop('fresh', freshOptions));
  for (let i = 0; i < keepAlive; i++) loops.push(loop('keepAlive', keepAliveOptions));

  let stopped = null;
  function stop() {
    if (stopped) return stopped;
    stopping = true;
    stopped = Promise.all(loops).then(() => {
      agent.destroy();
      return {
        ok: report.ok,
        failed: report.failed,
        retried: report.retried,
        failures: report.failures.slice(),
        byPid: { ...report.byPid },
      };
    });
    return stopped;
  }

  return { stop };
}

module.exports = { startLoad };
