#!/usr/bin/env node
// Runs node's test runner on an explicit list of compiled test files (node 20
// finds no .ts files on its own and would "pass" with zero tests), and fails
// when the runner reports zero tests.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const roots = process.argv.slice(2);
const dirs = roots.length ? roots : ['dist/test/unit', 'dist/test/vectors', 'dist/test/fuzz', 'dist/test/interop'];

function collect(p, out) {
  let st;
  try { st = statSync(p); } catch { return; }
  if (st.isDirectory()) {
    for (const e of readdirSync(p).sort()) collect(join(p, e), out);
  } else if (p.endsWith('.test.js')) {
    out.push(p);
  }
}
const files = [];
for (const d of dirs) collect(d, files);
if (files.length === 0) {
  console.error(`run-tests: no test files under ${dirs.join(', ')}`);
  process.exit(1);
}
mkdirSync('dist', { recursive: true });
const tap = 'dist/test-results.tap';
const r = spawnSync(process.execPath, [
  '--test',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${tap}`,
  ...files,
], { stdio: 'inherit' });
let count = 0;
try {
  const m = /^# tests (\d+)$/m.exec(readFileSync(tap, 'utf8'));
  count = m ? Number(m[1]) : 0;
} catch { /* no report: treated as zero tests */ }
if (count === 0) {
  console.error('run-tests: the runner reported 0 tests');
  process.exit(1);
}
process.exit(r.status ?? 1);
