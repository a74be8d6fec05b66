// runLoad(): opens N client sessions against a PPTP server and reports how it
// went. One GRE port (a raw socket bound to our own address, or an injected
// one in tests) and one GreDemux keyed by (server address, our call id) serve
// every session; TCP control connections carry `perConnection` calls each,
// with call ids from one allocator so they are unique across connections.
import { connect as netConnect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { CallIdAllocator } from '../../src/control/call-ids.js';
import { ClientConnection } from '../../src/control/client-connection.js';
import type { RawGrePort } from '../../src/datapath/tun/ports.js';
import { GreDemux } from '../../src/gre/demux.js';
import { DEFAULT_PPP_POLICY, type AuthMethod, type PppPolicy } from '../../src/ppp/types.js';
import { systemClock, type Clock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import type { RandomSource } from '../../src/util/random.js';
import { ipv4ToUint32 } from '../../native/ipv4.js';
import { closeControlConns } from '../common/control-conns.js';
import { pooledRandom } from './random-pool.js';
import { LoadSession, reasonCategory, SetupError } from './session.js';
import { ratePerSecond, ReasonCounter, summarize, type Percentiles } from './stats.js';

export interface Credentials {
  user: string;
  password: string;
}

export type MppeMode = 'required' | 'optional' | 'none' | 'stateful';

export interface LoadOptions {
  /** Server's IPv4 address: TCP 1723 and GRE go there. */
  server: string;
  /** Default 1723. */
  port?: number;
  /** Our IPv4 address for TCP and GRE (the raw socket binds to it). */
  bind?: string;
  /** Sessions to open. */
  sessions: number;
  /** Most set-ups in progress at once; default 100. */
  concurrency?: number;
  /** New sessions started per second; 0 (default) = as fast as concurrency allows. */
  rate?: number;
  /** Calls per control connection; default 1 (as Windows; pptp-linux multiplexes). */
  perConnection?: number;
  /** Used round robin by session index. */
  users: Credentials[];
  /** Each session stays up this long after it came up (and at least until all have settled); default 0. */
  holdMs?: number;
  /** Send an ICMP echo through every up session this often; 0 (default) = no traffic. */
  pingIntervalMs?: number;
  /** ICMP payload bytes; default 56. */
  pingSize?: number;
  /** TCP connect + PPTP call + PPP negotiation must finish within this; default 30000. */
  setupTimeoutMs?: number;
  /** Bound on each teardown step (LCP terminate, CDN wait); default 5000. */
  closeTimeoutMs?: number;
  /** Auth methods we accept (default ['mschapv2']). */
  auth?: AuthMethod[];
  /** Default 'required' (MPPE-128 stateless, as the Arch wiki server demands). */
  mppe?: MppeMode;
  /** PPP policy overrides for the client links. */
  policy?: Partial<PppPolicy>;
  /** PPTP echo interval of our control connections; default 60000, 0 = off. */
  echoIntervalMs?: number;
  /** Runs once every session has settled (up or failed), before any teardown (measure the server here). */
  afterAllSettled?: (p: LoadProgress) => Promise<void> | void;
  /** Called every progressIntervalMs (default 1000) while running. */
  onProgress?: (p: LoadProgress) => void;
  progressIntervalMs?: number;
  /** Tests: the GRE port (packets received include the IPv4 header); default a raw socket on `bind`. */
  gre?: RawGrePort;
  /** Tests: TCP connect; default node:net connect. */
  connect?: (o: { host: string; port: number; localAddress?: string }) => Socket;
  /** Must run in real time (ramp and hold use real timers). Default systemClock. */
  clock?: Clock;
  random?: RandomSource;
  log?: Logger;
}

export interface LoadProgress {
  elapsedMs: number;
  started: number;
  up: number;
  failed: number;
  /** Currently up (not yet torn down or dropped). */
  live: number;
  connections: number;
}

export interface LoadSummary {
  requested: number;
  started: number;
  up: number;
  failed: number;
  /** Set-up failures by reason. */
  failures: Record<string, number>;
  /** Sessions that came up and ended before we closed them, by reason. */
  drops: Record<string, number>;
  /** Start of set-up (incl. TCP connect for a connection's first call) → PPP link up. */
  setupMs: Percentiles | null;
  /** Sessions up per second, from the first start to the last link up. */
  setupRate: number;
  /** From the start to the moment every session had settled. */
  settleMs: number;
  durationMs: number;
  connections: { opened: number; failed: number };
  ping: { sent: number; received: number; rttMs: Percentiles | null } | null;
  gre: { unknownCall: number; wrongSource: number; malformed: number };
}

const SETUP_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 5_000;

function policyFor(o: LoadOptions): PppPolicy {
  const mode = o.mppe ?? 'required';
  const mppe = mode === 'none'
    ? null
    : { required: mode !== 'optional', allow40: false, allow56: false, allow128: true, stateful: mode === 'stateful' };
  return {
    ...DEFAULT_PPP_POLICY,
    name: 'loadgen',
    auth: o.auth ?? ['mschapv2'],
    mppe,
    dns: [],
    wins: [],
    ...o.policy,
  };
}

function checkOptions(o: LoadOptions): void {
  const posInt = (v: number | undefined, name: string, min = 1) => {
    if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new RangeError(`${name} must be an integer ≥ ${min}`);
  };
  posInt(o.sessions, 'sessions', 0);
  posInt(o.concurrency, 'concurrency');
  posInt(o.perConnection, 'perConnection');
  posInt(o.pingSize, 'pingSize', 0);
  if (o.pingSize !== undefined && o.pingSize > 1400) throw new RangeError('pingSize must be ≤ 1400');
  for (const [k, v] of [['rate', o.rate], ['holdMs', o.holdMs], ['pingIntervalMs', o.pingIntervalMs]] as const) {
    if (v !== undefined && !(v >= 0 && Number.isFinite(v))) throw new RangeError(`${k} must be ≥ 0`);
  }
  if (o.users.length === 0 && o.sessions > 0) throw new RangeError('at least one user is needed');
  ipv4ToUint32(o.server);
  if (o.bind !== undefined) ipv4ToUint32(o.bind);
}

/** The raw GRE socket (addon, CAP_NET_RAW), loaded only when no port is injected. */
async function openRawGre(bind: string | undefined): Promise<RawGrePort> {
  const { RawGreSocket } = await import('../../native/raw-gre.js');
  const sock = RawGreSocket.open(bind);
  return {
    onPackets: (cb) => sock.onPackets(cb),
    send: (dst, pkt) => sock.send(dst, pkt),
    flush: () => sock.flush(),
    close: () => sock.close(),
  };
}

interface Conn {
  socket: Socket;
  cc: ClientConnection;
  ready: Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export async function runLoad(o: LoadOptions): Promise<LoadSummary> {
  checkOptions(o);
  const clock = o.clock ?? systemClock;
  const random = o.random ?? pooledRandom();
  const log = o.log ?? silentLogger;
  const serverAddr = ipv4ToUint32(o.server);
  const port = o.port ?? 1723;
  const concurrency = o.concurrency ?? 100;
  const perConnection = o.perConnection ?? 1;
  const setupTimeoutMs = o.setupTimeoutMs ?? SETUP_TIMEOUT_MS;
  const closeTimeoutMs = o.closeTimeoutMs ?? CLOSE_TIMEOUT_MS;
  const pingSize = o.pingSize ?? 56;
  const policy = policyFor(o);
  const connectTcp = o.connect ?? ((c) => netConnect(c));

  const demux = new GreDemux();
  const grePort = o.gre ?? (await openRawGre(o.bind));
  grePort.onPackets((b) => {
    for (let i = 0; i < b.count; i++) demux.dispatchIpv4(b.data, b.offsets[i]!, b.lengths[i]!);
    grePort.flush(); // acks and replies out in one batch
  });
  const callIds = new CallIdAllocator();
  const ctx = {
    clock, random, log, policy, demux, serverAddr,
    sendGre: (dst: number, pkt: Uint8Array) => void grePort.send(dst, pkt),
  };

  const sessions: LoadSession[] = [];
  const conns: Conn[] = [];
  const failures = new ReasonCounter();
  const t0 = clock.now();
  let up = 0;
  let failed = 0;
  let firstStart = -1;
  let lastUp = -1;
  let connFailed = 0;

  const progress = (): LoadProgress => ({
    elapsedMs: clock.now() - t0,
    started: sessions.length,
    up,
    failed,
    live: sessions.reduce((n, s) => n + (s.state === 'up' ? 1 : 0), 0),
    connections: conns.length,
  });

  const openConn = (): Conn => {
    const socket = connectTcp({ host: o.server, port, ...(o.bind ? { localAddress: o.bind } : {}) });
    socket.setNoDelay(true);
    let lastError = '';
    const cc = new ClientConnection({
      clock, log, callIds,
      echoIntervalMs: o.echoIntervalMs ?? 60_000,
      connectTimeoutMs: setupTimeoutMs,
      send: (b) => void socket.write(b),
      close: () => void socket.end(),
    });
    socket.on('data', (d: Buffer) => cc.input(d));
    socket.on('error', (e: NodeJS.ErrnoException) => (lastError = e.code ?? e.message));
    const ready = new Promise<void>((resolve, reject) => {
      const timer = clock.setTimer(setupTimeoutMs, () => socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })));
      socket.once('connect', () => {
        timer.cancel();
        cc.start().then(resolve, (e: Error) => reject(new SetupError(`pptp: ${e.message}`)));
      });
      socket.once('close', () => {
        timer.cancel();
        cc.closed(`tcp closed${lastError ? ` (${lastError})` : ''}`);
        reject(new SetupError(`tcp: ${lastError || 'closed'}`));
      });
    });
    ready.catch(() => {
      connFailed++;
    });
    const c: Conn = { socket, cc, ready };
    conns.push(c);
    return c;
  };

  const runSession = async (i: number): Promise<void> => {
    const start = clock.now();
    if (firstStart < 0) firstStart = start;
    const s = new LoadSession(i, ctx, o.users[i % o.users.length]!);
    sessions.push(s);
    const ci = Math.floor(i / perConnection);
    const c = conns[ci] ?? openConn();
    try {
      await c.ready;
      await s.open(c.cc, start, setupTimeoutMs);
      up++;
      lastUp = clock.now();
    } catch (e) {
      failed++;
      failures.add(e instanceof SetupError ? e.reason : `internal: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  // Traffic and progress: one interval each for the whole run, never one per session.
  const pinger = (o.pingIntervalMs ?? 0) > 0
    ? setInterval(() => {
      for (const s of sessions) s.ping(pingSize);
      grePort.flush();
    }, o.pingIntervalMs)
    : undefined;
  const reporter = o.onProgress
    ? setInterval(() => o.onProgress!(progress()), o.progressIntervalMs ?? 1000)
    : undefined;

  try {
    // Ramp: start times spaced by 1/rate, at most `concurrency` set-ups in flight.
    // A counter and one waiter, not Promise.race over the in-flight set: that
    // attaches `concurrency` reactions per started session (O(n·c) work).
    const inFlight = new Set<Promise<void>>();
    let slotFreed: (() => void) | undefined;
    const rate = o.rate ?? 0;
    for (let i = 0; i < o.sessions; i++) {
      if (rate > 0) await sleep(t0 + (i * 1000) / rate - clock.now());
      while (inFlight.size >= concurrency) await new Promise<void>((r) => (slotFreed = r));
      const p: Promise<void> = runSession(i).finally(() => {
        inFlight.delete(p);
        const wake = slotFreed;
        slotFreed = undefined;
        wake?.();
      });
      inFlight.add(p);
    }
    await Promise.all(inFlight);
    const settledAt = clock.now();
    if (o.afterAllSettled) await o.afterAllSettled(progress());

    const holdMs = o.holdMs ?? 0;
    if (pinger) {
      // Pings go on until the last hold ends, then stop a moment before teardown so replies can land.
      let holdEnd = settledAt;
      for (const s of sessions) if (s.state === 'up') holdEnd = Math.max(holdEnd, s.upAt + holdMs);
      await sleep(holdEnd - clock.now());
      clearInterval(pinger);
      await sleep(Math.min(o.pingIntervalMs ?? 0, 500));
    }
    await Promise.all(sessions.map(async (s) => {
      if (s.state !== 'up') return;
      await sleep(s.upAt + holdMs - clock.now());
      await s.close(closeTimeoutMs);
    }));
    const allDone = clock.now();

    // Control connections: StopCCRQ (as Windows does) and close.
    await closeControlConns(conns, closeTimeoutMs);

    const drops = new ReasonCounter();
    const rtts: number[] = [];
    let sent = 0;
    let received = 0;
    for (const s of sessions) {
      if (s.dropped) drops.add(reasonCategory(s.downReason ?? 'call ended'));
      sent += s.pingsSent;
      received += s.pingsReceived;
      for (const r of s.rtts) rtts.push(r);
    }
    return {
      requested: o.sessions,
      started: sessions.length,
      up,
      failed,
      failures: failures.toObject(),
      drops: drops.toObject(),
      setupMs: summarize(sessions.filter((s) => s.setupMs >= 0).map((s) => s.setupMs)),
      setupRate: up > 0 ? ratePerSecond(up, lastUp - firstStart) : 0,
      settleMs: settledAt - t0,
      durationMs: allDone - t0,
      connections: { opened: conns.length, failed: connFailed },
      ping: pinger ? { sent, received, rttMs: summarize(rtts) } : null,
      gre: { unknownCall: demux.stats.unknownCall, wrongSource: demux.stats.wrongSource, malformed: demux.stats.malformed },
    };
  } finally {
    if (pinger) clearInterval(pinger);
    if (reporter) clearInterval(reporter);
    for (const c of conns) if (!c.socket.destroyed) c.socket.destroy();
    if (!o.gre) grePort.close();
  }
}
