'use strict';

// Type tests for index.d.ts, run with the TypeScript compiler from node_modules.
//
// 1. __test__/types (usage.ts, esm.mts, cjs.cts, cjs-require.cjs) must compile
//    cleanly: rust-cluster's types are exactly node:cluster's, every API is
//    usable, and every `@ts-expect-error` misuse is rejected.
// 2. __test__/types/fail must NOT compile, and must fail with exactly the
//    diagnostics its "expect:" comments announce; so this test fails if the
//    checks stop biting (say, rust-cluster typed as `any`) or if the failure
//    has another cause (say, 'rust-cluster' no longer resolves).

const test = require('node:test');
const assert = require('node:assert');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const typesDir = path.join(__dirname, 'types');
const failDir = path.join(typesDir, 'fail');

function tscPath() {
  // Resolved from the repository, so the test uses the project's TypeScript.
  return require.resolve('typescript/bin/tsc', { paths: [root] });
}

function runTsc(project) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [tscPath(), '-p', project, '--pretty', 'false'],
      { cwd: root, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

// "file(line,col): error TSnnnn: ..." -> "file:line:TSnnnn"
function parseDiagnostics(output) {
  const found = [];
  for (const line of output.split('\n')) {
    const m = /^(.+?)\((\d+),\d+\): error (TS\d+):/.exec(line.trim());
    if (m) found.push(`${path.basename(m[1])}:${m[2]}:${m[3]}`);
  }
  return found.sort();
}

// Each "// expect: TSnnnn" comment announces an error on the next code line.
function expectedDiagnostics() {
  const expected = [];
  for (const name of fs.readdirSync(failDir)) {
    if (!/\.(ts|mts|cts)$/.test(name)) continue;
    const lines = fs.readFileSync(path.join(failDir, name), 'utf8').split('\n');
    lines.forEach((text, i) => {
      const m = /\/\/ expect: (TS\d+)/.exec(text);
      if (!m) return;
      let j = i + 1;
      while (j < lines.length && lines[j].trim() === '') j++;
      expected.push(`${name}:${j + 1}:${m[1]}`);
    });
  }
  return expected.sort();
}

test('the type tests in __test__/types compile with no errors', async () => {
  const { code, output } = await runTsc(typesDir);
  assert.strictEqual(output.trim(), '', `tsc reported:\n${output}`);
  assert.strictEqual(code, 0, `tsc exited with ${code}`);
});

test('deliberately wrong code in __test__/types/fail is rejected, with exactly the expected errors', async () => {
  const expected = expectedDiagnostics();
  assert.ok(expected.length >= 5, 'the fail/ fixtures announce their expected errors');
  const { code, output } = await runTsc(failDir);
  assert.notStrictEqual(code, 0, `tsc accepted code that must not compile:\n${output}`);
  assert.deepStrictEqual(parseDiagnostics(output), expected, `tsc reported:\n${output}`);
});
