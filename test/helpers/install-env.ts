// The environment for running our programs (make, pptpd) from a test as an
// administrator would: without npm's per-run settings (`npm test` exports
// npm_config_*), systemd's markers (NOTIFY_SOCKET/INVOCATION_ID make pptpd
// stay in the foreground) or an outer make's flags.
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|NOTIFY_SOCKET$|INVOCATION_ID$|MAKEFLAGS$|MFLAGS$|MAKELEVEL$|DESTDIR$|PREFIX$|UNITDIR$|MANDIR$)/i.test(k)) continue;
    env[k] = v;
  }
  return env;
}

/**
 * The Arch-wiki pptpd.conf, options.pptpd and chap-secrets (test fixtures)
 * copied into `dir`, the conf's `option` pointing at the copy.
 */
export function archwikiConfig(dir: string): { conf: string; secrets: string } {
  const fix = fileURLToPath(new URL('../fixtures/config/archwiki/etc/', import.meta.url));
  const conf = join(dir, 'pptpd.conf');
  writeFileSync(conf, readFileSync(join(fix, 'pptpd.conf'), 'utf8').replace('/etc/ppp/options.pptpd', join(dir, 'options.pptpd')));
  copyFileSync(join(fix, 'ppp/options.pptpd'), join(dir, 'options.pptpd'));
  const secrets = join(dir, 'chap-secrets');
  copyFileSync(join(fix, 'ppp/chap-secrets'), secrets);
  chmodSync(secrets, 0o600);
  return { conf, secrets };
}
