// User-Mode Linux interop harness: a private network namespace with a bridge
// and taps, and UML guests on it that run a scenario shell script and leave
// their results in a host directory. See shared/UML.md for the facts this
// relies on. Everything started here is killed by process group (never by
// name) and every namespace is deleted, also when a test fails or the process
// exits early.
import { spawn as spawnChild, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readdirSync, rmSync } from 'node:fs';
import { copyFile, mkdtemp, open, readFile, rename, rm, writeFile, mkdir, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const UML_KERNEL = '/usr/bin/linux.uml';
export const UML_MODULES = '/usr/lib/uml/modules';

/** Keep temp dirs (results, console logs) after destroy() for debugging. */
const KEEP = process.env.PPTPD_INTEROP_KEEP === '1';

export type Availability = { ok: true } | { ok: false; why: string };

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  for (const d of dirs) {
    if (d && isExecutable(join(d, name))) return join(d, name);
  }
  return undefined;
}

/**
 * Whether the interop tests can run here. `poptop: true` also requires the
 * reference server (Debian package pptpd).
 */
export function interopAvailable(opts: { poptop?: boolean } = {}): Availability {
  if (process.platform !== 'linux') return { ok: false, why: 'not Linux' };
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { ok: false, why: 'not root (network namespaces, taps and UML need root)' };
  }
  if (!isExecutable(UML_KERNEL)) return { ok: false, why: `${UML_KERNEL} missing (apt-get install user-mode-linux)` };
  let modules: string[] = [];
  try {
    modules = readdirSync(UML_MODULES);
  } catch {
    /* reported below */
  }
  if (modules.length === 0) return { ok: false, why: `${UML_MODULES}/<version> missing (user-mode-linux)` };
  const need: Array<[string, string]> = [
    ['ip', 'iproute2'],
    ['pppd', 'ppp'],
    ['pptp', 'pptp-linux'],
    ['modprobe', 'kmod'],
    ['ping', 'iputils-ping'],
    ['uml_mconsole', 'uml-utilities'],
    ['timeout', 'coreutils'],
  ];
  if (opts.poptop) need.push(['pptpd', 'pptpd'], ['pptpctrl', 'pptpd']);
  for (const [bin, pkg] of need) {
    if (!onPath(bin)) return { ok: false, why: `${bin} not found (apt-get install ${pkg})` };
  }
  // guest-init's /dev/log receiver; poptop logs only to syslog.
  if (opts.poptop && !isExecutable('/usr/bin/python3')) return { ok: false, why: '/usr/bin/python3 missing (apt-get install python3-minimal)' };
  if (!existsSync('/dev/net/tun')) return { ok: false, why: '/dev/net/tun missing (no TUN/TAP on this host)' };
  return { ok: true };
}

// ---------------------------------------------------------------------------
// Emergency clean-up: if the test process dies without running its after
// hooks, still kill our process groups and delete our namespaces.

const liveGroups = new Set<number>();
const liveNamespaces = new Set<string>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

function cleanupSync(): void {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  liveGroups.clear();
  for (const ns of liveNamespaces) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  liveNamespaces.clear();
  if (!KEEP) for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  liveDirs.clear();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      cleanupSync();
      process.kill(process.pid, sig); // default action now that our handler is gone
    });
  }
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const t = setTimeout(() => {
      child.off('exit', onExit);
      res(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(t);
      res(true);
    };
    child.once('exit', onExit);
  });
}

/** Kills a whole process group we started and reaps its leader. */
async function killGroup(child: ChildProcess, graceMs: number): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  if (!exited() && graceMs > 0) {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      /* group gone */
    }
    await waitForExit(child, graceMs);
  }
  // Also after the leader exited: members of its group may still live.
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* group gone */
  }
  await waitForExit(child, 5000);
  // Members are reaped by init a moment later; until then kill(-pgid, 0) succeeds.
  for (let i = 0; i < 50 && groupExists(pid); i++) await sleep(50);
  liveGroups.delete(pid);
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  timeoutMs?: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs argv to completion (own process group, killed on timeout). */
function run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((res, rej) => {
    const child = spawnChild(argv[0], argv.slice(1), {
      detached: true,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    if (child.pid !== undefined) liveGroups.add(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // the command may not read its input
      child.stdin.end(opts.input);
    }
    const timeoutMs = opts.timeoutMs ?? 30_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void killGroup(child, 0);
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      if (child.pid !== undefined) liveGroups.delete(child.pid);
      rej(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (child.pid !== undefined) liveGroups.delete(child.pid);
      if (timedOut) {
        rej(new Error(`timed out after ${timeoutMs} ms: ${argv.join(' ')}\n${stdout}${stderr}`));
        return;
      }
      res({ code: code ?? 128 + (signal ? 9 : 0), stdout, stderr });
    });
  });
}

async function runOk(argv: string[], opts?: ExecOptions): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new Error(`command failed (${r.code}): ${argv.join(' ')}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

let netCounter = 0;

/**
 * One fresh network namespace with a bridge `br0`; the host side of the
 * bridge has address .1 of a /24, guests get .10+index. Nothing leaves it.
 */
export class TestNet {
  readonly ns: string;
  readonly hostIp: string;
  readonly prefixLen = 24;
  private readonly base: string;
  private readonly children = new Set<ChildProcess>();
  private readonly guests = new Set<Guest>();
  private destroyed = false;

  private constructor(ns: string, base: string) {
    this.ns = ns;
    this.base = base;
    this.hostIp = `${base}.1`;
  }

  static async create(opts: { subnet?: string } = {}): Promise<TestNet> {
    installExitHook();
    netCounter += 1;
    // Each test has its own namespace, so equal subnets could not collide;
    // distinct ones only make logs easier to tell apart.
    const subnet = opts.subnet ?? `10.77.${((process.pid + netCounter * 37) % 200) + 20}.0/24`;
    const m = /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.0\/24$/.exec(subnet);
    if (!m) throw new Error(`TestNet: subnet must look like a.b.c.0/24, got ${subnet}`);
    const ns = `pptpt-${process.pid}-${netCounter}`;
    const net = new TestNet(ns, m[1]);
    await runOk(['ip', 'netns', 'add', ns]);
    liveNamespaces.add(ns);
    try {
      await runOk(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      await runOk(['ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge']);
      // Forward at once instead of waiting through STP learning states.
      await runOk(['ip', '-n', ns, 'link', 'set', 'br0', 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
      await runOk(['ip', '-n', ns, 'addr', 'add', `${net.hostIp}/24`, 'dev', 'br0']);
      await runOk(['ip', '-n', ns, 'link', 'set', 'br0', 'up']);
    } catch (e) {
      await net.destroy();
      throw e;
    }
    return net;
  }

  guestIp(i: number): string {
    if (!Number.isInteger(i) || i < 0 || i > 200) throw new Error(`guest index out of range: ${i}`);
    return `${this.base}.${10 + i}`;
  }

  /** `ip netns exec NS cmd…` to completion. */
  exec(cmd: string[], opts?: ExecOptions): Promise<ExecResult> {
    return run(['ip', 'netns', 'exec', this.ns, ...cmd], opts);
  }

  /**
   * A long-running process inside the namespace, in its own process group
   * (killed by destroy()). Use `logFile` to send stdout+stderr to a file.
   */
  spawn(cmd: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; logFile?: string; stdio?: SpawnOptions['stdio'] } = {}): ChildProcess {
    if (this.destroyed) throw new Error('TestNet destroyed');
    let stdio: SpawnOptions['stdio'] = opts.stdio ?? ['ignore', 'pipe', 'pipe'];
    let fd: number | undefined;
    if (opts.logFile) {
      fd = openLogSync(opts.logFile);
      stdio = ['ignore', fd, fd];
    }
    const child = spawnChild('ip', ['netns', 'exec', this.ns, ...cmd], {
      detached: true,
      stdio,
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    if (fd !== undefined) closeSyncQuiet(fd);
    if (child.pid !== undefined) liveGroups.add(child.pid);
    this.children.add(child);
    child.once('exit', () => {
      if (child.pid !== undefined) liveGroups.delete(child.pid);
    });
    return child;
  }

  /** @internal used by Guest */
  registerGuest(g: Guest): void {
    if (this.destroyed) throw new Error('TestNet destroyed');
    this.guests.add(g);
  }

  /** Kills what this net started (guests, spawned groups), deletes the namespace. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.guests].map((g) => g.kill().catch(() => undefined)));
    await Promise.all([...this.children].map((c) => killGroup(c, 2000)));
    if (liveNamespaces.has(this.ns)) {
      // Taps and the bridge live in the namespace and go with it.
      await run(['ip', 'netns', 'del', this.ns]).catch(() => undefined);
      liveNamespaces.delete(this.ns);
    }
    await Promise.all([...this.guests].map((g) => g.removeFiles()));
  }
}

// Small sync fs helpers for handing a file descriptor to a child.
function openLogSync(p: string): number {
  return openSync(p, 'a', 0o644);
}
function closeSyncQuiet(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* ignore */
  }
}

/** Shell single-quoting for values we write into scripts. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function findGuestInit(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const direct = join(here, 'guest-init.sh');
  if (existsSync(direct)) return direct;
  // Compiled copy under dist/: the script stays in the source tree.
  let dir = here;
  for (let i = 0; i < 8; i++) {
    const cand = join(dir, 'test', 'interop', 'harness', 'guest-init.sh');
    if (existsSync(join(dir, 'package.json')) && existsSync(cand)) return cand;
    dir = resolve(dir, '..');
  }
  throw new Error(`guest-init.sh not found near ${here}`);
}

/** The checkout this harness belongs to (where package.json is). */
export function projectRoot(): string {
  return resolve(dirname(findGuestInit()), '..', '..', '..');
}

async function tail(p: string, max: number): Promise<string> {
  try {
    const s = await readFile(p, 'utf8');
    return s.length > max ? `…${s.slice(-max)}` : s;
  } catch {
    return '(none)';
  }
}

export interface GuestOptions {
  name: string;
  /** Unique per TestNet: selects the tap (tapN) and the address guestIp(N). */
  index: number;
  mem?: string;
  /** Shell script text, run with /bin/sh; $RESULTS is the results dir. */
  scenario: string;
  /** Exported to the scenario through $RESULTS/env.sh. */
  env?: Record<string, string>;
  /** Default route inside the guest (none by default). */
  gateway?: string;
  /** How long to wait for the guest's network to come up. Default 30 s. */
  bootTimeoutMs?: number;
}

let guestCounter = 0;

/** A UML guest running one scenario. */
export class Guest {
  readonly name: string;
  readonly ip: string;
  /** Host directory the guest writes to ($RESULTS inside the guest). */
  readonly resultsDir: string;
  /** Host file with the guest's console output. */
  readonly consoleLog: string;
  private readonly dir: string;
  private readonly umid: string;
  private readonly child: ChildProcess;

  private constructor(name: string, ip: string, dir: string, umid: string, child: ChildProcess) {
    this.name = name;
    this.ip = ip;
    this.dir = dir;
    this.umid = umid;
    this.child = child;
    this.resultsDir = join(dir, 'results');
    this.consoleLog = join(dir, 'console.log');
  }

  static async boot(net: TestNet, o: GuestOptions): Promise<Guest> {
    if (!/^[A-Za-z0-9_-]{1,20}$/.test(o.name)) throw new Error(`bad guest name: ${o.name}`);
    const ip = net.guestIp(o.index);
    const tap = `tap${o.index}`;
    const mem = o.mem ?? '256M';
    if (!/^\d+[KMG]?$/.test(mem)) throw new Error(`bad mem: ${mem}`);
    const env = Object.entries(o.env ?? {}).map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad env name: ${k}`);
      return `export ${k}=${shq(v)}\n`;
    });
    const dir = await mkdtemp(join(tmpdir(), `pptpd-uml-${o.name}-`));
    liveDirs.add(dir);
    const results = join(dir, 'results');
    const init = join(dir, 'guest-init.sh');
    try {
      await mkdir(results);
      // A copy with a known exec bit, whatever the checkout's file mode is.
      await copyFile(findGuestInit(), init);
      await chmod(init, 0o755);
      await writeFile(join(results, 'scenario.sh'), o.scenario);
      await writeFile(join(results, 'env.sh'), env.join(''));
      await runOk(['ip', 'netns', 'exec', net.ns, 'ip', 'tuntap', 'add', tap, 'mode', 'tap']);
      await runOk(['ip', '-n', net.ns, 'link', 'set', tap, 'master', 'br0', 'up']);
    } catch (e) {
      liveDirs.delete(dir);
      await rm(dir, { recursive: true, force: true });
      throw e;
    }

    guestCounter += 1;
    const umid = `pptpt${process.pid}-${guestCounter}-${o.name}`.slice(0, 40);
    // A MAC derived from the address: unique on the bridge, stable per run.
    const mac = ['02', '50', ...ip.split('.').map((x) => Number(x).toString(16).padStart(2, '0'))].join(':');
    const args = [
      'netns', 'exec', net.ns, UML_KERNEL,
      `umid=${umid}`, `uml_dir=${dir}`, `mem=${mem}`,
      'rootfstype=hostfs', 'rootflags=/', 'ro', 'quiet', `init=${init}`,
      `eth0=tuntap,${tap},${mac}`, 'con=null', 'con0=fd:0,fd:1',
      `RESULTS_HOST=${results}`, `GUEST_IP=${ip}/${net.prefixLen}`, `GUEST_NAME=${o.name}`,
      // The guest covers /tmp and /run with tmpfs; a checkout there is mounted again.
      `PROJECT_ROOT=${projectRoot()}`,
    ];
    if (o.gateway) args.push(`GW=${o.gateway}`);
    const consoleFh = await open(join(dir, 'console.log'), 'a');
    // detached: the child calls setsid(), so its pid is the process-group id
    // of every host process UML creates; stdin stays an open pipe (console in).
    const child = spawnChild('ip', args, { detached: true, stdio: ['pipe', consoleFh.fd, consoleFh.fd], cwd: dir });
    await consoleFh.close();
    if (child.pid !== undefined) liveGroups.add(child.pid);
    child.once('exit', () => {
      if (child.pid !== undefined) liveGroups.delete(child.pid);
    });
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    const g = new Guest(o.name, ip, dir, umid, child);
    net.registerGuest(g);
    try {
      await g.waitForFile('ready', o.bootTimeoutMs ?? 30_000);
    } catch (e) {
      await g.kill();
      throw e;
    }
    return g;
  }

  /** Process-group id of the guest's host processes. */
  get pgid(): number | undefined {
    return this.child.pid;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Console, init and scenario log tails, for error messages. */
  async diagnostics(): Promise<string> {
    return [
      `--- guest ${this.name} (${this.dir}) console.log ---`,
      await tail(this.consoleLog, 3000),
      `--- init.log ---`,
      await tail(join(this.resultsDir, 'init.log'), 2000),
      `--- scenario.log ---`,
      await tail(join(this.resultsDir, 'scenario.log'), 4000),
    ].join('\n');
  }

  private async fail(what: string): Promise<never> {
    throw new Error(`guest ${this.name}: ${what}\n${await this.diagnostics()}`);
  }

  /** Host path of a results file. */
  path(rel: string): string {
    if (rel.includes('..') || rel.startsWith('/')) throw new Error(`bad results path: ${rel}`);
    return join(this.resultsDir, rel);
  }

  /** Reads a results file ('' when it does not exist). */
  async read(rel: string): Promise<string> {
    try {
      return await readFile(this.path(rel), 'utf8');
    } catch {
      return '';
    }
  }

  /** Host → guest signal: writes a file the scenario can poll for. */
  async put(rel: string, text = ''): Promise<void> {
    const p = this.path(rel);
    await writeFile(`${p}.tmp`, text);
    await rename(`${p}.tmp`, p);
  }

  /** Polls for a results file and returns its content; fails early if the guest is gone. */
  async waitForFile(rel: string, timeoutMs: number): Promise<string> {
    const p = this.path(rel);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (existsSync(p)) return readFile(p, 'utf8');
      if (this.exited) return this.fail(`exited before writing ${rel}`);
      if (Date.now() > deadline) return this.fail(`no ${rel} after ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /**
   * Waits for the scenario's exit code and for the guest to stop. On timeout
   * the guest is killed and the error carries its logs.
   */
  async waitExit(timeoutMs: number): Promise<number> {
    const exitFile = this.path('exit');
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(exitFile) && !this.exited) {
      if (Date.now() > deadline) {
        await this.kill();
        return this.fail(`scenario did not finish within ${timeoutMs} ms (guest killed)`);
      }
      await sleep(100);
    }
    // The exit file is written after sync; the guest halts right after.
    if (!(await waitForExit(this.child, 15_000))) await this.kill();
    if (!existsSync(exitFile)) return this.fail('guest stopped without writing an exit code');
    const code = Number((await readFile(exitFile, 'utf8')).trim());
    if (!Number.isInteger(code)) return this.fail('unreadable exit code');
    return code;
  }

  /** Asks the guest to halt through its management console, then kills the group. */
  async halt(): Promise<void> {
    if (!this.exited) {
      const sock = join(this.dir, this.umid, 'mconsole');
      // uml_mconsole can block forever when the guest stops mid-request.
      await run(['timeout', '5', 'uml_mconsole', sock, 'halt'], { timeoutMs: 8000 }).catch(() => undefined);
      await waitForExit(this.child, 5000);
    }
    await this.kill();
  }

  /** Kills the guest's process group at once and reaps it. */
  async kill(): Promise<void> {
    await killGroup(this.child, 0);
  }

  /** @internal removes the temp dir (kept with PPTPD_INTEROP_KEEP=1). */
  async removeFiles(): Promise<void> {
    liveDirs.delete(this.dir);
    if (KEEP) {
      process.stderr.write(`interop: kept ${this.dir}\n`);
      return;
    }
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
