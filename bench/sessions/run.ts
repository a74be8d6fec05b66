// `npm run bench:sessions [-- 1000 5000 10000]`: concurrent-session benchmark
// of the TUN datapath (root only). For each count N: the DAEMON as its own
// process (`node dist/src/cli/pptpd.js --fg --datapath tun`) in one network
// namespace, the load generator (bench/sessions/client.ts) in another, joined
// by a veth pair; every session is a real pppN TUN interface after a full
// PPTP + LCP + MS-CHAPv2 + MPPE-128 + IPCP negotiation. Prints set-up rate,
// latency, daemon memory per session, the kernel's own per-interface cost,
// idle CPU with all up and teardown time, each target with PASS/SHORT.
// Not a test. `--no-build` skips `npm run build:ts`.
// Memory: the headline is RSS as read (what the process holds), before the
// sessions and 3 s after the last is up. The daemon preloads
// bench/sessions/mem-probe.ts, which also reports V8's figures at that
// moment (young generation, old generations, external/ArrayBuffers) and after
// a forced full GC: the young generation grows to ~28 MiB under the set-up
// burst whatever N is, so at small N it dominates the per-session figure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { Sample } from './mem-probe.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const noBuild = args.includes('--no-build');
// --prof: the daemon runs with --cpu-prof; the profile is kept in bench/sessions/profiles/.
const prof = args.includes('--prof');
// --heap: heap snapshots of the daemon before the sessions and with all up, in
// $TMPDIR/pptpd-bench-heap/ (hundreds of MB: not in the tree);
// `tsx bench/sessions/heap-diff.ts A B N` ranks what grew per session.
const heap = args.includes('--heap');
const profDir = join(root, 'bench/sessions/profiles');
const heapDir = join(tmpdir(), 'pptpd-bench-heap');
// --daemon-flag=X (repeatable): an extra node option for the daemon, e.g.
// --daemon-flag=--max-semi-space-size=2 to see what V8's young generation costs.
const daemonFlags = args.filter((a) => a.startsWith('--daemon-flag=')).map((a) => a.slice('--daemon-flag='.length));
for (const f of daemonFlags) if (!/^--[\w-]+(=[\w.,-]+)?$/.test(f)) throw new Error(`--daemon-flag: not a node option: ${f}`);
const counts = args.filter((a) => /^\d+$/.test(a)).map(Number);
if (counts.length === 0) counts.push(1000, 5000, 10000);
for (const n of counts) if (n < 1 || n > 40_000) throw new Error('session counts must be 1..40000');

const SRV_IP = '10.199.0.1';
// Load generators use 10.199.0.2, .3, …: the server allows 64 control connections
// per source and 64 calls per connection, so one address carries at most 4096.
const CLI_BASE = 2;
const PER_CLIENT = 2500;
const LOCAL_IP = '10.200.0.1';
const ECHO_INTERVAL = 30;
// One whole echo interval: every session's keepalive (request and reply) falls inside the idle window.
const IDLE_SECONDS = ECHO_INTERVAL;
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function sh(cmd: string, argv: string[], allowFail = false): string {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout ?? '';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function statusKb(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** SIGUSR2 → the daemon writes a .heapsnapshot into heapDir; waits until it is complete. */
async function heapSnapshot(pid: number): Promise<string> {
  const { readdirSync, mkdirSync, statSync } = await import('node:fs');
  mkdirSync(heapDir, { recursive: true });
  const list = () => new Set(readdirSync(heapDir).filter((f) => f.endsWith('.heapsnapshot')));
  const before = list();
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 1200; i++) {
    await sleep(250);
    const f = [...list()].find((x) => !before.has(x));
    if (!f) continue;
    // Written in one go; done when the size stops changing.
    const p = join(heapDir, f);
    let last = -1;
    while (statSync(p).size !== last) {
      last = statSync(p).size;
      await sleep(500);
    }
    return p;
  }
  throw new Error('the daemon wrote no heap snapshot within 5 min');
}

/** What bench/sessions/mem-probe.ts reports (bytes): at the moment of the signal, and after a full GC. */
type MemSample = Sample;
interface MemProbe {
  before: MemSample;
  afterGc: MemSample;
}

/** SIGWINCH → the daemon's preloaded probe appends one line to `file`; waits for it. Forces a full GC: read RSS first. */
async function memProbe(pid: number, file: string): Promise<MemProbe | undefined> {
  const lines = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
  const had = lines().length;
  process.kill(pid, 'SIGWINCH');
  for (let i = 0; i < 100; i++) {
    await sleep(100);
    const l = lines();
    if (l.length > had) return JSON.parse(l[l.length - 1]!) as MemProbe;
  }
  return undefined;
}

function memAvailableKb(): number {
  return Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
}

/** utime + stime in seconds. */
function cpuSeconds(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15 of proc(5)
}

function countPpp(ns: string): number {
  return sh('ip', ['-n', ns, '-o', 'link', 'show']).split('\n').filter((l) => /^\d+: ppp\d+[:@]/.test(l)).length;
}

/** poptop range syntax: 10.201.K.1-250 items, as many as needed for n addresses. */
function remoteRanges(n: number): string {
  const items: string[] = [];
  for (let k = 0; k * 250 < n; k++) items.push(`10.201.${k}.1-250`);
  return items.join(',');
}

interface Row {
  n: number;
  up: number;
  failed: number;
  failures: Record<string, number>;
  rate: number;
  p50: number;
  p99: number;
  daemonCpuMsPerSetup: number;
  clientCpuMsPerSetup: number;
  rssBeforeKb: number;
  rssUpKb: number;
  kbPerSession: number;
  /** RSS after the idle period (V8 may have shrunk its young generation by then). */
  rssIdleKb: number;
  memBefore: MemProbe | undefined;
  memUp: MemProbe | undefined;
  kernelKbPerIf: number;
  interfaces: number;
  idleCpuPct: number;
  teardownS: number;
}

async function runOne(n: number, dir: string): Promise<Row> {
  const tag = `${process.pid}`;
  const srv = `pbs-srv-${tag}`;
  const cli = `pbs-cli-${tag}`;
  const password = randomBytes(9).toString('base64url');
  let daemon: ChildProcess | undefined;
  const clients: ChildProcess[] = [];
  try {
    sh('ip', ['netns', 'add', srv]);
    sh('ip', ['netns', 'add', cli]);
    sh('ip', ['-n', srv, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', cli, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', srv, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1', 'netns', cli]);
    sh('ip', ['-n', srv, 'addr', 'add', `${SRV_IP}/24`, 'dev', 'v0']);
    const k = Math.ceil(n / PER_CLIENT);
    for (let c = 0; c < k; c++) sh('ip', ['-n', cli, 'addr', 'add', `10.199.0.${CLI_BASE + c}/24`, 'dev', 'v1']);
    sh('ip', ['-n', srv, 'link', 'set', 'v0', 'up']);
    sh('ip', ['-n', cli, 'link', 'set', 'v1', 'up']);
    // Only IPCP is negotiated: without IPv6 the kernel neither builds v6 state
    // per interface nor routes RS/MLD into every pppN (as a production box would set).
    for (const kv of ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1', 'net.ipv4.conf.all.rp_filter=0']) {
      sh('ip', ['netns', 'exec', srv, 'sysctl', '-qw', kv]);
    }

    const conf = join(dir, 'pptpd.conf');
    const opts = join(dir, 'options.pptpd');
    const secrets = join(dir, 'chap-secrets');
    writeFileSync(conf, [
      `option ${opts}`, `listen ${SRV_IP}`, `localip ${LOCAL_IP}`, `remoteip ${remoteRanges(n)}`,
      `connections ${n}`, `max-calls-per-source ${n}`, 'max-pending-per-source 4096', 'auth-backoff-threshold 0', '',
    ].join('\n'));
    writeFileSync(opts, [
      'name pptpd', 'refuse-pap', 'refuse-chap', 'refuse-mschap', 'require-mschap-v2', 'require-mppe-128',
      'nobsdcomp', 'novj', 'novjccomp', 'nolog', `lcp-echo-interval ${ECHO_INTERVAL}`, 'lcp-echo-failure 4',
      `ip-up-script ${join(dir, 'no-ip-up')}`, `ip-down-script ${join(dir, 'no-ip-down')}`, '',
    ].join('\n'));
    writeFileSync(secrets, `bench pptpd "${password}" *\n`, { mode: 0o600 });

    const logFile = join(dir, `daemon-${n}.log`);
    const memFile = join(dir, `mem-${n}.jsonl`);
    const cmd = `ulimit -n $(ulimit -Hn) && exec ip netns exec ${srv} ${process.execPath} ` +
      `${prof ? `--cpu-prof --cpu-prof-dir=${profDir} ` : ''}` +
      `${heap ? `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${heapDir} ` : ''}` +
      `--import ${join(root, 'dist/bench/sessions/mem-probe.js')} ${daemonFlags.map((f) => `${f} `).join('')}` +
      `${join(root, 'dist/src/cli/pptpd.js')} --fg --datapath tun -c ${conf} --chap-secrets ${secrets} ` +
      `--control-socket ${join(dir, 'ctl.sock')} --pidfile ${join(dir, 'pptpd.pid')} --log-format json >${logFile} 2>&1`;
    daemon = spawn('bash', ['-c', cmd], { stdio: 'ignore', env: { ...process.env, PPTPD_BENCH_MEM_FILE: memFile } });
    const pid = daemon.pid!;
    // Ready when port 1723 listens in the server namespace.
    for (let i = 0; ; i++) {
      if (daemon.exitCode !== null) throw new Error(`daemon exited ${daemon.exitCode}:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
      if (sh('ip', ['netns', 'exec', srv, 'ss', '-ltnH', 'sport = :1723'], true).trim()) break;
      if (i > 200) throw new Error('daemon did not listen within 20 s');
      await sleep(100);
    }
    await sleep(1000);
    const rssBeforeKb = statusKb(pid, 'VmRSS');
    const availBefore = memAvailableKb();
    // After the RSS reading: the probe's full GC changes what RSS would show.
    const memBefore = await memProbe(pid, memFile);
    const snapBefore = heap ? await heapSnapshot(pid) : undefined;

    type Summary = {
      up: number; failed: number; failures: Record<string, number>; setupRate: number; setupMs: { p50: number; p99: number } | null;
    };
    // The compiled client when the build has it: under tsx, loading the
    // modules cost each load generator ~0.4 s of CPU on the daemon's cores.
    const built = join(root, 'dist/bench/sessions/client.js');
    const clientEntry = existsSync(built) ? built : `--import tsx ${join(root, 'bench/sessions/client.ts')}`;
    const started = Array.from({ length: k }, (_, c) => {
      const sessions = Math.floor(n / k) + (c < n % k ? 1 : 0);
      const clientArgs = {
        server: SRV_IP, bind: `10.199.0.${CLI_BASE + c}`, sessions, concurrency: Math.min(sessions, Math.ceil(256 / k)),
        perConnection: Math.min(64, Math.max(1, Math.ceil(sessions / 48))), user: 'bench', setupTimeoutMs: 60_000,
      };
      const child = spawn('bash', ['-c', `ulimit -n $(ulimit -Hn) && exec ip netns exec ${cli} ${process.execPath} ` +
        `${clientEntry} '${JSON.stringify(clientArgs)}'`],
      { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, BENCH_PASSWORD: password }, cwd: root });
      clients.push(child);
      const out = createInterface({ input: child.stdout! });
      const lineWith = (prefix: string) => new Promise<string>((resolve, reject) => {
        const onLine = (l: string) => {
          if (l.startsWith(prefix)) {
            out.off('line', onLine);
            resolve(l.slice(prefix.length));
          }
        };
        out.on('line', onLine);
        child.once('exit', (code) => reject(new Error(`load generator exited ${code} before ${prefix.trim()}`)));
      });
      const r = { child, settled: lineWith('SETTLED '), summary: lineWith('SUMMARY ').then((l) => JSON.parse(l) as Summary) };
      // Awaited later; until then a failure must not count as unhandled.
      r.settled.catch(() => {});
      r.summary.catch(() => {});
      return r;
    });
    const setupCpu0 = { daemon: cpuSeconds(pid), client: started.reduce((t, c) => t + cpuSeconds(c.child.pid!), 0) };
    await Promise.all(started.map((c) => c.settled));
    const setupCpu = { daemon: cpuSeconds(pid) - setupCpu0.daemon, client: started.reduce((t, c) => t + cpuSeconds(c.child.pid!), 0) - setupCpu0.client };

    // All up: let set-up garbage go, then measure.
    await sleep(3000);
    const interfaces = countPpp(srv);
    const rssUpKb = statusKb(pid, 'VmRSS');
    const availUp = memAvailableKb();
    // Started after availBefore: all of their memory counts.
    const clientRss = started.reduce((t, c) => t + statusKb(c.child.pid!, 'VmRSS'), 0);
    const c0 = cpuSeconds(pid);
    const t0 = performance.now();
    await sleep(IDLE_SECONDS * 1000);
    const idleCpuPct = (100 * (cpuSeconds(pid) - c0)) / ((performance.now() - t0) / 1000);
    const rssIdleKb = statusKb(pid, 'VmRSS');
    const memUp = await memProbe(pid, memFile);
    if (snapBefore) {
      const snapUp = await heapSnapshot(pid);
      console.log(`  heap snapshots: ${snapBefore} → ${snapUp}`);
      console.log(`  (tsx bench/sessions/heap-diff.ts ${snapBefore} ${snapUp} ${interfaces})`);
    }

    // Teardown: the clients hang up everything; done when the last pppN is gone.
    const td0 = performance.now();
    for (const c of started) c.child.stdin!.write('go\n');
    const summaries = await Promise.all(started.map((c) => c.summary));
    while (countPpp(srv) > 0 && performance.now() - td0 < 300_000) await sleep(100);
    const teardownS = (performance.now() - td0) / 1000;
    const failures: Record<string, number> = {};
    for (const sm of summaries) for (const [r, v] of Object.entries(sm.failures)) failures[r] = (failures[r] ?? 0) + v;
    // The clients ran side by side: the aggregate rate is all sessions over the longest ramp.
    const longest = Math.max(...summaries.map((sm) => (sm.setupRate > 0 ? sm.up / sm.setupRate : 0)));
    const summary = {
      up: summaries.reduce((t, sm) => t + sm.up, 0), failed: summaries.reduce((t, sm) => t + sm.failed, 0), failures,
      setupRate: longest > 0 ? summaries.reduce((t, sm) => t + sm.up, 0) / longest : 0,
      // Per-client percentiles only: report the worst client's (conservative).
      setupMs: summaries.every((sm) => sm.setupMs)
        ? { p50: Math.max(...summaries.map((sm) => sm.setupMs!.p50)), p99: Math.max(...summaries.map((sm) => sm.setupMs!.p99)) }
        : null,
    };

    const up = summary.up;
    const kbPerSession = up > 0 ? (rssUpKb - rssBeforeKb) / up : NaN;
    // MemAvailable fell by daemon growth + load generator + kernel state; the kernel's is the rest.
    const kernelKbPerIf = interfaces > 0
      ? Math.max(0, (availBefore - availUp) - (rssUpKb - rssBeforeKb) - clientRss) / interfaces
      : NaN;
    return {
      n, up, failed: summary.failed, failures: summary.failures, rate: summary.setupRate,
      p50: summary.setupMs?.p50 ?? NaN, p99: summary.setupMs?.p99 ?? NaN,
      daemonCpuMsPerSetup: (1000 * setupCpu.daemon) / Math.max(1, up), clientCpuMsPerSetup: (1000 * setupCpu.client) / Math.max(1, up),
      rssBeforeKb, rssUpKb, kbPerSession, rssIdleKb, memBefore, memUp, kernelKbPerIf, interfaces, idleCpuPct, teardownS,
    };
  } finally {
    for (const c of clients) c.kill('SIGKILL');
    if (daemon && daemon.exitCode === null) {
      const pidText = existsSync(join(dir, 'pptpd.pid')) ? readFileSync(join(dir, 'pptpd.pid'), 'utf8').trim() : '';
      if (/^\d+$/.test(pidText)) process.kill(Number(pidText), 'SIGTERM');
      await new Promise<void>((r) => {
        const t = setTimeout(() => { daemon!.kill('SIGKILL'); r(); }, 60_000);
        daemon!.once('exit', () => { clearTimeout(t); r(); });
      });
    }
    sh('ip', ['netns', 'del', cli], true);
    sh('ip', ['netns', 'del', srv], true);
  }
}

const mark = (ok: boolean) => (ok ? 'PASS ' : 'SHORT');

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench:sessions needs root (network namespaces, TUN, raw sockets)');
    process.exit(2);
  }
  if (!noBuild) {
    const b = spawnSync('npm', ['run', 'build:ts'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    if (b.status !== 0) console.error('warning: build:ts reported errors; running what dist/ holds');
  }
  const dir = mkdtempSync(join(tmpdir(), 'bench-sessions-'));
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
  console.log(`bench:sessions — ${new Date().toISOString()} — nproc ${sh('nproc', []).trim()}, ${cpu}, kernel ${sh('uname', ['-r']).trim()}, node ${process.version}`);
  if (daemonFlags.length) console.log(`daemon node options: ${daemonFlags.join(' ')}`);
  console.log(`daemon (TUN datapath) and load generators (one per ${PER_CLIENT} sessions, own source address) in separate processes and namespaces; MS-CHAPv2 + MPPE-128 stateless; lcp-echo-interval ${ECHO_INTERVAL}`);
  try {
    for (const n of counts) {
      console.log(`\n== ${n} sessions ==`);
      let r: Row;
      try {
        r = await runOne(n, dir);
      } catch (e) {
        console.log(`  FAILED: ${(e as Error).message}`);
        continue;
      }
      const f = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '—');
      console.log(`  up ${r.up}/${r.n} (${r.failed} failed${r.failed ? ` ${JSON.stringify(r.failures)}` : ''}), pppN interfaces while up: ${r.interfaces}`);
      console.log(`  ${mark(r.rate >= 500)} set-up rate        ${f(r.rate, 0)} sessions/s (target ≥ 500)`);
      console.log(`        set-up latency     p50 ${f(r.p50, 0)} ms, p99 ${f(r.p99, 0)} ms (worst load generator's)`);
      console.log(`        set-up CPU         daemon ${f(r.daemonCpuMsPerSetup, 2)} ms/session, load generators ${f(r.clientCpuMsPerSetup, 2)} ms/session`);
      console.log(`  ${mark(r.kbPerSession <= 20)} daemon memory      RSS ${f(r.rssBeforeKb / 1024)} MiB → ${f(r.rssUpKb / 1024)} MiB = ${f(r.kbPerSession)} KB/session (target ≤ 20)`);
      if (heap) console.log('        (with --heap the RSS figures include the heap snapshots\' own memory: take RSS from a run without --heap)');
      const per = (a: number, b: number) => f((b - a) / 1024 / Math.max(1, r.up));
      console.log(`        RSS after ${IDLE_SECONDS} s idle  ${f(r.rssIdleKb / 1024)} MiB = ${f((r.rssIdleKb - r.rssBeforeKb) / Math.max(1, r.up))} KB/session`);
      const mb = r.memBefore;
      const mu = r.memUp;
      if (mb && mu) {
        // Where RSS beyond the live heap goes, per session (before → all up, after idle; KB).
        const b = mb.before;
        const u = mu.before;
        console.log(`        V8, per session    heapUsed ${per(b.heapUsed, u.heapUsed)}, heapTotal ${per(b.heapTotal, u.heapTotal)} ` +
          `(young gen ${per(b.newSpace, u.newSpace)}, old gens ${per(b.oldSpaces, u.oldSpaces)}), ` +
          `external ${per(b.external, u.external)} (ArrayBuffers ${per(b.arrayBuffers, u.arrayBuffers)}), rss ${per(b.rss, u.rss)}`);
        console.log(`        after a full GC    heapUsed ${per(mb.afterGc.heapUsed, mu.afterGc.heapUsed)}, heapTotal ${per(mb.afterGc.heapTotal, mu.afterGc.heapTotal)} ` +
          `(young gen ${per(mb.afterGc.newSpace, mu.afterGc.newSpace)}), external ${per(mb.afterGc.external, mu.afterGc.external)}, ` +
          `rss ${per(mb.afterGc.rss, mu.afterGc.rss)} (KB/session)`);
      } else {
        console.log('        (no memory probe figures: dist/bench/sessions/mem-probe.js missing?)');
      }
      console.log(`        kernel per pppN    ~${f(r.kernelKbPerIf)} KB (MemAvailable drop minus both processes' RSS; not ours to shrink)`);
      console.log(`  ${mark(r.idleCpuPct < 5)} idle CPU, all up   ${f(r.idleCpuPct, 2)} % of one core over ${IDLE_SECONDS} s (target < 5)`);
      console.log(`        teardown           ${f(r.teardownS)} s until the last pppN was gone`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
