'use strict';
// A primary that drops its privileges between require() and fork() (process.setgid/setuid, as
// a server does after binding a low port), with the package where the new user cannot read it:
// everything the primary needs was loaded at require(), and the warden still starts.
const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { agreeMeasured } = require('./helpers/oracle');

const root = path.join(__dirname, '..');
const engine = fs.readdirSync(root).find((f) => /^rust-cluster\..*\.node$/.test(f));

const WORKER = `'use strict';
// Runs as the unprivileged user; nothing of rust-cluster is readable from here.
const cluster = require('node:cluster');
const obs = (ev, data = {}) => process.stdout.write(JSON.stringify({ src: 'W' + cluster.worker.id, ev, ...data }) + '\\n');
obs('worker', { uid: process.getuid() });
process.on('message', (m) => { obs('got', { m }); process.send(m + ' answered'); });
process.send('ready');
`;

test('privileges dropped after require(): fork() works and the warden starts', {
  skip: process.getuid() !== 0 && 'needs root to drop privileges',
}, async (t) => {
  // Only root can enter `locked` (mkdtemp makes it 0700): the package copy lives there.
  const locked = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-locked-'));
  const open = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-open-'));
  try {
    fs.cpSync(path.join(root, 'lib'), path.join(locked, 'lib'), { recursive: true });
    fs.copyFileSync(path.join(root, 'index.js'), path.join(locked, 'index.js'));
    fs.copyFileSync(path.join(root, engine), path.join(locked, engine));
    fs.chmodSync(open, 0o755);
    const worker = path.join(open, 'worker.js');
    fs.writeFileSync(worker, WORKER, { mode: 0o644 });
    const { measures } = await agreeMeasured(t, 'privilege-drop.js', { args: [worker], env: { RC_PACKAGE: locked } });
    assert.deepStrictEqual(measures, { oracle: { ev: 'measure', warden: false }, candidate: { ev: 'measure', warden: true } });
  } finally {
    fs.rmSync(locked, { recursive: true, force: true });
    fs.rmSync(open, { recursive: true, force: true });
  }
});
