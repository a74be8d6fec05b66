// /etc/pptpd.conf with poptop's semantics (configfile.c, pptpd.c):
//  - one directive per line, keyword case-sensitive, value = rest of the line;
//  - a line whose first character is `#` is a comment; we also strip `#...`
//    after a value (poptop would have kept it in the value, which never works);
//  - a line starting with a space or tab is NOT a directive (poptop logs
//    "Config file line starts with a space" and skips it): we warn and skip;
//  - the FIRST occurrence of a keyword wins (poptop scans for the first match),
//    later ones get a warning. Extension: `listen` may repeat (one address per
//    line), every one is used;
//  - poptop ignores lines of 510+ characters ("Long config file line
//    ignored"); we accept them with a warning. A last line without a newline
//    (poptop's famous bug) is simply accepted;
//  - unknown keywords are errors (poptop ignores them silently).
// Pool: one localip → shared by every call; otherwise localip and remoteip pair
// up one-to-one. The pool is cut to `connections` (poptop: "extra IP addresses
// ignored") and `connections` is cut to the pool size.
// Command-line overrides beat the file, as in poptop.
import { ConfigError, ConfigErrors } from '../util/errors.js';
import { Address6 } from 'ip-address';
import { formatIPv4, parseIPv4 } from './ipv4.js';
import { parseRanges } from './ranges.js';

export const DEFAULT_LOCALIP = '192.168.0.1-100';
export const DEFAULT_REMOTEIP = '192.168.1.1-100';
export const DEFAULT_STIMEOUT = 10;
export const DEFAULT_CONNECTIONS = 100;
export const DEFAULT_SPEED = 115200;
/**
 * stimeout, the same range in the file and for -t. 0 is accepted and means
 * the default, as in poptop (pptpd.c: a file value <= 0 becomes 10, and
 * `-t 0` counts as not given, so the file's value applies): a start timer of
 * 0 would never close a silent connection, which is what stimeout is for.
 */
export const MAX_STIMEOUT = 3600;
/**
 * speed, the same range in the file and for -s: any positive number (poptop
 * passes the string to pppd, which keeps it in a C int); 10^9 stays under that.
 */
export const MAX_SPEED = 1_000_000_000;
/** poptop's fgets buffer: lines this long were dropped there. */
export const POPTOP_LONG_LINE = 510;
export const MAX_CONNECTIONS = 65535;

/** Command-line values (poptop flags); they win over the file. */
export interface PptpdOverrides {
  option?: string;
  debug?: boolean;
  /** 0 counts as not given (poptop `-t 0`). */
  stimeout?: number;
  noipparam?: boolean;
  logwtmp?: boolean;
  bcrelay?: string;
  delegate?: boolean;
  connections?: number;
  listen?: string[];
  pidfile?: string;
  speed?: number;
  vrf?: string;
  ppp?: string;
}

export interface PptpdConfig {
  file: string;
  /** pppd options file named by `option` (undefined: load.ts uses the default search). */
  option?: string;
  debug: boolean;
  /** Seconds a new TCP connection may stay silent before SCCRQ. */
  stimeout: number;
  noipparam: boolean;
  logwtmp: boolean;
  bcrelay?: string;
  delegate: boolean;
  /** Effective call limit: configured value cut to the pool size. */
  connections: number;
  /** The value asked for (file, command line or default). */
  connectionsRequested: number;
  /** Range specs as written (for --check). */
  localip: string;
  remoteip: string;
  /** True when localip/remoteip were both missing and poptop's defaults apply. */
  defaultRanges: boolean;
  /** One localip address shared by every call. */
  sharedLocal: boolean;
  /** Pool pairs: poolLocal[i] is our end of the link whose peer gets poolRemote[i]. */
  poolLocal: Uint32Array;
  poolRemote: Uint32Array;
  /** Addresses to listen on; empty = all. */
  listen: string[];
  pidfile?: string;
  speed: number;
  vrf?: string;
  ppp?: string;
  /** Extensions against abuse (README "Abuse protection"); defaults when absent. */
  robust: PptpdRobustConfig;
  warnings: string[];
}

/** Extension directives (not in poptop): authentication back-off, login and per-source limits. */
export interface PptpdRobustConfig {
  /** `auth-backoff-threshold N`: failures before results are held back; 0 = off. Default 3. */
  authBackoffThreshold: number;
  /** `auth-backoff-max SECONDS`: cap of the delay per source address. Default 30. */
  authBackoffMaxSec: number;
  /** `auth-backoff-user-max SECONDS`: cap per user name (only delays, never locks out). Default 8. */
  authBackoffUserMaxSec: number;
  /** `auth-backoff-decay SECONDS`: one failure is forgotten per this much quiet. Default 60. */
  authBackoffDecaySec: number;
  /** `max-logins-per-user N`: sessions one user may hold; 0 = unlimited (default, as pppd). */
  maxLoginsPerUser: number;
  /** `duplicate-login refuse|replace`: beyond the limit, refuse the new login (default) or end the oldest. */
  duplicateLogin: 'refuse' | 'replace';
  /** `max-calls-per-source N`: calls (sessions) at once from one client address. Default 64. */
  maxCallsPerSource: number;
  /** `max-pending-per-source N`: control connections of one address still waiting for SCCRQ. Default 8. */
  maxPendingPerSource: number;
}

export const DEFAULT_ROBUST: Readonly<PptpdRobustConfig> = Object.freeze({
  authBackoffThreshold: 3,
  authBackoffMaxSec: 30,
  authBackoffUserMaxSec: 8,
  authBackoffDecaySec: 60,
  maxLoginsPerUser: 0,
  duplicateLogin: 'refuse',
  maxCallsPerSource: 64,
  maxPendingPerSource: 8,
});

type Kind = 'flag' | 'value';
const DIRECTIVES: Record<string, Kind> = {
  option: 'value', debug: 'flag', stimeout: 'value', noipparam: 'flag', logwtmp: 'flag',
  bcrelay: 'value', delegate: 'flag', connections: 'value', localip: 'value', remoteip: 'value',
  listen: 'value', pidfile: 'value', speed: 'value', vrf: 'value', ppp: 'value',
  // Extensions (ours).
  'auth-backoff-threshold': 'value', 'auth-backoff-max': 'value', 'auth-backoff-user-max': 'value',
  'auth-backoff-decay': 'value', 'max-logins-per-user': 'value', 'duplicate-login': 'value',
  'max-calls-per-source': 'value', 'max-pending-per-source': 'value',
};

/** Every directive name the parser knows (the man page test checks pptpd.conf(5) lists them all). */
export const PPTPD_CONF_DIRECTIVES: readonly string[] = Object.freeze(Object.keys(DIRECTIVES));

interface Seen { value: string; line: number }

/**
 * Parses pptpd.conf text. Collects every problem of the file and throws them
 * together as ConfigErrors; warnings are returned in `warnings`.
 */
export function parsePptpdConf(text: string, file: string, overrides: PptpdOverrides = {}): PptpdConfig {
  const errors: ConfigError[] = [];
  const warnings: string[] = [];
  const warn = (line: number, msg: string) => warnings.push(line > 0 ? `${file}:${line}: ${msg}` : `${file}: ${msg}`);
  const seen = new Map<string, Seen>();
  const listen: Seen[] = [];

  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (l.length >= POPTOP_LONG_LINE) warn(line, `line of ${l.length} characters (poptop would ignore it; accepted)`);
    const hash = l.indexOf('#');
    const body = (hash >= 0 ? l.slice(0, hash) : l).replace(/[ \t]+$/, '');
    if (body === '') return;
    if (body[0] === ' ' || body[0] === '\t') {
      warn(line, `line starts with white space, ignored (poptop does not read it as a directive): "${body.trim()}"`);
      return;
    }
    // poptop: the keyword ends at the first space or tab; the value is the rest.
    const sp = body.search(/[ \t]/);
    const key = sp < 0 ? body : body.slice(0, sp);
    const value = sp < 0 ? '' : body.slice(sp).replace(/^[ \t]+/, '');
    const kind = DIRECTIVES[key];
    if (kind === undefined) {
      const hint = DIRECTIVES[key.toLowerCase()] ? ` (directives are case-sensitive: "${key.toLowerCase()}")` : '';
      errors.push(new ConfigError(file, line, `unknown directive "${key}"${hint}`));
      return;
    }
    if (kind === 'flag' && value !== '') warn(line, `"${key}" takes no value; "${value}" ignored`);
    if (kind === 'value' && value === '') {
      errors.push(new ConfigError(file, line, `"${key}" needs a value`));
      return;
    }
    if (key === 'listen') { listen.push({ value, line }); return; }
    const first = seen.get(key);
    if (first) {
      warn(line, `duplicate "${key}" ignored: the first one (line ${first.line}) wins`);
      return;
    }
    seen.set(key, { value, line });
  });

  const int = (key: string, min: number, max: number, def: number): number => {
    const s = seen.get(key);
    if (!s) return def;
    if (!/^[0-9]+$/.test(s.value) || Number(s.value) < min || Number(s.value) > max) {
      errors.push(new ConfigError(file, s.line, `${key} "${s.value}" must be a whole number from ${min} to ${max}`));
      return def;
    }
    return Number(s.value);
  };
  const str = (key: string): string | undefined => seen.get(key)?.value;
  const flag = (key: string): boolean => seen.has(key);

  // 0 (file or command line) = the default; see MAX_STIMEOUT. A non-zero -t
  // wins and the file's value is not read (poptop).
  let stimeout = overrides.stimeout || int('stimeout', 0, MAX_STIMEOUT, DEFAULT_STIMEOUT);
  if (stimeout === 0) {
    warn(seen.get('stimeout')!.line, `stimeout 0 means the default, ${DEFAULT_STIMEOUT} s (as in poptop)`);
    stimeout = DEFAULT_STIMEOUT;
  }
  const connectionsRequested = overrides.connections ?? int('connections', 1, MAX_CONNECTIONS, DEFAULT_CONNECTIONS);
  const speed = overrides.speed ?? int('speed', 1, MAX_SPEED, DEFAULT_SPEED);
  const dup = seen.get('duplicate-login');
  if (dup && dup.value !== 'refuse' && dup.value !== 'replace') {
    errors.push(new ConfigError(file, dup.line, `duplicate-login "${dup.value}" must be "refuse" or "replace"`));
  }
  const robust: PptpdRobustConfig = {
    authBackoffThreshold: int('auth-backoff-threshold', 0, 1000, DEFAULT_ROBUST.authBackoffThreshold),
    authBackoffMaxSec: int('auth-backoff-max', 1, 3600, DEFAULT_ROBUST.authBackoffMaxSec),
    authBackoffUserMaxSec: int('auth-backoff-user-max', 0, 3600, DEFAULT_ROBUST.authBackoffUserMaxSec),
    authBackoffDecaySec: int('auth-backoff-decay', 1, 86400, DEFAULT_ROBUST.authBackoffDecaySec),
    maxLoginsPerUser: int('max-logins-per-user', 0, MAX_CONNECTIONS, DEFAULT_ROBUST.maxLoginsPerUser),
    duplicateLogin: dup?.value === 'replace' ? 'replace' : 'refuse',
    maxCallsPerSource: int('max-calls-per-source', 1, MAX_CONNECTIONS, DEFAULT_ROBUST.maxCallsPerSource),
    maxPendingPerSource: int('max-pending-per-source', 1, 4096, DEFAULT_ROBUST.maxPendingPerSource),
  };
  if (seen.has('duplicate-login') && robust.maxLoginsPerUser === 0) {
    warn(dup!.line, 'duplicate-login has no effect without max-logins-per-user');
  }

  // listen: IPv4 or IPv6 literals; poptop resolved host names, we do no I/O.
  const listenAddrs: string[] = [];
  if (overrides.listen && overrides.listen.length > 0) listenAddrs.push(...overrides.listen);
  else {
    for (const l of listen) {
      if (parseIPv4(l.value) === undefined && !Address6.isValid(l.value)) {
        errors.push(new ConfigError(file, l.line, `listen "${l.value}" is not an IPv4 or IPv6 address`));
      } else if (listenAddrs.includes(l.value)) warn(l.line, `listen ${l.value} given twice`);
      else listenAddrs.push(l.value);
    }
  }

  const delegate = overrides.delegate ?? flag('delegate');
  if (delegate) warn(seen.get('delegate')?.line ?? 0, 'delegate: not implemented, addresses still come from localip/remoteip (and chap-secrets pinned addresses)');
  if (str('ppp') !== undefined || overrides.ppp) {
    warn(seen.get('ppp')?.line ?? 0, 'ppp: no pppd is run (PPP is built in); the path is ignored');
  }
  if (str('bcrelay') !== undefined || overrides.bcrelay) {
    warn(seen.get('bcrelay')?.line ?? 0, 'bcrelay: broadcast relay is not implemented yet');
  }

  // Address pool.
  const loc = seen.get('localip');
  const rem = seen.get('remoteip');
  let localSpec = loc?.value ?? '';
  let remoteSpec = rem?.value ?? '';
  let defaultRanges = false;
  if (!loc && !rem) {
    localSpec = DEFAULT_LOCALIP;
    remoteSpec = DEFAULT_REMOTEIP;
    defaultRanges = true;
    warn(0, `no localip/remoteip: using poptop's defaults localip ${DEFAULT_LOCALIP}, remoteip ${DEFAULT_REMOTEIP}`);
  } else if (!loc) {
    errors.push(new ConfigError(file, rem!.line, 'remoteip is given but localip is missing (give both, or neither for the defaults)'));
  } else if (!rem) {
    errors.push(new ConfigError(file, loc.line, 'localip is given but remoteip is missing (give both, or neither for the defaults)'));
  }
  let local: number[] = [];
  let remote: number[] = [];
  if (localSpec) {
    try { local = parseRanges(localSpec, file, loc?.line ?? 0, 'localip'); } catch (e) { errors.push(e as ConfigError); }
  }
  if (remoteSpec) {
    try { remote = parseRanges(remoteSpec, file, rem?.line ?? 0, 'remoteip'); } catch (e) { errors.push(e as ConfigError); }
  }
  // A remote address listed twice would be handed to two clients.
  const remoteSet = new Set<number>();
  for (const r of remote) {
    if (remoteSet.has(r)) {
      errors.push(new ConfigError(file, rem?.line ?? 0, `remoteip lists ${formatIPv4(r)} more than once`));
      break;
    }
    remoteSet.add(r);
  }
  for (const a of local) {
    if (remoteSet.has(a)) {
      errors.push(new ConfigError(file, loc?.line ?? 0, `localip and remoteip overlap: ${formatIPv4(a)} is in both`));
      break;
    }
  }

  const sharedLocal = local.length === 1;
  let size = sharedLocal ? remote.length : Math.min(local.length, remote.length);
  if (!sharedLocal && local.length > 0 && remote.length > 0 && local.length !== remote.length) {
    warn(loc?.line ?? 0, `localip has ${local.length} addresses and remoteip ${remote.length}: pairing one-to-one, pool size ${size}`);
  }
  if (size > connectionsRequested) {
    warn(rem?.line ?? 0, `pool has ${size} addresses but connections is ${connectionsRequested}: only the first ${connectionsRequested} are used (poptop)`);
    size = connectionsRequested;
  }
  const connections = Math.min(connectionsRequested, size);
  if (connections < connectionsRequested && size > 0) {
    warn(seen.get('connections')?.line ?? 0, `connections ${connectionsRequested} reduced to ${connections}: not enough addresses in the pool`);
  }
  const poolLocal = new Uint32Array(size);
  const poolRemote = new Uint32Array(size);
  for (let i = 0; i < size; i++) {
    poolLocal[i] = sharedLocal ? local[0] : local[i];
    poolRemote[i] = remote[i];
  }

  if (errors.length > 0) throw new ConfigErrors(errors.sort((a, b) => a.line - b.line));
  return {
    file,
    option: overrides.option ?? str('option'),
    debug: overrides.debug || flag('debug'),
    stimeout,
    noipparam: overrides.noipparam || flag('noipparam'),
    logwtmp: overrides.logwtmp || flag('logwtmp'),
    bcrelay: overrides.bcrelay ?? str('bcrelay'),
    delegate,
    connections,
    connectionsRequested,
    localip: localSpec,
    remoteip: remoteSpec,
    defaultRanges,
    sharedLocal,
    poolLocal,
    poolRemote,
    listen: listenAddrs,
    pidfile: overrides.pidfile ?? str('pidfile'),
    speed,
    vrf: overrides.vrf ?? str('vrf'),
    ppp: overrides.ppp ?? str('ppp'),
    robust,
    warnings,
  };
}
