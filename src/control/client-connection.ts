// One PPTP control connection as seen by the CLIENT (the PNS): the mirror of
// connection.ts, used by the load generator, bench clients and tests.
// I/O-free: TCP bytes come in through input(), bytes go out through send(),
// time from the injected Clock.
//
// Behaviour (choices where the RFC leaves room):
// - start() sends SCCRQ; SCCRP result 1 → 'established', anything else (or
//   no SCCRP within connectTimeoutMs) fails start() and closes.
// - call() sends OCRQ with a call id from `callIds` (unique per connection;
//   share one allocator between connections to the same server so GRE can be
//   demultiplexed by (server address, our call id) alone). OCRP result 1
//   resolves with both ids; any other result rejects with CallRefusedError.
//   No OCRP within callTimeoutMs rejects with ERR_PPTP_CALL_TIMEOUT and sends
//   a Call-Clear-Request for the id (the server may have the call after all).
// - CDN from the server: the call is gone → onCallDisconnected (exactly once
//   per call that was accepted, whoever ends it; also when the connection
//   closes with calls still up).
// - clearCall() sends CCRQ; the call stays listed until the server's CDN.
// - Echo-Request from the server is answered; after echoIntervalMs of silence
//   we send our own and close if no reply within echoTimeoutMs (0 = off).
// - StopCCRQ from the server → StopCCRP, every call ends, close.
// - Messages only a PNS sends (SCCRQ, OCRQ, ICRP, CCRQ, SLI) or stray replies:
//   counted as errors and ignored. Framing/decoding errors close the connection.
// Input, output and echo are shared with the server role (endpoint.ts).
import type { Clock, Timer } from '../util/clock.js';
import { silentLogger, type Logger } from '../util/log.js';
import { PptpdError, ProtocolError } from '../util/errors.js';
import { encode } from '../protocol/pptp/codec.js';
import {
  BEARER_ANALOG,
  BEARER_DIGITAL,
  FRAMING_ASYNC,
  FRAMING_SYNC,
  OcrpResult,
  PPTP_VERSION,
  SccrpResult,
  StopReason,
} from '../protocol/pptp/constants.js';
import type {
  CallDisconnectNotify,
  OutgoingCallReply,
  PptpMessage,
  StartControlConnectionReply,
} from '../protocol/pptp/messages.js';
import { CallIdAllocator } from './call-ids.js';
import { PptpEndpoint } from './endpoint.js';

export interface ClientConnectionOptions {
  clock: Clock;
  log?: Logger;
  /** Write to the TCP socket. */
  send(bytes: Uint8Array): void;
  /** The connection is over from our side: close the socket (after flushing). Called at most once. */
  close(reason: string): void;
  hostName?: string; // SCCRQ host name; default 'pptpd-ts-client'
  vendor?: string; // default 'pptpd-ts'
  /** Shared allocator of our call ids; default one per connection. */
  callIds?: CallIdAllocator;
  /** No SCCRP within this → start() fails; default 10000. */
  connectTimeoutMs?: number;
  /** No OCRP within this → call() fails; default 10000. */
  callTimeoutMs?: number;
  /** Our Echo-Request after this much silence; default 60000 (as pptp-linux); 0 = never. */
  echoIntervalMs?: number;
  /** No Echo-Reply within this → close; default 60000. */
  echoTimeoutMs?: number;
  /** After our StopCCRQ, close when no StopCCRP within this; default 3000. */
  stopTimeoutMs?: number;
  /** Called when a call that OCRP accepted has ended (CDN, StopCCRQ, connection closed). */
  onCallDisconnected?(call: ClientCall, end: CallEnd): void;
  /** Called once when the connection is closed, with the reason. */
  onClosed?(reason: string): void;
}

export interface ClientCallOptions {
  /** Our receive window in OCRQ; default 64. */
  recvWindow?: number;
  phoneNumber?: string;
  subaddress?: string;
  minBps?: number; // default 300
  maxBps?: number; // default 100,000,000
  /** Per call override of callTimeoutMs. */
  timeoutMs?: number;
  /**
   * Called when this call ends after OCRP accepted it (before
   * onCallDisconnected). Set before the OCRQ goes out, so no end is missed.
   */
  onEnd?(end: CallEnd): void;
  /**
   * Called with our call id just before the OCRQ goes out: the server may
   * start sending GRE for the call before its OCRP reaches us, so a client
   * can start catching packets for the id here.
   */
  onCallId?(callId: number): void;
}

export interface ClientCall {
  /** Ours: the key of GRE packets the server sends us. */
  readonly callId: number;
  /** The server's: the key of GRE packets we send. */
  readonly peerCallId: number;
  readonly connectSpeed: number;
  /** The server's packet receive window. */
  readonly peerRecvWindow: number;
}

export interface CallEnd {
  /** CDN result code; 0 when the call ended without a CDN (StopCCRQ, connection closed). */
  resultCode: number;
  errorCode: number;
  causeCode: number;
  reason: string;
}

export type ClientState = 'idle' | 'connecting' | 'established' | 'stopping' | 'closed';

export interface ClientStats {
  messagesIn: number;
  messagesOut: number;
  errors: number;
  echoRepliesSent: number;
}

const OCRP_NAMES: Record<number, string> = {
  1: 'CONNECTED', 2: 'GENERAL_ERROR', 3: 'NO_CARRIER', 4: 'BUSY', 5: 'NO_DIAL_TONE', 6: 'TIMEOUT', 7: 'DO_NOT_ACCEPT',
};
const SCCRP_NAMES: Record<number, string> = {
  1: 'OK', 2: 'GENERAL_ERROR', 3: 'CHANNEL_EXISTS', 4: 'NOT_AUTHORIZED', 5: 'BAD_VERSION',
};

/** OCRP result code → name ('BUSY'), or 'RESULT_<n>' for codes the RFC does not define. */
export function ocrpResultName(code: number): string {
  return OCRP_NAMES[code] ?? `RESULT_${code}`;
}

/** The server refused a call (OCRP result ≠ 1). */
export class CallRefusedError extends PptpdError {
  readonly resultName: string;
  constructor(readonly resultCode: number, readonly errorCode: number, readonly causeCode: number) {
    super('ERR_PPTP_CALL_REFUSED', `outgoing call refused: OCRP result ${resultCode} (${ocrpResultName(resultCode)}), error ${errorCode}`);
    this.resultName = ocrpResultName(resultCode);
  }
}

interface PendingStart {
  resolve(): void;
  reject(e: Error): void;
}

interface PendingCall {
  readonly callId: number;
  readonly timer: Timer;
  readonly onEnd: ((end: CallEnd) => void) | undefined;
  resolve(c: ClientCall): void;
  reject(e: Error): void;
}

interface LiveCall {
  call: ClientCall;
  clearing: boolean;
  onEnd: ((end: CallEnd) => void) | undefined;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_STOP_TIMEOUT_MS = 3_000;
const DEFAULT_WINDOW = 64;

/** Attaches a no-op handler so a caller that ignores the promise gets no unhandled rejection. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

export class ClientConnection extends PptpEndpoint<ClientState> {
  readonly stats: ClientStats = { messagesIn: 0, messagesOut: 0, errors: 0, echoRepliesSent: 0 };
  /** The SCCRP that established the connection. */
  serverInfo: StartControlConnectionReply | undefined;

  private readonly callIds: CallIdAllocator;
  private readonly pending = new Map<number, PendingCall>(); // by our call id
  private readonly live = new Map<number, LiveCall>(); // by our call id
  private readonly byPeer = new Map<number, LiveCall>(); // by the server's call id
  private startWaiter: PendingStart | undefined;
  private stopWaiters: Array<() => void> = [];
  private serial = 0;
  private closeReason: string | undefined;

  constructor(private readonly o: ClientConnectionOptions) {
    super(o, (o.log ?? silentLogger).child({ component: 'pptp-client' }), 'idle', o.echoIntervalMs, o.echoTimeoutMs);
    this.callIds = o.callIds ?? new CallIdAllocator();
  }

  get state(): ClientState {
    return this.st;
  }

  protected get callCount(): number {
    return this.live.size;
  }

  /** Why the connection closed (undefined while open). */
  get closedReason(): string | undefined {
    return this.closeReason;
  }

  /** Accepted calls still up (by our call id). */
  get calls(): ReadonlyMap<number, ClientCall> {
    const m = new Map<number, ClientCall>();
    for (const [id, l] of this.live) m.set(id, l.call);
    return m;
  }

  get liveCalls(): number {
    return this.live.size;
  }

  get pendingCalls(): number {
    return this.pending.size;
  }

  /** Sends SCCRQ; resolves once SCCRP result 1 arrives. */
  start(): Promise<void> {
    if (this.st !== 'idle') return quiet(Promise.reject(new PptpdError('ERR_PPTP_CLIENT_STATE', `start() in state ${this.st}`)));
    const p = new Promise<void>((resolve, reject) => (this.startWaiter = { resolve, reject }));
    this.st = 'connecting';
    this.lastRx = this.o.clock.now();
    this.arm(this.o.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.sendMsg({
      type: 'SCCRQ',
      protocolVersion: PPTP_VERSION,
      framingCapabilities: FRAMING_ASYNC | FRAMING_SYNC,
      bearerCapabilities: BEARER_ANALOG | BEARER_DIGITAL,
      maxChannels: 0,
      firmwareRevision: 1,
      hostName: this.o.hostName ?? 'pptpd-ts-client',
      vendor: this.o.vendor ?? 'pptpd-ts',
    });
    return quiet(p);
  }

  /** Sends OCRQ; resolves on OCRP result 1, rejects with CallRefusedError otherwise. */
  call(opts: ClientCallOptions = {}): Promise<ClientCall> {
    if (this.st !== 'established') {
      return quiet(Promise.reject(new PptpdError('ERR_PPTP_CLIENT_STATE', `call() in state ${this.st}`)));
    }
    const callId = this.callIds.allocate();
    if (callId === undefined) {
      return quiet(Promise.reject(new PptpdError('ERR_PPTP_NO_CALL_ID', 'no free client call id')));
    }
    const p = new Promise<ClientCall>((resolve, reject) => {
      const timer = this.o.clock.setTimer(opts.timeoutMs ?? this.o.callTimeoutMs ?? DEFAULT_TIMEOUT_MS, () => this.callTimedOut(callId));
      this.pending.set(callId, { callId, timer, onEnd: opts.onEnd, resolve, reject });
    });
    this.serial = (this.serial + 1) & 0xffff;
    try {
      opts.onCallId?.(callId);
    } catch (err) {
      this.log.error({ err }, 'onCallId failed');
    }
    const phone = opts.phoneNumber ?? '';
    this.sendMsg({
      type: 'OCRQ', callId, callSerial: this.serial, minBps: opts.minBps ?? 300, maxBps: opts.maxBps ?? 100_000_000,
      bearerType: BEARER_ANALOG | BEARER_DIGITAL, framingType: FRAMING_ASYNC | FRAMING_SYNC,
      recvWindow: (opts.recvWindow ?? DEFAULT_WINDOW) & 0xffff, processingDelay: 0,
      phoneNumberLength: Math.min(64, phone.length), phoneNumber: phone, subaddress: opts.subaddress ?? '',
    });
    return quiet(p);
  }

  /** Sends Call-Clear-Request for one of our calls; it ends when the server's CDN arrives. */
  clearCall(callId: number): boolean {
    const l = this.live.get(callId);
    if (l === undefined || this.st !== 'established') return false;
    l.clearing = true;
    this.sendMsg({ type: 'CCRQ', callId });
    return true;
  }

  /** Sends Set-Link-Info for one of our calls (ACCMs; pptp-linux sends one after LCP). */
  setLinkInfo(callId: number, sendAccm: number, recvAccm: number): boolean {
    const l = this.live.get(callId);
    if (l === undefined || this.st !== 'established') return false;
    this.sendMsg({ type: 'SLI', peerCallId: l.call.peerCallId, sendAccm: sendAccm >>> 0, recvAccm: recvAccm >>> 0 });
    return true;
  }

  /**
   * Graceful end: StopCCRQ (reason 1 none / 2 stop-protocol / 3 local-shutdown);
   * resolves when the connection is closed (StopCCRP or timeout).
   */
  stop(reason: number = StopReason.NONE): Promise<void> {
    if (this.st === 'closed') return Promise.resolve();
    const p = new Promise<void>((r) => this.stopWaiters.push(r));
    if (this.st === 'stopping') return p;
    if (this.st === 'idle' || this.st === 'connecting') {
      this.shutdown('stopped before the control connection was up');
      return p;
    }
    this.st = 'stopping';
    this.sendMsg({ type: 'StopCCRQ', reason: reason & 0xff });
    if (this.st === 'stopping') this.arm(this.o.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
    return p;
  }

  /** The TCP connection is gone: every call ends, pending promises reject. */
  closed(reason = 'control connection closed'): void {
    this.teardown(reason, false);
  }

  /**
   * TEST/SCRIPTING ONLY: writes bytes to the socket as they are, bypassing the
   * encoder and every state check (misbehaving-client scripts).
   */
  sendRaw(bytes: Uint8Array): void {
    if (this.st === 'closed') return;
    this.stats.messagesOut++;
    this.o.send(bytes);
  }

  /** TEST/SCRIPTING ONLY: encodes and sends any message regardless of state. */
  sendMessage(msg: PptpMessage): void {
    this.sendRaw(encode(msg));
  }

  // ---- input ----

  protected dispatch(msg: PptpMessage): void {
    if (this.st === 'connecting') {
      if (msg.type === 'SCCRP') return this.onStartReply(msg);
      if (msg.type === 'StopCCRQ') return this.onStopRequest(msg.reason);
      return this.unexpected(msg.type);
    }
    switch (msg.type) {
      case 'EchoRequest':
        this.stats.echoRepliesSent++;
        this.answerEcho(msg.identifier);
        return;
      case 'EchoReply':
        this.onEchoReply(msg.identifier);
        return;
      case 'StopCCRQ':
        return this.onStopRequest(msg.reason);
      case 'StopCCRP':
        if (this.st === 'stopping') return this.shutdown('control connection stopped');
        return this.unexpected(msg.type);
      case 'OCRP':
        if (this.st === 'established') return this.onCallReply(msg);
        return;
      case 'CDN':
        return this.onDisconnect(msg);
      case 'WEN':
        this.log.info({ callId: msg.peerCallId }, 'wan-error-notify from server');
        return;
      default:
        return this.unexpected(msg.type);
    }
  }

  private unexpected(type: string): void {
    this.stats.errors++;
    this.log.warn({ msg: type, state: this.st }, 'unexpected PPTP message from server ignored');
  }

  private onStartReply(msg: StartControlConnectionReply): void {
    if (msg.resultCode !== SccrpResult.OK) {
      const name = SCCRP_NAMES[msg.resultCode] ?? `RESULT_${msg.resultCode}`;
      this.shutdown(`SCCRP result ${msg.resultCode} (${name})`);
      return;
    }
    this.serverInfo = msg;
    this.lastRx = this.o.clock.now();
    this.established();
    const w = this.startWaiter;
    this.startWaiter = undefined;
    w?.resolve();
  }

  private onStopRequest(reason: number): void {
    this.answerStop(`StopCCRQ from server (reason ${reason})`);
  }

  private onCallReply(msg: OutgoingCallReply): void {
    const p = this.pending.get(msg.peerCallId);
    if (p === undefined) {
      this.stats.errors++;
      this.log.warn({ callId: msg.peerCallId }, 'OCRP for a call we are not waiting for');
      return;
    }
    this.pending.delete(p.callId);
    p.timer.cancel();
    if (msg.resultCode !== OcrpResult.CONNECTED) {
      this.callIds.release(p.callId);
      p.reject(new CallRefusedError(msg.resultCode, msg.errorCode, msg.causeCode));
      return;
    }
    if (this.byPeer.has(msg.callId)) {
      // Two live calls with one server id: CDNs could not be told apart.
      this.callIds.release(p.callId);
      this.stats.errors++;
      p.reject(new ProtocolError('ERR_PPTP_DUPLICATE_CALL_ID', `server call id ${msg.callId} is already in use on this connection`));
      this.sendMsg({ type: 'CCRQ', callId: p.callId });
      return;
    }
    const call: ClientCall = {
      callId: p.callId, peerCallId: msg.callId, connectSpeed: msg.connectSpeed, peerRecvWindow: msg.recvWindow,
    };
    const l: LiveCall = { call, clearing: false, onEnd: p.onEnd };
    this.live.set(call.callId, l);
    this.byPeer.set(call.peerCallId, l);
    p.resolve(call);
  }

  private onDisconnect(msg: CallDisconnectNotify): void {
    const l = this.byPeer.get(msg.callId);
    if (l === undefined) {
      this.log.debug({ peerCallId: msg.callId }, 'CDN for an unknown call');
      return;
    }
    this.endCall(l, {
      resultCode: msg.resultCode, errorCode: msg.errorCode, causeCode: msg.causeCode,
      reason: l.clearing ? 'cleared' : `CDN from server (result ${msg.resultCode})`,
    });
  }

  private endCall(l: LiveCall, end: CallEnd): void {
    if (this.live.get(l.call.callId) !== l) return;
    this.live.delete(l.call.callId);
    if (this.byPeer.get(l.call.peerCallId) === l) this.byPeer.delete(l.call.peerCallId);
    this.callIds.release(l.call.callId);
    try {
      l.onEnd?.(end);
    } catch (err) {
      this.log.error({ err }, 'call onEnd failed');
    }
    try {
      this.o.onCallDisconnected?.(l.call, end);
    } catch (err) {
      this.log.error({ err }, 'onCallDisconnected failed');
    }
  }

  private callTimedOut(callId: number): void {
    const p = this.pending.get(callId);
    if (p === undefined) return;
    this.pending.delete(callId);
    // The server may have the call after all: clear it. The allocator hands a
    // released id out again only after every other free id, so a late OCRP
    // finds no pending call and is ignored.
    if (this.st === 'established') this.sendMsg({ type: 'CCRQ', callId });
    this.callIds.release(callId);
    p.reject(new PptpdError('ERR_PPTP_CALL_TIMEOUT', 'no Outgoing-Call-Reply in time'));
  }

  // ---- timers, teardown ----

  /** The timer outside `established` (where it is the shared keep-alive). */
  protected onRoleTimer(): void {
    if (this.st === 'connecting') this.shutdown('no SCCRP in time');
    else if (this.st === 'stopping') this.shutdown('no StopCCRP in time');
  }

  protected shutdown(reason: string): void {
    this.teardown(reason, true);
  }

  private teardown(reason: string, askClose: boolean): void {
    if (this.st === 'closed') return;
    this.st = 'closed';
    this.closeReason = reason;
    this.stopEcho();
    this.log.debug({ reason, calls: this.live.size }, 'control connection closed');
    const w = this.startWaiter;
    this.startWaiter = undefined;
    w?.reject(new PptpdError('ERR_PPTP_CONNECT', `control connection failed: ${reason}`));
    const pend = [...this.pending.values()];
    this.pending.clear();
    for (const p of pend) {
      p.timer.cancel();
      this.callIds.release(p.callId);
      p.reject(new PptpdError('ERR_PPTP_CONNECTION_CLOSED', `control connection closed before OCRP: ${reason}`));
    }
    for (const l of [...this.live.values()]) {
      this.endCall(l, { resultCode: 0, errorCode: 0, causeCode: 0, reason });
    }
    if (askClose) {
      try {
        this.o.close(reason);
      } catch (err) {
        this.log.error({ err }, 'close callback failed');
      }
    }
    try {
      this.o.onClosed?.(reason);
    } catch (err) {
      this.log.error({ err }, 'onClosed failed');
    }
    const ws = this.stopWaiters;
    this.stopWaiters = [];
    for (const r of ws) r();
  }
}
