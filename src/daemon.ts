// Start-up and lifetime of the daemon: configuration → pool, secrets,
// datapath, session manager, PPTP listener, control socket; signals
// (SIGTERM/SIGINT: graceful stop; SIGHUP: reload) and sd_notify.
import { writeFileSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { loadConfig, diskFileSystem, type FileSystem, type LoadedConfig } from './config/load.js';
import { describeEffective, describePppRows, pppTimerPolicy } from './config/effective.js';
import { authMethods, mppePolicy } from './config/ppp-options.js';
import { ConfigErrors, ConfigError } from './util/errors.js';
import { AddressPool } from './ippool/pool.js';
import { SessionManager } from './session/manager.js';
import { AuthThrottle, throttleConfigFrom } from './auth/throttle.js';
import { ControlServer } from './control/server.js';
import { MgmtServer } from './mgmt/server.js';
import { PppScripts } from './scripts/ppp-scripts.js';
import { WtmpWriter } from './scripts/wtmp.js';
import type { SessionScripts } from './session/types.js';
import { ProxyArp } from './datapath/proxy-arp.js';
import { systemClock } from './util/clock.js';
import { systemRandom } from './util/random.js';
import { createLogger } from './util/log.js';
import type { PppPolicy } from './ppp/types.js';
import type { FsmConfig } from './ppp/fsm.js';
import type { Datapath } from './datapath/types.js';
import { selectDatapath } from './datapath/select.js';
import type { CliOptions } from './cli/options.js';
import { loadNative } from '../native/index.js';
import { DEFAULT_IP_DOWN, DEFAULT_IP_UP, VERSION } from './cli/defaults.js';
import { DEMO_CONF, DEMO_SECRETS, DEMO_USER, demoFiles, demoPassword, memoryFileSystem } from './cli/demo.js';

/**
 * MTU/MRU when the options file sets none: a GRE packet carrying a full
 * frame must fit a 1500-byte path (IP 20 + GRE 16 + PPP 4 + MPPE 4 = 44),
 * and MPPE must never push a frame over the interface MTU ("compressor
 * dropped pkt"); 1400 leaves room for PPPoE-style uplinks as well.
 */
export const DEFAULT_MTU = 1400;
export const DEFAULT_MRU = 1400;

export function pppPolicy(cfg: LoadedConfig): PppPolicy {
  const o = cfg.ppp;
  const mppe = mppePolicy(o);
  const anyMppe = mppe.allow40 || mppe.allow56 || mppe.allow128;
  return {
    name: o.name ?? hostname(),
    auth: authMethods(o),
    mppe: anyMppe ? mppe : null,
    mru: o.mru ?? DEFAULT_MRU,
    mtu: o.mtu ?? DEFAULT_MTU,
    lcpEchoInterval: o.lcpEchoInterval ?? 0,
    lcpEchoFailure: o.lcpEchoFailure ?? 0,
    dns: o.dns.slice(0, 2),
    wins: o.wins.slice(0, 2),
    maxAuthRetries: 2,
    authTimeoutMs: 30_000,
    idleSeconds: o.idle ?? 0,
    nopcomp: o.nopcomp,
    noaccomp: o.noaccomp,
    ...pppTimerPolicy(o),
  };
}

/** pppd's lcp-restart / lcp-max-* options; unset ones keep the RFC 1661 defaults. */
export function fsmConfig(cfg: LoadedConfig): Partial<FsmConfig> {
  const o = cfg.ppp;
  return {
    ...(o.lcpRestart !== undefined && { restartMs: o.lcpRestart * 1000 }),
    ...(o.lcpMaxConfigure !== undefined && { maxConfigure: o.lcpMaxConfigure }),
    ...(o.lcpMaxTerminate !== undefined && { maxTerminate: o.lcpMaxTerminate }),
    ...(o.lcpMaxFailure !== undefined && { maxFailure: o.lcpMaxFailure }),
  };
}

interface Sources {
  fs: FileSystem;
  confPath: string;
  chapSecretsPath: string;
  system: boolean;
}

function load(cli: CliOptions, src: Sources): LoadedConfig {
  return loadConfig({
    confPath: src.confPath,
    chapSecretsPath: src.chapSecretsPath,
    papSecretsPath: src.system ? undefined : null,
    systemOptionsPath: src.system ? undefined : null,
    fs: src.fs,
    overrides: {
      ...(cli.option !== undefined && { option: cli.option }),
      ...(cli.debug && { debug: true }),
      ...(cli.stimeout !== undefined && { stimeout: cli.stimeout }),
      ...(cli.noipparam && { noipparam: true }),
      ...(cli.logwtmp && { logwtmp: true }),
      ...(cli.bcrelay !== undefined && { bcrelay: cli.bcrelay }),
      ...(cli.delegate && { delegate: true }),
      ...(cli.connections !== undefined && { connections: cli.connections }),
      ...(cli.listen.length > 0 && { listen: cli.listen }),
      ...(cli.pidfile !== undefined && { pidfile: cli.pidfile }),
      ...(cli.speed !== undefined && { speed: cli.speed }),
      ...(cli.vrf !== undefined && { vrf: cli.vrf }),
      ...(cli.ppp !== undefined && { ppp: cli.ppp }),
    },
  });
}

function configErrorText(e: unknown): string | undefined {
  if (e instanceof ConfigErrors) return e.errors.map((x) => x.message).join('\n');
  if (e instanceof ConfigError) return e.message;
  return undefined;
}

/** `pptpd --check`: exit code 0 with the effective configuration, or 1 with every error. */
export function runCheck(cli: CliOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): number {
  const src = sources(cli);
  try {
    const cfg = load(cli, src.sources);
    out.write(describeEffective({ pptpd: cfg.pptpd, ppp: cfg.ppp, files: cfg.files, secretEntries: cfg.secretEntries, warnings: cfg.warnings }));
    out.write('configuration OK\n');
    return 0;
  } catch (e) {
    const text = configErrorText(e);
    if (text === undefined) throw e;
    err.write(`${text}\nconfiguration has errors\n`);
    return 1;
  }
}

function sources(cli: CliOptions): { sources: Sources; demoPassword?: string } {
  if (cli.demo) {
    const password = demoPassword();
    return {
      sources: { fs: memoryFileSystem(demoFiles(password)), confPath: DEMO_CONF, chapSecretsPath: DEMO_SECRETS, system: false },
      demoPassword: password,
    };
  }
  return { sources: { fs: diskFileSystem(), confPath: cli.conf, chapSecretsPath: cli.chapSecrets, system: true } };
}

/** Things the config names that we accept but do not act on yet: say so, once. */
function warnUnsupported(cfg: LoadedConfig, log: Logger): void {
  const p = cfg.pptpd;
  if (p.bcrelay) log.warn({ bcrelay: p.bcrelay }, 'bcrelay is not supported yet: broadcasts are not relayed');
  if (p.vrf) log.warn({ vrf: p.vrf }, 'vrf is not supported yet: listening in the default VRF');
  if (p.delegate) log.warn('delegate: addresses still come from the pool unless chap-secrets pins one');
  if (p.ppp) log.info({ ppp: p.ppp }, 'the ppp directive is ignored: PPP runs inside this process');
}

/**
 * pppd's `dump`: the options in effect, logged once at start as one info
 * line (the rows `--check` prints; they hold no secrets).
 */
export function dumpOptions(cfg: LoadedConfig, log: Logger): void {
  if (!cfg.ppp.dump) return;
  log.info(
    { component: 'config', files: cfg.files.options, options: Object.fromEntries(describePppRows(cfg.pptpd, cfg.ppp)) },
    'pppd options in effect (dump)',
  );
}

export interface Daemon {
  stop(reason: string): Promise<void>;
  reload(): Promise<{ ok: boolean; error?: string }>;
  readonly done: Promise<number>;
}

/**
 * The datapath's drop/packet counters for `pptpctl stats` (the TUN datapath:
 * raw packets, bad IPv4, and the GRE demux's unknown-call/wrong-source/
 * malformed drops), read by duck type so every datapath kind keeps its own.
 */
function datapathStats(dp: Datapath): Record<string, unknown> | undefined {
  const d = dp as { stats?: object; demux?: { stats?: object } };
  if (!d.stats) return undefined;
  return d.demux?.stats ? { ...d.stats, demux: d.demux.stats } : { ...d.stats };
}

export async function startDaemon(cli: CliOptions): Promise<Daemon> {
  const src = sources(cli);
  const bootLog = createLogger({ level: cli.debug ? 'debug' : 'info', format: cli.logFormat });
  let cfg: LoadedConfig;
  try {
    cfg = load(cli, src.sources);
  } catch (e) {
    const text = configErrorText(e);
    if (text !== undefined) {
      for (const line of text.split('\n')) bootLog.fatal({ component: 'config' }, line);
    }
    throw e;
  }
  const debug = cli.debug || cfg.pptpd.debug || cfg.ppp.debug;
  // pppd's `logfile` (cancelled by `nolog`): every line also goes there.
  const logfile = cfg.ppp.logfile && !cfg.ppp.nolog ? cfg.ppp.logfile : undefined;
  const log = createLogger({ level: debug ? 'debug' : 'info', format: cli.logFormat, ...(logfile && { file: logfile }) });
  const main = log.child({ component: 'main' });
  main.info({ version: VERSION, conf: cfg.files.conf }, 'pptpd starting');
  for (const w of cfg.warnings) main.warn({ component: 'config' }, w);
  warnUnsupported(cfg, main);
  dumpOptions(cfg, main);
  if (src.demoPassword) {
    // Printed once, on the terminal only: never through the logger.
    process.stderr.write(`\n  demo user: ${DEMO_USER}\n  password:  ${src.demoPassword}\n  server:    192.168.240.1, clients get 192.168.240.10-59\n\n`);
  }

  const clock = systemClock;
  let current = cfg;
  const policy = pppPolicy(cfg);
  const pool = new AddressPool(cfg.pptpd.poolLocal, cfg.pptpd.poolRemote);
  const datapath: Datapath = await selectDatapath(cli.datapath, { clock, log });
  const scripts = new PppScripts({
    ipUp: cfg.ppp.ipUpScript ?? DEFAULT_IP_UP,
    ipDown: cfg.ppp.ipDownScript ?? DEFAULT_IP_DOWN,
    speed: cfg.pptpd.speed,
    log,
  });
  // pppd order: the proxy ARP entry exists before ip-up runs and goes after ip-down.
  const proxyArp = new ProxyArp(loadNative(), log.child({ component: 'proxyarp' }));
  const hooks: SessionScripts = {
    ipUp: (s) => {
      if (current.ppp.proxyarp) proxyArp.add(s.peer, { sessionId: s.sessionId, user: s.user, ifname: s.ifname });
      return scripts.ipUp(s);
    },
    ipDown: async (s) => {
      await scripts.ipDown(s);
      proxyArp.remove(s.peer, { sessionId: s.sessionId, user: s.user, ifname: s.ifname });
    },
  };
  // poptop `logwtmp` / -w: read at start, as pptpd passes the plugin to pppd only then.
  const wtmp = cfg.pptpd.logwtmp ? new WtmpWriter({ log }) : undefined;
  const throttle = new AuthThrottle(throttleConfigFrom(cfg.pptpd.robust), clock, log);
  const manager = new SessionManager({
    config: {
      policy,
      connections: cfg.pptpd.connections,
      // Answer the client's first LCP frame at once instead of losing ours.
      lcpStartWaitMs: 1000,
      fsm: fsmConfig(cfg),
      maxLoginsPerUser: cfg.pptpd.robust.maxLoginsPerUser,
      duplicateLogin: cfg.pptpd.robust.duplicateLogin,
      noipparam: cfg.pptpd.noipparam,
      ...(cfg.ppp.ipparam !== undefined && { ipparam: cfg.ppp.ipparam }),
    },
    pool,
    backend: cfg.secrets,
    datapath,
    clock,
    random: systemRandom,
    log,
    scripts: hooks,
    throttle,
    ...(wtmp && { wtmp }),
  });
  const server = new ControlServer({
    ...(cfg.pptpd.listen.length > 0 && { listen: cfg.pptpd.listen }),
    hostName: hostname().slice(0, 63),
    vendor: 'pptpd-ts',
    stimeoutMs: cfg.pptpd.stimeout * 1000,
    perSourceCalls: cfg.pptpd.robust.maxCallsPerSource,
    perSourcePending: cfg.pptpd.robust.maxPendingPerSource,
    handler: manager,
    clock,
    log,
  });

  const reload = async (): Promise<{ ok: boolean; error?: string }> => {
    try {
      const next = load(cli, src.demoPassword ? src.sources : sources(cli).sources);
      for (const w of next.warnings) main.warn({ component: 'config' }, w);
      manager.reload({
        policy: pppPolicy(next),
        backend: next.secrets,
        connections: Math.min(next.pptpd.connections, pool.size),
        noipparam: next.pptpd.noipparam,
        ...(next.ppp.ipparam !== undefined && { ipparam: next.ppp.ipparam }),
        maxLoginsPerUser: next.pptpd.robust.maxLoginsPerUser,
        duplicateLogin: next.pptpd.robust.duplicateLogin,
        fsm: fsmConfig(next),
      });
      throttle.reconfigure(throttleConfigFrom(next.pptpd.robust));
      if (next.pptpd.localip !== current.pptpd.localip || next.pptpd.remoteip !== current.pptpd.remoteip) {
        main.warn('localip/remoteip changed: the new pool applies after a restart');
      }
      if (next.pptpd.logwtmp !== cfg.pptpd.logwtmp) {
        main.warn({ logwtmp: next.pptpd.logwtmp }, 'logwtmp changed: applies after a restart');
      }
      current = next;
      main.info({ sessions: manager.size }, 'configuration reloaded; sessions kept');
      return { ok: true };
    } catch (e) {
      const text = configErrorText(e) ?? (e as Error).message;
      main.error({ err: text }, 'reload failed: keeping the old configuration');
      return { ok: false, error: text };
    }
  };

  const mgmt = new MgmtServer(cli.controlSocket, {
    sessions: () => manager.list(),
    kill: (t) => manager.kill(t),
    reload,
    stats: () => ({ sessions: manager.size, manager: manager.stats, server: server.stats, authThrottle: throttle.stats, datapath: datapath.kind, datapathStats: datapathStats(datapath), poolFree: pool.free, poolSize: pool.size }),
  }, log);

  try {
    await server.start();
    await mgmt.start();
  } catch (e) {
    await server.stop().catch(() => undefined);
    await datapath.close().catch(() => undefined);
    throw e;
  }
  const pidfile = cfg.pptpd.pidfile;
  if (pidfile) writeFileSync(pidfile, `${process.pid}\n`);

  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => { resolveDone = r; });
  let stopping: Promise<void> | undefined;
  const stop = (reason: string): Promise<void> => {
    if (stopping) return stopping;
    stopping = (async () => {
      main.info({ reason, sessions: manager.size }, 'pptpd stopping');
      notify('STOPPING=1');
      // Sessions first: clients get LCP Terminate, CDN and StopCCRQ while
      // their control connections are still open.
      await manager.shutdown();
      await wtmp?.flush(); // the sessions' logout records reach wtmp before we exit
      await server.stop().catch((e: Error) => main.warn({ err: e.message }, 'closing the listener'));
      await mgmt.stop().catch(() => undefined);
      await datapath.close().catch((e: Error) => main.warn({ err: e.message }, 'closing the datapath'));
      if (pidfile) { try { unlinkSync(pidfile); } catch { /* gone */ } }
      main.info('pptpd stopped');
      resolveDone(0);
    })();
    return stopping;
  };

  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => {
    main.info('SIGHUP: reloading configuration');
    notify('RELOADING=1');
    void reload().finally(() => notify('READY=1'));
  });

  notify(`READY=1\nSTATUS=${manager.size} sessions, datapath ${datapath.kind}\nMAINPID=${process.pid}`);
  main.info({ datapath: datapath.kind, poolSize: pool.size, connections: cfg.pptpd.connections, auth: policy.auth, mppe: policy.mppe }, 'pptpd ready');
  return { stop, reload, done };
}

/** sd_notify when run by systemd (Type=notify); silent elsewhere. */
function notify(msg: string): void {
  const sock = process.env.NOTIFY_SOCKET;
  if (!sock) return;
  try { loadNative().sdNotify(sock, msg); } catch { /* systemd will time out and say so */ }
}
