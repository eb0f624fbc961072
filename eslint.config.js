'use strict';
// ESLint for the JavaScript (npm run lint; .ci/run runs it): the recommended rules, CommonJS on
// Node, and a line-length limit. Node's own built-in cluster code is the style model.
const js = require('@eslint/js');
const globals = require('globals');

module.exports = [
  {
    ignores: ['node_modules/', 'target/', 'dist/', '.node-matrix/', 'crates/', 'npm/', '**/out/',
      // A worker that fails to parse, on purpose.
      '__test__/scenarios/fixtures/bad-syntax.js'],
  },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', ecmaVersion: 2023, globals: { ...globals.node } },
    rules: {
      'max-len': ['error', { code: 120, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true }],
      'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none', ignoreRestSiblings: true }],
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    // The seed programs run as the documents print them; the type tests only need to compile.
    files: ['examples/**', '__test__/types/**'],
    rules: { 'no-unused-vars': 'off', 'no-empty': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', ecmaVersion: 2023, globals: { ...globals.node } },
  },
];
