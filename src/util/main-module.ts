// True when the module at `url` is the program node was asked to run, also
// through an npm bin symlink (/usr/bin/pptpd → …/dist/src/cli/pptpd.js).
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function isMainModule(url: string): boolean {
  const argv1 = process.argv[1];
  if (!argv1) return false;
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(url));
  } catch {
    return false;
  }
}
