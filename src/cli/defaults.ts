// Paths and defaults shared by pptpd and pptpctl (poptop's where they exist).
import { readFileSync } from 'node:fs';

export const DEFAULT_CONF = '/etc/pptpd.conf';
export const DEFAULT_CHAP_SECRETS = '/etc/ppp/chap-secrets';
export const DEFAULT_PAP_SECRETS = '/etc/ppp/pap-secrets';
export const DEFAULT_CONTROL_SOCKET = '/run/pptpd.sock';
export const DEFAULT_IP_UP = '/etc/ppp/ip-up';
export const DEFAULT_IP_DOWN = '/etc/ppp/ip-down';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}
export const VERSION = packageVersion();
