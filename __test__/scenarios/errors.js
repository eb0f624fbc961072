'use strict';
// Errors users act on: class, code and message of what send(), kill() and fork() throw for bad
// arguments and settings, compared with Node's word for word.
const { cluster, obs, safety } = require('../helpers/observe');

safety(8000);
if (cluster.isPrimary) {
  const caught = (label, fn) => {
    try {
      fn();
      obs('no throw', { label });
    } catch (e) {
      obs('threw', { label, name: e.name, code: e.code, message: e.message });
    }
  };
  const w = cluster.fork();
  w.on('online', () => {
    caught('send(Symbol)', () => w.send(Symbol('s')));
    caught('send(function)', () => w.send(function named() {}));
    caught('send(1n)', () => w.send(5n));
    caught('send(x, null, "opts")', () => w.send('x', null, 'opts'));
    caught('send(x, {})', () => w.send('x', {}));
    caught('send(x, null, [])', () => w.send('x', null, []));
    caught('kill(bad signal)', () => w.process.kill('SIGNOPE'));
    // Node's rule for signals: a signal's number, or its name in any case; anything else throws.
    for (const sig of [999, -1, 1.5, null, {}, [], true, '', '9', 'SIGKILL ']) {
      caught(`kill(${JSON.stringify(sig)})`, () => w.process.kill(sig));
    }
    const settings = [
      ['uid string', { uid: 'x' }], ['uid fraction', { uid: 1.5 }], ['gid big', { gid: 2 ** 40 }],
      ['cwd number', { cwd: 5 }], ['serialization', { serialization: 'xml' }],
      ['stdio without ipc', { stdio: ['pipe', 'pipe', 'pipe'] }], ['stdio bogus string', { stdio: 'bogus' }],
      ['two ipc', { stdio: ['pipe', 'ipc', 'pipe', 'ipc'] }], ['exec number', { exec: 42 }],
      ['args not array', { args: 'a b' }],
      ['stdio string entry', { stdio: [0, 1, 'bogus', 'ipc'] }], ['stdio Buffer entry', { stdio: [0, 1, Buffer.from('x'), 'ipc'] }],
      ['NUL in cwd', { cwd: '/tmp\u0000x' }], ['NUL in exec', { exec: '/tmp/a\u0000b' }],
      ['NUL in execArgv', { execArgv: ['--x\u0000'] }], ['NUL in args', { args: ['a', 'b\u0000'] }],
      ['execArgv a string', { execArgv: 'abc' }], ['execArgv a number', { execArgv: 5 }],
      ['windowsHide a string', { windowsHide: 'x' }], ['uid a BigInt', { uid: 1n }],
    ];
    for (const [label, s] of settings) {
      cluster.setupPrimary(s);
      caught(label, () => cluster.fork());
      cluster.setupPrimary({ uid: undefined, gid: undefined, cwd: undefined, serialization: undefined,
        stdio: undefined, exec: process.argv[1], args: [], execArgv: [], windowsHide: undefined });
    }
    caught('NUL in an env value', () => cluster.fork({ A_NUL: 'x\u0000y' }));
    caught('NUL in an env key', () => cluster.fork({ 'B\u0000': 'x' }));
    // A signal name in lower case is a signal; a bad one still throws once the worker is gone.
    w.on('exit', (code, signal) => {
      obs('exit', { code, signal });
      caught('kill(bad signal) after exit', () => w.process.kill('SIGNOPE'));
      caught('worker.kill(999) after exit', () => w.kill(999));
      obs('kill() after exit', { ret: w.process.kill() });
    });
    obs('kill(sigterm)', { ret: w.process.kill('sigterm') });
  });
}
