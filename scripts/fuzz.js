'use strict';
// npm run fuzz [-- seconds]: runs each frame-decoder fuzz target for a bounded time with
// cargo-fuzz (installed on first use). Stable Rust is enough: RUSTC_BOOTSTRAP lets cargo-fuzz
// use the instrumentation flags it needs, and no sanitizer runtime is required.
const { spawnSync } = require('child_process');
const path = require('path');

const seconds = Number(process.argv[2] || process.env.FUZZ_SECONDS || 60);
const dir = path.join(__dirname, '..', 'crates', 'core');
const env = { ...process.env, RUSTC_BOOTSTRAP: '1' };

if (spawnSync('cargo', ['fuzz', '--version'], { stdio: 'ignore' }).status !== 0) {
  const r = spawnSync('cargo', ['install', '--locked', 'cargo-fuzz'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status || 1);
}
let failed = 0;
for (const target of ['json_frames', 'advanced_frames']) {
  console.log(`== fuzz ${target} for ${seconds}s`);
  const r = spawnSync('cargo', ['fuzz', 'run', '--sanitizer', 'none', target, '--',
    `-max_total_time=${seconds}`, '-rss_limit_mb=1024', '-max_len=65536'], { cwd: dir, env, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
