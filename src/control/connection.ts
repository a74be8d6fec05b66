// One PPTP control connection (RFC 2637 §3), as seen by the server (the PAC).
// I/O-free: TCP bytes come in through input(), bytes go out through the
// send() callback, time comes from the injected Clock, and calls are handed to
// the session layer through onCall()/onCallCleared().
//
// Choices where the RFC leaves room (documented here once):
// - Anything but SCCRQ before the connection is established: logged and the
//   TCP connection closed (there is no control connection yet to send a
//   StopCCRQ on; poptop does the same).
// - A second SCCRQ: answered with SCCRP result 3 ("command channel already
//   exists"); the connection stays up.
// - SCCRQ with a protocol version other than 0x0100: SCCRP result 5, close.
// - OCRQ beyond maxCallsPerConnection: OCRP result 4 (busy), so the client
//   reports a busy line instead of a protocol fault. No free call id: OCRP
//   result 2 / error 4 (no resource). A peer call id already used by a live
//   call on this connection: OCRP result 2 / error 3 (bad value), because
//   CCRQ names calls by the peer's id and could not tell them apart.
// - A refused OCRP carries call id 0 (no call exists on our side).
// - ICRQ (a PAC role the client must not take): ICRP result 3 (do not accept).
// - CCRQ: CDN with result 4 ("request": cleared because of a CCRQ).
// - StopCCRQ: StopCCRP result 1, every call cleared without CDNs (the RFC
//   clears them implicitly), then close.
// - Messages only a PAC sends (SCCRP, OCRP, ICRP, CDN, ...) or a StopCCRP we
//   did not ask for: logged, counted as errors and ignored.
// - onCallCleared() is called exactly once for every call whose onCall()
//   accepted it, whoever ends it (including disconnectCall(), synchronously).
// - Echo: one timer per connection. Any received byte counts as activity;
//   after echoIntervalMs of silence we send an Echo-Request and need the
//   matching Echo-Reply within echoTimeoutMs. echoIntervalMs 0 disables it.
//   Input, output and echo are shared with the client role (endpoint.ts).
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import {
  BEARER_ANALOG,
  BEARER_DIGITAL,
  CdnResult,
  ErrorCode,
  FRAMING_ASYNC,
  FRAMING_SYNC,
  IcrpResult,
  OcrpResult,
  PPTP_VERSION,
  SccrpResult,
} from '../protocol/pptp/constants.js';
import type {
  CallClearRequest,
  OutgoingCallRequest,
  PptpMessage,
  SetLinkInfo,
  StartControlConnectionRequest,
  WanErrorCounters,
  WanErrorNotify,
} from '../protocol/pptp/messages.js';
import type { CallIdAllocator } from './call-ids.js';
import { PptpEndpoint } from './endpoint.js';

export type { WanErrorCounters };

export interface IncomingCall {
  callId: number; // ours, allocated from callIds
  peerCallId: number;
  callSerial: number;
  minBps: number;
  maxBps: number;
  bearerType: number;
  framingType: number;
  recvWindow: number; // peer's packet receive window
  processingDelay: number;
  phoneNumber: string;
  subaddress: string;
}

export type CallDecision =
  | { accept: true; connectSpeed?: number; recvWindow?: number }
  | { accept: false; result: number; errorCode?: number; reason: string }; // OCRP result code 2..7

export interface ControlConnectionOptions {
  clock: Clock;
  log: Logger;
  peer: string; // "address:port" of the client, for logs
  hostName: string;
  vendor: string;
  firmwareRevision?: number;
  maxChannels?: number;
  stimeoutMs: number; // no SCCRQ within this → close ('stimeout'); 0 = disabled
  echoIntervalMs?: number; // default 60000: send Echo-Request after this much silence; 0 = never
  echoTimeoutMs?: number; // default 60000: no reply → close
  maxCallsPerConnection?: number; // default 64: beyond → OCRP result 4 (busy)
  /** Default connect speed in OCRP (bits/s) when the decision gives none; default 10,000,000. */
  connectSpeed?: number;
  /** Default receive window in OCRP when the decision gives none; default 64. */
  recvWindow?: number;
  /** After our StopCCRQ, close when no StopCCRP came within this; default 3000. */
  stopTimeoutMs?: number;
  callIds: CallIdAllocator;
  send(bytes: Uint8Array): void; // write to the TCP socket
  close(reason: string): void; // the connection must be closed (after flushing sent bytes)
  onCall(call: IncomingCall): CallDecision; // synchronous decision by the session layer
  onCallCleared(callId: number, reason: string): void; // call gone: CCRQ from peer, StopCCRQ, TCP closed, …
  onSetLinkInfo?(callId: number, sendAccm: number, recvAccm: number): void;
  onWanError?(callId: number, counters: WanErrorCounters): void;
}

export interface CallInfo {
  readonly peerCallId: number;
  readonly sendAccm: number;
  readonly recvAccm: number;
}

export type ControlState = 'idle' | 'established' | 'stopping' | 'closed';

export interface ControlStats {
  messagesIn: number;
  messagesOut: number;
  errors: number;
  wanErrorNotifies: number;
}

interface CallRecord {
  readonly callId: number;
  readonly peerCallId: number;
  sendAccm: number;
  recvAccm: number;
  /** onCall() has not returned yet. */
  pending: boolean;
  /** Removed (connection closed) while pending; the reason. */
  gone?: string;
  /** disconnectCall() while pending: applied once the OCRP is out. */
  deferred?: { result: number; cause: string };
}

const DEFAULT_MAX_CALLS = 64;
const DEFAULT_CONNECT_SPEED = 10_000_000;
const DEFAULT_WINDOW = 64;
const DEFAULT_STOP_TIMEOUT_MS = 3_000;
/** ACCM default until a Set-Link-Info says otherwise (RFC 1662). */
const DEFAULT_ACCM = 0xffffffff;

export class ControlConnection extends PptpEndpoint<ControlState> {
  readonly stats: ControlStats = { messagesIn: 0, messagesOut: 0, errors: 0, wanErrorNotifies: 0 };

  private readonly callMap = new Map<number, CallRecord>();
  private readonly byPeer = new Map<number, CallRecord>();
  private readonly maxCalls: number;
  private closeSignalled = false;

  constructor(private readonly opts: ControlConnectionOptions) {
    super(opts, opts.log.child({ component: 'pptp-ctrl', peer: opts.peer }), 'idle', opts.echoIntervalMs, opts.echoTimeoutMs);
    this.maxCalls = Math.max(0, opts.maxCallsPerConnection ?? DEFAULT_MAX_CALLS);
    if (opts.stimeoutMs > 0) this.arm(opts.stimeoutMs);
  }

  get state(): ControlState {
    return this.st;
  }

  protected get callCount(): number {
    return this.callMap.size;
  }

  /** Calls on this connection by our call id (including one whose onCall() is running). */
  get calls(): ReadonlyMap<number, CallInfo> {
    return this.callMap;
  }

  /** Server ends one call (admin kill, LCP down, …): sends CDN (result: 1 lost carrier, 3 admin shutdown, …). */
  disconnectCall(callId: number, result: number, cause: string): void {
    const rec = this.callMap.get(callId);
    if (rec === undefined) return;
    if (rec.pending) {
      rec.deferred ??= { result, cause };
      return;
    }
    this.endCall(rec, result, cause, true);
  }

  /** Graceful shutdown: CDN every call, StopCCRQ (reason 1 none / 2 stop-protocol / 3 local-shutdown), close when StopCCRP comes or after a short timeout. */
  stop(reason: number): void {
    if (this.st === 'closed' || this.st === 'stopping') return;
    if (this.st === 'idle') {
      this.shutdown('stopped before SCCRQ');
      return;
    }
    this.st = 'stopping';
    this.log.info({ reason, calls: this.callMap.size }, 'stopping control connection');
    for (const rec of [...this.callMap.values()]) {
      if (this.st !== 'stopping') return; // closed from a callback
      if (rec.pending) rec.deferred ??= { result: CdnResult.ADMIN_SHUTDOWN, cause: 'server shutdown' };
      else if (this.callMap.get(rec.callId) === rec) this.endCall(rec, CdnResult.ADMIN_SHUTDOWN, 'server shutdown', true);
    }
    if (this.st !== 'stopping') return;
    this.sendMsg({ type: 'StopCCRQ', reason: reason & 0xff });
    this.arm(this.opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
  }

  /**
   * The TCP connection is gone (reset or closed): clear every call
   * (onCallCleared), cancel timers; `reason` says how when it was not a clean close.
   */
  closed(reason = 'control connection closed'): void {
    this.closeSignalled = true; // the socket is gone: never ask to close it
    this.teardown(reason);
  }

  // ---- input path ----

  protected dispatch(msg: PptpMessage): void {
    switch (this.st) {
      case 'idle':
        if (msg.type === 'SCCRQ') this.onStartRequest(msg);
        else {
          this.stats.errors++;
          this.log.warn({ msg: msg.type }, 'message before SCCRQ, closing');
          this.shutdown(`${msg.type} before SCCRQ`);
        }
        return;
      case 'established':
        this.inEstablished(msg);
        return;
      case 'stopping':
        this.inStopping(msg);
        return;
      case 'closed':
        return;
    }
  }

  private inEstablished(msg: PptpMessage): void {
    switch (msg.type) {
      case 'SCCRQ':
        this.stats.errors++;
        this.log.warn('second SCCRQ on an established connection');
        this.sendMsg(this.startReply(SccrpResult.CHANNEL_EXISTS));
        return;
      case 'StopCCRQ':
        this.log.info({ reason: msg.reason }, 'peer stops control connection');
        this.answerStop(`StopCCRQ from peer (reason ${msg.reason})`);
        return;
      case 'EchoRequest':
        this.answerEcho(msg.identifier);
        return;
      case 'EchoReply':
        this.onEchoReply(msg.identifier);
        return;
      case 'OCRQ':
        this.onOutgoingCall(msg);
        return;
      case 'ICRQ':
        this.log.warn({ peerCallId: msg.callId }, 'incoming-call-request refused (a PPTP client must not send it)');
        this.sendMsg({
          type: 'ICRP', callId: 0, peerCallId: msg.callId, resultCode: IcrpResult.DO_NOT_ACCEPT,
          errorCode: ErrorCode.NONE, recvWindow: 0, transmitDelay: 0,
        });
        return;
      case 'CCRQ':
        this.onCallClear(msg);
        return;
      case 'SLI':
        this.onSetLinkInfo(msg);
        return;
      case 'WEN':
        this.onWanError(msg);
        return;
      default:
        this.stats.errors++;
        this.log.warn({ msg: msg.type }, 'unexpected PPTP message from client ignored');
    }
  }

  private inStopping(msg: PptpMessage): void {
    switch (msg.type) {
      case 'StopCCRP':
        this.shutdown('control connection stopped');
        return;
      case 'StopCCRQ':
        // Both ends stopped at once: answer and close.
        this.answerStop('control connection stopped');
        return;
      case 'EchoRequest':
        this.answerEcho(msg.identifier);
        return;
      default:
        this.log.debug({ msg: msg.type }, 'message ignored while stopping');
    }
  }

  // ---- control connection ----

  private startReply(resultCode: number): PptpMessage {
    return {
      type: 'SCCRP',
      protocolVersion: PPTP_VERSION,
      resultCode,
      errorCode: ErrorCode.NONE,
      framingCapabilities: FRAMING_ASYNC | FRAMING_SYNC,
      bearerCapabilities: BEARER_ANALOG | BEARER_DIGITAL,
      maxChannels: Math.min(0xffff, this.opts.maxChannels ?? this.maxCalls),
      firmwareRevision: (this.opts.firmwareRevision ?? 1) & 0xffff,
      hostName: this.opts.hostName,
      vendor: this.opts.vendor,
    };
  }

  private onStartRequest(msg: StartControlConnectionRequest): void {
    if (msg.protocolVersion !== PPTP_VERSION) {
      this.stats.errors++;
      this.log.warn({ version: msg.protocolVersion }, 'unsupported PPTP protocol version');
      this.sendMsg(this.startReply(SccrpResult.BAD_VERSION));
      this.shutdown('unsupported PPTP protocol version');
      return;
    }
    this.sendMsg(this.startReply(SccrpResult.OK));
    if (this.st !== 'idle') return; // closed by a send failure
    this.established();
    this.log.info({ hostName: msg.hostName, vendor: msg.vendor }, 'control connection established');
  }

  // ---- calls ----

  private onOutgoingCall(msg: OutgoingCallRequest): void {
    const peerCallId = msg.callId;
    if (this.callMap.size >= this.maxCalls) {
      this.log.warn({ peerCallId, limit: this.maxCalls }, 'outgoing call refused: too many calls on this connection');
      this.refuseCall(peerCallId, OcrpResult.BUSY, ErrorCode.NONE);
      return;
    }
    if (this.byPeer.has(peerCallId)) {
      this.stats.errors++;
      this.log.warn({ peerCallId }, 'outgoing call refused: peer call id already in use on this connection');
      this.refuseCall(peerCallId, OcrpResult.GENERAL_ERROR, ErrorCode.BAD_VALUE);
      return;
    }
    const callId = this.opts.callIds.allocate();
    if (callId === undefined) {
      this.log.warn({ peerCallId }, 'outgoing call refused: no free call id');
      this.refuseCall(peerCallId, OcrpResult.GENERAL_ERROR, ErrorCode.NO_RESOURCE);
      return;
    }
    const rec: CallRecord = { callId, peerCallId, sendAccm: DEFAULT_ACCM, recvAccm: DEFAULT_ACCM, pending: true };
    this.callMap.set(callId, rec);
    this.byPeer.set(peerCallId, rec);

    const decision = this.decide({
      callId,
      peerCallId,
      callSerial: msg.callSerial,
      minBps: msg.minBps,
      maxBps: msg.maxBps,
      bearerType: msg.bearerType,
      framingType: msg.framingType,
      recvWindow: msg.recvWindow,
      processingDelay: msg.processingDelay,
      phoneNumber: msg.phoneNumber,
      subaddress: msg.subaddress,
    });
    rec.pending = false;

    if (rec.gone !== undefined) {
      // The connection closed while the session layer decided; its id is already released.
      if (decision.accept) this.cleared(callId, rec.gone);
      return;
    }
    if (this.st !== 'established' || !decision.accept) {
      this.removeRecord(rec);
      let result: number = OcrpResult.GENERAL_ERROR;
      let errorCode: number = ErrorCode.NONE;
      if (!decision.accept) {
        result = decision.result >= 2 && decision.result <= 7 ? decision.result : OcrpResult.GENERAL_ERROR;
        errorCode = (decision.errorCode ?? ErrorCode.NONE) & 0xff;
        this.log.info({ callId, peerCallId, result, reason: decision.reason }, 'outgoing call refused');
      } else {
        this.log.info({ callId, peerCallId }, 'outgoing call dropped: connection stopping');
      }
      this.refuseCall(peerCallId, result, errorCode);
      if (decision.accept) this.cleared(callId, 'server shutdown');
      return;
    }

    const connectSpeed = decision.connectSpeed ?? this.opts.connectSpeed ?? DEFAULT_CONNECT_SPEED;
    const recvWindow = decision.recvWindow ?? this.opts.recvWindow ?? DEFAULT_WINDOW;
    this.sendMsg({
      type: 'OCRP', callId, peerCallId, resultCode: OcrpResult.CONNECTED, errorCode: ErrorCode.NONE,
      causeCode: 0, connectSpeed: connectSpeed >>> 0, recvWindow: recvWindow & 0xffff,
      processingDelay: 0, physicalChannelId: 0,
    });
    // debug: the session manager logs 'call accepted' with the session id.
    this.log.debug({ callId, peerCallId, peerWindow: msg.recvWindow, calls: this.callMap.size }, 'outgoing call accepted');
    if (rec.deferred !== undefined && this.callMap.get(callId) === rec) {
      this.endCall(rec, rec.deferred.result, rec.deferred.cause, true);
    }
  }

  private decide(call: IncomingCall): CallDecision {
    try {
      return this.opts.onCall(call);
    } catch (err) {
      this.log.error({ err, callId: call.callId }, 'session layer failed to decide on a call');
      return { accept: false, result: OcrpResult.GENERAL_ERROR, errorCode: ErrorCode.PAC_ERROR, reason: 'internal error' };
    }
  }

  private refuseCall(peerCallId: number, resultCode: number, errorCode: number): void {
    this.sendMsg({
      type: 'OCRP', callId: 0, peerCallId, resultCode, errorCode, causeCode: 0,
      connectSpeed: 0, recvWindow: 0, processingDelay: 0, physicalChannelId: 0,
    });
  }

  private onCallClear(msg: CallClearRequest): void {
    const rec = this.byPeer.get(msg.callId);
    if (rec === undefined) {
      // Usually a race with our own CDN; nothing to clear.
      this.log.debug({ peerCallId: msg.callId }, 'call-clear-request for an unknown call');
      return;
    }
    if (rec.pending) {
      rec.deferred ??= { result: CdnResult.REQUEST, cause: 'call-clear-request from peer' };
      return;
    }
    this.endCall(rec, CdnResult.REQUEST, 'call-clear-request from peer', true);
  }

  private onSetLinkInfo(msg: SetLinkInfo): void {
    const rec = this.callMap.get(msg.peerCallId);
    if (rec === undefined) {
      this.log.debug({ callId: msg.peerCallId }, 'set-link-info for an unknown call');
      return;
    }
    rec.sendAccm = msg.sendAccm;
    rec.recvAccm = msg.recvAccm;
    this.log.debug({ callId: rec.callId, sendAccm: msg.sendAccm, recvAccm: msg.recvAccm }, 'set-link-info');
    try {
      this.opts.onSetLinkInfo?.(rec.callId, msg.sendAccm, msg.recvAccm);
    } catch (err) {
      this.log.error({ err, callId: rec.callId }, 'onSetLinkInfo failed');
    }
  }

  private onWanError(msg: WanErrorNotify): void {
    this.stats.wanErrorNotifies++;
    const rec = this.callMap.get(msg.peerCallId);
    const counters: WanErrorCounters = {
      crcErrors: msg.crcErrors, framingErrors: msg.framingErrors, hardwareOverruns: msg.hardwareOverruns,
      bufferOverruns: msg.bufferOverruns, timeoutErrors: msg.timeoutErrors, alignmentErrors: msg.alignmentErrors,
    };
    this.log.info({ callId: msg.peerCallId, known: rec !== undefined, ...counters }, 'wan-error-notify');
    if (rec === undefined) return;
    try {
      this.opts.onWanError?.(rec.callId, counters);
    } catch (err) {
      this.log.error({ err, callId: rec.callId }, 'onWanError failed');
    }
  }

  /** Removes a live call, optionally tells the peer (CDN), then the session layer. */
  private endCall(rec: CallRecord, result: number, reason: string, sendCdn: boolean): void {
    this.removeRecord(rec);
    if (sendCdn) {
      this.sendMsg({
        type: 'CDN', callId: rec.callId, resultCode: result & 0xff, errorCode: ErrorCode.NONE,
        causeCode: 0, callStatistics: '',
      });
    }
    this.log.info({ callId: rec.callId, peerCallId: rec.peerCallId, result, reason }, 'call cleared');
    this.cleared(rec.callId, reason);
  }

  private removeRecord(rec: CallRecord): void {
    if (this.callMap.get(rec.callId) !== rec) return;
    this.callMap.delete(rec.callId);
    if (this.byPeer.get(rec.peerCallId) === rec) this.byPeer.delete(rec.peerCallId);
    this.opts.callIds.release(rec.callId);
  }

  private cleared(callId: number, reason: string): void {
    try {
      this.opts.onCallCleared(callId, reason);
    } catch (err) {
      this.log.error({ err, callId }, 'onCallCleared failed');
    }
  }

  // ---- timers, teardown ----

  /** The timer outside `established` (where it is the shared keep-alive). */
  protected onRoleTimer(): void {
    if (this.st === 'idle') {
      this.log.warn({ stimeoutMs: this.opts.stimeoutMs }, 'no SCCRQ in time (stimeout), closing');
      this.shutdown('stimeout');
    } else if (this.st === 'stopping') {
      this.log.warn('no StopCCRP in time, closing');
      this.shutdown('stop timeout');
    }
  }

  /** Closes from our side: clear calls, then ask the server to close the socket (once). */
  protected shutdown(reason: string): void {
    this.teardown(reason);
    if (this.closeSignalled) return;
    this.closeSignalled = true;
    try {
      this.opts.close(reason);
    } catch (err) {
      this.log.error({ err }, 'close callback failed');
    }
  }

  private teardown(reason: string): void {
    if (this.st === 'closed') return;
    this.st = 'closed';
    this.stopEcho();
    // Detach every call first so callbacks re-entering disconnectCall() find nothing.
    const recs = [...this.callMap.values()];
    for (const rec of recs) this.removeRecord(rec);
    this.log.info({ reason, calls: recs.length }, 'control connection closed');
    for (const rec of recs) {
      if (rec.pending) rec.gone = reason;
      else this.cleared(rec.callId, reason);
    }
  }
}
