// One load-generator session: a PPTP call on a (shared) client control
// connection, its GRE call in the shared demux, and a client PPP link
// (LCP, MS-CHAPv2 as the authenticating peer, CCP/MPPE, IPCP) in userspace.
import type { Logger } from 'pino';
import { CallRefusedError, type ClientCall, type ClientConnection } from '../../src/control/client-connection.js';
import { GreCall } from '../../src/gre/engine.js';
import type { GreDemux } from '../../src/gre/demux.js';
import type { GreHeader } from '../../src/protocol/gre/codec.js';
import { createPeerAuthenticator } from '../../src/ppp/auth/index.js';
import { PppClientLink } from '../../src/ppp/link.js';
import type { LinkUpInfo, PppPolicy } from '../../src/ppp/types.js';
import type { Clock, Timer } from '../../src/util/clock.js';
import { PptpdError } from '../../src/util/errors.js';
import type { RandomSource } from '../../src/util/random.js';
import { ICMP_ECHO_REPLY, parseIcmpEcho, writeIcmpEcho } from './icmp.js';

export interface SessionContext {
  clock: Clock;
  random: RandomSource;
  log: Logger;
  policy: PppPolicy;
  demux: GreDemux;
  /** Server's outer IPv4 (host-order uint32): GRE destination and demux source. */
  serverAddr: number;
  /** Queue one GRE packet (no IP header) to dst; the view is only valid during the call. */
  sendGre(dst: number, pkt: Uint8Array): void;
  gre?: { reorderTimeoutMs?: number; ackDelayMs?: number };
}

export type SessionState = 'new' | 'calling' | 'negotiating' | 'up' | 'closing' | 'done';

/** Why a session did not come up: `reason` is a short, stable category for the summary. */
export class SetupError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** A reason without per-attempt noise (MS-CHAP challenges), so equal failures count together. */
export function reasonCategory(reason: string): string {
  return reason.replace(/\bC=[0-9A-Fa-f]{16,}\s*/g, '').trim();
}

/** Category of a call() failure. */
export function callFailureReason(e: unknown): string {
  if (e instanceof CallRefusedError) return `OCRP ${e.resultName}`;
  if (e instanceof PptpdError) return e.code === 'ERR_PPTP_CALL_TIMEOUT' ? 'OCRP timeout' : `pptp: ${e.message}`;
  return `pptp: ${e instanceof Error ? e.message : String(e)}`;
}

// One scratch packet for every session's echo requests: sendIp encrypts it synchronously.
const echoScratch = new Uint8Array(20 + 8 + 1472);

export class LoadSession {
  state: SessionState = 'new';
  call: ClientCall | undefined;
  up: LinkUpInfo | undefined;
  /** Set-up time in ms (start of open() → PPP link up). */
  setupMs = -1;
  /** Clock time the link came up (-1 before). */
  upAt = -1;
  /** Why the link went down (ours or theirs). */
  downReason: string | undefined;
  /** The link or call ended while we held it up. */
  dropped = false;
  pingsSent = 0;
  pingsReceived = 0;
  readonly rtts: number[] = [];

  private link: PppClientLink | undefined;
  private gre: GreCall | undefined;
  private conn: ClientConnection | undefined;
  private registered = false;
  private seq = 0;
  private pingSentAt = 0;
  private ourAddr = 0;
  private serverTunnelAddr = 0;
  private settle: { resolve(): void; reject(e: SetupError): void } | undefined;
  private callEnded: (() => void) | undefined;
  private callGone = false;
  private callEndReason = '';
  private setupTimer: Timer | undefined;
  private early: EarlyGre | undefined;
  private authFailure: string | undefined;
  /** close() waits on this for the end of LCP termination. */
  private onLinkDead: (() => void) | undefined;

  constructor(
    readonly index: number,
    private readonly ctx: SessionContext,
    private readonly credentials: { user: string; password: string },
  ) {}

  /**
   * Places the call and brings the PPP link up. Resolves when IPCP (and MPPE)
   * are open; rejects with a SetupError otherwise. `t0` is when this
   * session's set-up began (it may include the TCP connect).
   */
  async open(conn: ClientConnection, t0: number, timeoutMs: number): Promise<void> {
    const ctx = this.ctx;
    this.conn = conn;
    this.state = 'calling';
    const remaining = timeoutMs - (ctx.clock.now() - t0);
    if (remaining <= 0) throw new SetupError('setup timeout');
    let call: ClientCall;
    try {
      call = await conn.call({
        timeoutMs: remaining,
        onEnd: (end) => this.callDisconnected(end.reason),
        onCallId: (id) => this.catchEarly(id),
      });
    } catch (e) {
      this.state = 'done';
      this.dropEarly();
      throw new SetupError(callFailureReason(e));
    }
    this.call = call;
    if (this.callGone) {
      // CDN in the same TCP chunk as the OCRP.
      this.state = 'done';
      this.dropEarly();
      throw new SetupError(`pptp: call ended at once (${this.callEndReason})`);
    }
    this.state = 'negotiating';
    const done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.setupTimer = ctx.clock.setTimer(Math.max(1, timeoutMs - (ctx.clock.now() - t0)), () => {
      this.setupTimer = undefined;
      this.fail('setup timeout');
    });
    this.gre = new GreCall({
      peerCallId: call.peerCallId,
      clock: ctx.clock,
      sendPacket: (pkt) => ctx.sendGre(ctx.serverAddr, pkt),
      deliver: (payload) => this.link?.input(payload),
      ...(ctx.gre?.reorderTimeoutMs !== undefined ? { reorderTimeoutMs: ctx.gre.reorderTimeoutMs } : {}),
      ...(ctx.gre?.ackDelayMs !== undefined ? { ackDelayMs: ctx.gre.ackDelayMs } : {}),
    });
    const early = this.early;
    this.dropEarly();
    ctx.demux.register(ctx.serverAddr, call.callId, this.gre);
    this.registered = true;
    this.link = new PppClientLink({
      policy: ctx.policy,
      credentials: this.credentials,
      clock: ctx.clock,
      random: ctx.random,
      log: ctx.log,
      dataMode: 'userspace',
      // Watch the authenticator's verdict: when the server hangs up right after
      // a CHAP Failure, its CDN can overtake the link's own (slower) ending.
      factories: {
        createPeerAuthenticator: (method, actx) => createPeerAuthenticator(method, {
          ...actx,
          done: (out) => {
            if (!out.ok) this.authFailure = out.reason;
            actx.done(out);
          },
        }),
      },
      hooks: {
        send: (f) => this.gre?.send(f),
        onUp: (info) => this.onUp(info),
        onDown: (r) => this.onDown(r),
        onIp: (p) => this.onIp(p),
      },
    });
    this.link.start();
    // The server's first LCP packets, if they beat its OCRP here.
    if (early) for (const [h, payload] of early.packets) this.gre.input(h, payload);
    await done;
    const t = ctx.clock.now() - t0;
    this.setupMs = t;
  }

  /** The server ended our call (CDN, StopCCRQ or the TCP connection). */
  private callDisconnected(reason: string): void {
    this.callGone = true;
    this.callEndReason = reason;
    const cb = this.callEnded;
    this.callEnded = undefined;
    if (this.state === 'up') this.dropped = true;
    // During set-up, say which PPP phase the server gave up in (e.g. authenticate).
    if (this.settle) {
      this.fail(this.authFailure !== undefined
        ? `ppp: authentication failed: ${this.authFailure}`
        : `pptp: call ended by server during ${this.link?.phase ?? 'set-up'}: ${reason}`);
    }
    this.link?.lowerDown(`call ended: ${reason}`);
    this.releaseGre();
    cb?.();
  }

  /** Holds GRE for our call id between OCRQ and OCRP (bounded). */
  private catchEarly(callId: number): void {
    const holder = new EarlyGre(callId);
    this.ctx.demux.register(this.ctx.serverAddr, callId, holder);
    this.early = holder;
  }

  private dropEarly(): void {
    if (!this.early) return;
    this.ctx.demux.unregister(this.ctx.serverAddr, this.early.callId);
    this.early = undefined;
  }

  /** One echo request to the server's tunnel address (no-op unless up). */
  ping(payloadLen: number): void {
    const link = this.link;
    if (this.state !== 'up' || !link) return;
    this.seq = (this.seq + 1) & 0xffff;
    const n = writeIcmpEcho(echoScratch, this.ourAddr, this.serverTunnelAddr, this.index & 0xffff, this.seq,
      Math.min(payloadLen, echoScratch.length - 28));
    this.pingSentAt = this.ctx.clock.now();
    this.pingsSent++;
    link.sendIp(echoScratch.subarray(0, n));
  }

  /**
   * Ends the session the way pptp-linux does: LCP Terminate, then
   * Call-Clear-Request, waiting (bounded) for the server's CDN.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.state === 'done' || this.state === 'closing') return;
    this.state = 'closing';
    const link = this.link;
    if (link && link.phase !== 'dead') {
      await new Promise<void>((resolve) => {
        const t = this.ctx.clock.setTimer(timeoutMs, resolve);
        const prev = this.onLinkDead;
        this.onLinkDead = () => {
          t.cancel();
          prev?.();
          resolve();
        };
        link.close('load generator: hold time over');
      });
    }
    if (this.call && !this.callGone && this.conn) {
      await new Promise<void>((resolve) => {
        const t = this.ctx.clock.setTimer(timeoutMs, () => {
          this.callEnded = undefined;
          resolve();
        });
        this.callEnded = () => {
          t.cancel();
          resolve();
        };
        if (!this.conn!.clearCall(this.call!.callId)) {
          t.cancel();
          this.callEnded = undefined;
          resolve();
        }
      });
    }
    this.releaseGre();
    this.state = 'done';
  }

  private onUp(info: LinkUpInfo): void {
    this.up = info;
    this.upAt = this.ctx.clock.now();
    this.ourAddr = ipv4(info.local);
    this.serverTunnelAddr = ipv4(info.peer);
    this.state = 'up';
    this.setupTimer?.cancel();
    this.setupTimer = undefined;
    const s = this.settle;
    this.settle = undefined;
    s?.resolve();
  }

  private onDown(reason: string): void {
    this.downReason = reason;
    if (this.state === 'up') this.dropped = true;
    const cb = this.onLinkDead;
    this.onLinkDead = undefined;
    cb?.();
    if (this.settle) {
      this.fail(`ppp: ${reason}`);
      return;
    }
    // A link that died on its own while held: clear its call too.
    if (this.state === 'up') {
      this.state = 'done';
      if (this.call && !this.callGone) this.conn?.clearCall(this.call.callId);
      this.releaseGre();
    }
  }

  private onIp(p: Uint8Array): void {
    const e = parseIcmpEcho(p);
    if (e === null || e.type !== ICMP_ECHO_REPLY || e.ident !== (this.index & 0xffff)) return;
    this.pingsReceived++;
    if (e.seq === this.seq) this.rtts.push(this.ctx.clock.now() - this.pingSentAt);
  }

  private fail(reason: string): void {
    const s = this.settle;
    if (!s) return;
    this.settle = undefined;
    this.setupTimer?.cancel();
    this.setupTimer = undefined;
    this.state = 'done';
    if (this.link && this.link.phase !== 'dead') this.link.lowerDown(reason);
    if (this.call && !this.callGone) this.conn?.clearCall(this.call.callId);
    this.releaseGre();
    s.reject(new SetupError(reasonCategory(reason)));
  }

  private releaseGre(): void {
    if (this.registered && this.call) {
      this.ctx.demux.unregister(this.ctx.serverAddr, this.call.callId);
      this.registered = false;
    }
    this.gre?.close();
  }
}

/** Copies of the first few GRE packets for a call that is not accepted yet. */
class EarlyGre {
  static readonly MAX = 8;
  readonly packets: Array<[GreHeader, Uint8Array]> = [];
  constructor(readonly callId: number) {}
  input(hdr: GreHeader, payload: Uint8Array): void {
    if (this.packets.length < EarlyGre.MAX) this.packets.push([{ ...hdr }, Uint8Array.from(payload)]);
  }
}

function ipv4(s: string): number {
  const p = s.split('.').map(Number);
  return (((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0);
}
