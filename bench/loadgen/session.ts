// One load-generator session: a PPTP call on a (shared) client control
// connection, its GRE call in the shared demux, and a client PPP link
// (LCP, MS-CHAPv2 as the authenticating peer, CCP/MPPE, IPCP) in userspace.
import { CallRefusedError, type ClientCall, type ClientConnection } from '../../src/control/client-connection.js';
import { GreCall } from '../../src/gre/engine.js';
import type { GreDemux } from '../../src/gre/demux.js';
import type { GreHeader } from '../../src/protocol/gre/codec.js';
import type { LinkUpInfo } from '../../src/ppp/types.js';
import { PptpdError } from '../../src/util/errors.js';
import { BenchClientSession, type ClientSessionBase, type ClientSessionState } from '../common/client-session.js';
import { ICMP_ECHO_REPLY, parseIcmpEcho, writeIcmpEcho } from './icmp.js';

export interface SessionContext extends ClientSessionBase {
  demux: GreDemux;
  /** Server's outer IPv4 (host-order uint32): GRE destination and demux source. */
  serverAddr: number;
  /** Queue one GRE packet (no IP header) to dst; the view is only valid during the call. */
  sendGre(dst: number, pkt: Uint8Array): void;
  gre?: { reorderTimeoutMs?: number; ackDelayMs?: number };
}

export type SessionState = ClientSessionState;

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

export class LoadSession extends BenchClientSession<void> {
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

  private gre: GreCall | undefined;
  private registered = false;
  private seq = 0;
  private pingSentAt = 0;
  private ourAddr = 0;
  private serverTunnelAddr = 0;
  private callEndReason = '';
  private early: EarlyGre | undefined;
  private authFailure: string | undefined;

  constructor(index: number, private readonly ctx: SessionContext, credentials: { user: string; password: string }) {
    super(index, ctx, credentials);
  }

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
    const done = this.beginSetup(t0, timeoutMs, () => 'setup timeout');
    this.gre = new GreCall({
      peerCallId: call.peerCallId,
      clock: ctx.clock,
      sendPacket: (pkt) => ctx.sendGre(ctx.serverAddr, pkt),
      deliver: (payload) => this.ppp?.input(payload),
      ...(ctx.gre?.reorderTimeoutMs !== undefined ? { reorderTimeoutMs: ctx.gre.reorderTimeoutMs } : {}),
      ...(ctx.gre?.ackDelayMs !== undefined ? { ackDelayMs: ctx.gre.ackDelayMs } : {}),
    });
    const early = this.early;
    this.dropEarly();
    ctx.demux.register(ctx.serverAddr, call.callId, this.gre);
    this.registered = true;
    // Watch the authenticator's verdict: when the server hangs up right after
    // a CHAP Failure, its CDN can overtake the link's own (slower) ending.
    const link = this.createLink('userspace', (out) => {
      if (!out.ok) this.authFailure = out.reason;
    }, {
      send: (f) => this.gre?.send(f),
      onUp: (info) => this.onUp(info),
      onIp: (p) => this.onIp(p),
    });
    link.start();
    // The server's first LCP packets, if they beat its OCRP here.
    if (early) for (const [h, payload] of early.packets) this.gre.input(h, payload);
    await done;
    const t = ctx.clock.now() - t0;
    this.setupMs = t;
  }

  /** The server ended our call (CDN, StopCCRQ or the TCP connection). */
  private callDisconnected(reason: string): void {
    const cb = this.callGoneWaiter();
    this.callEndReason = reason;
    if (this.state === 'up') this.dropped = true;
    // During set-up, say which PPP phase the server gave up in (e.g. authenticate).
    if (this.settingUp) {
      this.fail(this.authFailure !== undefined
        ? `ppp: authentication failed: ${this.authFailure}`
        : `pptp: call ended by server during ${this.ppp?.phase ?? 'set-up'}: ${reason}`);
    }
    this.ppp?.lowerDown(`call ended: ${reason}`);
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
    const link = this.ppp;
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
  close(timeoutMs: number): Promise<void> {
    return this.hangUp(timeoutMs, 'load generator: hold time over');
  }

  private onUp(info: LinkUpInfo): void {
    this.up = info;
    this.upAt = this.ctx.clock.now();
    this.ourAddr = ipv4(info.local);
    this.serverTunnelAddr = ipv4(info.peer);
    this.setupDone();
  }

  protected noteLinkDown(reason: string): void {
    this.downReason = reason;
    if (this.state === 'up') this.dropped = true;
  }

  private onIp(p: Uint8Array): void {
    const e = parseIcmpEcho(p);
    if (e === null || e.type !== ICMP_ECHO_REPLY || e.ident !== (this.index & 0xffff)) return;
    this.pingsReceived++;
    if (e.seq === this.seq) this.rtts.push(this.ctx.clock.now() - this.pingSentAt);
  }

  protected setupError(reason: string): Error {
    return new SetupError(reasonCategory(reason));
  }

  protected release(): void {
    this.releaseGre();
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
