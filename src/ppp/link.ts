// One PPP link: phases Dead → Establish (LCP) → Authenticate → Network (CCP,
// IPCP) → running, and Terminate. Owns framing (ACFC/PFC), the protocol
// table, the MPPE codec on the userspace data path, and the guarantee that
// onDown runs exactly once on every exit path. Frames in, frames and events
// out; no I/O, time from the injected clock.
import type { Logger } from 'pino';
import type { SecretEntry } from '../auth/types.js';
import { MppeCodec } from '../crypto/mppe.js';
import { mppeStartKeys } from '../crypto/mppe-keys.js';
import type { AuthBackend } from '../auth/types.js';
import type { Clock, Timer } from '../util/clock.js';
import type { RandomSource } from '../util/random.js';
import { createAuthenticator, createPeerAuthenticator } from './auth/index.js';
import type {
  Authenticator, AuthenticatorContext, AuthMethod, AuthOutcome, MppeKeyMaterial, PeerAuthenticator, PppLog,
} from './auth/types.js';
import { Ccp, type CcpHost, requireMppeOption } from './ccp.js';
import {
  PROTO_CCP, PROTO_CHAP, PROTO_COMP, PROTO_IP, PROTO_IPCP, PROTO_LCP, PROTO_PAP,
} from './constants.js';
import { FSM_DEFAULTS, type FsmConfig } from './fsm.js';
import { formatIp4, parseIp4 } from './ip4.js';
import { Ipcp, type IpcpHost } from './ipcp.js';
import { Lcp, type LcpHost } from './lcp.js';
import type {
  FastRxLink, IpSink, LinkFactories, LinkHooks, LinkOptions, LinkPhase, LinkStats, LinkUpInfo, MppeCodecLike, MppeInfo, PppPolicy,
} from './types.js';

export type {
  AuthMethod, IpSink, LinkFactories, LinkHooks, LinkOptions, LinkPhase, LinkStats, LinkUpInfo, MppeCodecLike, MppeInfo, PppPolicy,
};
export { DEFAULT_PPP_POLICY } from './types.js';
export type { MppePolicy } from './types.js';

/** Minimum gap between two CCP Reset-Requests while one is unanswered. */
const RESET_RETRY_MS = 1000;

// Data path scratch shared by every link in the process: decrypt → onIp and
// encrypt → send are synchronous and the receivers copy, so one set serves
// all sessions (per-link buffers cost 4.2 KB a session). A nested use (two
// links wired back-to-back synchronously, as in tests) gets fresh buffers
// rather than clobbering the outer one.
const scratch = { rx: new Uint8Array(0), txIn: new Uint8Array(0), txOut: new Uint8Array(0), rxBusy: false, txBusy: false };

export interface LinkTuning {
  /** FSM timers and counters (tests shorten them). */
  fsm?: Partial<FsmConfig>;
}

// --- per-link helpers without closures ---
// A server holds 10,000 links: every closure (56 B + its context) and every
// copied options object counts. The hosts, clock and auth context below are
// small objects whose methods live on the prototype and call back into the
// link, replacing ~25 closures per link.

const DEFAULT_FACTORIES: Required<LinkFactories> = Object.freeze({
  createAuthenticator,
  createPeerAuthenticator,
  createMppeCodec: (p: Parameters<Required<LinkFactories>['createMppeCodec']>[0]): MppeCodecLike => new MppeCodec(p),
  mppeStartKeys,
});

/** One merged FSM config per tuning object the caller shares (the manager passes the same one to every link). */
const fsmConfigs = new WeakMap<Partial<FsmConfig>, FsmConfig>();

function fsmConfigFor(tuning: Partial<FsmConfig> | undefined): FsmConfig {
  if (!tuning) return FSM_DEFAULTS;
  let c = fsmConfigs.get(tuning);
  if (!c) {
    c = Object.freeze({ ...FSM_DEFAULTS, ...tuning });
    fsmConfigs.set(tuning, c);
  }
  return c;
}

/**
 * IPCP's automaton: the link's FSM config with the policy's ipcp-* values on
 * top. One merged object per (base, policy.ipcpFsm) pair: every link of a
 * policy shares it.
 */
const ipcpConfigs = new WeakMap<FsmConfig, WeakMap<object, FsmConfig>>();

function ipcpConfigFor(base: FsmConfig, over: Readonly<Partial<FsmConfig>> | undefined): FsmConfig {
  if (!over) return base;
  let byOver = ipcpConfigs.get(base);
  if (!byOver) {
    byOver = new WeakMap();
    ipcpConfigs.set(base, byOver);
  }
  let c = byOver.get(over);
  if (!c) {
    c = Object.freeze({
      restartMs: over.restartMs ?? base.restartMs,
      maxConfigure: over.maxConfigure ?? base.maxConfigure,
      maxTerminate: over.maxTerminate ?? base.maxTerminate,
      maxFailure: over.maxFailure ?? base.maxFailure,
    });
    byOver.set(over, c);
  }
  return c;
}

/** The CHAP/PAP retransmission defaults (pppd chap-new.c, upap.c): 3 s, 10 sends. */
const AUTH_RESTART_MS = 3000;
const AUTH_MAX_TRANSMITS = 10;

/**
 * How long the authentication phase may last for a method. Absent pppd
 * options keep policy.authTimeoutMs. pap-timeout replaces it for PAP (0 = no
 * limit). With chap-restart / chap-max-challenge (or pap-restart /
 * pap-max-authreq on the client) it is stretched to one interval beyond the
 * last retransmission, so the send limit, not this guard, ends a silent peer.
 */
export function authPhaseTimeoutMs(policy: PppPolicy, method: AuthMethod, role: 'server' | 'client'): number {
  if (method === 'pap') {
    if (role === 'server') return policy.papTimeoutMs ?? policy.authTimeoutMs;
    if (policy.papRestartMs === undefined && policy.papMaxAuthreq === undefined) return policy.authTimeoutMs;
    const restart = policy.papRestartMs ?? AUTH_RESTART_MS;
    return Math.max(policy.authTimeoutMs, restart * ((policy.papMaxAuthreq ?? AUTH_MAX_TRANSMITS) + 1));
  }
  if (role === 'client' || (policy.chapRestartMs === undefined && policy.chapMaxChallenge === undefined)) return policy.authTimeoutMs;
  const restart = policy.chapRestartMs ?? AUTH_RESTART_MS;
  return Math.max(policy.authTimeoutMs, restart * ((policy.chapMaxChallenge ?? AUTH_MAX_TRANSMITS) + 1));
}

/**
 * The link's log lines carry `component: "ppp"`. A pino child logger per
 * link would cost its own hidden class and turn the session's logger into a
 * prototype (~0.4 KB a session); the binding goes first in each line's merge
 * object instead, which gives the same JSON.
 */
class PppLogger implements PppLog {
  constructor(private readonly parent: Logger) {}
  debug(obj: object, msg: string): void {
    if (this.parent.isLevelEnabled('debug')) this.parent.debug({ component: 'ppp', ...obj }, msg);
  }
  info(obj: object, msg: string): void {
    if (this.parent.isLevelEnabled('info')) this.parent.info({ component: 'ppp', ...obj }, msg);
  }
  warn(obj: object, msg: string): void {
    if (this.parent.isLevelEnabled('warn')) this.parent.warn({ component: 'ppp', ...obj }, msg);
  }
  error(obj: object, msg: string): void {
    if (this.parent.isLevelEnabled('error')) this.parent.error({ component: 'ppp', ...obj }, msg);
  }
}

/** The injected clock, with every timer callback run inside the link's guard() so deferred closes happen. */
class GuardedClock implements Clock {
  constructor(private readonly link: PppLink, private readonly base: Clock) {}
  now(): number {
    return this.base.now();
  }
  setTimer(ms: number, fn: () => void): Timer {
    return this.base.setTimer(ms, () => this.link.guard(fn));
  }
}

class LcpLinkHost implements LcpHost {
  constructor(private readonly link: PppLink) {}
  send(p: Uint8Array): void { this.link.sendControl(PROTO_LCP, p); }
  up(): void { this.link.lcpUp(); }
  down(): void { this.link.lcpDown(); }
  finished(): void { this.link.lcpFinished(); }
  fail(reason: string): void { this.link.fail(reason); }
  dead(reason: string): void { this.link.finish(reason); }
  protocolRejected(proto: number): void { this.link.protocolRejected(proto); }
}

class IpcpLinkHost implements IpcpHost {
  constructor(private readonly link: PppLink) {}
  send(p: Uint8Array): void { this.link.sendControl(PROTO_IPCP, p); }
  up(): void { this.link.ipcpUp(); }
  down(): void { this.link.ncpDown('IPCP'); }
  finished(): void { this.link.ncpFinished('IPCP'); }
  fail(reason: string): void { this.link.fail(reason); }
  requestAddress(v: number): boolean { return this.link.requestAddress(v); }
}

class CcpLinkHost implements CcpHost {
  constructor(private readonly link: PppLink) {}
  send(p: Uint8Array): void { this.link.sendControl(PROTO_CCP, p); }
  up(m: { bits: 40 | 56 | 128; stateful: boolean } | null): void { this.link.ccpUp(m); }
  down(): void { this.link.ccpDown(); }
  finished(): void { this.link.ncpFinished('CCP'); }
  fail(reason: string): void { this.link.fail(reason); }
  resetRequested(): void { this.link.ccpResetRequested(); }
  resetAcked(): void { this.link.ccpResetAcked(); }
}

/** What the server-side authenticator gets: values read from the link, send/done as methods. */
class LinkAuthContext implements AuthenticatorContext {
  constructor(private readonly link: PppLink, private readonly proto: number) {}
  get serverName(): string { return this.link.policy.name; }
  get backend(): AuthBackend { return this.link.o.backend; }
  get clock(): Clock { return this.link.clock; }
  get random(): RandomSource { return this.link.o.random; }
  get log(): PppLog { return this.link.log; }
  get maxRetries(): number { return this.link.policy.maxAuthRetries; }
  get timeoutMs(): number { return this.link.authTimeoutMs; }
  get restartMs(): number | undefined { return this.proto === PROTO_CHAP ? this.link.policy.chapRestartMs : undefined; }
  get maxTransmits(): number | undefined { return this.proto === PROTO_CHAP ? this.link.policy.chapMaxChallenge : undefined; }
  send(p: Uint8Array): void { this.link.sendControl(this.proto, p); }
  done(out: AuthOutcome): void { this.link.guard(() => this.link.authDone(out)); }
}

/** The policy's DNS/WINS as numbers, once per policy object (IPCP shares them across links). */
const served = new WeakMap<PppPolicy, { dns: number[]; wins: number[] }>();
function servedAddresses(policy: PppPolicy): { dns: number[]; wins: number[] } {
  let v = served.get(policy);
  if (!v) {
    const ips = (l: string[]) => l.slice(0, 2).map((s) => parseIp4(s) ?? 0).filter((n) => n !== 0);
    v = { dns: ips(policy.dns), wins: ips(policy.wins) };
    served.set(policy, v);
  }
  return v;
}

// Texts every session would otherwise hold its own copy of (sessions keep
// their LinkUpInfo strings): the server's local address is usually one
// value, and a server's DNS/WINS lists are one frozen pair per policy.
let lastLocal = { n: -1, text: '' };
function localText(n: number): string {
  if (lastLocal.n !== n) lastLocal = { n, text: formatIp4(n) };
  return lastLocal.text;
}
const texts = new WeakMap<readonly number[], string[]>();
function addressTexts(list: readonly number[]): string[] {
  const make = () => list.filter((v) => v !== 0).map(formatIp4);
  if (!Object.isFrozen(list)) return make(); // a client's received values: its own
  let t = texts.get(list);
  if (!t) {
    t = Object.freeze(make()) as string[];
    texts.set(list, t);
  }
  return t;
}

/** What the link keeps of MPPE once the codec holds the keys (one shared object per mode). */
const EMPTY_KEY = new Uint8Array(0);
const MPPE_MODES = new Map<string, MppeInfo>();
function mppeMode(bits: 40 | 56 | 128, stateful: boolean): MppeInfo {
  const k = `${bits}${stateful ? 's' : ''}`;
  let m = MPPE_MODES.get(k);
  if (!m) {
    m = Object.freeze({ bits, stateful, sendKey: EMPTY_KEY, recvKey: EMPTY_KEY });
    MPPE_MODES.set(k, m);
  }
  return m;
}

/** The link's offer to a datapath's receive fast path (IpSink.fastRx): one per running stateless codec. */
class LinkFastRx implements FastRxLink {
  constructor(
    private readonly link: PppLink,
    readonly codec: MppeCodecLike,
    readonly mppe: FastRxLink['mppe'],
    readonly rxMax: number,
  ) {}

  counted(frames: number, frameBytes: number, ipPackets: number, dropped: number): void {
    this.link.fastCounted(this.codec, frames, frameBytes, ipPackets, dropped);
  }
}

export class PppLink {
  phase: LinkPhase = 'dead';
  readonly stats: LinkStats = {
    rxFrames: 0, txFrames: 0, rxIp: 0, txIp: 0, rxBytes: 0, txBytes: 0, dropped: 0, mppeErrors: 0, ccpResetsSent: 0, ccpResetsReceived: 0,
  };
  readonly lcp: Lcp;
  ccp: Ccp | null = null;
  ipcp: Ipcp | null = null;

  /** @internal (read by the link's helper objects) */
  readonly policy: PppPolicy;
  private readonly hooks: LinkHooks;
  private readonly role: 'server' | 'client';
  /** @internal */
  readonly log: PppLog;
  /** @internal */
  readonly clock: Clock;
  private readonly fsmCfg: FsmConfig;
  private auth: Authenticator | null = null;
  private peerAuth: PeerAuthenticator | null = null;
  private authTimer: Timer | null = null;
  private authFinished = false;
  private user = '';
  private entry: SecretEntry | undefined;
  private keys: MppeKeyMaterial | undefined;
  private authMethodUsed: AuthMethod | 'none' = 'none';
  private local = 0;
  private peer = 0;
  private codec: MppeCodecLike | null = null;
  private mppe: MppeInfo | null = null;
  private ccpSettled = false;
  private ipcpOpen = false;
  private mtu = 0;
  private resetPending = false;
  private lastResetAt = -Infinity;
  // Re-entrancy: closes requested while a packet or timer is being handled
  // run once it is done (FSM callbacks must not tear the FSM down mid-step).
  private busy = 0;
  private pending: { reason: string; immediate: boolean } | null = null;
  private closeReason: string | null = null;
  private ended = false;
  // Largest decrypted frame accepted (userspace mode, set when the link runs; 0 = not running).
  private rxMax = 0;
  // Userspace mode: where received MPPE packets are decrypted in place (the TUN write queue), else scratch + onIp.
  private ipSink: IpSink | null = null;
  // What the sink's fast path was offered (IpSink.fastRx), if anything.
  private fastRxOffer: LinkFastRx | null = null;

  /** @internal */
  readonly o: LinkOptions & LinkTuning;

  constructor(o: LinkOptions & LinkTuning) {
    this.o = o;
    this.policy = o.policy;
    this.hooks = o.hooks;
    this.role = o.role ?? 'server';
    this.log = new PppLogger(o.log);
    this.clock = new GuardedClock(this, o.clock);
    this.fsmCfg = fsmConfigFor(o.fsm);
    this.lcp = new Lcp(
      {
        role: this.role, auth: this.policy.auth, mru: this.policy.mru, echoInterval: this.policy.lcpEchoInterval,
        echoFailure: this.policy.lcpEchoFailure, clock: this.clock, random: o.random, fsm: this.fsmCfg,
        nopcomp: this.policy.nopcomp === true, noaccomp: this.policy.noaccomp === true,
      },
      new LcpLinkHost(this),
    );
  }

  /** Lower layer up: LCP Up + Open. */
  start(): void {
    if (this.phase !== 'dead' || this.ended) return;
    this.phase = 'establish';
    this.guard(() => {
      this.lcp.fsm.up();
      this.lcp.fsm.open();
    });
  }

  /** One PPP frame from the GRE payload; never throws. */
  input(frame: Uint8Array): void {
    this.stats.rxFrames++;
    this.stats.rxBytes += frame.length;
    if (this.ended || this.phase === 'dead') {
      this.stats.dropped++;
      return;
    }
    this.busy++;
    try {
      this.dispatch(frame);
    } catch (e) {
      // A bug, not bad input: keep the process alive, count it, say so.
      this.stats.dropped++;
      this.log.error({ err: e }, 'PPP input handler failed');
    } finally {
      this.busy--;
      this.flush();
    }
  }

  /** Administrative close: LCP Terminate-Request, then onDown(reason). */
  close(reason: string): void {
    if (this.ended) return;
    if (this.busy > 0) {
      this.pending ??= { reason, immediate: false };
      return;
    }
    this.doClose(reason);
  }

  /** GRE/TCP gone: no packets, straight to onDown(reason). */
  lowerDown(reason: string): void {
    this.finish(reason);
  }

  // --- framing ---

  private dispatch(f: Uint8Array): void {
    const n = f.length;
    let p = 0;
    if (n >= 2 && f[0] === 0xff && f[1] === 0x03) p = 2; // be liberal: accept with or without
    if (p >= n) return this.drop();
    let proto = f[p];
    if (proto & 1) {
      p += 1; // compressed 1-byte protocol field
    } else {
      if (p + 2 > n) return this.drop();
      proto = (proto << 8) | f[p + 1];
      if (!(proto & 1)) return this.drop(); // RFC 1661: the last protocol octet is odd
      p += 2;
    }
    switch (proto) {
      case PROTO_COMP: return this.rxCompressed(f, p);
      case PROTO_IP: return this.rxPlainIp(f, p);
      case PROTO_LCP: return this.lcp.fsm.input(f.subarray(p));
      case PROTO_PAP:
      case PROTO_CHAP:
        if (this.auth && this.auth.protocol === proto) return this.auth.input(f.subarray(p));
        if (this.peerAuth && this.peerAuth.protocol === proto) return this.peerAuth.input(f.subarray(p));
        return this.drop();
      case PROTO_CCP:
        if (!this.policy.mppe) return this.protocolReject(proto, f, p); // nomppe: no CCP at all
        if (this.ccp && this.inNetwork()) return this.ccp.fsm.input(f.subarray(p));
        return this.drop(); // NCP packets before the network phase are discarded
      case PROTO_IPCP:
        if (this.ipcp && this.inNetwork()) return this.ipcp.fsm.input(f.subarray(p));
        return this.drop();
      default:
        // IPV6CP, IPv6 and everything else: Protocol-Reject (in LCP Opened).
        return this.protocolReject(proto, f, p);
    }
  }

  private inNetwork(): boolean {
    return this.phase === 'network' || this.phase === 'running';
  }

  private drop(): void {
    this.stats.dropped++;
  }

  private protocolReject(proto: number, f: Uint8Array, p: number): void {
    if (!this.lcp.protocolReject(proto, f, p, f.length)) this.drop();
  }

  /** Header: FF 03 unless ACFC, 1-byte protocol for data if PFC. Control frames stay uncompressed. */
  private writeHeader(buf: Uint8Array, proto: number): number {
    let h = 0;
    if (!this.lcp.peerAcfc) {
      buf[h++] = 0xff;
      buf[h++] = 0x03;
    }
    if (this.lcp.peerPfc && proto < 0x100) {
      buf[h++] = proto;
    } else {
      buf[h++] = proto >>> 8;
      buf[h++] = proto & 0xff;
    }
    return h;
  }

  /** A constructor from o.factories, else the real one (looked up when used: no merged copy per link). */
  private factory<K extends keyof LinkFactories>(k: K): Required<LinkFactories>[K] {
    return (this.o.factories?.[k] ?? DEFAULT_FACTORIES[k]) as Required<LinkFactories>[K];
  }

  /** @internal */
  sendControl(proto: number, packet: Uint8Array): void {
    const frame = new Uint8Array(4 + packet.length);
    frame[0] = 0xff;
    frame[1] = 0x03;
    frame[2] = proto >>> 8;
    frame[3] = proto & 0xff;
    frame.set(packet, 4);
    this.emit(frame);
  }

  private emit(frame: Uint8Array): void {
    if (this.ended) return;
    this.stats.txFrames++;
    this.stats.txBytes += frame.length;
    this.hooks.send(frame);
  }

  // --- data path ---

  private allocScratch(): void {
    if (this.rxMax > 0 || this.o.dataMode !== 'userspace') return;
    this.rxMax = Math.max(this.lcp.ourMru, this.policy.mru) + 8;
    // Grow the shared buffers to this link's sizes (a few links at most ever do).
    if (scratch.rx.length < this.rxMax) scratch.rx = new Uint8Array(this.rxMax);
    if (scratch.txIn.length < this.mtu + 2) scratch.txIn = new Uint8Array(this.mtu + 2);
    if (scratch.txOut.length < this.mtu + 8) scratch.txOut = new Uint8Array(this.mtu + 8);
  }

  /**
   * Kernel data mode: the kernel's MPPE must hold the start keys before
   * either CCP Configure-Ack passes (ours answers the peer's request; the
   * peer's answers ours), and again before each new CCP round. Start
   * keys do not depend on the strength.
   */
  private armKernelMppe(required: boolean): void {
    if (this.o.dataMode !== 'kernel' || !this.hooks.kernelMppeKeys || !this.keys) return;
    const k = this.factory('mppeStartKeys')(this.keys, this.role, 128);
    this.hooks.kernelMppeKeys({ sendKey: k.send, recvKey: k.recv, required });
  }

  /**
   * The datapath's in-place delivery for decrypted packets (null: back to
   * scratch + hooks.onIp). Packets delivered there do not reach onIp.
   */
  setIpSink(sink: IpSink | null): void {
    if (sink !== this.ipSink && this.fastRxOffer !== null) {
      this.fastRxOffer = null;
      this.ipSink?.fastRx?.(null);
    }
    this.ipSink = sink;
    this.syncFastRx();
  }

  /**
   * Offers the sink's fast path the running stateless codec, or withdraws
   * the offer once that no longer holds: called wherever phase, codec or
   * sink change.
   */
  private syncFastRx(): void {
    const sink = this.ipSink;
    const codec = this.codec;
    const view = sink?.fastRx && codec && this.phase === 'running' && !this.ended && this.rxMax > 0 &&
      this.o.dataMode === 'userspace' ? codec.fastRxView?.() ?? null : null;
    if (!view) {
      if (this.fastRxOffer !== null) {
        this.fastRxOffer = null;
        sink?.fastRx?.(null);
      }
      return;
    }
    if (this.fastRxOffer?.codec === codec) return;
    this.fastRxOffer = new LinkFastRx(this, codec!, view, this.rxMax);
    sink!.fastRx!(this.fastRxOffer);
  }

  /** @internal Frames a datapath fast path took on this link's behalf (LinkFastRx.counted). */
  fastCounted(codec: MppeCodecLike, frames: number, frameBytes: number, ipPackets: number, dropped: number): void {
    const st = this.stats;
    st.rxFrames += frames;
    st.rxBytes += frameBytes;
    st.rxIp += ipPackets;
    st.dropped += dropped;
    codec.countFastRx?.(frames);
  }

  private rxCompressed(f: Uint8Array, p: number): void {
    if (this.o.dataMode === 'kernel') {
      // The kernel hands us an MPPE frame only when its decompressor is in
      // error (stateful: a lost packet): ask the peer to flush, as pppd does.
      this.drop();
      this.stats.mppeErrors++;
      if (this.phase === 'running' && this.mppe?.stateful) this.requestReset();
      return;
    }
    const codec = this.codec;
    const rxMax = this.rxMax;
    if (this.phase !== 'running' || !codec || rxMax === 0) return this.drop();
    if (f.length - p - 1 > rxMax) return this.drop();
    if (this.ipSink !== null) return this.rxCompressedInPlace(codec, this.ipSink, f, p);
    const nested = scratch.rxBusy;
    const out = nested ? new Uint8Array(rxMax) : scratch.rx;
    scratch.rxBusy = true;
    try {
      const len = codec.decrypt(f.subarray(p), out, 0);
      if (this.decryptedIpv4(codec, out, 0, len)) this.hooks.onIp?.(out.subarray(2, len));
    } finally {
      if (!nested) scratch.rxBusy = false;
    }
  }

  /** As rxCompressed, decrypting straight into the sink: a drop is simply no commit. */
  private rxCompressedInPlace(codec: MppeCodecLike, sink: IpSink, f: Uint8Array, p: number): void {
    const start = sink.begin(this.rxMax);
    if (start < 0) return this.drop();
    const buf = sink.buffer;
    const len = codec.decrypt(f.subarray(p), buf, start);
    if (this.decryptedIpv4(codec, buf, start, len)) sink.commit(start, 2, len - 2);
  }

  /**
   * After codec.decrypt wrote `len` bytes at buf[start..] (or -1): counts the
   * outcome and says whether it is a non-empty IPv4 packet to deliver.
   */
  private decryptedIpv4(codec: MppeCodecLike, buf: Uint8Array, start: number, len: number): boolean {
    if (len < 0) {
      this.drop();
      this.stats.mppeErrors++;
      if (codec.needsReset) this.requestReset();
      return false;
    }
    this.resetPending = false;
    // Only IPv4 inside MPPE, and not an empty one.
    if (len < 3 || buf[start] !== 0x00 || buf[start + 1] !== 0x21) {
      this.drop();
      return false;
    }
    this.stats.rxIp++;
    return true;
  }

  private rxPlainIp(f: Uint8Array, p: number): void {
    // Unencrypted IP is only acceptable when no MPPE was negotiated.
    if (this.phase !== 'running' || this.mppe || this.o.dataMode !== 'userspace') return this.drop();
    this.stats.rxIp++;
    this.hooks.onIp?.(f.subarray(p));
  }

  private requestReset(): void {
    const now = this.clock.now();
    if (this.resetPending && now - this.lastResetAt < RESET_RETRY_MS) return;
    this.resetPending = true;
    this.lastResetAt = now;
    if (this.ccp?.fsm.state === 'opened') this.stats.ccpResetsSent++;
    this.ccp?.sendResetRequest();
  }

  /** Userspace mode: encrypt with MPPE (if negotiated) and send. */
  sendIp(packet: Uint8Array): void {
    const n = packet.length;
    if (this.ended || this.phase !== 'running' || this.rxMax === 0 || n === 0 || n > this.mtu) {
      this.stats.dropped++;
      return;
    }
    if (this.mppe && !this.codec) {
      this.stats.dropped++; // kernel keys but userspace send: cannot happen, refuse to leak plaintext
      return;
    }
    const nested = scratch.txBusy;
    const out = nested ? new Uint8Array(this.mtu + 8) : scratch.txOut;
    scratch.txBusy = true;
    try {
      let len: number;
      if (this.codec) {
        const input = nested ? new Uint8Array(this.mtu + 2) : scratch.txIn;
        input[0] = 0x00;
        input[1] = 0x21;
        input.set(packet, 2);
        const h = this.writeHeader(out, PROTO_COMP);
        len = h + this.codec.encrypt(input.subarray(0, n + 2), out, h);
      } else {
        const h = this.writeHeader(out, PROTO_IP);
        out.set(packet, h);
        len = h + n;
      }
      this.stats.txIp++;
      this.emit(out.subarray(0, len));
    } finally {
      if (!nested) scratch.txBusy = false;
    }
  }

  // --- phases ---

  /** @internal */
  lcpUp(): void {
    if (this.ended || this.closeReason !== null) return;
    if (this.role === 'server') {
      const method = this.lcp.authMethod;
      if (method) return this.startAuth(method);
      this.authMethodUsed = 'none';
      this.authFinished = true;
      return this.enterNetwork();
    }
    const method = this.lcp.peerAuth;
    if (method) return this.startPeerAuth(method);
    this.user = this.o.credentials?.user ?? '';
    this.authFinished = true;
    this.enterNetwork();
  }

  /** @internal */
  lcpDown(): void {
    this.stopNcps();
    if (this.closeReason !== null || this.ended) return; // our own close: wait for Terminate-Ack
    const fsm = this.lcp.fsm;
    // Peer's Terminate-Request (the Terminate-Ack goes out in this same step)
    // or a restart of LCP negotiation: this link is over.
    const reason = fsm.state === 'stopping'
      ? `peer terminated the link (LCP Terminate-Request${fsm.peerTermReason ? ': ' + fsm.peerTermReason : ''})`
      : 'peer restarted LCP negotiation';
    this.pending = { reason: this.pending?.reason ?? reason, immediate: true };
  }

  /** @internal */
  lcpFinished(): void {
    const fsm = this.lcp.fsm;
    let reason = this.closeReason;
    if (reason === null) {
      if (fsm.finishCause === 'timeout') {
        reason = this.phase === 'establish'
          ? 'LCP: timeout sending Config-Requests (no answer from the peer: is GRE getting through?)'
          : 'LCP: peer stopped answering';
      } else if (fsm.finishCause === 'rejected') {
        reason = 'peer rejected LCP';
      } else {
        reason = `peer terminated the link${fsm.peerTermReason ? ' (' + fsm.peerTermReason + ')' : ''}`;
      }
    }
    this.finish(reason);
  }

  private stopNcps(): void {
    this.ccp?.fsm.stop();
    this.ipcp?.fsm.stop();
    this.codec = null;
    this.ipcpOpen = false;
    this.syncFastRx();
  }

  /** @internal The authentication phase's limit for the method in use (0 = none). */
  get authTimeoutMs(): number {
    return authPhaseTimeoutMs(this.policy, this.authMethodUsed === 'none' ? 'mschapv2' : this.authMethodUsed, this.role);
  }

  private startAuth(method: AuthMethod): void {
    this.phase = 'authenticate';
    this.authMethodUsed = method;
    const proto = method === 'pap' ? PROTO_PAP : PROTO_CHAP;
    this.auth = this.factory('createAuthenticator')(method, new LinkAuthContext(this, proto));
    this.auth.start();
    this.armAuthTimer();
  }

  private startPeerAuth(method: AuthMethod): void {
    this.phase = 'authenticate';
    this.authMethodUsed = method;
    const proto = method === 'pap' ? PROTO_PAP : PROTO_CHAP;
    const cred = this.o.credentials ?? { user: '', password: '' };
    this.armAuthTimer();
    this.peerAuth = this.factory('createPeerAuthenticator')(method, {
      user: cred.user,
      password: cred.password,
      clock: this.clock,
      random: this.o.random,
      send: (p) => this.sendControl(proto, p),
      ...(method === 'pap' && { restartMs: this.policy.papRestartMs, maxTransmits: this.policy.papMaxAuthreq }),
      done: (out) => this.guard(() => this.authDone(out.ok ? { ok: true, user: cred.user, keys: out.keys } : out)),
    });
  }

  /** The link's own guard; the authenticator's timer normally fires first (it was armed first). */
  private armAuthTimer(): void {
    const ms = this.authTimeoutMs;
    if (ms <= 0) return; // pap-timeout 0: no limit
    this.authTimer = this.clock.setTimer(ms, () => {
      this.authTimer = null;
      if (!this.authFinished) this.fail('authentication timed out');
    });
  }

  /** @internal */
  authDone(out: AuthOutcome | { ok: true; user: string; keys?: MppeKeyMaterial }): void {
    if (this.authFinished || this.ended) return;
    this.authFinished = true;
    this.authTimer?.cancel();
    this.authTimer = null;
    if (!out.ok) {
      const who = out.user ? ` for ${out.user}` : '';
      this.log.warn({ user: out.user, method: this.authMethodUsed }, 'authentication failed');
      this.fail(`authentication failed${who}: ${out.reason}`);
      return;
    }
    this.user = out.user;
    this.entry = 'entry' in out ? out.entry : undefined;
    this.keys = out.keys;
    this.hooks.onAuthenticated?.(this.user, this.authMethodUsed);
    this.enterNetwork();
  }

  private enterNetwork(): void {
    if (this.ended || this.closeReason !== null) return;
    this.phase = 'network';
    const policy = this.policy;
    if (this.role === 'server') {
      const a = this.hooks.assignAddress({ user: this.user, entry: this.entry });
      if ('error' in a) return this.fail(`no IP address for ${this.user || 'the peer'}: ${a.error}`);
      const local = parseIp4(a.local);
      const peer = parseIp4(a.peer);
      if (local === null || peer === null) return this.fail('invalid address from the address pool');
      this.local = local;
      this.peer = peer;
    } else {
      this.local = parseIp4(this.o.requestAddress ?? '0.0.0.0') ?? 0;
    }
    this.ipcp = new Ipcp(
      {
        role: this.role, local: this.local, peer: this.peer, ...servedAddresses(policy),
        clock: this.clock, fsm: ipcpConfigFor(this.fsmCfg, policy.ipcpFsm),
      },
      new IpcpLinkHost(this),
    );
    const mppe = policy.mppe;
    if (mppe) {
      const keysAvailable = this.keys !== undefined;
      if (mppe.required && !keysAvailable) {
        return this.fail(`MPPE is required but ${this.authMethodUsed} authentication provides no MPPE keys`);
      }
      this.ccp = new Ccp(
        { role: this.role, policy: mppe, keysAvailable, clock: this.clock, fsm: this.fsmCfg },
        new CcpLinkHost(this),
      );
      if (keysAvailable) this.armKernelMppe(mppe.required);
      this.ccp.fsm.up();
      this.ccp.fsm.open();
    } else {
      this.ccpSettled = true;
    }
    // With MPPE required, no IP negotiation before encryption is agreed.
    if (!mppe?.required) this.openIpcp();
  }

  /** @internal IPCP Opened. */
  ipcpUp(): void {
    this.ipcpOpen = true;
    this.maybeUp();
  }

  /** @internal The peer sent a CCP Reset-Request. */
  ccpResetRequested(): void {
    this.stats.ccpResetsReceived++;
    this.codec?.onResetRequest();
  }

  /** @internal */
  ccpResetAcked(): void {
    this.resetPending = false;
  }

  private openIpcp(): void {
    const fsm = this.ipcp?.fsm;
    if (!fsm || fsm.state !== 'initial' || this.ended) return;
    fsm.up();
    fsm.open();
  }

  /** @internal */
  requestAddress(v: number): boolean {
    const requested = formatIp4(v);
    const a = this.hooks.assignAddress({ user: this.user, entry: this.entry, requested });
    if ('error' in a || a.peer !== requested) return false;
    this.peer = v;
    return true;
  }

  /** @internal */
  ccpUp(m: { bits: 40 | 56 | 128; stateful: boolean } | null): void {
    if (m) {
      if (!this.keys) return this.fail('MPPE negotiated without key material');
      const k = this.factory('mppeStartKeys')(this.keys, this.role, m.bits);
      this.mppe = { bits: m.bits, stateful: m.stateful, sendKey: k.send, recvKey: k.recv };
      this.codec = null; // created with the scratch buffers when the link runs
      if (this.o.dataMode === 'kernel') this.hooks.kernelMppeUp?.(); // before IPCP's first frame
    } else {
      this.mppe = null;
    }
    this.ccpSettled = true;
    this.openIpcp();
    this.maybeUp();
  }

  /** @internal */
  ccpDown(): void {
    const wasRunning = this.phase === 'running' && this.mppe !== null;
    this.ccpSettled = false;
    this.codec = null;
    this.syncFastRx();
    this.mppe = null;
    if (wasRunning) return this.fail('the peer renegotiated MPPE on a running link (not supported)');
    // A new CCP round (stateful/stateless settled differently, or the peer
    // restarted CCP): kernel MPPE derives a session key per Configure-Ack, so
    // it needs fresh start keys first, as pppd's ccp_test() gives it.
    if (this.phase === 'network') this.armKernelMppe(this.o.policy.mppe?.required ?? false);
  }

  /** @internal */
  ncpDown(name: string): void {
    if (name === 'IPCP') this.ipcpOpen = false;
    if (this.phase === 'running') this.fail(`${name} closed by the peer`);
  }

  /** @internal */
  ncpFinished(name: string): void {
    if (this.ended || this.closeReason !== null) return;
    if (name === 'CCP') {
      const mppe = this.policy.mppe;
      if (mppe?.required) {
        const cause = this.ccp?.fsm.finishCause;
        return this.fail(cause === 'timeout'
          ? 'CCP negotiation timed out (MPPE is required)'
          : `peer refused MPPE encryption (required by ${requireMppeOption(mppe)})`);
      }
      if (!this.ccpSettled) {
        this.ccpSettled = true; // optional MPPE the peer won't do: carry on unencrypted
        this.openIpcp();
        this.maybeUp();
      }
      return;
    }
    this.fail(`${name} negotiation failed`);
  }

  /** @internal */
  protocolRejected(proto: number): void {
    if (proto === PROTO_CCP && this.ccp) this.ccp.fsm.protocolRejected();
    else if (proto === PROTO_IPCP && this.ipcp) this.ipcp.fsm.protocolRejected();
    else if (proto === PROTO_PAP || proto === PROTO_CHAP) this.fail('peer rejected the authentication protocol');
  }

  private maybeUp(): void {
    if (this.phase !== 'network' || !this.ipcpOpen || !this.ccpSettled || this.ended) return;
    if (this.policy.mppe?.required && !this.mppe) return;
    const ipcp = this.ipcp!;
    this.mtu = Math.min(this.lcp.peerMru(), this.policy.mtu);
    this.allocScratch();
    if (this.mppe && this.o.dataMode === 'userspace') {
      this.codec = this.factory('createMppeCodec')({
        sendKey: this.mppe.sendKey, recvKey: this.mppe.recvKey, bits: this.mppe.bits, stateful: this.mppe.stateful,
      });
    }
    this.phase = 'running';
    this.syncFastRx();
    const server = this.role === 'server';
    const info: LinkUpInfo = {
      user: this.user,
      local: server ? localText(this.local) : formatIp4(ipcp.local),
      peer: formatIp4(server ? this.peer : ipcp.peer),
      dns: addressTexts(ipcp.dns),
      wins: addressTexts(ipcp.wins),
      mtu: this.mtu,
      mru: this.lcp.ourMru,
      mppe: this.mppe,
      authMethod: this.authMethodUsed,
    };
    // Server: debug, the session's 'session up' line says the same (one info line per event).
    this.log[server ? 'debug' : 'info'](
      { user: info.user, local: info.local, peer: info.peer, mtu: info.mtu, mru: info.mru,
        mppe: info.mppe ? `${info.mppe.bits}${info.mppe.stateful ? ' stateful' : ' stateless'}` : 'none',
        auth: info.authMethod },
      'PPP link up',
    );
    if (this.mppe) {
      // MPPE runs: a CCP round on a running link now fails it (ccpDown), so
      // the key material is never needed here again. The codec (or the
      // kernel) holds its own copies; the link keeps only the mode (stats,
      // stateful resets). Without MPPE the keys stay, as before.
      this.keys = undefined;
      this.mppe = mppeMode(this.mppe.bits, this.mppe.stateful);
    }
    this.hooks.onUp(info);
  }

  // --- ending ---

  /** @internal */
  guard(fn: () => void): void {
    if (this.ended) return;
    this.busy++;
    try {
      fn();
    } catch (e) {
      this.log.error({ err: e }, 'PPP handler failed');
      this.pending ??= { reason: 'internal error in the PPP engine', immediate: true };
    } finally {
      this.busy--;
      this.flush();
    }
  }

  /** @internal Close with this reason once the current step is done. */
  fail(reason: string): void {
    if (this.ended) return;
    this.pending ??= { reason, immediate: false };
    this.flush();
  }

  private flush(): void {
    if (this.busy > 0 || !this.pending || this.ended) return;
    const { reason, immediate } = this.pending;
    this.pending = null;
    if (immediate) this.finish(reason);
    else this.doClose(reason);
  }

  private doClose(reason: string): void {
    if (this.ended) return;
    if (this.closeReason !== null) return; // already terminating
    this.closeReason = reason;
    const s = this.lcp.fsm.state;
    if (this.phase === 'dead' || s === 'initial' || s === 'starting' || s === 'closed' || s === 'stopped') {
      this.finish(reason);
      return;
    }
    this.phase = 'terminate';
    this.syncFastRx();
    this.stopAuth();
    this.busy++;
    try {
      this.lcp.fsm.close(reason); // Terminate-Request; lcpFinished() ends it (Ack or timeout)
    } finally {
      this.busy--;
    }
    this.flush();
  }

  private stopAuth(): void {
    this.auth?.stop();
    this.peerAuth?.stop();
    this.authTimer?.cancel();
    this.authTimer = null;
  }

  /** @internal The end: timers off, no more packets, onDown exactly once. */
  finish(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.phase = 'dead';
    this.pending = null;
    this.stopAuth();
    this.lcp.stopEcho();
    this.lcp.fsm.stop();
    this.stopNcps();
    // MPPE health for the operator: loss on a stateful link shows as resets.
    const st = this.stats;
    const mppe = this.mppe
      ? { mode: this.mppe.stateful ? 'stateful' : 'stateless', decryptErrors: st.mppeErrors, resetRequestsSent: st.ccpResetsSent, resetRequestsReceived: st.ccpResetsReceived }
      : undefined;
    this.mppe = null;
    this.log.info({ user: this.user || undefined, reason, mppe }, 'PPP link down');
    try {
      this.hooks.onDown(reason);
    } catch (e) {
      this.log.error({ err: e }, 'onDown hook failed');
    }
  }
}

/** Client role options: no secrets back-end, no address assignment. */
export type ClientLinkOptions = Omit<LinkOptions, 'backend' | 'hooks' | 'role' | 'credentials'> & LinkTuning & {
  credentials: { user: string; password: string };
  hooks: Omit<LinkHooks, 'assignAddress'>;
};

const noBackend = { lookup: async () => undefined };

/** The peer that dials in (tests, load generator, bench/kclient): same shape as the server link. */
export class PppClientLink extends PppLink {
  constructor(o: ClientLinkOptions) {
    super({
      ...o,
      role: 'client',
      backend: noBackend,
      hooks: { ...o.hooks, assignAddress: () => ({ error: 'client role' }) },
    });
  }
}
