// Per-call enhanced GRE state: our sequence numbers, acks (piggy-backed or
// ack-only after a short delay), and a small reorder window for what the peer
// sends. I/O-free: packets out through a callback, time from a Clock.
//
// Cost per call when nothing is reordered: a few numbers and at most one
// armed timer. The hold ring is allocated only when a packet arrives early.

import type { Clock, Timer } from '../util/clock.js';
import { PptpdError } from '../util/errors.js';
import { encodeGreHeader, GRE_MAX_HEADER_LEN, GRE_MAX_PAYLOAD, type GreEncodeFields, type GreHeader } from '../protocol/gre/codec.js';

export interface GreCallOptions {
  /** Goes into the key of packets we send. */
  peerCallId: number;
  clock: Clock;
  /**
   * A full GRE packet (header + payload), no IP header. The view is only
   * valid during the call (it may be a shared scratch buffer): send or copy it.
   */
  sendPacket(pkt: Uint8Array): void;
  /** In-order PPP payload. The view is only valid during the call. */
  deliver(payload: Uint8Array): void;
  /** How long an early packet waits for the gap before it; default 300 (poptop). 0 = deliver at once, drop late ones. */
  reorderTimeoutMs?: number;
  /** Max packets held while waiting for a gap; default 16. */
  reorderWindow?: number;
  /** Ack-only packet after this long with received data and nothing sent; default 50. */
  ackDelayMs?: number;
  /** Larger payloads are dropped (badLength); bounds what the hold ring can take. Default 4096, far above any MRU we negotiate. */
  maxPayload?: number;
}

export interface GreCallStats {
  /** Data packets / payload bytes delivered to PPP. */
  rxPackets: number;
  rxBytes: number;
  /** Data packets / payload bytes sent. */
  txPackets: number;
  txBytes: number;
  /** Ack-only packets received. */
  acksOnly: number;
  /** Ack-only packets sent. */
  acksSent: number;
  /** Sequence numbers given up on (gap skipped by timeout or window overflow). */
  lost: number;
  /** Times the receive numbering was re-based after a confirmed far jump. */
  resyncs: number;
  /** Highest acknowledgment number the peer sent us; -1 before the first. */
  lastAckReceived: number;
  dropped: {
    /** Already delivered or already held. */
    duplicate: number;
    /** Older than the last delivered and not a recent duplicate (a skipped gap arriving late, or reorder off). */
    stale: number;
    /** More than 65536 away from the expected seq (either way) and not (yet) confirmed by a following packet. */
    window: number;
    /** Payload length disagrees with the header, or exceeds maxPayload. */
    badLength: number;
  };
}

/** rxState layout, shared with native/src/fastrx.c: keep both in step. */
export const GRX_WORDS = 8;
export const GRX_FLAGS = 0;
export const GRX_LAST = 1;
export const GRX_MASK = 2;
export const GRX_HELD = 3;
export const GRX_ACK = 4;
export const GRX_MAX_PAYLOAD = 5;
/** GRX_FLAGS bits */
export const GRX_STARTED = 1;
export const GRX_CANDIDATE = 2;
export const GRX_ACK_SEEN = 4;

const HALF = 0x80000000;
/** Beyond this distance a sequence number needs confirming before we follow it. */
const FAR_JUMP = 0x10000;
const NO_DEADLINE = Infinity;
/** Payload view for ack-only packets. */
export const EMPTY_PAYLOAD = new Uint8Array(0);
/** A held packet's buffer starts at this size so most reuse never regrows. */
const SLOT_MIN_CAPACITY = 1600;

// Outgoing packets are built here when the caller did not leave headroom.
// One per process: JS is single-threaded and sendPacket consumes synchronously.
let txScratch = new Uint8Array(GRE_MAX_HEADER_LEN + 2048);
const txFields: GreEncodeFields = { callId: 0, payloadLen: 0, seq: undefined, ack: undefined };

export class GreCall {
  readonly stats: GreCallStats = {
    rxPackets: 0,
    rxBytes: 0,
    txPackets: 0,
    txBytes: 0,
    acksOnly: 0,
    acksSent: 0,
    lost: 0,
    resyncs: 0,
    lastAckReceived: -1,
    dropped: { duplicate: 0, stale: 0, window: 0, badLength: 0 },
  };

  private readonly o: GreCallOptions;
  private readonly peerCallId: number;
  private reorderTimeoutMs: number;
  private readonly window: number;
  private readonly ackDelayMs: number;
  private readonly maxPayload: number;

  private txSeq = 0;

  /**
   * The receive sequencing state, in a typed array the native receive fast
   * path (native/src/fastrx.c) reads and advances for in-order data packets
   * of a running link (layout: GRX_*). The accessors below keep the logic
   * here readable.
   */
  readonly rxState = new Uint32Array(new ArrayBuffer(GRX_WORDS * 4));
  private get rxStarted(): boolean {
    return (this.rxState[GRX_FLAGS]! & GRX_STARTED) !== 0;
  }
  private set rxStarted(v: boolean) {
    this.setFlag(GRX_STARTED, v);
  }
  /** Last sequence number delivered (or skipped past). */
  private get rxLast(): number {
    return this.rxState[GRX_LAST]!;
  }
  private set rxLast(v: number) {
    this.rxState[GRX_LAST] = v;
  }
  /** Bit i set: seq (rxLast - i) was delivered. Tells duplicates from stale packets. */
  private get rxMask(): number {
    return this.rxState[GRX_MASK]!;
  }
  private set rxMask(v: number) {
    this.rxState[GRX_MASK] = v;
  }
  /** A far-away seq seen once, waiting for a successor to confirm it. */
  private get hasCandidate(): boolean {
    return (this.rxState[GRX_FLAGS]! & GRX_CANDIDATE) !== 0;
  }
  private set hasCandidate(v: boolean) {
    this.setFlag(GRX_CANDIDATE, v);
  }
  private candidate = 0;
  /** Received data not yet acknowledged to the peer. */
  private ackPending = false;
  private ackDeadline = NO_DEADLINE;

  // Hold ring, indexed by seq % window; allocated on first use.
  /** Packets in the ring (the fast path leaves a call with held packets to input()). */
  private get held(): number {
    return this.rxState[GRX_HELD]!;
  }
  private set held(v: number) {
    this.rxState[GRX_HELD] = v;
  }
  private slotBuf: (Uint8Array | null)[] | null = null;
  private slotLen: Int32Array | null = null; // -1 = empty
  private slotSeq: Uint32Array | null = null;
  private slotAt: Float64Array | null = null;
  private reorderDeadline = NO_DEADLINE;

  private timer: Timer | null = null;
  private timerAt = NO_DEADLINE;
  private closed = false;
  private readonly onTimer = (): void => this.fire();

  constructor(o: GreCallOptions) {
    if (!Number.isInteger(o.peerCallId) || o.peerCallId < 0 || o.peerCallId > 0xffff) {
      throw new PptpdError('ERR_GRE_OPTIONS', 'peerCallId must be 0..65535');
    }
    this.o = o;
    this.peerCallId = o.peerCallId;
    this.reorderTimeoutMs = nonNegative(o.reorderTimeoutMs, 300, 'reorderTimeoutMs');
    this.window = nonNegative(o.reorderWindow, 16, 'reorderWindow');
    if (!Number.isInteger(this.window) || this.window < 1 || this.window > 1024) throw new PptpdError('ERR_GRE_OPTIONS', 'reorderWindow must be 1..1024');
    this.ackDelayMs = nonNegative(o.ackDelayMs, 50, 'ackDelayMs');
    this.maxPayload = nonNegative(o.maxPayload, 4096, 'maxPayload');
    if (this.maxPayload > GRE_MAX_PAYLOAD) throw new PptpdError('ERR_GRE_OPTIONS', 'maxPayload must be ≤ 65535');
    this.rxState[GRX_MAX_PAYLOAD] = this.maxPayload;
  }

  /** Packets currently held waiting for a gap to fill. */
  get heldPackets(): number {
    return this.held;
  }

  /**
   * A decoded packet for this call. `payload` is its data (empty for an
   * ack-only packet); it is not retained after the call returns.
   */
  input(hdr: GreHeader, payload: Uint8Array): void {
    if (this.closed) return;
    if (hdr.hasAck) this.noteAck(hdr.ack);
    if (!hdr.hasSeq) {
      if (hdr.hasAck) this.stats.acksOnly++;
      return;
    }
    const len = payload.length;
    if (len !== hdr.payloadLen || len > this.maxPayload) {
      this.stats.dropped.badLength++;
      return;
    }
    const seq = hdr.seq >>> 0;
    if (!this.rxStarted) {
      // Whatever the peer starts with (0, or 1 for some clients) sets the expectation.
      this.rxStarted = true;
      this.rxLast = (seq - 1) >>> 0;
      this.rxMask = 0;
      this.deliverNext(payload, len);
      return;
    }
    const d = (seq - this.rxLast) >>> 0; // 1 = the next one expected
    if (d > FAR_JUMP && d <= (0x100000000 - FAR_JUMP)) {
      // Very far from where we are, ahead or behind: a peer that restarted
      // its numbering, a huge outage, or a spoofed/corrupt packet. Resync
      // only when the next packet confirms the new numbering, so a single
      // bad packet cannot make every later good one look stale.
      const fromCandidate = (seq - this.candidate) >>> 0;
      if (this.hasCandidate && fromCandidate >= 1 && fromCandidate <= this.window + 1) {
        this.hasCandidate = false;
        this.flushHeld();
        this.stats.resyncs++;
        this.rxLast = (seq - 1) >>> 0;
        this.rxMask = 0;
        this.deliverNext(payload, len);
      } else {
        this.hasCandidate = true;
        this.candidate = seq;
        this.stats.dropped.window++;
      }
      return;
    }
    this.hasCandidate = false;
    if (d === 0 || d >= HALF) {
      this.dropOld(seq);
      return;
    }
    if (d === 1) {
      this.deliverNext(payload, len);
      if (this.held > 0) this.drainInOrder();
      return;
    }
    // Ahead of a gap.
    if (this.reorderTimeoutMs === 0 || d - 1 > this.window) {
      // Reorder off, or the window cannot hold it: give up on the gap now
      // rather than drop newer data (a burst loss would stall the call).
      this.flushHeld();
      this.skipTo(seq);
      this.deliverNext(payload, len);
      return;
    }
    this.hold(seq, payload, len);
  }

  /** Sends one PPP frame (copied into a scratch packet). */
  send(payload: Uint8Array): void {
    if (this.closed) return;
    const len = payload.length;
    if (len > GRE_MAX_PAYLOAD) throw new PptpdError('ERR_GRE_ENCODE', 'payload longer than 65535');
    if (txScratch.length < GRE_MAX_HEADER_LEN + len) txScratch = new Uint8Array(GRE_MAX_HEADER_LEN + len);
    const hl = this.writeDataHeader(txScratch, 0, len);
    txScratch.set(payload, hl);
    this.o.sendPacket(txScratch.subarray(0, hl + len));
  }

  /**
   * Zero-copy send: the frame is at buf[payloadOff, payloadOff+payloadLen)
   * and at least 16 bytes before it are free for the header, which is
   * written immediately in front of the payload.
   */
  sendInPlace(buf: Uint8Array, payloadOff: number, payloadLen: number): void {
    if (this.closed) return;
    if (
      !Number.isInteger(payloadOff) || !Number.isInteger(payloadLen) || payloadOff < GRE_MAX_HEADER_LEN ||
      payloadLen < 0 || payloadLen > GRE_MAX_PAYLOAD || payloadOff + payloadLen > buf.length
    ) {
      throw new PptpdError('ERR_GRE_ENCODE', 'sendInPlace needs 16 bytes of headroom and a payload inside the buffer');
    }
    const hl = this.ackPending ? 16 : 12;
    const start = payloadOff - hl;
    this.writeDataHeader(buf, start, payloadLen);
    this.o.sendPacket(buf.subarray(start, payloadOff + payloadLen));
  }

  /**
   * Changes how long an early packet waits for its gap (0: not at all).
   * Packets already held keep waiting only as long as the new value allows.
   */
  setReorderTimeout(ms: number): void {
    this.reorderTimeoutMs = nonNegative(ms, 0, 'reorderTimeoutMs');
    if (this.closed || this.held === 0) return;
    this.reorderDeadline = this.oldestHeldAt() + this.reorderTimeoutMs;
    this.armTimer(this.reorderDeadline);
  }

  /** Stops timers and drops held packets; later input/send are ignored. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
    this.slotBuf = null;
    this.slotLen = null;
    this.slotSeq = null;
    this.slotAt = null;
    this.held = 0;
  }

  // --- transmit ---

  private writeDataHeader(out: Uint8Array, off: number, len: number): number {
    txFields.callId = this.peerCallId;
    txFields.payloadLen = len;
    txFields.seq = this.txSeq;
    txFields.ack = this.ackPending ? this.rxLast : undefined;
    const hl = encodeGreHeader(out, off, txFields);
    this.txSeq = (this.txSeq + 1) >>> 0;
    // The piggy-backed ack satisfies the pending one; a still-armed timer
    // finds nothing to do when it fires (cheaper than cancel + re-arm).
    this.ackPending = false;
    this.ackDeadline = NO_DEADLINE;
    this.stats.txPackets++;
    this.stats.txBytes += len;
    return hl;
  }

  private sendAckOnly(): void {
    txFields.callId = this.peerCallId;
    txFields.payloadLen = 0;
    txFields.seq = undefined;
    txFields.ack = this.rxLast;
    const hl = encodeGreHeader(txScratch, 0, txFields);
    this.ackPending = false;
    this.ackDeadline = NO_DEADLINE;
    this.stats.acksSent++;
    this.o.sendPacket(txScratch.subarray(0, hl));
  }

  private noteAck(ack: number): void {
    const r = this.rxState;
    const seen = (r[GRX_FLAGS]! & GRX_ACK_SEEN) !== 0;
    const d = (ack - r[GRX_ACK]!) >>> 0;
    // Keep the newest (wrap-aware); an old ack arriving late changes nothing.
    if (!seen || (d !== 0 && d < HALF)) {
      r[GRX_ACK] = ack;
      r[GRX_FLAGS] = r[GRX_FLAGS]! | GRX_ACK_SEEN;
      this.stats.lastAckReceived = ack >>> 0;
    }
  }

  private setFlag(bit: number, on: boolean): void {
    const r = this.rxState;
    r[GRX_FLAGS] = on ? r[GRX_FLAGS]! | bit : r[GRX_FLAGS]! & ~bit;
  }

  /**
   * The native fast path delivered `packets` in-order data packets
   * (`bytes` of payload) and advanced rxState itself: count them and owe
   * the peer an ack, as deliverNext does.
   */
  fastDelivered(packets: number, bytes: number): void {
    if (this.closed || packets <= 0) return;
    const r = this.rxState;
    if ((r[GRX_FLAGS]! & GRX_ACK_SEEN) !== 0) this.stats.lastAckReceived = r[GRX_ACK]!;
    this.stats.rxPackets += packets;
    this.stats.rxBytes += bytes;
    this.oweAck();
  }

  // --- receive ---

  /** Delivers the packet with seq rxLast+1 and advances. */
  private deliverNext(payload: Uint8Array, len: number): void {
    this.rxLast = (this.rxLast + 1) >>> 0;
    this.rxMask = ((this.rxMask << 1) | 1) >>> 0;
    this.stats.rxPackets++;
    this.stats.rxBytes += len;
    this.oweAck();
    if (len > 0) this.o.deliver(payload);
  }

  private oweAck(): void {
    if (!this.ackPending) {
      this.ackPending = true;
      this.ackDeadline = this.o.clock.now() + this.ackDelayMs;
      this.armTimer(this.ackDeadline);
    }
  }

  /** Moves rxLast to seq-1, counting the skipped sequence numbers as lost. */
  private skipTo(seq: number): void {
    const gap = ((seq - this.rxLast) >>> 0) - 1;
    if (gap <= 0) return;
    this.stats.lost += gap;
    this.rxMask = gap >= 32 ? 0 : (this.rxMask << gap) >>> 0;
    this.rxLast = (seq - 1) >>> 0;
  }

  private dropOld(seq: number): void {
    const age = (this.rxLast - seq) >>> 0; // 0 = the last delivered
    if (age < 32 && (this.rxMask & (1 << age)) !== 0) this.stats.dropped.duplicate++;
    else this.stats.dropped.stale++;
  }

  private hold(seq: number, payload: Uint8Array, len: number): void {
    if (this.slotLen === null) this.allocRing();
    const i = seq % this.window;
    const slotLen = this.slotLen!;
    if (slotLen[i] !== -1) {
      // Distinct seqs in the window map to distinct slots, so this is the same one.
      this.stats.dropped.duplicate++;
      return;
    }
    const bufs = this.slotBuf!;
    let b = bufs[i];
    if (!b || b.length < len) {
      b = new Uint8Array(Math.max(SLOT_MIN_CAPACITY, len));
      bufs[i] = b;
    }
    // Copy: the caller's receive buffer is reused after we return.
    b.set(payload.subarray(0, len));
    slotLen[i] = len;
    this.slotSeq![i] = seq;
    const now = this.o.clock.now();
    this.slotAt![i] = now;
    this.held++;
    if (this.reorderDeadline === NO_DEADLINE) {
      this.reorderDeadline = now + this.reorderTimeoutMs;
      this.armTimer(this.reorderDeadline);
    }
  }

  private allocRing(): void {
    const w = this.window;
    this.slotBuf = new Array<Uint8Array | null>(w).fill(null);
    this.slotLen = new Int32Array(w).fill(-1);
    this.slotSeq = new Uint32Array(w);
    this.slotAt = new Float64Array(w);
  }

  /** Delivers held packets that are next in order. */
  private drainInOrder(): void {
    const w = this.window;
    while (this.held > 0 && !this.closed) {
      const next = (this.rxLast + 1) >>> 0;
      const i = next % w;
      if (this.slotLen![i] === -1 || this.slotSeq![i] !== next) break;
      this.takeSlot(i);
    }
    if (this.held === 0) this.reorderDeadline = NO_DEADLINE;
    else this.reorderDeadline = this.oldestHeldAt() + this.reorderTimeoutMs;
  }

  private takeSlot(i: number): void {
    const len = this.slotLen![i]!;
    this.slotLen![i] = -1;
    this.held--;
    this.deliverNext(this.slotBuf![i]!.subarray(0, len), len);
  }

  /** Skips the first gap and delivers the run of held packets after it. */
  private skipFirstGap(): void {
    const w = this.window;
    // Held packets lie in rxLast+2 .. rxLast+w+1.
    for (let k = 1; k <= w + 1; k++) {
      const s = (this.rxLast + k) >>> 0;
      const i = s % w;
      if (this.slotLen![i] !== -1 && this.slotSeq![i] === s) {
        this.skipTo(s);
        this.takeSlot(i);
        this.drainInOrder();
        return;
      }
    }
    // Unreachable while the ring invariant holds; never loop forever on it.
    this.slotLen!.fill(-1);
    this.held = 0;
    this.reorderDeadline = NO_DEADLINE;
  }

  /** Delivers everything held, in order, skipping every gap. */
  private flushHeld(): void {
    while (this.held > 0 && !this.closed) this.skipFirstGap();
    this.reorderDeadline = NO_DEADLINE;
  }

  private oldestHeldAt(): number {
    let t = Infinity;
    const lens = this.slotLen!;
    const at = this.slotAt!;
    for (let i = 0; i < this.window; i++) if (lens[i] !== -1 && at[i]! < t) t = at[i]!;
    return t;
  }

  // --- the one timer ---

  private armTimer(at: number): void {
    if (this.closed || at >= this.timerAt) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.o.clock.setTimer(Math.max(0, at - this.o.clock.now()), this.onTimer);
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = NO_DEADLINE;
    if (this.closed) return;
    const now = this.o.clock.now();
    // A gap whose oldest waiting packet has waited long enough is abandoned.
    while (this.held > 0 && !this.closed && this.reorderDeadline <= now) this.skipFirstGap();
    if (this.held === 0) this.reorderDeadline = NO_DEADLINE;
    if (this.closed) return;
    if (this.ackPending && this.ackDeadline <= now) this.sendAckOnly();
    if (this.closed) return;
    const next = Math.min(this.reorderDeadline, this.ackPending ? this.ackDeadline : NO_DEADLINE);
    if (next !== NO_DEADLINE) this.armTimer(next);
  }
}

function nonNegative(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v < 0) throw new PptpdError('ERR_GRE_OPTIONS', `${name} must be a non-negative number`);
  return v;
}
