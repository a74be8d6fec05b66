// Loader of the N-API addon. Fails with a message that names the missing
// build instead of a bare MODULE_NOT_FOUND.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Functions the C addon exports; grows with native/src/*.c. */
export interface NativeAddon {
  sdNotify(socketPath: string, message: string): boolean;
}

const here = dirname(fileURLToPath(import.meta.url));
// Compiled to dist/native/index.js; the addon sits in native/build/Release.
const candidates = [
  join(here, '..', '..', 'native', 'build', 'Release', 'pptpd_native.node'),
  join(here, 'build', 'Release', 'pptpd_native.node'),
];

let cached: NativeAddon | undefined;

export function addonPath(): string | undefined {
  return candidates.find((p) => existsSync(p));
}

export function loadNative(): NativeAddon {
  if (cached) return cached;
  const p = addonPath();
  if (!p) {
    throw new Error(
      `pptpd native addon is not built (looked for ${candidates[0]}); ` +
        'run `npm run build:native` (needs gcc, make, python3 and the Node headers)',
    );
  }
  const require = createRequire(import.meta.url);
  cached = require(p) as NativeAddon;
  return cached;
}
