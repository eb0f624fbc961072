'use strict';
// The CLI's argument rules, as plain unit tests (the CLI itself is driven in cli.test.js).
const { test } = require('node:test');
const assert = require('node:assert');
const os = require('node:os');
const { parseCommandLine, instanceCount, size, CliError } = require('../lib/cli/args.js');

test('-i: a count, max, 0 (max as under PM2), or -N for that many fewer (at least one)', () => {
  const cpus = os.availableParallelism();
  assert.strictEqual(instanceCount(undefined), 1);
  assert.strictEqual(instanceCount('3'), 3);
  assert.strictEqual(instanceCount('max'), cpus);
  assert.strictEqual(instanceCount('0'), cpus);
  assert.strictEqual(instanceCount('-1'), Math.max(1, cpus - 1));
  assert.strictEqual(instanceCount(`-${cpus + 5}`), 1);
  assert.throws(() => instanceCount('many'), CliError);
  // "-i -1" reaches parseArgs joined, which otherwise refuses a value starting with a dash.
  assert.strictEqual(parseCommandLine(['run', 'app.js', '-i', '-1']).instances, Math.max(1, cpus - 1));
  assert.strictEqual(parseCommandLine(['run', 'app.js', '--instances', '2']).instances, 2);
});

test('sizes, timeouts and the script arguments after --', () => {
  assert.strictEqual(size('512M'), 512 * 1024 ** 2);
  assert.strictEqual(size('1g'), 1024 ** 3);
  assert.strictEqual(size('1.5K'), 1536);
  assert.strictEqual(size('4096'), 4096);
  assert.throws(() => size('lots'), /--max-memory|takes a size/);
  const opts = parseCommandLine(['run', 'server.mjs', '--max-memory', '256M', '--respawn', '--shutdown-timeout', '500',
    '--ready', 'message', '--metrics', '9100', '--policy', 'reuseport', '--', '--port', '80', 'x']);
  assert.deepStrictEqual(opts, {
    command: 'run', script: 'server.mjs', scriptArgs: ['--port', '80', 'x'], instances: 1, name: 'server',
    maxMemory: 256 * 1024 ** 2, respawn: true, shutdownTimeout: 500, readiness: 'message', logFormat: 'text',
    metrics: '9100', policy: 'reuseport',
  });
});

test('errors are one line with the exit code a shell expects', () => {
  const err = (argv) => {
    try {
      parseCommandLine(argv);
    } catch (e) {
      assert.ok(e instanceof CliError);
      assert.strictEqual(e.message.split('\n').length, 1, e.message);
      return [e.exitCode, e.message];
    }
    return null;
  };
  assert.deepStrictEqual(err(['run']), [2, err(['run'])[1]]);
  assert.match(err(['run', 'a.js', 'b.js'])[1], /pass the script's own arguments after --/);
  assert.match(err(['run', 'a.js', '--bogus'])[1], /^rust-cluster: Unknown option '--bogus'/);
  assert.match(err(['run', 'a.js', '--ready', 'soon'])[1], /--ready takes "message"/);
  assert.match(err(['run', 'a.js', '--metrics', 'x:y'])[1], /--metrics takes \[HOST:\]PORT/);
  assert.match(err(['run', 'a.js', '--name', 'a b'])[1], /--name may hold/);
  assert.match(err(['run', 'a.js', '--policy', 'kernel'])[1], /--policy takes rr, none or reuseport, not "kernel"/);
  assert.match(err(['scale', 'api'])[1], /rust-cluster scale NAME N/);
  assert.match(err(['reload', 'api', '--json'])[1], /--json and --watch go with status/);
  assert.deepStrictEqual(parseCommandLine(['status', '--json', '--watch']), {
    command: 'status', name: undefined, json: true, watch: true,
  });
});
