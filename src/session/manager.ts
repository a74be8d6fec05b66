// The session manager: accepts or refuses calls, builds one Session per call
// (datapath call + PPP link + pool address), and guarantees that every exit
// path — PPTP clear/stop/TCP loss, LCP terminate, echo timeout, auth failure,
// admin kill, shutdown — runs exactly one teardown:
//
//   PPP link down (lowerDown, or LCP Terminate first for admin kills)
//   → CDN to the client when the PPP side ended first
//   → ip-down (only if ip-up ran; the interface still exists, as with pppd)
//   → datapath call closed (interface removed, GRE unregistered)
//   → pool address released (only now, so no new session can get an address
//     that is still configured on a dying interface)
//   → ONE "session down" log line with reason, duration and bytes.
import type { Logger } from 'pino';
import type { AuthThrottle } from '../auth/throttle.js';
import type { AuthBackend, SecretEntry } from '../auth/types.js';
import { CallIdAllocator } from '../control/call-ids.js';
import type { CallDecision, IncomingCall } from '../control/connection.js';
import type { Datapath, DatapathCall, DatapathCounters } from '../datapath/types.js';
import { PppLink, type LinkTuning } from '../ppp/link.js';
import type { LinkOptions, LinkUpInfo, PppPolicy } from '../ppp/types.js';
import type { FsmConfig } from '../ppp/fsm.js';
import type { ScriptSession } from '../scripts/ppp-scripts.js';
import type { Clock, Timer } from '../util/clock.js';
import type { RandomSource } from '../util/random.js';
import { describeMppe, Session } from './session.js';
import {
  CDN_ADMIN_SHUTDOWN,
  CDN_LOST_CARRIER,
  OCRP_BUSY,
  OCRP_DO_NOT_ACCEPT,
  OCRP_GENERAL_ERROR,
  STOP_LOCAL_SHUTDOWN,
  type AddressLease,
  type CallOwner,
  type SessionInfo,
  type SessionLink,
  type SessionPool,
  type SessionScripts,
} from './types.js';

export interface SessionManagerConfig {
  policy: PppPolicy;
  /** poptop `connections`: concurrent sessions (already reduced to the pool size by the config). */
  connections: number;
  /** poptop `noipparam`: do not pass the client's outer address as ip-up's ipparam. */
  noipparam?: boolean;
  /** pppd `ipparam` option: used when set (and noipparam is not). */
  ipparam?: string;
  /** Admin kill: how long LCP may take to terminate before we force the end. Default 7000 (pppd: 2 × 3 s). */
  killGraceMs?: number;
  /**
   * Start LCP when the client's first frame arrives, or after this many ms.
   * Clients attach their GRE only once they have read our OCRP, so a
   * Configure-Request sent at once is often lost and costs the 3 s restart
   * timer; pptp-linux, Windows and kclient all speak first. 0 (default):
   * start right after the OCRP went out.
   */
  lcpStartWaitMs?: number;
  /** pppd's lcp-restart / lcp-max-configure / -terminate / -failure (every FSM of a link uses them). */
  fsm?: Partial<FsmConfig>;
  /** Extension `max-logins-per-user N`: sessions one user may hold at once; 0/undefined = no limit (pppd). */
  maxLoginsPerUser?: number;
  /** Extension `duplicate-login`: beyond the limit, end the oldest session ('replace') or the new one ('refuse', default). */
  duplicateLogin?: 'replace' | 'refuse';
}

export interface SessionManagerOptions {
  config: SessionManagerConfig;
  pool: SessionPool;
  backend: AuthBackend;
  datapath: Datapath;
  clock: Clock;
  random: RandomSource;
  log: Logger;
  scripts?: SessionScripts;
  /** Server-wide call ids; the control server hands the same allocator to every connection. */
  callIds?: CallIdAllocator;
  /** Builds the PPP link (tests may substitute); default `new PppLink(o)`. */
  createLink?: (o: LinkOptions & LinkTuning) => SessionLink;
  /** Wall clock for display timestamps; default Date.now. */
  wallClock?: () => number;
  /** Back-off after failed authentications (auth/throttle.ts); none = answer at once. */
  throttle?: AuthThrottle;
  /** poptop `logwtmp`: given only when it is on (scripts/wtmp.ts WtmpWriter). */
  wtmp?: SessionWtmp;
}

/** wtmp records at the points pptpd-logwtmp writes them (pppd's ip-up / ip-down notifiers). */
export interface SessionWtmp {
  /** Interface up: line = ifname, user = authenticated name, host = client's outer address. */
  login(line: string, user: string, host: string): void;
  /** Teardown of a session whose login was written. */
  logout(line: string): void;
}

/** A call that ends after this long without a single GRE frame from the client gets a hint in its down line. */
const NO_GRE_HINT_MS = 5000;
export const NO_GRE_HINT =
  ' (no GRE packet ever arrived from the client: IP protocol 47 blocked by a firewall, or a NAT without a PPTP helper)';

function pair(l: AddressLease): { local: string; peer: string } {
  return { local: l.local, peer: l.remote };
}

/** Why ending: decides what still has to be told to whom. */
type EndSource = 'pptp' | 'ppp' | 'admin' | 'force';

export interface SessionManagerStats {
  accepted: number;
  refused: { limit: number; pool: number; datapath: number; shutdown: number };
  /** Sessions ended by the duplicate-login policy (the new one refused, or an old one replaced). */
  duplicateLogins: number;
  up: number;
  down: number;
}

export class SessionManager {
  readonly callIds: CallIdAllocator;
  readonly stats: SessionManagerStats = {
    accepted: 0,
    refused: { limit: 0, pool: 0, datapath: 0, shutdown: 0 },
    duplicateLogins: 0,
    up: 0,
    down: 0,
  };

  private config: SessionManagerConfig;
  private backend: AuthBackend;
  private readonly pool: SessionPool;
  private readonly datapath: Datapath;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly log: Logger;
  private readonly scripts: SessionScripts | undefined;
  private readonly createLink: (o: LinkOptions & LinkTuning) => SessionLink;
  private readonly wallClock: () => number;
  private readonly throttle: AuthThrottle | undefined;
  private readonly wtmp: SessionWtmp | undefined;
  /** Sessions whose wtmp login was written: they owe a logout. */
  private readonly wtmpOpen = new WeakSet<Session>();

  private readonly sessions = new Map<string, Session>();
  private idleTimer: Timer | undefined;
  /** By our call id (unique server-wide). */
  private readonly byCallId = new Map<number, Session>();
  /** Teardowns still running (ip-down, interface removal). */
  private readonly finishing = new Set<Promise<void>>();
  private seq = 0;
  private shuttingDown = false;

  constructor(o: SessionManagerOptions) {
    this.config = o.config;
    this.backend = o.backend;
    this.pool = o.pool;
    this.datapath = o.datapath;
    this.clock = o.clock;
    this.random = o.random;
    this.log = o.log.child({ component: 'session' });
    this.scripts = o.scripts;
    this.callIds = o.callIds ?? new CallIdAllocator();
    this.createLink = o.createLink ?? ((lo) => new PppLink(lo));
    this.wallClock = o.wallClock ?? Date.now;
    this.throttle = o.throttle;
    this.wtmp = o.wtmp;
  }

  /** Sessions that exist (not yet torn down). */
  get size(): number {
    return this.sessions.size;
  }

  /** Teardowns whose cleanup (ip-down, interface removal) is still running. */
  get pendingTeardowns(): number {
    return this.finishing.size;
  }

  /** A new outgoing call on a control connection: accept (and start PPP) or refuse. Synchronous. */
  onCall(conn: CallOwner, call: IncomingCall, clientAddress: string, localAddress: string): CallDecision {
    const client = { client: clientAddress, callId: call.callId, peerCallId: call.peerCallId };
    if (this.shuttingDown) {
      this.stats.refused.shutdown++;
      return { accept: false, result: OCRP_DO_NOT_ACCEPT, reason: 'server shutting down' };
    }
    // Capacity refusals answer "busy" (4): transient, the client may retry later.
    // "Do not accept" (7) is kept for administrative refusals.
    if (this.sessions.size >= this.config.connections) {
      this.stats.refused.limit++;
      this.log.warn({ ...client, connections: this.config.connections }, 'call refused: connection limit reached');
      return { accept: false, result: OCRP_BUSY, reason: `connection limit (${this.config.connections}) reached` };
    }
    if (this.pool.free <= 0) {
      this.stats.refused.pool++;
      this.log.warn(client, 'call refused: address pool exhausted');
      return { accept: false, result: OCRP_BUSY, reason: 'address pool exhausted' };
    }

    const id = this.newId();
    const s = new Session({
      id,
      conn,
      callId: call.callId,
      peerCallId: call.peerCallId,
      clientAddress,
      localAddress,
      startedAt: this.wallClock(),
      startMono: this.clock.now(),
      log: this.log.child({ sessionId: id, client: clientAddress }),
    });
    let dp: DatapathCall;
    try {
      dp = this.datapath.openCall({ sessionId: id, callId: call.callId, peerCallId: call.peerCallId, clientAddress, localAddress });
    } catch (e) {
      this.stats.refused.datapath++;
      this.log.warn({ ...client, err: (e as Error).message }, 'call refused: datapath cannot carry it');
      return { accept: false, result: OCRP_GENERAL_ERROR, reason: (e as Error).message };
    }
    s.dp = dp;
    try {
      s.link = this.createLink({
        policy: this.config.policy,
        ...(this.config.fsm && { fsm: this.config.fsm }),
        backend: this.throttle ? this.throttledBackend(s, this.throttle) : this.backend,
        clock: this.clock,
        random: this.random,
        log: s.log,
        dataMode: this.datapath.kind === 'kernel' ? 'kernel' : 'userspace',
        // The TUN datapath's MPPE runs its crypto in the addon.
        ...(this.datapath.createMppeCodec && { factories: { createMppeCodec: this.datapath.createMppeCodec } }),
        hooks: {
          send: (frame) => s.dp.sendFrame(frame),
          assignAddress: (req) => this.assignAddress(s, req),
          onAuthenticated: (user) => {
            s.user = user;
            if (s.authAttempt !== undefined) this.throttle?.succeeded(s.clientAddress, user);
            s.authAttempt = undefined;
            this.enforceLoginLimit(s);
          },
          onUp: (info) => this.linkUp(s, info),
          onDown: (reason) => this.end(s, reason, 'ppp'),
          onIp: (packet) => s.dp.deliverIp(packet),
          // Kernel datapath: MPPE keys into the kernel before CCP's Configure-Acks.
          kernelMppeKeys: (keys) => s.dp.armMppe?.(keys),
          kernelMppeUp: () => s.dp.mppeUp?.(),
        },
      });
    } catch (e) {
      void dp.close();
      this.stats.refused.datapath++;
      this.log.error({ ...client, err: (e as Error).message }, 'call refused: PPP link could not be created');
      return { accept: false, result: OCRP_GENERAL_ERROR, reason: 'internal error' };
    }
    const startLink = () => {
      s.startTimer?.cancel();
      s.startTimer = undefined;
      if (s.state === 'starting' && !s.pppGone && s.link.phase === 'dead') s.link.start();
    };
    dp.onFrame = (frame) => {
      s.gotFrame = true;
      if (s.startTimer) startLink(); // the client spoke first: answer at once
      s.link.input(frame);
    };
    this.sessions.set(id, s);
    this.byCallId.set(call.callId, s);
    this.stats.accepted++;
    s.log.info({ callId: call.callId, peerCallId: call.peerCallId }, 'call accepted');
    // Start LCP only after the connection has sent the OCRP (it does so
    // right after we return): a client drops GRE for a call it has not seen
    // accepted, which would cost a 3 s restart timeout.
    const wait = this.config.lcpStartWaitMs ?? 0;
    if (wait > 0) s.startTimer = this.clock.setTimer(wait, startLink);
    else queueMicrotask(startLink);
    return { accept: true };
  }

  /** The control connection says the call is gone (CCRQ, StopCCRQ, TCP closed, …). */
  onCallCleared(_conn: CallOwner, callId: number, reason: string): void {
    const s = this.byCallId.get(callId);
    if (s) this.end(s, reason, 'pptp');
  }

  list(): SessionInfo[] {
    const out: SessionInfo[] = [];
    for (const s of this.sessions.values()) out.push(s.info());
    return out;
  }

  /** Ends every session named by selector (ifname, user, tunnel or outer address, id). Returns how many. */
  kill(selector: string, reason = 'killed by administrator'): number {
    let n = 0;
    for (const s of [...this.sessions.values()]) {
      if (s.state === 'closing' || s.state === 'down' || !s.matches(selector)) continue;
      n++;
      this.end(s, reason, 'admin');
    }
    return n;
  }

  /** New policy/backend/limits apply to new sessions only; sessions that are up keep theirs. */
  reload(o: {
    policy?: PppPolicy; backend?: AuthBackend; connections?: number; noipparam?: boolean; ipparam?: string;
    maxLoginsPerUser?: number; duplicateLogin?: 'replace' | 'refuse'; fsm?: Partial<FsmConfig>;
  }): void {
    this.config = {
      ...this.config,
      ...(o.maxLoginsPerUser !== undefined ? { maxLoginsPerUser: o.maxLoginsPerUser } : {}),
      ...(o.duplicateLogin !== undefined ? { duplicateLogin: o.duplicateLogin } : {}),
      ...(o.policy ? { policy: o.policy } : {}),
      ...(o.connections !== undefined ? { connections: o.connections } : {}),
      ...(o.noipparam !== undefined ? { noipparam: o.noipparam } : {}),
      ...(o.ipparam !== undefined ? { ipparam: o.ipparam } : {}),
      ...(o.fsm ? { fsm: o.fsm } : {}),
    };
    if (o.backend) this.backend = o.backend;
  }

  /**
   * Ends everything: LCP Terminate to every client, CDN + StopCCRQ on every
   * connection that has calls, ip-down, interfaces removed. Resolves when all
   * cleanup is done. New calls are refused from now on.
   */
  /**
   * pppd's `idle N`: ONE timer sweeps every session (never one per session)
   * and ends those that moved no IP packet for N seconds.
   */
  private armIdleSweep(): void {
    const idle = this.config.policy.idleSeconds;
    if (idle <= 0 || this.idleTimer || this.shuttingDown) return;
    const period = Math.min(10_000, Math.max(1_000, idle * 250));
    this.idleTimer = this.clock.setTimer(period, () => {
      this.idleTimer = undefined;
      if (this.sweepIdle()) this.armIdleSweep();
    });
  }

  /** Ends idle sessions; true while some session is up (keep sweeping). */
  private sweepIdle(): boolean {
    const idleMs = this.config.policy.idleSeconds * 1000;
    const now = this.clock.now();
    let anyUp = false;
    for (const s of [...this.sessions.values()]) {
      if (s.state !== 'up') continue;
      anyUp = true;
      const c = s.dp.counters();
      const moved = c.rxPackets + c.txPackets;
      if (moved !== s.idleMark) {
        s.idleMark = moved;
        s.lastActive = now;
      } else if (idleMs > 0 && now - s.lastActive >= idleMs) {
        this.end(s, `idle for ${Math.round((now - s.lastActive) / 1000)} s (pppd idle ${idleMs / 1000})`, 'admin');
      }
    }
    return anyUp;
  }

  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.idleTimer?.cancel();
    this.idleTimer = undefined;
    const reason = 'server shutdown';
    const all = [...this.sessions.values()];
    const conns = new Set<CallOwner>();
    for (const s of all) {
      s.reason ??= reason;
      conns.add(s.conn);
      if (!s.pppGone) {
        try {
          s.link.close(reason); // LCP Terminate-Request goes out now; we do not wait for the Ack
        } catch (e) {
          s.log.error({ err: (e as Error).message }, 'link close failed');
        }
      }
    }
    for (const c of conns) {
      if (c.state !== 'stopping' && c.state !== 'closed') c.stop(STOP_LOCAL_SHUTDOWN); // CDN each call, StopCCRQ
    }
    for (const s of all) this.end(s, reason, 'force');
    await this.settled();
  }

  /** Resolves when no teardown is running. */
  async settled(): Promise<void> {
    while (this.finishing.size > 0) await Promise.all([...this.finishing]);
  }

  // ---- internals ----

  private newId(): string {
    // Unique by the counter; the random suffix keeps ids from colliding across restarts in logs.
    const r = this.random(2);
    return `${(++this.seq).toString(36)}${((r[0]! << 8) | r[1]!).toString(16).padStart(4, '0')}`;
  }

  /**
   * The secrets back-end as this session's authenticator sees it: each lookup
   * is one attempt. A second lookup means the previous attempt failed (MS-CHAP
   * retry); the result of an attempt is held back by the throttle's delay
   * (the authenticator answers only once the lookup resolves).
   */
  private throttledBackend(s: Session, t: AuthThrottle): AuthBackend {
    return {
      lookup: (user, server) => {
        if (s.authAttempt !== undefined) t.failed(s.clientAddress, s.authAttempt);
        s.authAttempt = user;
        const delay = t.delayFor(s.clientAddress, user);
        const answer = this.backend.lookup(user, server);
        if (delay <= 0 || s.state === 'down') return answer;
        answer.catch(() => {}); // settled later through the hold
        return new Promise((resolve, reject) => {
          s.authHold?.cancel();
          s.authHold = this.clock.setTimer(delay, () => {
            s.authHold = undefined;
            answer.then(resolve, reject);
          });
        });
      },
    };
  }

  /** Duplicate-login policy, once a session's user is authenticated. */
  private enforceLoginLimit(s: Session): void {
    const max = this.config.maxLoginsPerUser ?? 0;
    if (max <= 0 || s.state !== 'starting') return;
    const others: Session[] = [];
    for (const o of this.sessions.values()) {
      if (o !== s && o.user === s.user && (o.state === 'starting' || o.state === 'up')) others.push(o);
    }
    if (others.length < max) return;
    if (this.config.duplicateLogin === 'replace') {
      // Oldest first (Map order is creation order).
      for (const o of others.slice(0, others.length - max + 1)) {
        this.stats.duplicateLogins++;
        o.log.warn({ user: s.user, newClient: s.clientAddress, maxLogins: max }, 'session replaced by a new login of the same user');
        this.end(o, `replaced by a new login of ${s.user} from ${s.clientAddress} (max-logins-per-user ${max})`, 'admin');
      }
      return;
    }
    this.stats.duplicateLogins++;
    s.log.warn({ user: s.user, sessions: others.length, maxLogins: max }, 'login refused: user already logged in');
    this.end(s, `${s.user} is already logged in (max-logins-per-user ${max})`, 'admin');
  }

  private assignAddress(
    s: Session,
    req: { user: string; entry?: SecretEntry; requested?: string },
  ): { local: string; peer: string } | { error: string } {
    if (s.state === 'down' || s.state === 'closing') return { error: 'session is ending' };
    const entry = req.entry;
    const rules = entry?.addresses ?? [];
    if (s.lease) {
      // IPCP asks again when the peer wants a specific other address: switch
      // only if that one is free and allowed (never for a pinned user);
      // otherwise keep ours and the link Naks with it.
      const want = req.requested;
      if (!want || want === '0.0.0.0' || want === s.lease.remote || entry?.pinnedAddress) return pair(s.lease);
      const other = this.pool.take(want, rules);
      if (!other) return pair(s.lease);
      this.pool.release(s.lease.remote);
      s.lease = other;
      return pair(other);
    }
    let lease: AddressLease | undefined;
    if (entry?.pinnedAddress) {
      // chap-secrets pins this user to one address: that or nothing.
      lease = this.pool.take(entry.pinnedAddress, rules);
      if (!lease) {
        s.log.warn({ user: req.user, address: entry.pinnedAddress, source: entry.source }, 'pinned address is in use');
        return { error: `pinned address ${entry.pinnedAddress} is in use` };
      }
    } else {
      if (req.requested && req.requested !== '0.0.0.0') lease = this.pool.take(req.requested, rules);
      lease ??= this.pool.allocate(rules);
      if (!lease) {
        const why = rules.length > 0 ? 'no free address allowed for this user by chap-secrets' : 'address pool exhausted';
        s.log.warn({ user: req.user }, `no address: ${why}`);
        return { error: why };
      }
    }
    s.lease = lease;
    return pair(lease);
  }

  private linkUp(s: Session, info: LinkUpInfo): void {
    if (s.state !== 'starting') return;
    s.user = info.user;
    s.local = info.local;
    s.peer = info.peer;
    s.mppe = describeMppe(info.mppe);
    s.mtu = info.mtu;
    s.dns = info.dns;
    const attaching = s.dp.attach({
      local: info.local,
      peer: info.peer,
      mtu: info.mtu,
      mru: info.mru,
      mppe: info.mppe,
      link: s.link,
    });
    s.attaching = attaching;
    attaching.then(
      ({ ifname }) => {
        s.ifname = ifname;
        if (s.state !== 'starting') return; // ended meanwhile; the teardown closes the interface
        s.state = 'up';
        s.upMono = this.clock.now();
        s.lastActive = s.upMono;
        this.stats.up++;
        this.armIdleSweep();
        if (this.wtmp && this.wtmpCall(s, () => this.wtmp!.login(ifname, s.user, s.clientAddress))) {
          this.wtmpOpen.add(s);
        }
        if (this.scripts) {
          s.ipUpRan = true;
          const scripts = this.scripts;
          s.ipUp = Promise.resolve()
            .then(() => scripts.ipUp(this.scriptSession(s)))
            .catch((e: unknown) => s.log.warn({ err: (e as Error).message }, 'ip-up failed'));
        }
        s.log.info(
          {
            user: s.user,
            ifname,
            local: s.local,
            peer: s.peer,
            mppe: s.mppe,
            auth: info.authMethod,
            mtu: info.mtu,
            mru: info.mru,
            setupMs: Math.round(s.upMono - s.startMono),
          },
          'session up',
        );
      },
      (e: unknown) => {
        s.log.error({ err: (e as Error).message }, 'interface setup failed');
        this.end(s, `interface setup failed: ${(e as Error).message}`, 'admin');
      },
    );
  }

  /** wtmp is bookkeeping: a failure there never touches the session. */
  private wtmpCall(s: Session, f: () => void): boolean {
    try {
      f();
      return true;
    } catch (e) {
      s.log.warn({ err: (e as Error).message }, 'wtmp record failed');
      return false;
    }
  }

  private scriptSession(s: Session, c?: DatapathCounters): ScriptSession {
    const cfg = this.config;
    const ipparam = cfg.noipparam ? (cfg.ipparam ?? '') : (cfg.ipparam ?? s.clientAddress);
    const out: ScriptSession = {
      sessionId: s.id,
      ifname: s.ifname,
      local: s.local,
      peer: s.peer,
      user: s.user,
      ipparam,
      dns: s.dns,
    };
    if (c) {
      out.connectTimeSec = Math.round((this.clock.now() - s.upMono) / 1000);
      out.bytesSent = c.txBytes;
      out.bytesReceived = c.rxBytes;
    }
    return out;
  }

  /** The one teardown path. Safe to call any number of times, from any callback, re-entrantly. */
  private end(s: Session, reason: string, source: EndSource): void {
    if (s.state === 'down') return;
    if (source === 'pptp') s.pptpGone = true;
    if (source === 'ppp') s.pppGone = true;
    s.reason ??= reason;

    if (source === 'admin' && !s.pppGone && s.link.phase !== 'dead') {
      // Tell the client over PPP first (LCP Terminate-Request); the link
      // reports onDown when it is acknowledged or times out. The guard
      // forces the end if that never comes.
      if (s.state === 'closing') return;
      s.state = 'closing';
      s.guard = this.clock.setTimer(this.config.killGraceMs ?? 7000, () => this.end(s, reason, 'force'));
      try {
        s.link.close(s.reason);
      } catch (e) {
        s.log.error({ err: (e as Error).message }, 'link close failed');
        this.end(s, reason, 'force');
      }
      return;
    }

    const wasUp = s.ipUpRan;
    const closing = s.state === 'closing';
    if (!s.gotFrame && s.state === 'starting' && this.clock.now() - s.startMono >= NO_GRE_HINT_MS) {
      // The classic poptop mystery (Windows error 619, "LCP: timeout sending
      // Config-Requests"): the control connection works but GRE never arrives.
      s.reason += NO_GRE_HINT;
    }
    s.state = 'down';
    s.guard?.cancel();
    s.guard = undefined;
    s.authHold?.cancel();
    s.authHold = undefined;
    s.startTimer?.cancel();
    s.startTimer = undefined;
    // An attempt that never got a success counts as failed (hanging up while
    // the result is held back does not escape the back-off).
    if (s.authAttempt !== undefined) this.throttle?.failed(s.clientAddress, s.authAttempt);
    s.authAttempt = undefined;
    const why = s.reason;
    if (!s.pppGone) {
      s.pppGone = true;
      try {
        s.link.lowerDown(why); // re-enters end() via onDown: returns at once (state is down)
      } catch (e) {
        s.log.error({ err: (e as Error).message }, 'link lowerDown failed');
      }
    }
    if (!s.pptpGone) {
      s.pptpGone = true;
      const result = closing || source === 'force' ? CDN_ADMIN_SHUTDOWN : CDN_LOST_CARRIER;
      try {
        if (s.conn.state !== 'closed') s.conn.disconnectCall(s.callId, result, why);
      } catch (e) {
        s.log.error({ err: (e as Error).message }, 'disconnectCall failed');
      }
    }
    this.sessions.delete(s.id);
    if (this.byCallId.get(s.callId) === s) this.byCallId.delete(s.callId);
    s.final = s.dp.counters();
    if (wasUp) this.stats.down++;
    const p = this.finish(s).finally(() => this.finishing.delete(p));
    this.finishing.add(p);
  }

  private async finish(s: Session): Promise<void> {
    const c = s.final!;
    if (s.attaching) await s.attaching.catch(() => {});
    if (this.wtmp && this.wtmpOpen.has(s)) {
      this.wtmpOpen.delete(s);
      this.wtmpCall(s, () => this.wtmp!.logout(s.ifname));
    }
    if (s.ipUpRan && this.scripts) {
      await s.ipUp;
      try {
        await this.scripts.ipDown(this.scriptSession(s, c));
      } catch (e) {
        s.log.warn({ err: (e as Error).message }, 'ip-down failed');
      }
    }
    try {
      await s.dp.close();
    } catch (e) {
      s.log.error({ err: (e as Error).message, ifname: s.ifname }, 'datapath close failed');
    }
    if (s.lease) {
      this.pool.release(s.lease.remote);
      s.lease = undefined;
    }
    s.log.info(
      {
        reason: s.reason,
        user: s.user || undefined,
        ifname: s.ifname || undefined,
        peer: s.peer || undefined,
        durationSec: Math.round((this.clock.now() - s.startMono) / 1000),
        rxBytes: c.rxBytes,
        txBytes: c.txBytes,
        rxPackets: c.rxPackets,
        txPackets: c.txPackets,
      },
      'session down',
    );
  }
}
