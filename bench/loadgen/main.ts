// `npm run bench:loadgen -- --server 10.x.y.1 --sessions N …`: the command
// line of the load generator; prints progress and a summary.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { AuthMethod } from '../../src/ppp/types.js';
import { createLogger } from '../../src/util/log.js';
import { runLoad, type Credentials, type LoadOptions, type LoadSummary, type MppeMode } from './run.js';
import type { Percentiles } from './stats.js';

const AUTH: readonly AuthMethod[] = ['mschapv2', 'mschap', 'chap-md5', 'pap'];

/**
 * A users file: one `user password` per line, or chap-secrets lines
 * (`client server secret [addresses…]`); `#` starts a comment; double quotes
 * group words. Throws an Error naming file:line for a bad line.
 */
export function parseUsers(text: string, file = 'users'): Credentials[] {
  const out: Credentials[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const words: string[] = [];
    const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
    const line = raw.replace(/(^|\s)#.*$/, '');
    for (let m = re.exec(line); m !== null; m = re.exec(line)) {
      words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
    }
    if (words.length === 0) return;
    if (words.length === 1) throw new Error(`${file}:${i + 1}: expected "user password" or a chap-secrets line`);
    out.push(words.length === 2 ? { user: words[0]!, password: words[1]! } : { user: words[0]!, password: words[2]! });
  });
  return out;
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

function fmtPct(p: Percentiles): string {
  return `p50 ${fmt(p.p50)}  p90 ${fmt(p.p90)}  p99 ${fmt(p.p99)}  (min ${fmt(p.min)}, max ${fmt(p.max)}, mean ${fmt(p.mean)})`;
}

/** The human summary (no secrets: only counts, reasons and timings). */
export function formatSummary(s: LoadSummary): string {
  const lines: string[] = [];
  lines.push(`sessions: ${s.requested} requested, ${s.up} up, ${s.failed} failed` +
    ` over ${s.connections.opened} control connection(s)${s.connections.failed ? ` (${s.connections.failed} failed)` : ''}`);
  const reasons = (title: string, r: Record<string, number>) => {
    const e = Object.entries(r);
    if (e.length === 0) return;
    lines.push(`${title}:`);
    for (const [k, v] of e) lines.push(`  ${String(v).padStart(6)}  ${k}`);
  };
  reasons('failed by reason', s.failures);
  reasons('dropped while held, by reason', s.drops);
  lines.push(s.setupMs ? `set-up latency ms: ${fmtPct(s.setupMs)}` : 'set-up latency ms: no session came up');
  lines.push(`set-up rate: ${fmt(s.setupRate)} sessions/s (all settled after ${fmt(s.settleMs)} ms; total ${fmt(s.durationMs)} ms)`);
  if (s.ping) {
    const loss = s.ping.sent > 0 ? (100 * (s.ping.sent - s.ping.received)) / s.ping.sent : 0;
    lines.push(`ping: ${s.ping.sent} sent, ${s.ping.received} received (${loss.toFixed(1)} % lost)` +
      (s.ping.rttMs ? `; rtt ms ${fmtPct(s.ping.rttMs)}` : ''));
  }
  if (s.gre.malformed + s.gre.wrongSource > 0) {
    lines.push(`GRE dropped: ${s.gre.malformed} malformed, ${s.gre.wrongSource} from a wrong source`);
  }
  return lines.join('\n');
}

function int(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`);
    return n;
  };
}

function num(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number ≥ 0`);
    return n;
  };
}

export function buildProgram(): Command {
  return new Command('loadgen')
    .description('PPTP load generator: opens N client sessions (PPTP, GRE, LCP, MS-CHAPv2, MPPE, IPCP) against a server')
    .requiredOption('--server <addr>', 'server IPv4 address (TCP 1723 and GRE)')
    .option('--port <n>', 'server TCP port', int('port', 1), 1723)
    .option('--bind <addr>', 'our IPv4 address for TCP and the raw GRE socket')
    .option('--netns <name>', 'run inside this network namespace (/run/netns/<name>; needs root)')
    .option('--sessions <n>', 'sessions to open', int('sessions', 0), 1)
    .option('--concurrency <n>', 'set-ups in progress at once', int('concurrency', 1), 100)
    .option('--rate <n>', 'new sessions per second (0 = as fast as concurrency allows)', num('rate'), 0)
    .option('--per-connection <n>', 'calls per control connection', int('per-connection', 1), 1)
    .option('--user <name>', 'user name (with --password or $LOADGEN_PASSWORD)')
    .option('--password <secret>', 'password for --user (prefer $LOADGEN_PASSWORD: argv is visible to other users)')
    .option('--users-file <file>', '"user password" per line, or chap-secrets lines; used round robin')
    .option('--hold <seconds>', 'keep each session up this long (and until all have settled)', num('hold'), 0)
    .option('--ping-interval <ms>', 'ICMP echo through every session this often (0 = no traffic)', num('ping-interval'), 0)
    .option('--ping-size <bytes>', 'ICMP payload size', int('ping-size', 0), 56)
    .option('--setup-timeout <ms>', 'per-session set-up limit', int('setup-timeout', 1), 30_000)
    .addOption(new Option('--mppe <mode>', 'encryption').choices(['required', 'optional', 'none', 'stateful']).default('required'))
    .option('--auth <list>', `accepted auth methods, comma separated (${AUTH.join(', ')})`, 'mschapv2')
    .option('--json', 'print the summary as JSON')
    .option('--quiet', 'no progress lines')
    .option('--log-level <level>', 'engine log level on stderr', 'silent');
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.parse(argv);
  const o = program.opts<{
    server: string; port: number; bind?: string; netns?: string; sessions: number; concurrency: number; rate: number;
    perConnection: number; user?: string; password?: string; usersFile?: string; hold: number; pingInterval: number;
    pingSize: number; setupTimeout: number; mppe: MppeMode; auth: string; json?: boolean; quiet?: boolean; logLevel: string;
  }>();

  const users: Credentials[] = [];
  if (o.usersFile) users.push(...parseUsers(readFileSync(o.usersFile, 'utf8'), o.usersFile));
  if (o.user) {
    const password = o.password ?? process.env.LOADGEN_PASSWORD;
    if (password === undefined) throw new Error('--user needs --password or $LOADGEN_PASSWORD');
    users.push({ user: o.user, password });
  }
  if (users.length === 0) throw new Error('give --user (with a password) or --users-file');
  const auth = o.auth.split(',').map((s) => s.trim()).filter(Boolean) as AuthMethod[];
  for (const a of auth) if (!AUTH.includes(a)) throw new Error(`unknown auth method ${a} (choose from ${AUTH.join(', ')})`);

  if (o.netns) {
    // Sockets are created on the main thread, so entering the namespace here puts them all inside it.
    const { loadNative } = await import('../../native/index.js');
    loadNative().netnsEnter(`/run/netns/${o.netns}`);
  }

  const err = process.stderr;
  const opts: LoadOptions = {
    server: o.server,
    port: o.port,
    ...(o.bind ? { bind: o.bind } : {}),
    sessions: o.sessions,
    concurrency: o.concurrency,
    rate: o.rate,
    perConnection: o.perConnection,
    users,
    holdMs: o.hold * 1000,
    pingIntervalMs: o.pingInterval,
    pingSize: o.pingSize,
    setupTimeoutMs: o.setupTimeout,
    mppe: o.mppe,
    auth,
    log: createLogger({ level: o.logLevel, destination: err, format: 'pretty' }),
    ...(o.quiet || o.json
      ? {}
      : {
        onProgress: (p) => err.write(`${(p.elapsedMs / 1000).toFixed(1)} s: ${p.started} started, ${p.up} up, ` +
          `${p.failed} failed, ${p.live} live, ${p.connections} connections\n`),
        afterAllSettled: (p) => void err.write(`all settled: ${p.up} up, ${p.failed} failed; holding\n`),
      }),
  };
  const summary = await runLoad(opts);
  process.stdout.write(o.json ? JSON.stringify(summary, null, 2) + '\n' : formatSummary(summary) + '\n');
  return summary.failed > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`loadgen: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(2);
    },
  );
}
