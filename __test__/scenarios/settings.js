'use strict';
// cluster.settings and setupPrimary()/setupMaster(): defaults, cumulative
// merging, 'setup' on every call and every fork, args/exec/execArgv/cwd
// reaching the worker, and settings assigned directly (as process managers
// do) before fork().
// Cases (argv[2]): defaults, merge, exec, assign, cwd, cwd_empty, cwd_relative_exec
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { once } = require('node:events');
const { cluster, obs, safety } = require('../helpers/observe');

const mode = process.argv[2];
const FIXTURE = path.join(__dirname, 'fixtures', 'argv-worker.js');
safety();

if (cluster.isPrimary) {
  let setups = 0;
  cluster.on('setup', (settings, ...rest) => {
    obs('C.setup', { n: ++setups, argc: 1 + rest.length, settings, isCurrent: settings === cluster.settings });
  });
  cluster.on('fork', (w) => obs('C.fork', { id: w.id }));
  const show = (label) => obs('settings', { label, settings: cluster.settings });

  // Fork, wait for the worker's report, disconnect it, wait for its exit.
  async function run(env) {
    const w = cluster.fork(env);
    const [msg] = await once(w, 'message');
    obs('worker reported', { id: w.id, msg });
    w.disconnect();
    await once(w, 'exit');
  }

  (async () => {
    show('initial');
    switch (mode) {
      case 'defaults':
        await run();
        show('after fork');
        break;
      case 'merge':
        cluster.setupPrimary({ args: [mode, 'first'] });
        show('after setupPrimary(args)');
        cluster.setupPrimary({ execArgv: ['--no-deprecation'], silent: false });
        show('after setupPrimary(execArgv, silent)');
        cluster.setupMaster({ args: [mode, 'second'] });
        show('after setupMaster(args)');
        cluster.setupPrimary();
        show('after setupPrimary()');
        await run();
        show('after fork');
        break;
      case 'exec':
        cluster.setupPrimary({
          exec: FIXTURE,
          args: ['--flag', 'two words', '', 'ünï'],
          execArgv: ['--no-warnings', '--max-old-space-size=64'],
        });
        await run();
        break;
      case 'assign':
        // Process managers write into cluster.settings instead of calling
        // setupPrimary(); fork() keeps what they wrote.
        cluster.settings.execArgv = ['--no-deprecation'];
        cluster.settings.exec = FIXTURE;
        show('after assignment');
        await run();
        show('after first fork');
        cluster.settings.execArgv = ['--no-warnings'];
        cluster.settings.args = ['assigned'];
        await run();
        show('after second fork');
        break;
      case 'cwd': {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-cwd-'));
        cluster.setupPrimary({ cwd: dir });
        show('with cwd');
        await run({ RC_EXPECTED_CWD: dir });
        fs.rmSync(dir, { recursive: true });
        break;
      }
      case 'cwd_empty':
        // An empty cwd is the primary's own, as in Node (not a path that does not exist).
        cluster.setupPrimary({ cwd: '' });
        await run({ RC_EXPECTED_CWD: process.cwd() });
        break;
      case 'cwd_relative_exec':
        // A relative exec is resolved by the worker, against its cwd.
        cluster.setupPrimary({ cwd: path.dirname(FIXTURE), exec: './argv-worker.js' });
        await run();
        break;
      default:
        obs('unknown mode', { mode });
    }
  })();
} else {
  obs('started', {
    argv: process.argv, execArgv: process.execArgv, cwd: process.cwd(),
    cwdAsExpected: process.env.RC_EXPECTED_CWD === undefined ||
      process.cwd() === fs.realpathSync(process.env.RC_EXPECTED_CWD),
  });
  process.send('reported');
}
