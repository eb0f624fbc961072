'use strict';

// Runs every program in examples/ twice, as real processes talking over
// loopback:
//   - under the oracle: Node's built-in cluster, with
//     __test__/helpers/alias-cluster.js preloaded (through NODE_OPTIONS, so
//     process.execArgv and cluster.settings stay the same as in a plain run;
//     the workers inherit it through the environment),
//   - under rust-cluster: plain `node examples/<name>.js`, where
//     require('rust-cluster') resolves to this package by self-reference.
// Each run must exit 0 by itself (within RUN_TIMEOUT_MS), leave no process of
// its process group behind, print the example's key lines (e.g. every HTTP
// request answered), and the rust-cluster run must print the same lines as
// the oracle run (compared as sorted multisets, since workers write
// concurrently, after normalizing pids and ports).
//
// Ports: every run gets its own block of ports through env PORT (from
// PORT_BASE up), so examples and both sides run concurrently without
// clashing.

const { describe, it } = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const examplesDir = path.join(root, 'examples');
const aliasHelper = path.join(__dirname, 'helpers', 'alias-cluster.js');

const CPUS = os.cpus().length; // what most examples use, like the seeds
const PARALLELISM = os.availableParallelism(); // what demo.js uses
const PORT_BASE = 23100; // below Linux's ephemeral range (32768+)
const RUN_TIMEOUT_MS = 20_000;
const CONCURRENCY = Math.max(4, 2 * PARALLELISM);

const times = (n, text) => Array.from({ length: n }, () => text);

// Key lines per example, checked (after normalization) on every run.
// `lines`: exact lines that must each appear exactly as many times as listed.
// `count`: [regex, n] pairs: the number of matching lines must be n.
// `stderr`: same for stderr (otherwise stderr must be empty).
const EXAMPLES = [
  {
    name: 'http-server-per-cpu',
    lines: ['Primary (pid <PID>) is running', 'all workers disconnected'],
    count: [
      [/^Worker \(pid <PID>\) started$/, CPUS],
      [/^answer \d+: hello world$/, 2 * CPUS],
      [/^worker \(pid <PID>\) died$/, CPUS],
    ],
  },
  {
    name: 'message-counting',
    lines: [`numReqs = ${3 * CPUS}`, 'all workers disconnected'],
    count: [[/^request \d+ answered: hello world$/, 3 * CPUS]],
  },
  {
    name: 'worker-send-echo',
    lines: [
      'primary got echo: "hi there"',
      'primary got echo: {"greeting":"hello","nested":{"list":[1,2,3]}}',
      'primary got echo: 42',
      'primary got echo: ["a","b"]',
      'primary got echo: "bye"',
      'worker exited: code=0 signal=null',
    ],
  },
  {
    name: 'exited-after-disconnect',
    lines: [
      'worker #1 (disconnect): exitedAfterDisconnect before exit = undefined',
      'worker #1 (disconnect) exited gracefully',
      "cluster 'exit': worker #1 left voluntarily, no need to worry",
      'worker #2 (kill): exitedAfterDisconnect before exit = undefined',
      'worker #2 (kill) crashed or was killed',
      "cluster 'exit': worker #2 exited unexpectedly (code=null, signal=SIGTERM)",
      'worker #3 (crash): exitedAfterDisconnect before exit = undefined',
      'worker #3 (crash) crashed or was killed',
      "cluster 'exit': worker #3 exited unexpectedly (code=1, signal=null)",
    ],
  },
  {
    name: 'worker-process-exit-codes',
    lines: [
      "worker #1 got a message from the primary: { msg: 'Hello from primary' }",
      "worker #2 got a message from the primary: { msg: 'Hello from primary' }",
      "worker #3 got a message from the primary: { msg: 'Hello from primary' }",
      '[disconnect] HTTP answer: Hello World',
      '[disconnect] worker success!',
      '[disconnect] worker process exited successfully',
      '[exit 3] worker exited with error code: 3',
      '[exit 3] worker process exited with code 3',
      '[SIGKILL] worker was killed by signal: SIGKILL',
      '[SIGKILL] worker process was killed by signal SIGKILL',
    ],
  },
  {
    name: 'silent-stdout',
    lines: [
      'worker.process.stdout is piped: true',
      "received from the worker's stdout: request for /first handled in worker 1",
      "received from the worker's stdout: request for /second handled in worker 1",
      'HTTP answer for /first: request handled in worker 1; result computed in worker 1 = 499999500000',
      'HTTP answer for /second: request handled in worker 1; result computed in worker 1 = 499999500000',
      'worker exited: code=0 signal=null',
    ],
  },
  {
    name: 'worker-kill-exit',
    lines: [
      'HTTP answer: hello',
      'received a request from a client, target path: /kill-me',
      "[Arguments] { '0': null, '1': 'SIGTERM' }",
      'worker 1 exited abnormally, exit code null',
      'the exit signal is SIGTERM',
    ],
  },
  {
    name: 'worker-disconnect-silent',
    // Node's primary can still be writing to the worker when the worker closes its channel;
    // the write fails with EPIPE and Node emits it as the worker's 'error' (seen on Node 24).
    // rust-cluster reports that race as the ordinary disconnect (README, "What rust-cluster
    // adds or does differently"), so this line is dropped from the oracle's output only.
    oracleRaces: ["worker 'error' event: EPIPE"],
    lines: [
      'HTTP answer: hello',
      'received a request from a client, target path: /disconnect-me',
      'worker 1 disconnected',
      'worker 1 exited normally',
    ],
  },
  {
    name: 'disconnect-timeout-kill',
    lines: [
      'client: connected to worker #1',
      'primary: asked the worker to shut down and disconnect',
      'worker: got shutdown',
      'primary: no disconnect within 2000 ms, killing the worker',
      'client: connection closed',
      'primary: worker disconnected',
      'primary: worker exited: code=null signal=SIGTERM exitedAfterDisconnect=true',
    ],
  },
  {
    name: 'socket-handoff',
    lines: [
      'client 1: reply from the worker: socket',
      'client 2: the client request was handled in the primary',
      'client 3: reply from the worker: socket',
      'client 4: the client request was handled in the primary',
      ...times(2, 'telling the primary that the worker handled a connection'),
      'primary: server closed',
      'worker exited: code=0 signal=null',
    ],
  },
  {
    name: 'setup-primary-message',
    lines: ["worker received a message: { name: 'zfpx' }", 'primary received a message: { age: 9 }'],
  },
  {
    name: 'setup-primary-settings',
    lines: [
      'this code runs in the primary',
      `cluster.settings: ${JSON.stringify({
        args: [],
        exec: path.join(examplesDir, 'workers', 'subtask.js'),
        execArgv: [],
        silent: false,
      })}`,
      'this code runs in the worker',
      'HTTP answer: ok',
      'worker exited: code=0 signal=null',
    ],
  },
  {
    name: 'setup-primary-args',
    lines: [
      "the second worker's stdout is piped: true",
      ...times(2, `'setup' event: args=["--use","https"] silent=true`),
      ...times(2, `'setup' event: args=["--use","http"] silent=true`),
      '[piped from worker #1] worker #1: started with args [--use https]',
      '[piped from worker #2] worker #2: started with args [--use http]',
      'worker #1 exited: code=0 signal=null',
      'worker #2 exited: code=0 signal=null',
    ],
  },
  {
    name: 'setup-primary-destructured',
    count: [[/^worker #\d+ is running workers\/worker\.js$/, CPUS]],
  },
  {
    name: 'worker-is-dead',
    lines: ['Primary (pid <PID>) is running', `all ${CPUS} workers are dead`],
    count: [
      [/^worker is dead: false$/, CPUS],
      [/^worker is dead: true$/, CPUS],
      [/^answer \d+: Current process pid <PID>$/, CPUS],
      [/^worker #\d+ exited: code=null signal=SIGTERM$/, CPUS],
    ],
  },
  {
    name: 'restart-on-exit',
    lines: ['worker #1 is online', 'worker #2 is online', 'worker #3 is online', 'worker #4 is online'],
    count: [
      [/^worker \(pid <PID>\) died \(1\)\. restarting\.\.\.$/, 3],
      [/^worker \(pid <PID>\) died \(1\)\. giving up after 3 restarts$/, 1],
    ],
  },
  {
    name: 'fork-listening-timeout',
    lines: ['primary: worker #1 is listening on port <PORT>', 'primary: all workers disconnected'],
    stderr: [
      'Something must be wrong with the connection ... (worker #2: not listening after 2000 ms)',
      'Something must be wrong with the connection ... (worker #1: exited with code 0)',
      'Something must be wrong with the connection ... (worker #2: exited with code 0)',
    ],
  },
  {
    name: 'listening-event',
    lines: ['this code runs in the primary', 'got the online message of worker #1', 'HTTP answer: hello', 'this code runs in the worker'],
    count: [
      [/^A worker is now connected to .+:<PORT>$/, 1],
      [/^address type: (4|6)$/, 1],
    ],
  },
  {
    name: 'online-event',
    lines: [
      'primary (pid <PID>) is running',
      'this code runs in the primary',
      "'fork': worker #1 was forked",
      'worker #1 (pid <PID>) is online',
      'Yay, the worker responded after it was forked',
      'worker (pid <PID>) started',
      'HTTP answer: ok',
      'this code runs in the worker',
    ],
  },
  {
    name: 'worker-ids',
    lines: [
      'I am the primary',
      'cluster.worker in the primary: undefined',
      'cluster.workers[1]: id=1 pid <PID> connected=true dead=false',
      'cluster.workers[2]: id=2 pid <PID> connected=true dead=false',
      'I am worker #1',
      'I am worker #2',
      ...times(2, 'cluster.workers in a worker: undefined'),
      'worker #1 exited (code=0); still in cluster.workers: false',
      'worker #2 exited (code=0); still in cluster.workers: false',
    ],
  },
  {
    name: 'broadcast-to-workers',
    lines: ['all workers disconnected'],
    count: [[/^worker #\d+ answered: got "big announcement to all workers"$/, CPUS]],
  },
  {
    name: 'worker-lookup-by-id',
    lines: [
      'asked for worker 1: I am worker #1',
      'asked for worker 2: I am worker #2',
      'asked for worker 7: no worker with id 7',
      'all workers disconnected',
    ],
  },
  {
    name: 'cluster-events',
    lines: [
      ...times(2, "'setup': exec is this file"),
      "'fork': worker 1 was forked",
      "'online': got worker #1's online message",
      `'message': worker #1 says {"hello":"from the worker","listening":<PORT>}; handle: undefined`,
      "'listening': a worker is now connected to 127.0.0.1:<PORT> (addressType 4)",
      "'disconnect': the worker #1 has disconnected",
      "'exit': worker #1 exited with code 0, signal null",
    ],
  },
  {
    name: 'worker-send-callback',
    lines: [
      'message sent',
      "primary received: { msg: 'reply from the worker' }",
      "worker received: { msg: 'message from the primary' }",
      'sending after the disconnect: ERR_IPC_CHANNEL_CLOSED',
    ],
  },
  {
    name: 'worker-process-disconnect',
    lines: [
      'HTTP answer: Hello World',
      'the worker has disconnected',
      'the worker exited: code=0 signal=null exitedAfterDisconnect=false',
    ],
  },
  {
    name: 'http-shared-port',
    lines: ['all workers disconnected'],
    count: [
      [/^worker process \(pid <PID>\) started$/, CPUS],
      [/^answer \d+: worker process \(pid <PID>\) handled the request$/, 2 * CPUS],
    ],
  },
  {
    name: 'server-in-worker',
    lines: ['this code runs in the primary', 'HTTP answer: hello', 'this code runs in the worker'],
  },
  {
    name: 'round-robin-workers',
    lines: [
      'scheduling policy: SCHED_RR',
      'worker 1 handled 3 requests',
      'worker 2 handled 3 requests',
      'requests alternated between the workers: true',
      'all workers disconnected',
    ],
    count: [[/^answer \d: the client request was handled in worker N; result computed in worker N = 499999500000$/, 6]],
  },
  {
    name: 'demo',
    lines: [
      `primary (pid <PID>): forking ${PARALLELISM} workers`,
      `all ${PARALLELISM} workers answered: true`,
      'all workers disconnected; the primary exits',
    ],
    count: [
      [/^worker #\d+ is listening on port <PORT>$/, PARALLELISM],
      [new RegExp(`^worker #\\d+ answered 2 of ${2 * PARALLELISM} requests$`), PARALLELISM],
      [/^worker #\d+ exited \(code 0\)$/, PARALLELISM],
    ],
  },
];

// Port blocks: [oracle ports][rust-cluster ports] per example, in order.
{
  let next = PORT_BASE;
  for (const example of EXAMPLES) {
    const n = example.ports || 1;
    example.oraclePort = next;
    example.rustPort = next + n;
    next += 2 * n;
  }
}

function normalize(text, basePort, nPorts) {
  let out = text.replace(/\bpid (\d+)/g, 'pid <PID>');
  // Highest ports first, so that e.g. 23110 is not partly replaced by 2311.
  for (let k = nPorts - 1; k >= 0; k--) {
    out = out.replace(new RegExp(`\\b${basePort + k}\\b`, 'g'), k === 0 ? '<PORT>' : `<PORT+${k}>`);
  }
  return out.split('\n').map((line) => line.replace(/\s+$/, '')).filter((line) => line !== '');
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

// Run one example; resolves with its exit status and normalized output.
function runExample(example, side) {
  const port = side === 'oracle' ? example.oraclePort : example.rustPort;
  const env = { ...process.env, PORT: String(port) };
  delete env.NODE_TEST_CONTEXT; // set by `node --test`; not for the examples
  if (side === 'oracle') {
    env.NODE_OPTIONS = `${env.NODE_OPTIONS || ''} --require ${JSON.stringify(aliasHelper)}`.trim();
    env.RUST_CLUSTER_ALIAS_LOG = '1';
  } else {
    delete env.RUST_CLUSTER_ALIAS_LOG;
  }
  return new Promise((resolve) => {
    const started = Date.now();
    // Own process group, so that stray workers can be found and killed.
    const child = spawn(process.execPath, [path.join(examplesDir, `${example.name}.js`)], {
      cwd: root,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch {}
    }, RUN_TIMEOUT_MS);
    child.on('close', async (code, signal) => {
      clearTimeout(timer);
      const elapsed = Date.now() - started;
      // Wait briefly for the group to empty (workers losing their primary
      // exit on their own), then kill whatever is left and report it.
      let strays = false;
      for (let i = 0; i < 40 && groupAlive(child.pid); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      if (groupAlive(child.pid)) {
        strays = true;
        try { process.kill(-child.pid, 'SIGKILL'); } catch {}
      }
      const aliasLine = `[alias-cluster] pid ${child.pid}: 'rust-cluster' -> 'cluster'`;
      const stderrLines = stderr.split('\n');
      resolve({
        side,
        code,
        signal,
        timedOut,
        strays,
        elapsed,
        aliased: stderrLines.includes(aliasLine),
        rawStdout: stdout,
        rawStderr: stderr,
        stdout: normalize(stdout, port, example.ports || 1),
        stderr: normalize(
          stderrLines.filter((l) => !l.startsWith('[alias-cluster] ')).join('\n'),
          port,
          example.ports || 1,
        ),
      });
    });
  });
}

const memo = new Map();
function run(example, side) {
  const key = `${example.name}:${side}`;
  if (!memo.has(key)) memo.set(key, runExample(example, side));
  return memo.get(key);
}

function describeRun(r) {
  return `--- ${r.side}: exit code ${r.code}, signal ${r.signal}, ${r.elapsed} ms` +
    `${r.timedOut ? ' (TIMED OUT)' : ''}${r.strays ? ' (STRAY PROCESSES)' : ''}\n` +
    `--- stdout:\n${r.rawStdout}--- stderr:\n${r.rawStderr}`;
}

function countOf(lines, wanted) {
  return lines.filter((l) => l === wanted).length;
}

// The checks every run must pass, whatever the implementation.
function checkRun(example, r) {
  const info = describeRun(r);
  assert.ok(!r.timedOut, `did not end within ${RUN_TIMEOUT_MS} ms\n${info}`);
  assert.strictEqual(r.signal, null, `killed by a signal\n${info}`);
  assert.strictEqual(r.code, 0, `exit code\n${info}`);
  assert.ok(!r.strays, `processes of the run were still alive after the primary exited\n${info}`);
  if (r.side === 'oracle') {
    assert.ok(r.aliased, `the oracle run did not load Node's cluster through the alias\n${info}`);
  }
  const expectLines = (want, got, stream) => {
    const wanted = new Map();
    for (const line of want) wanted.set(line, (wanted.get(line) || 0) + 1);
    for (const [line, n] of wanted) {
      assert.strictEqual(countOf(got, line), n, `${stream}: expected ${n} x ${JSON.stringify(line)}\n${info}`);
    }
  };
  expectLines(example.lines || [], r.stdout, 'stdout');
  for (const [re, n] of example.count || []) {
    assert.strictEqual(r.stdout.filter((l) => re.test(l)).length, n, `stdout: expected ${n} lines matching ${re}\n${info}`);
  }
  if (example.stderr) {
    expectLines(example.stderr, r.stderr, 'stderr');
    assert.strictEqual(r.stderr.length, example.stderr.length, `stderr: unexpected lines\n${info}`);
  } else {
    assert.deepStrictEqual(r.stderr, [], `stderr: expected nothing\n${info}`);
  }
}

const sorted = (lines) => [...lines].sort();

describe('examples', { concurrency: CONCURRENCY }, () => {
  for (const example of EXAMPLES) {
    it(`${example.name}: runs under the oracle (node:cluster via the alias)`, async () => {
      checkRun(example, await run(example, 'oracle'));
    });

    it(`${example.name}: runs under rust-cluster and prints what the oracle prints`, async () => {
      const [oracle, rust] = await Promise.all([run(example, 'oracle'), run(example, 'rust')]);
      checkRun(example, rust);
      const info = `${describeRun(oracle)}\n${describeRun(rust)}`;
      const oracleOut = oracle.stdout.filter((l) => !(example.oracleRaces || []).includes(l));
      assert.deepStrictEqual(sorted(rust.stdout), sorted(oracleOut), `stdout differs from the oracle\n${info}`);
      assert.deepStrictEqual(sorted(rust.stderr), sorted(oracle.stderr), `stderr differs from the oracle\n${info}`);
      assert.strictEqual(rust.code, oracle.code, `exit code differs from the oracle\n${info}`);
    });
  }
});

// Every example file is listed above, and every listed example exists.
it('every example in examples/ is covered by this test', () => {
  const fs = require('node:fs');
  const files = fs.readdirSync(examplesDir).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)).sort();
  assert.deepStrictEqual(files, EXAMPLES.map((e) => e.name).sort());
});
