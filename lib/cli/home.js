'use strict';
// Where running primaries keep their control sockets: $RUST_CLUSTER_HOME, else
// $XDG_RUNTIME_DIR/rust-cluster, else a per-uid directory in the temp dir; a directory only its
// user may enter (created 0700, refused if anyone else can).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { CliError } = require('./args.js');

function homeDir() {
  if (process.env.RUST_CLUSTER_HOME) return process.env.RUST_CLUSTER_HOME;
  if (process.env.XDG_RUNTIME_DIR) return path.join(process.env.XDG_RUNTIME_DIR, 'rust-cluster');
  return path.join(os.tmpdir(), `rust-cluster-${process.getuid()}`);
}

// The directory, created if needed; it must be ours and closed to others.
function ensureHome() {
  const dir = homeDir();
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new CliError(`rust-cluster: cannot create ${dir}: ${err.code}`, 1);
  }
  const st = fs.statSync(dir);
  if (st.uid !== process.getuid() || (st.mode & 0o077) !== 0) {
    throw new CliError(`rust-cluster: ${dir} must belong to you and be closed to others (chmod 700 ${dir})`, 1);
  }
  return dir;
}

function socketPath(name) {
  return path.join(homeDir(), `${name}.sock`);
}

// The names of the primaries that have a socket here (running or stale).
function listNames() {
  try {
    return fs.readdirSync(homeDir()).filter((f) => f.endsWith('.sock')).map((f) => f.slice(0, -5)).sort();
  } catch {
    return [];
  }
}

module.exports = { homeDir, ensureHome, socketPath, listNames };
