// What both ends of a PPTP control connection do the same way, whichever role
// they play (server = PAC in connection.ts, client = PNS in client-connection.ts):
// - input(): TCP bytes → framer → decode → the role's dispatch(); a framing or
//   decoding error closes the connection, a throw out of dispatch() (a bug of
//   ours) too. input() re-entered from a callback is queued, so order holds.
// - sendMsg(): encode and write; a throwing send() closes the connection.
// - keep-alive (RFC 2637 §2.8/2.9): any received byte counts as activity;
//   after echoIntervalMs of silence we send an Echo-Request and need the
//   matching Echo-Reply within echoTimeoutMs. One timer per connection,
//   shared with the role's own timeouts (stimeout, SCCRP wait, stop wait).
// I/O-free like its subclasses: bytes in, bytes out through the send()
// callback, time from the injected Clock.
import type { Clock, Timer } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { ProtocolError } from '../util/errors.js';
import { decode, encode } from '../protocol/pptp/codec.js';
import { PptpFramer } from '../protocol/pptp/framer.js';
import { ErrorCode, GenericResult } from '../protocol/pptp/constants.js';
import type { PptpMessage } from '../protocol/pptp/messages.js';

/** Counters every role keeps (the roles add their own). */
export interface EndpointStats {
  messagesIn: number;
  messagesOut: number;
  errors: number;
}

/** The part of a role's options the shared code uses. */
export interface EndpointIo {
  clock: Clock;
  /** Write to the TCP socket. */
  send(bytes: Uint8Array): void;
}

export const DEFAULT_ECHO_MS = 60_000;

/** The states every role has: open for messages (`established`), and `closed`. */
type BaseState = 'established' | 'closed';

export abstract class PptpEndpoint<State extends string> {
  abstract readonly stats: EndpointStats;

  protected st: State | BaseState;
  protected readonly log: Logger;
  protected readonly echoIntervalMs: number;
  protected readonly echoTimeoutMs: number;
  protected lastRx: number;
  private readonly framer = new PptpFramer();
  private timer: Timer | undefined;
  private echoPending: number | undefined;
  private echoSentAt = 0;
  private echoId = 0;
  private inInput = false;
  private readonly queued: Uint8Array[] = [];
  // Bound once so the framer and the clock get no per-message closures.
  private readonly sink = (m: Uint8Array): void => this.onMessage(m);
  private readonly tick = (): void => this.onTimer();

  protected constructor(
    private readonly io: EndpointIo,
    log: Logger,
    initial: State,
    echoIntervalMs: number | undefined,
    echoTimeoutMs: number | undefined,
  ) {
    this.st = initial;
    this.log = log;
    this.echoIntervalMs = Math.max(0, echoIntervalMs ?? DEFAULT_ECHO_MS);
    this.echoTimeoutMs = Math.max(1, echoTimeoutMs ?? DEFAULT_ECHO_MS);
    this.lastRx = io.clock.now();
  }

  /** Bytes held by the framer waiting for the rest of a message (≤ 220). */
  get buffered(): number {
    return this.framer.buffered;
  }

  /** Feeds TCP bytes. Never throws: protocol errors are logged and close the connection. */
  input(bytes: Uint8Array): void {
    if (this.st === 'closed' || bytes.length === 0) return;
    if (this.inInput) {
      // Re-entered from a callback: keep order, process after the current chunk.
      this.queued.push(Uint8Array.from(bytes));
      return;
    }
    this.inInput = true;
    try {
      this.feed(bytes);
      while (this.queued.length > 0 && this.st !== 'closed') this.feed(this.queued.shift()!);
    } finally {
      this.queued.length = 0;
      this.inInput = false;
    }
  }

  /** The role's reaction to one decoded message. */
  protected abstract dispatch(msg: PptpMessage): void;

  /** The role's reaction to its own timer in a state other than `established`. */
  protected abstract onRoleTimer(): void;

  /** Closes the connection from our side (clears calls, asks for the socket to close). */
  protected abstract shutdown(reason: string): void;

  /** Calls up on this connection, for log lines. */
  protected abstract get callCount(): number;

  // ---- input path ----

  private feed(bytes: Uint8Array): void {
    this.lastRx = this.io.clock.now();
    try {
      this.framer.push(bytes, this.sink);
    } catch (err) {
      this.protocolFailure(err);
    }
  }

  private onMessage(m: Uint8Array): void {
    if (this.st === 'closed') return;
    let msg: PptpMessage;
    try {
      msg = decode(m);
    } catch (err) {
      this.protocolFailure(err);
      return;
    }
    this.stats.messagesIn++;
    try {
      this.dispatch(msg);
    } catch (err) {
      // Only a bug of ours (or a throwing callback we did not guard) gets here.
      this.stats.errors++;
      this.log.error({ err }, 'internal error handling PPTP message');
      this.shutdown('internal error');
    }
  }

  private protocolFailure(err: unknown): void {
    this.stats.errors++;
    const code = err instanceof ProtocolError ? err.code : 'ERR_PPTP_INTERNAL';
    const message = err instanceof Error ? err.message : String(err);
    this.log.warn({ code, error: message }, 'PPTP protocol error, closing control connection');
    this.shutdown(`protocol error ${code}`);
  }

  // ---- output ----

  protected sendMsg(msg: PptpMessage): void {
    if (this.st === 'closed') return;
    const bytes = encode(msg);
    this.stats.messagesOut++;
    try {
      this.io.send(bytes);
    } catch (err) {
      this.stats.errors++;
      this.log.warn({ err }, 'send failed, closing control connection');
      this.shutdown('send failed');
    }
  }

  /** Answers the peer's StopCCRQ (StopCCRP result 1) and closes. */
  protected answerStop(reason: string): void {
    this.sendMsg({ type: 'StopCCRP', resultCode: GenericResult.OK, errorCode: ErrorCode.NONE });
    this.shutdown(reason);
  }

  // ---- echo ----

  protected answerEcho(identifier: number): void {
    this.sendMsg({ type: 'EchoReply', identifier, resultCode: GenericResult.OK, errorCode: ErrorCode.NONE });
  }

  protected onEchoReply(identifier: number): void {
    if (this.echoPending === identifier) {
      this.echoPending = undefined;
      return;
    }
    this.log.debug({ identifier }, 'unsolicited echo reply ignored');
  }

  /** Enters `established`: from now on the timer is the keep-alive. */
  protected established(): void {
    this.st = 'established';
    if (this.echoIntervalMs > 0) this.arm(this.echoIntervalMs);
    else this.disarm();
  }

  private keepalive(now: number): void {
    if (this.echoIntervalMs <= 0) return;
    if (this.echoPending !== undefined) {
      const waited = now - this.echoSentAt;
      if (waited >= this.echoTimeoutMs) {
        this.log.warn({ waitedMs: waited, calls: this.callCount }, 'no echo reply, closing control connection');
        this.shutdown('echo timeout');
      } else {
        this.arm(this.echoTimeoutMs - waited);
      }
      return;
    }
    const silent = now - this.lastRx;
    if (silent >= this.echoIntervalMs) {
      this.echoId = (this.echoId + 1) >>> 0;
      this.echoPending = this.echoId;
      this.echoSentAt = now;
      this.log.debug({ identifier: this.echoId }, 'echo request sent after silence');
      this.sendMsg({ type: 'EchoRequest', identifier: this.echoId });
      if (this.st === 'established') this.arm(this.echoTimeoutMs);
    } else {
      this.arm(this.echoIntervalMs - silent);
    }
  }

  // ---- the one timer ----

  protected arm(ms: number): void {
    this.timer?.cancel();
    this.timer = this.io.clock.setTimer(ms, this.tick);
  }

  protected disarm(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** For teardown: no echo is outstanding on a closed connection. */
  protected stopEcho(): void {
    this.disarm();
    this.echoPending = undefined;
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.st === 'established') this.keepalive(this.io.clock.now());
    else if (this.st !== 'closed') this.onRoleTimer();
  }
}
