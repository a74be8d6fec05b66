// Routes incoming GRE packets to calls by (outer source address, our call id),
// never by address alone: several clients behind one NAT address share the
// source and differ only in call id. Never throws on packet contents.

import { PptpdError } from '../util/errors.js';
import {
  createGreHeader,
  createIpv4GreView,
  tryDecodeGre,
  tryStripIpv4,
  type GreErrorCode,
} from '../protocol/gre/codec.js';
import { EMPTY_PAYLOAD, type GreCall } from './engine.js';

/** What the demultiplexer needs of a call (GreCall satisfies it). */
export type GreInput = Pick<GreCall, 'input'>;

export interface GreDemuxStats {
  /** Packets handed to a call. */
  dispatched: number;
  /** No call has this call id. */
  unknownCall: number;
  /** The call id exists but belongs to another source address (spoofed or stale). */
  wrongSource: number;
  /** Failed the IPv4/GRE checks. */
  malformed: number;
  /** malformed, split by error code. */
  malformedByCode: Partial<Record<GreErrorCode, number>>;
}

// src (uint32) * 2^16 + callId < 2^48: an exact, collision-free Map key.
function key(src: number, callId: number): number {
  return src * 0x10000 + callId;
}

function checkIds(src: number, callId: number): void {
  if (!Number.isInteger(src) || src < 0 || src > 0xffffffff || !Number.isInteger(callId) || callId < 0 || callId > 0xffff) {
    throw new PptpdError('ERR_GRE_DEMUX', 'source must be a uint32 and call id 0..65535');
  }
}

export class GreDemux {
  readonly stats: GreDemuxStats = { dispatched: 0, unknownCall: 0, wrongSource: 0, malformed: 0, malformedByCode: {} };

  private readonly calls = new Map<number, GreInput>();
  /** Registrations per call id, to tell "unknown call" from "wrong source" in O(1). */
  private readonly perCallId = new Uint32Array(0x10000);
  private readonly hdr = createGreHeader();
  private readonly ip = createIpv4GreView();

  get size(): number {
    return this.calls.size;
  }

  register(src: number, callId: number, call: GreInput): void {
    checkIds(src, callId);
    const k = key(src, callId);
    if (this.calls.has(k)) throw new PptpdError('ERR_GRE_DEMUX', `call id ${callId} already registered for this source`);
    this.calls.set(k, call);
    this.perCallId[callId]!++;
  }

  /** Returns whether something was registered. */
  unregister(src: number, callId: number): boolean {
    checkIds(src, callId);
    if (!this.calls.delete(key(src, callId))) return false;
    this.perCallId[callId]!--;
    return true;
  }

  lookup(src: number, callId: number): GreInput | undefined {
    return this.calls.get(key(src, callId));
  }

  /**
   * A GRE packet (no IP header) at pkt[off, off+len) from outer address src.
   * Returns true when it reached a call.
   */
  dispatch(src: number, pkt: Uint8Array, off: number, len: number): boolean {
    const h = this.hdr;
    const err = tryDecodeGre(pkt, off, len, h);
    if (err !== null) return this.malformed(err);
    const call = this.calls.get(key(src >>> 0, h.callId));
    if (call === undefined) {
      if (this.perCallId[h.callId]! > 0) this.stats.wrongSource++;
      else this.stats.unknownCall++;
      return false;
    }
    this.stats.dispatched++;
    const p = off + h.headerLen;
    call.input(h, h.payloadLen === 0 ? EMPTY_PAYLOAD : pkt.subarray(p, p + h.payloadLen));
    return true;
  }

  /** A packet from a raw IPPROTO_GRE socket (IPv4 header included). */
  dispatchIpv4(pkt: Uint8Array, off: number, len: number): boolean {
    const v = this.ip;
    const err = tryStripIpv4(pkt, off, len, v);
    if (err !== null) return this.malformed(err);
    return this.dispatch(v.src, pkt, v.greOff, v.greLen);
  }

  private malformed(code: GreErrorCode): false {
    this.stats.malformed++;
    const m = this.stats.malformedByCode;
    m[code] = (m[code] ?? 0) + 1;
    return false;
  }
}
