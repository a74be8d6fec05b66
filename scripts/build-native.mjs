#!/usr/bin/env node
// Builds native/ with node-gyp. npm puts its bundled node-gyp on PATH for
// lifecycle scripts; offline machines must build against the installed
// headers (/usr/include/node), so pass --nodedir when they are there.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = ['rebuild', '--directory', join(root, 'native')];
const nodedir = process.env.npm_config_nodedir
  ?? (existsSync('/usr/include/node/node_api.h') ? '/usr' : undefined);
if (nodedir) args.push(`--nodedir=${nodedir}`);
const r = spawnSync('node-gyp', args, { stdio: 'inherit' });
if (r.error) {
  console.error(`build-native: cannot run node-gyp (${r.error.message}); run it through npm (npm run build:native)`);
  process.exit(1);
}
process.exit(r.status ?? 1);
