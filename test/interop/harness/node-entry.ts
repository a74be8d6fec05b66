// Where the repository is and how a guest runs one of our Node entry points,
// from the tree (via tsx) or from dist/ (compiled): the guests see the host's
// repository at the same path, so a scenario can `cd` there and run it.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (package.json + native/), found upwards from this file, in the tree or under dist/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error('repository root not found');
}

/**
 * argv prefix that runs `<stem>` next to the module at `moduleUrl` (pass
 * import.meta.url): the compiled `<stem>.js` when there is one, else
 * `<stem>.ts` through tsx.
 */
export function nodeEntryCommand(moduleUrl: string, stem: string): string[] {
  const here = dirname(fileURLToPath(moduleUrl));
  const js = join(here, `${stem}.js`);
  if (existsSync(js)) return [process.execPath, js];
  return [process.execPath, '--import', 'tsx', join(here, `${stem}.ts`)];
}
