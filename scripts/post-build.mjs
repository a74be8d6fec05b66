#!/usr/bin/env node
// After tsc: copy test fixtures next to the compiled tests (they read them
// relative to themselves), and delete compiled files whose source is gone
// (tsc never removes them; the test runner would still run a stale test).
import { cpSync, rmSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

rmSync('dist/test/fixtures', { recursive: true, force: true });
cpSync('test/fixtures', 'dist/test/fixtures', { recursive: true });

function prune(dir) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      if (p !== join('dist', 'test', 'fixtures')) prune(p);
      continue;
    }
    const m = /^(.*)\.js(\.map)?$/.exec(p);
    if (!m) continue;
    const src = m[1].slice('dist/'.length);
    if (!existsSync(`${src}.ts`) && !existsSync(`${src}.mjs`)) rmSync(p);
  }
}
for (const top of ['src', 'test', 'bench', 'native']) {
  if (existsSync(join('dist', top))) prune(join('dist', top));
}
