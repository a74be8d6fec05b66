// The embedded default configuration behind `pptpd --demo`: the Arch-wiki
// setup with a private pool and one user whose password is random per start
// (never a well-known one), printed once on the terminal and never logged.
import { randomBytes } from 'node:crypto';
import type { FileSystem } from '../config/load.js';

export const DEMO_USER = 'demo';
export const DEMO_CONF = '(demo)/pptpd.conf';
export const DEMO_OPTIONS = '(demo)/options.pptpd';
export const DEMO_SECRETS = '(demo)/chap-secrets';

const ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export function demoPassword(): string {
  const bytes = randomBytes(16);
  let s = '';
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return s;
}

export function demoFiles(password: string): Map<string, string> {
  return new Map([
    [DEMO_CONF, [
      '# pptpd --demo: embedded default configuration',
      `option ${DEMO_OPTIONS}`,
      'localip 192.168.240.1',
      'remoteip 192.168.240.10-59',
      'connections 50',
      '',
    ].join('\n')],
    [DEMO_OPTIONS, [
      'name pptpd',
      'refuse-pap', 'refuse-chap', 'refuse-mschap', 'require-mschap-v2', 'require-mppe-128',
      'nobsdcomp', 'novj', 'novjccomp', 'nodefaultroute',
      'mtu 1400', 'mru 1400',
      'lcp-echo-interval 30', 'lcp-echo-failure 4',
      // No ip-up scripts: a demo must not run the host's /etc/ppp/ip-up.d.
      'ip-up-script /nonexistent/pptpd-demo-ip-up',
      'ip-down-script /nonexistent/pptpd-demo-ip-down',
      '',
    ].join('\n')],
    [DEMO_SECRETS, `${DEMO_USER} pptpd "${password}" *\n`],
  ]);
}

/** A FileSystem over the embedded files (mode 0600, as a secrets file should be). */
export function memoryFileSystem(files: Map<string, string>): FileSystem {
  return {
    readText(path) {
      const t = files.get(path);
      if (t === undefined) throw Object.assign(new Error(`${path}: not an embedded file`), { code: 'ENOENT' });
      return t;
    },
    mode: (path) => (files.has(path) ? 0o600 : undefined),
  };
}
