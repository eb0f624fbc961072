'use strict';
// A primary that drops its privileges between require() and fork() (process.setgid/setuid, as
// a server does after binding a low port), with the package where the new user cannot read it:
// everything the primary needs was loaded at require(), and the warden still starts.
const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
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

// The workers run as nobody: the node binary must be theirs to run (not so for one installed
// under a root-only directory, as the Node matrix does in a checkout under /root).
function skipReason() {
  if (process.getuid() !== 0) return 'needs root to drop privileges';
  const r = spawnSync(process.execPath, ['-e', '0'], { uid: 65534, gid: 65534 });
  if (r.status !== 0) return `uid 65534 cannot run ${process.execPath}`;
  return false;
}

test('privileges dropped after require(): fork() works and the warden starts', { skip: skipReason() }, async (t) => {
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
