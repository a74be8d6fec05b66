// The text `pptpd --check` prints: what the daemon will actually do with the
// files it read. No secrets: users are counted, never listed with passwords.
import { formatIPv4 } from './ipv4.js';
import { authMethods, mppePolicy, type PppOptions } from './ppp-options.js';
import type { PptpdConfig } from './pptpd-conf.js';
import type { AuthMethod } from '../ppp/auth/types.js';
import type { FsmConfig } from '../ppp/fsm.js';
import type { PppPolicy } from '../ppp/types.js';

export interface EffectiveInput {
  pptpd: PptpdConfig;
  ppp: PppOptions;
  files?: { conf: string; options: string[]; chapSecrets: string; papSecrets?: string };
  secretEntries?: readonly { client: string }[];
  warnings?: readonly string[];
}

const METHOD_NAME: Record<AuthMethod, string> = { mschapv2: 'MS-CHAPv2', mschap: 'MS-CHAP', 'chap-md5': 'CHAP-MD5', pap: 'PAP' };

export function describeAuth(ppp: PppOptions): string {
  const m = authMethods(ppp);
  if (m.length === 0) return 'NONE (noauth + allow-noauth-server: anyone may connect)';
  const names = m.map((x) => METHOD_NAME[x]);
  return m.length === 1 ? `${names[0]} only` : names.join(', ');
}

export function describeMppe(ppp: PppOptions): string {
  const p = mppePolicy(ppp);
  const bits = [p.allow128 && '128', p.allow56 && '56', p.allow40 && '40'].filter(Boolean) as string[];
  if (bits.length === 0) return 'off';
  const keys = bits.map((b) => `MPPE-${b}`).join(' or ');
  return `${keys} ${p.required ? 'required' : 'optional'}, ${p.stateful ? 'stateless preferred, stateful allowed' : 'stateless only'}`;
}

/** How the peer's PFC/ACFC requests are answered (pppd nopcomp/noaccomp). */
export function describeHeaderCompression(ppp: Pick<PppOptions, 'nopcomp' | 'noaccomp'>): string {
  const pfc = ppp.nopcomp ? 'PFC rejected (nopcomp)' : 'PFC accepted';
  const acfc = ppp.noaccomp ? 'ACFC rejected (noaccomp)' : 'ACFC accepted';
  return `${pfc}, ${acfc} when the client asks`;
}

/** The PppPolicy fields pppd's ipcp-*, chap-* and pap-* timer options set. */
export type PppTimerPolicy = Pick<PppPolicy, 'ipcpFsm' | 'chapRestartMs' | 'chapMaxChallenge' | 'papTimeoutMs' | 'papRestartMs' | 'papMaxAuthreq'>;

/**
 * pppd's ipcp-restart, ipcp-max-*, chap-restart, chap-max-challenge,
 * pap-timeout, pap-restart and pap-max-authreq as PppPolicy fields (seconds
 * to ms). Only the options given appear: an empty object leaves the link's
 * built-in behaviour exactly as it was. Spread it into the policy.
 */
export function pppTimerPolicy(o: PppOptions): PppTimerPolicy {
  const ipcp: Partial<FsmConfig> = {
    ...(o.ipcpRestart !== undefined && { restartMs: o.ipcpRestart * 1000 }),
    ...(o.ipcpMaxConfigure !== undefined && { maxConfigure: o.ipcpMaxConfigure }),
    ...(o.ipcpMaxTerminate !== undefined && { maxTerminate: o.ipcpMaxTerminate }),
    ...(o.ipcpMaxFailure !== undefined && { maxFailure: o.ipcpMaxFailure }),
  };
  return {
    ...(Object.keys(ipcp).length > 0 && { ipcpFsm: Object.freeze(ipcp) }),
    ...(o.chapRestart !== undefined && { chapRestartMs: o.chapRestart * 1000 }),
    ...(o.chapMaxChallenge !== undefined && { chapMaxChallenge: o.chapMaxChallenge }),
    ...(o.papTimeout !== undefined && { papTimeoutMs: o.papTimeout * 1000 }),
    ...(o.papRestart !== undefined && { papRestartMs: o.papRestart * 1000 }),
    ...(o.papMaxAuthreq !== undefined && { papMaxAuthreq: o.papMaxAuthreq }),
  };
}

/** The timer options that were given, pppd-style (`ipcp-restart 1, chap-max-challenge 3`), or '' for none. */
export function describeTimers(o: PppOptions): string {
  const given: Array<[string, number | undefined]> = [
    ['ipcp-restart', o.ipcpRestart], ['ipcp-max-configure', o.ipcpMaxConfigure], ['ipcp-max-terminate', o.ipcpMaxTerminate],
    ['ipcp-max-failure', o.ipcpMaxFailure], ['chap-restart', o.chapRestart], ['chap-max-challenge', o.chapMaxChallenge],
    ['pap-timeout', o.papTimeout], ['pap-restart', o.papRestart], ['pap-max-authreq', o.papMaxAuthreq],
  ];
  return given.filter(([, v]) => v !== undefined).map(([k, v]) => `${k} ${v}`).join(', ');
}

/**
 * The PPP part of the effective configuration as [label, value] rows, in
 * print order: `--check` prints them and pppd's `dump` logs them. The pptpd
 * settings that change PPP behaviour (noipparam, debug, logwtmp) are folded in.
 */
export function describePppRows(c: Pick<PptpdConfig, 'noipparam' | 'debug' | 'logwtmp'>, o: PppOptions): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  const row = (k: string, v: string) => rows.push([k, v]);
  row('name', o.name ?? '(not set: secrets must use * as server)');
  row('auth', describeAuth(o));
  row('MPPE', describeMppe(o));
  row('DNS', o.dns.length ? o.dns.join(', ') : 'none');
  row('WINS', o.wins.length ? o.wins.join(', ') : 'none');
  row('MTU/MRU', `${o.mtu ?? 'default'} / ${o.mru ?? 'default'}`);
  row('LCP echo', o.lcpEchoInterval ? `every ${o.lcpEchoInterval} s, ${o.lcpEchoFailure ?? 0} failures` : 'off');
  const timers = describeTimers(o);
  if (timers) row('timers', timers);
  if (o.idle !== undefined) row('idle', `${o.idle} s`);
  row('PFC/ACFC', describeHeaderCompression(o));
  row('compression', 'VJ, BSD-Compress, Deflate, MPPC: never negotiated');
  row('proxyarp', o.proxyarp ? 'yes' : 'no');
  row('ipparam', c.noipparam ? 'not passed (noipparam)' : (o.ipparam ?? "client's outer address"));
  row('ip-up', o.ipUpScript ?? '/etc/ppp/ip-up');
  row('ip-down', o.ipDownScript ?? '/etc/ppp/ip-down');
  row('logging', `${c.debug || o.debug ? 'debug' : 'info'}${o.nolog ? ', nolog' : ''}${o.logfile ? `, logfile ${o.logfile}` : ''}${c.logwtmp ? ', wtmp records' : ''}`);
  if (o.plugins.length) row('plugins', `${o.plugins.join(', ')} (NOT loaded)`);
  if (o.ignored.length) row('no effect', o.ignored.join(', '));
  return rows;
}

export function describeEffective(cfg: EffectiveInput): string {
  const { pptpd: c, ppp: o } = cfg;
  const lines: string[] = [];
  const row = (k: string, v: string) => lines.push(`${(k + ':').padEnd(16)}${v}`);
  if (cfg.files) {
    row('pptpd.conf', cfg.files.conf);
    row('pppd options', cfg.files.options.join(', ') || '(none)');
    row('secrets', [cfg.files.chapSecrets, cfg.files.papSecrets].filter(Boolean).join(', '));
  }
  row('listen', c.listen.length ? c.listen.map((a) => `${a} port 1723`).join(', ') : 'all addresses, TCP port 1723');
  row('stimeout', `${c.stimeout} s`);
  const size = c.poolRemote.length;
  row('connections', c.connections === c.connectionsRequested ? `${c.connections}` : `${c.connections} (asked ${c.connectionsRequested}, limited by the pool)`);
  row('address pool', `${size} address${size === 1 ? '' : 'es'}${c.defaultRanges ? ' (poptop defaults)' : ''}`);
  row('  remoteip', c.remoteip);
  row('  localip', c.sharedLocal ? `${c.localip} (shared by every call)` : `${c.localip} (paired one-to-one)`);
  if (size > 0) row('  first/last', `${formatIPv4(c.poolRemote[0])} … ${formatIPv4(c.poolRemote[size - 1])}`);
  const ppp = describePppRows(c, o);
  const at = ppp.findIndex(([k]) => k === 'plugins' || k === 'no effect');
  // pptpd-only rows sit between the PPP settings and the plugins / no-effect summary.
  for (const [k, v] of at < 0 ? ppp : ppp.slice(0, at)) row(k, v);
  if (c.pidfile) row('pidfile', c.pidfile);
  if (c.vrf) row('vrf', c.vrf);
  if (cfg.secretEntries) row('users', `${cfg.secretEntries.length} secret${cfg.secretEntries.length === 1 ? '' : 's'}`);
  if (at >= 0) for (const [k, v] of ppp.slice(at)) row(k, v);
  if (cfg.warnings && cfg.warnings.length) {
    lines.push(`warnings (${cfg.warnings.length}):`);
    for (const w of cfg.warnings) lines.push(`  ${w}`);
  }
  return lines.join('\n') + '\n';
}
