// The pppd options file (the one pptpd.conf `option` names): pppd's word
// syntax (words.ts), one table entry per option. Every option is in exactly one
// class, so nothing is ever ignored silently:
//  - implemented: sets a typed field below;
//  - "not implemented": understood, changes nothing here, produces a warning
//    naming the option;
//  - "no meaning for PPTP": tty/modem/dial-out options pppd accepts under
//    pptpd but that do nothing there either (lock, crtscts, 115200, …);
//    listed in `ignored` so --check can show them;
//  - anything else: ConfigError with file and line.
// Includes: `file F` and `call NAME` (/etc/ppp/peers/NAME) read through the
// `include` callback (the parser does no I/O), at most MAX_INCLUDE_DEPTH deep,
// and a file that includes itself (directly or not) is an error.
import type { MppePolicy } from '../ppp/types.js';
import type { AuthMethod } from '../ppp/auth/types.js';
import { ConfigError, ConfigErrors, PptpdError } from '../util/errors.js';
import { formatIPv4, parseIPv4 } from './ipv4.js';
import { readWords, type Word } from './words.js';

export const MAX_INCLUDE_DEPTH = 8;

/** pppd's names for authentication protocols in require-X / refuse-X. */
export type PppAuthName = 'pap' | 'chap' | 'mschap' | 'mschap-v2' | 'eap';

/** The same record the PPP engine negotiates from. */
export type { MppePolicy };

export interface PppOptions {
  /** Files read, in order (the main file first, then includes). */
  files: string[];
  name?: string;
  auth: {
    /** `auth` was given. */
    auth: boolean;
    /** `noauth` was given (and allowed, see allowNoauthServer). */
    noauth: boolean;
    allowNoauthServer: boolean;
    require: Set<PppAuthName>;
    refuse: Set<PppAuthName>;
  };
  mppe: MppePolicy;
  /** CCP disabled entirely (`noccp`). */
  noccp: boolean;
  /** ms-dns: primary, secondary. */
  dns: string[];
  /** ms-wins: primary, secondary. */
  wins: string[];
  mtu?: number;
  mru?: number;
  lcpEchoInterval?: number;
  lcpEchoFailure?: number;
  lcpRestart?: number;
  lcpMaxConfigure?: number;
  lcpMaxTerminate?: number;
  lcpMaxFailure?: number;
  ipcpRestart?: number;
  ipcpMaxConfigure?: number;
  ipcpMaxTerminate?: number;
  ipcpMaxFailure?: number;
  chapRestart?: number;
  chapMaxChallenge?: number;
  papRestart?: number;
  papMaxAuthreq?: number;
  papTimeout?: number;
  idle?: number;
  debug: boolean;
  /** Log the options in effect once at start (pppd `dump`). */
  dump: boolean;
  nolog: boolean;
  logfile?: string;
  proxyarp: boolean;
  defaultroute: boolean;
  ipparam?: string;
  ipUpScript?: string;
  ipDownScript?: string;
  /** From a `local:remote` word (pptpd's own pool normally wins). */
  localAddress?: string;
  remoteAddress?: string;
  netmask?: string;
  novj: boolean;
  novjccomp: boolean;
  nobsdcomp: boolean;
  nodeflate: boolean;
  /** Refuse the peer's protocol-field compression (PFC): LCP rejects it. */
  nopcomp: boolean;
  /** Refuse the peer's address/control-field compression (ACFC): LCP rejects it. */
  noaccomp: boolean;
  plugins: string[];
  /** Options accepted that have no meaning for a PPTP server. */
  ignored: string[];
  warnings: string[];
}

export interface IncludedFile {
  text: string;
  /** The path as it should appear in messages. */
  file: string;
}

export interface ParsePppOptionsOpts {
  /**
   * Reads an included file (`file F`, `call NAME` → /etc/ppp/peers/NAME).
   * Throw (any PptpdError or Error) when it cannot be read.
   */
  include?: (path: string) => IncludedFile;
  /** Options parsed so far (pptpd passes several files into one result). */
  into?: PppOptions;
}

export function emptyPppOptions(): PppOptions {
  return {
    files: [],
    auth: { auth: false, noauth: false, allowNoauthServer: false, require: new Set(), refuse: new Set() },
    mppe: { required: false, allow40: false, allow56: false, allow128: false, stateful: false },
    noccp: false,
    dns: [],
    wins: [],
    debug: false,
    dump: false,
    nolog: false,
    proxyarp: false,
    defaultroute: false,
    novj: false,
    novjccomp: false,
    nobsdcomp: false,
    nodeflate: false,
    nopcomp: false,
    noaccomp: false,
    plugins: [],
    ignored: [],
    warnings: [],
  };
}

interface Ctx {
  o: PppOptions;
  file: string;
  line: number;
  warn(msg: string): void;
  error(msg: string): void;
  include(path: string): void;
  /** Where problem-prone options were seen, for the checks at the end. */
  marks: Map<string, string>;
}

type Handler = (c: Ctx, args: string[]) => void;
interface OptionDef { args: number; fn: Handler }

// ---- helpers building table entries -------------------------------------------------

const NUM_RE = /^(0x[0-9a-fA-F]+|[0-9]+)$/;
function num(c: Ctx, opt: string, v: string, min: number, max: number): number | undefined {
  const n = NUM_RE.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    c.error(`${opt} "${v}" must be a number from ${min} to ${max}`);
    return undefined;
  }
  return n;
}
type NumKey = Exclude<{ [K in keyof PppOptions]-?: PppOptions[K] extends number | undefined ? K : never }[keyof PppOptions], undefined>;
type BoolKey = Exclude<{ [K in keyof PppOptions]-?: PppOptions[K] extends boolean ? K : never }[keyof PppOptions], undefined>;
type StrKey = 'name' | 'logfile' | 'ipparam' | 'ipUpScript' | 'ipDownScript';

const setNum = (key: NumKey, min: number, max: number): OptionDef => ({
  args: 1,
  fn: (c, [v]) => {
    const n = num(c, c.marks.get('#opt') ?? key, v, min, max);
    if (n !== undefined) (c.o[key] as number | undefined) = n;
  },
});
const setBool = (key: BoolKey, value: boolean): OptionDef => ({ args: 0, fn: (c) => { c.o[key] = value; } });
const setStr = (key: StrKey): OptionDef => ({ args: 1, fn: (c, [v]) => { c.o[key] = v; } });
const notImpl = (args: number, why = 'not implemented'): OptionDef => ({
  args,
  fn: (c) => c.warn(`"${c.marks.get('#opt')}" is understood but ${why}; ignored`),
});
const noMeaning = (args: number): OptionDef => ({
  args,
  fn: (c) => {
    const n = c.marks.get('#opt')!;
    if (!c.o.ignored.includes(n)) c.o.ignored.push(n);
  },
});
const requireAuth = (p: PppAuthName): OptionDef => ({
  args: 0,
  fn: (c) => {
    if (p === 'eap') { c.error('require-eap: EAP is never offered (CVE-2020-8597); use require-mschap-v2'); return; }
    c.o.auth.require.add(p);
    c.marks.set('require', `${c.file}:${c.line}`);
  },
});
const refuseAuth = (p: PppAuthName): OptionDef => ({ args: 0, fn: (c) => { c.o.auth.refuse.add(p); } });
const mppe = (f: (m: MppePolicy) => void): OptionDef => ({
  args: 0,
  fn: (c) => {
    f(c.o.mppe);
    // Requiring MPPE with every key length removed turns it off, as in pppd.
    if (!c.o.mppe.allow40 && !c.o.mppe.allow56 && !c.o.mppe.allow128) c.o.mppe.required = false;
    if (c.o.mppe.required) c.marks.set('mppe', `${c.file}:${c.line}`);
  },
});
const ip = (c: Ctx, opt: string, v: string): string | undefined => {
  const a = parseIPv4(v);
  if (a === undefined) { c.error(`${opt} "${v}" is not an IPv4 address`); return undefined; }
  return formatIPv4(a);
};
const twoServers = (key: 'dns' | 'wins', opt: string): OptionDef => ({
  args: 1,
  fn: (c, [v]) => {
    const a = ip(c, opt, v);
    if (a === undefined) return;
    const list = c.o[key];
    // pppd keeps two; a third replaces the second.
    if (list.length >= 2) { c.warn(`third ${opt} ${a} replaces ${list[1]} (only two are sent)`); list[1] = a; }
    else list.push(a);
  },
});

// ---- the table ----------------------------------------------------------------------

const OPTIONS: Record<string, OptionDef> = {
  // identity and authentication
  name: setStr('name'),
  auth: { args: 0, fn: (c) => { c.o.auth.auth = true; } },
  noauth: { args: 0, fn: (c) => { c.o.auth.noauth = true; c.marks.set('noauth', `${c.file}:${c.line}`); } },
  'allow-noauth-server': { args: 0, fn: (c) => { c.o.auth.allowNoauthServer = true; } },
  'require-pap': requireAuth('pap'), '+pap': requireAuth('pap'),
  'require-chap': requireAuth('chap'), '+chap': requireAuth('chap'),
  'require-mschap': requireAuth('mschap'),
  'require-mschap-v2': requireAuth('mschap-v2'),
  'require-eap': requireAuth('eap'),
  'refuse-pap': refuseAuth('pap'), '-pap': refuseAuth('pap'),
  'refuse-chap': refuseAuth('chap'), '-chap': refuseAuth('chap'),
  'refuse-mschap': refuseAuth('mschap'),
  'refuse-mschap-v2': refuseAuth('mschap-v2'),
  'refuse-eap': refuseAuth('eap'),
  'chap-restart': setNum('chapRestart', 1, 3600),
  'chap-max-challenge': setNum('chapMaxChallenge', 1, 1000),
  'chap-interval': notImpl(1, 'periodic re-challenge is not implemented'),
  'pap-restart': setNum('papRestart', 1, 3600),
  'pap-max-authreq': setNum('papMaxAuthreq', 1, 1000),
  'pap-timeout': setNum('papTimeout', 0, 3600),
  remotename: notImpl(1, 'only used by an authenticating client'),
  user: noMeaning(1),
  password: noMeaning(1),
  domain: notImpl(1, 'only appended to a host-derived name; use `name`'),
  usehostname: notImpl(0),
  papcrypt: notImpl(0, 'crypt()ed PAP secrets are not supported'),
  login: notImpl(0, 'checking the system password database is not supported'),
  'chapms-strip-domain': notImpl(0, 'a patched-pppd option'),
  'allow-ip': notImpl(1),
  'allow-number': notImpl(1),
  'show-password': noMeaning(0),
  'hide-password': noMeaning(0),
  // MPPE / CCP
  'require-mppe': mppe((m) => { m.required = m.allow40 = m.allow128 = true; }),
  '+mppe': mppe((m) => { m.required = m.allow40 = m.allow128 = true; }),
  'require-mppe-40': mppe((m) => { m.required = m.allow40 = true; }),
  '+mppe-40': mppe((m) => { m.required = m.allow40 = true; }),
  'require-mppe-128': mppe((m) => { m.required = m.allow128 = true; }),
  '+mppe-128': mppe((m) => { m.required = m.allow128 = true; }),
  nomppe: mppe((m) => { m.required = m.allow40 = m.allow56 = m.allow128 = false; }),
  '-mppe': mppe((m) => { m.required = m.allow40 = m.allow56 = m.allow128 = false; }),
  'nomppe-40': mppe((m) => { m.allow40 = false; }),
  '-mppe-40': mppe((m) => { m.allow40 = false; }),
  'nomppe-128': mppe((m) => { m.allow128 = false; }),
  '-mppe-128': mppe((m) => { m.allow128 = false; }),
  'mppe-stateful': mppe((m) => { m.stateful = true; }),
  'nomppe-stateful': mppe((m) => { m.stateful = false; }),
  mppe: { args: 1, fn: (c, [v]) => oldMppe(c, v) },
  noccp: setBool('noccp', true), '-ccp': setBool('noccp', true),
  nobsdcomp: setBool('nobsdcomp', true), '-bsdcomp': setBool('nobsdcomp', true),
  nodeflate: setBool('nodeflate', true), '-deflate': setBool('nodeflate', true),
  nodeflatedraft: noMeaning(0), '-deflatedraft': noMeaning(0),
  nopredictor1: noMeaning(0), '-predictor1': noMeaning(0),
  bsdcomp: notImpl(1, 'BSD-Compress is not implemented (always refused)'),
  deflate: notImpl(1, 'Deflate is not implemented (always refused)'),
  predictor1: notImpl(0, 'Predictor-1 is not implemented (always refused)'),
  // IPCP
  'ms-dns': twoServers('dns', 'ms-dns'),
  'ms-wins': twoServers('wins', 'ms-wins'),
  proxyarp: setBool('proxyarp', true),
  noproxyarp: setBool('proxyarp', false),
  defaultroute: { args: 0, fn: (c) => { c.o.defaultroute = true; c.warn('defaultroute: a server does not route through its clients; ignored'); } },
  nodefaultroute: setBool('defaultroute', false),
  replacedefaultroute: notImpl(0),
  noreplacedefaultroute: noMeaning(0),
  netmask: { args: 1, fn: (c, [v]) => { const a = ip(c, 'netmask', v); if (a) { c.o.netmask = a; c.warn('netmask: not implemented (point-to-point links use /32); ignored'); } } },
  ipparam: setStr('ipparam'),
  'ip-up-script': setStr('ipUpScript'),
  'ip-down-script': setStr('ipDownScript'),
  'ipv6-up-script': notImpl(1, 'IPv6 is not implemented'),
  'ipv6-down-script': notImpl(1, 'IPv6 is not implemented'),
  'ip-pre-up-script': notImpl(1),
  novj: setBool('novj', true), '-vj': setBool('novj', true),
  novjccomp: setBool('novjccomp', true), '-vjccomp': setBool('novjccomp', true),
  'vj-max-slots': noMeaning(1),
  noipdefault: noMeaning(0),
  usepeerdns: noMeaning(0),
  'ipcp-accept-local': notImpl(0, 'the peer never chooses our address'),
  'ipcp-accept-remote': notImpl(0, 'the peer gets an address from the pool or chap-secrets'),
  'ipcp-restart': setNum('ipcpRestart', 1, 3600),
  'ipcp-max-configure': setNum('ipcpMaxConfigure', 1, 1000),
  'ipcp-max-terminate': setNum('ipcpMaxTerminate', 1, 1000),
  'ipcp-max-failure': setNum('ipcpMaxFailure', 1, 1000),
  'ipcp-no-addresses': notImpl(0), 'ipcp-no-address': notImpl(0),
  noip: notImpl(0, 'IPv4 is what a PPTP server carries'),
  ktune: notImpl(0, 'kernel tuning (ip_dynaddr) is not done'),
  noktune: noMeaning(0),
  noipx: noMeaning(0), '-ipx': noMeaning(0),
  ipx: notImpl(0, 'IPX is not supported'),
  '+ipv6': notImpl(0, 'IPv6 is not implemented'), ipv6: notImpl(1, 'IPv6 is not implemented'),
  noipv6: noMeaning(0), '-ipv6': noMeaning(0),
  // LCP
  mtu: setNum('mtu', 128, 16384),
  mru: setNum('mru', 128, 16384),
  'default-mru': { args: 0, fn: (c) => { c.o.mru = undefined; } },
  'lcp-echo-interval': setNum('lcpEchoInterval', 0, 86400),
  'lcp-echo-failure': setNum('lcpEchoFailure', 0, 1000),
  'lcp-echo-adaptive': notImpl(0),
  'lcp-restart': setNum('lcpRestart', 1, 3600),
  'lcp-max-configure': setNum('lcpMaxConfigure', 1, 1000),
  'lcp-max-terminate': setNum('lcpMaxTerminate', 1, 1000),
  'lcp-max-failure': setNum('lcpMaxFailure', 1, 1000),
  // LCP then Configure-Rejects the peer's PFC / ACFC (both directions stay uncompressed).
  nopcomp: setBool('nopcomp', true), '-pc': setBool('nopcomp', true),
  noaccomp: setBool('noaccomp', true), '-ac': setBool('noaccomp', true),
  nomagic: notImpl(0, 'the magic number is always negotiated'),
  passive: notImpl(0), silent: notImpl(0),
  asyncmap: noMeaning(1), '-as': noMeaning(1), 'default-asyncmap': noMeaning(0), escape: noMeaning(1),
  'receive-all': noMeaning(0),
  multilink: notImpl(0, 'multilink is not supported (MRRU is rejected)'), mp: notImpl(0, 'multilink is not supported'),
  nomultilink: noMeaning(0), nomp: noMeaning(0),
  mrru: notImpl(1, 'multilink is not supported'),
  endpoint: notImpl(1, 'multilink is not supported'),
  // link control
  idle: setNum('idle', 0, 10_000_000),
  maxconnect: notImpl(1),
  holdoff: noMeaning(1), persist: noMeaning(0), nopersist: noMeaning(0), maxfail: noMeaning(1),
  demand: notImpl(0, 'dial-on-demand has no meaning for a server'),
  'connect-delay': noMeaning(1),
  connect: noMeaning(1), disconnect: noMeaning(1), init: noMeaning(1), welcome: noMeaning(1),
  'active-filter': notImpl(1), 'pass-filter': notImpl(1),
  // tty and device
  lock: noMeaning(0), nolock: noMeaning(0),
  crtscts: noMeaning(0), nocrtscts: noMeaning(0), '-crtscts': noMeaning(0), cdtrcts: noMeaning(0), nocdtrcts: noMeaning(0),
  xonxoff: noMeaning(0), local: noMeaning(0), modem: noMeaning(0), sync: noMeaning(0), notty: noMeaning(0),
  pty: noMeaning(1), record: notImpl(1), '-detach': noMeaning(0),
  // logging and process
  debug: setBool('debug', true),
  kdebug: noMeaning(1),
  dump: setBool('dump', true), // the daemon logs the options in effect once at start
  dryrun: notImpl(0, 'use pptpd --check'),
  nolog: setBool('nolog', true),
  logfile: setStr('logfile'),
  logfd: noMeaning(1), nologfd: noMeaning(0),
  nodetach: noMeaning(0), updetach: noMeaning(0),
  linkname: notImpl(1), ifname: notImpl(1, 'interfaces are named pppN'), unit: notImpl(1, 'interfaces are named pppN'),
  plugin: {
    args: 1,
    fn: (c, [v]) => {
      c.o.plugins.push(v);
      c.warn(`plugin ${v}: pppd plugins are not supported yet; ignored`);
    },
  },
  // includes
  file: { args: 1, fn: (c, [v]) => c.include(v) },
  call: {
    args: 1,
    fn: (c, [v]) => {
      if (v.includes('/') || v.startsWith('.')) { c.error(`call "${v}": not a peer name`); return; }
      c.include(`/etc/ppp/peers/${v}`);
    },
  },
};

/**
 * Every option word the parser knows (the table's keys), in table order:
 * the man page test checks pptpd.conf(5) documents each under its class.
 */
export const PPP_OPTION_NAMES: readonly string[] = Object.freeze(Object.keys(OPTIONS));

/** Old (pre-2.4.2 patch) syntax: `mppe required,no40,no56,stateless`. */
function oldMppe(c: Ctx, v: string): void {
  const m = c.o.mppe;
  // The old patch allowed every key length and stateful mode unless told not to.
  m.allow40 = m.allow56 = m.allow128 = true;
  m.stateful = true;
  m.required = false;
  for (const k of v.split(',')) {
    switch (k) {
      case 'required': m.required = true; break;
      case 'stateless': m.stateful = false; break;
      case 'stateful': m.stateful = true; break;
      case 'no40': m.allow40 = false; break;
      case 'no56': m.allow56 = false; break;
      case 'no128': m.allow128 = false; break;
      case 'on': break;
      default: c.error(`mppe: unknown keyword "${k}" (expected required, stateless, no40, no56, no128)`);
    }
  }
  if (!m.allow40 && !m.allow56 && !m.allow128) m.required = false;
  if (m.required) c.marks.set('mppe', `${c.file}:${c.line}`);
  if (m.allow56) c.warn('mppe: 56-bit keys allowed by the old syntax; the kernel datapath only does 40/128 (add no56)');
}

/**
 * Parses one options file (and its includes).
 * Collects every error and throws ConfigErrors; warnings go to `warnings`.
 */
export function parsePppOptions(text: string, file: string, opts: ParsePppOptionsOpts = {}): PppOptions {
  return parsePppOptionFiles([{ text, file }], opts);
}

/**
 * Parses several files into one result, in order, as pppd does with
 * /etc/ppp/options followed by the file pptpd names; the consistency checks
 * (noauth, auth methods left, MPPE needs MS-CHAP) run once at the end.
 */
export function parsePppOptionFiles(files: IncludedFile[], opts: ParsePppOptionsOpts = {}): PppOptions {
  const o = opts.into ?? emptyPppOptions();
  const errors: ConfigError[] = [];
  const marks = new Map<string, string>();
  for (const f of files) parseInto(o, f.text, f.file, opts, errors, marks, [f.file]);
  finalChecks(o, files[files.length - 1]?.file ?? '(options)', errors, marks);
  if (errors.length > 0) throw new ConfigErrors(errors);
  return o;
}

function parseInto(
  o: PppOptions, text: string, file: string, opts: ParsePppOptionsOpts,
  errors: ConfigError[], marks: Map<string, string>, stack: string[],
): void {
  o.files.push(file);
  let words: Word[];
  try {
    words = readWords(text, file);
  } catch (e) {
    errors.push(e as ConfigError);
    return;
  }
  const ctx: Ctx = {
    o, file, line: 0, marks,
    warn: (msg) => o.warnings.push(`${file}:${ctx.line}: ${msg}`),
    error: (msg) => errors.push(new ConfigError(file, ctx.line, msg)),
    include: (path) => {
      if (stack.includes(path)) { ctx.error(`file ${path}: include loop (${[...stack, path].join(' → ')})`); return; }
      if (stack.length > MAX_INCLUDE_DEPTH) { ctx.error(`file ${path}: includes nested more than ${MAX_INCLUDE_DEPTH} deep`); return; }
      if (!opts.include) { ctx.error(`file ${path}: includes cannot be read here`); return; }
      let inc: IncludedFile;
      try {
        inc = opts.include(path);
      } catch (e) {
        const why = e instanceof PptpdError || e instanceof Error ? e.message : String(e);
        ctx.error(`file ${path}: cannot read it (${why})`);
        return;
      }
      parseInto(o, inc.text, inc.file, opts, errors, marks, [...stack, path]);
    },
  };
  for (let i = 0; i < words.length; ) {
    const w = words[i++];
    ctx.line = w.line;
    const def = OPTIONS[w.text];
    if (!def) {
      unknownWord(ctx, w.text);
      continue;
    }
    if (i + def.args > words.length) {
      ctx.error(`${w.text} needs ${def.args === 1 ? 'a value' : `${def.args} values`}`);
      break;
    }
    const args = words.slice(i, i + def.args).map((a) => a.text);
    i += def.args;
    marks.set('#opt', w.text);
    def.fn(ctx, args);
  }
}

/** Words that are not options: a bare speed, a device, or local:remote addresses (pppd). */
function unknownWord(c: Ctx, w: string): void {
  if (/^[0-9]+$/.test(w)) { noteIgnored(c, `${w} (speed)`); return; }
  if (w.startsWith('/dev/')) { noteIgnored(c, `${w} (device)`); return; }
  const m = /^([^:\s]*):([^:\s]*)$/.exec(w);
  if (m) {
    const [, l, r] = m;
    if (l) { const a = ip(c, 'local address', l); if (a) c.o.localAddress = a; }
    if (r) { const a = ip(c, 'remote address', r); if (a) c.o.remoteAddress = a; }
    c.warn(`${w}: addresses come from pptpd.conf localip/remoteip; ignored`);
    return;
  }
  c.error(`unknown option "${w}"`);
}

function noteIgnored(c: Ctx, what: string): void {
  if (!c.o.ignored.includes(what)) c.o.ignored.push(what);
}

function finalChecks(o: PppOptions, file: string, errors: ConfigError[], marks: Map<string, string>): void {
  const at = (key: string): [string, number] => {
    const m = marks.get(key);
    if (!m) return [file, 0];
    const i = m.lastIndexOf(':');
    return [m.slice(0, i), Number(m.slice(i + 1))];
  };
  if (o.auth.noauth) {
    if (o.auth.require.size > 0) {
      const [f, l] = at('noauth');
      o.warnings.push(`${f}:${l}: noauth ignored: require-* options demand authentication`);
      o.auth.noauth = false;
    } else if (!o.auth.allowNoauthServer) {
      const [f, l] = at('noauth');
      errors.push(new ConfigError(f, l, 'noauth would let clients in without credentials; add `allow-noauth-server` if you really mean it'));
    } else {
      const [f, l] = at('noauth');
      o.warnings.push(`${f}:${l}: noauth + allow-noauth-server: clients connect WITHOUT authentication`);
    }
  }
  const methods = authMethods(o);
  if (methods.length === 0 && !o.auth.noauth) {
    const [f, l] = o.auth.require.size > 0 ? at('require') : [file, 0];
    errors.push(new ConfigError(f, l, 'require-*/refuse-* options leave no authentication method to offer'));
  }
  if (o.mppe.required) {
    const [f, l] = at('mppe');
    if (o.noccp) errors.push(new ConfigError(f, l, 'MPPE is required but noccp disables CCP'));
    else if (!o.auth.noauth && !methods.some((m) => m === 'mschapv2' || m === 'mschap')) {
      errors.push(new ConfigError(f, l, 'MPPE is required but no MS-CHAP method is offered (MPPE keys come from MS-CHAP)'));
    } else if (methods.some((m) => m === 'pap' || m === 'chap-md5')) {
      o.warnings.push(`${f}:${l}: MPPE is required: clients that authenticate with PAP or CHAP-MD5 will fail (no MPPE keys)`);
    }
  }
}

const ALL_METHODS: AuthMethod[] = ['mschapv2', 'mschap', 'chap-md5', 'pap'];
const PPP_NAME: Record<AuthMethod, PppAuthName> = { mschapv2: 'mschap-v2', mschap: 'mschap', 'chap-md5': 'chap', pap: 'pap' };

/**
 * The authentication methods the server offers, strongest first
 * (MS-CHAPv2, MS-CHAP, CHAP-MD5, PAP). Rules (pppd's server side):
 *  - when any require-X is given, only the required methods are offered;
 *  - otherwise (`auth`, or nothing: a server always authenticates) every method;
 *  - refuse-X removes X in both cases (in pppd refuse-X is about
 *    authenticating ourselves, but it also narrows what `auth` alone offers,
 *    and every PPTP how-to uses it to mean "never accept X");
 *  - EAP is never offered (require-eap is a config error);
 *  - [] only with `noauth` + `allow-noauth-server` and no require-X: no
 *    authentication at all.
 */
export function authMethods(o: PppOptions): AuthMethod[] {
  const req = o.auth.require;
  const wanted = [...req].some((p) => p !== 'eap');
  if (!wanted && o.auth.noauth && o.auth.allowNoauthServer) return [];
  return ALL_METHODS.filter((m) => (!wanted || req.has(PPP_NAME[m])) && !o.auth.refuse.has(PPP_NAME[m]));
}

/**
 * MPPE as negotiated by CCP. pppd 2.4.9 rules: MPPE is off unless asked for;
 * require-mppe = required with 40 and 128 bits; require-mppe-40/-128 add one
 * key length each; nomppe-40/-128 remove one (none left → MPPE off);
 * stateless only unless mppe-stateful. The old `mppe a,b,…` syntax starts
 * from "everything allowed, stateful, optional". MPPE is negotiated at all
 * iff some allowXX is true; `required` ends the link when it does not come up.
 */
export function mppePolicy(o: PppOptions): MppePolicy {
  if (o.noccp) return { required: false, allow40: false, allow56: false, allow128: false, stateful: false };
  return { ...o.mppe };
}
