// Enhanced GRE v1 as PPTP uses it (RFC 2637 §4.1). View-based: decoding
// fills a caller-provided header object and never copies or allocates, so
// the datapath can run it once per packet.
//
//   0                   1                   2                   3
//   |C|R|K|S|s|Recur|A| Flags | Ver |        Protocol Type (0x880B)   |
//   |    Key (HW) Payload Length    |       Key (LW) Call ID          |
//   |              Sequence Number (optional, if S)                   |
//   |           Acknowledgment Number (optional, if A)                |

import { ProtocolError } from '../../util/errors.js';

export const GRE_PROTOCOL_PPP = 0x880b;
export const IP_PROTOCOL_GRE = 47;

/** Flag/version word bits (first 16 bits of the header). */
export const GRE_FLAG_C = 0x8000;
export const GRE_FLAG_R = 0x4000;
export const GRE_FLAG_K = 0x2000;
export const GRE_FLAG_S = 0x1000;
export const GRE_FLAG_SSR = 0x0800; // strict source route
export const GRE_RECUR_MASK = 0x0700;
export const GRE_FLAG_A = 0x0080;
export const GRE_FLAGS_MASK = 0x0078; // RFC 2637: must be 0
export const GRE_VERSION_MASK = 0x0007;
export const GRE_VERSION = 1;

export const GRE_MIN_HEADER_LEN = 8;
export const GRE_MAX_HEADER_LEN = 16;
export const GRE_MAX_PAYLOAD = 0xffff;

/** Stable error codes of the GRE and outer-IPv4 checks. */
export type GreErrorCode =
  | 'ERR_GRE_TRUNCATED'
  | 'ERR_GRE_VERSION'
  | 'ERR_GRE_NO_KEY'
  | 'ERR_GRE_FLAGS'
  | 'ERR_GRE_PROTOCOL'
  | 'ERR_GRE_LENGTH'
  | 'ERR_GRE_NO_SEQ'
  | 'ERR_GRE_IP_TRUNCATED'
  | 'ERR_GRE_IP_VERSION'
  | 'ERR_GRE_IP_HEADER'
  | 'ERR_GRE_IP_PROTOCOL'
  | 'ERR_GRE_IP_LENGTH';

const MESSAGES: Record<GreErrorCode, string> = {
  ERR_GRE_TRUNCATED: 'GRE packet shorter than its header',
  ERR_GRE_VERSION: 'GRE version is not 1 (enhanced GRE)',
  ERR_GRE_NO_KEY: 'GRE key flag (K) not set',
  ERR_GRE_FLAGS: 'GRE C/R/s/recur/flags bits must be 0',
  ERR_GRE_PROTOCOL: 'GRE protocol type is not 0x880B (PPP)',
  ERR_GRE_LENGTH: 'GRE payload length exceeds the packet',
  ERR_GRE_NO_SEQ: 'GRE payload present without a sequence number',
  ERR_GRE_IP_TRUNCATED: 'IPv4 packet shorter than 20 bytes',
  ERR_GRE_IP_VERSION: 'IP version is not 4',
  ERR_GRE_IP_HEADER: 'IPv4 header length out of range',
  ERR_GRE_IP_PROTOCOL: 'IP protocol is not 47 (GRE)',
  ERR_GRE_IP_LENGTH: 'IPv4 total length out of range',
};

export function greError(code: GreErrorCode): ProtocolError {
  return new ProtocolError(code, MESSAGES[code]);
}

/** A decoded header. Reused across packets: copy what you keep. */
export interface GreHeader {
  /** The receiver's call id (low half of the key). */
  callId: number;
  /** Payload bytes following the header (high half of the key). */
  payloadLen: number;
  hasSeq: boolean;
  seq: number;
  hasAck: boolean;
  ack: number;
  /** Header length in bytes (8, 12 or 16); payload starts at off + headerLen. */
  headerLen: number;
}

export function createGreHeader(): GreHeader {
  return { callId: 0, payloadLen: 0, hasSeq: false, seq: 0, hasAck: false, ack: 0, headerLen: 0 };
}

function inBounds(buf: Uint8Array, off: number, len: number): boolean {
  // Written so that NaN, negatives and fractions all fail.
  return off >= 0 && len >= 0 && Number.isInteger(off) && Number.isInteger(len) && off + len <= buf.length;
}

/**
 * Decodes buf[off, off+len) into `out`. Returns the error code instead of
 * throwing, so a flood of junk costs no exception/stack capture.
 */
export function tryDecodeGre(buf: Uint8Array, off: number, len: number, out: GreHeader): GreErrorCode | null {
  if (!inBounds(buf, off, len) || len < GRE_MIN_HEADER_LEN) return 'ERR_GRE_TRUNCATED';
  const fv = (buf[off]! << 8) | buf[off + 1]!;
  if ((fv & GRE_VERSION_MASK) !== GRE_VERSION) return 'ERR_GRE_VERSION';
  if ((fv & GRE_FLAG_K) === 0) return 'ERR_GRE_NO_KEY';
  if ((fv & (GRE_FLAG_C | GRE_FLAG_R | GRE_FLAG_SSR | GRE_RECUR_MASK | GRE_FLAGS_MASK)) !== 0) return 'ERR_GRE_FLAGS';
  if (((buf[off + 2]! << 8) | buf[off + 3]!) !== GRE_PROTOCOL_PPP) return 'ERR_GRE_PROTOCOL';
  const hasSeq = (fv & GRE_FLAG_S) !== 0;
  const hasAck = (fv & GRE_FLAG_A) !== 0;
  const headerLen = GRE_MIN_HEADER_LEN + (hasSeq ? 4 : 0) + (hasAck ? 4 : 0);
  if (len < headerLen) return 'ERR_GRE_TRUNCATED';
  const payloadLen = (buf[off + 4]! << 8) | buf[off + 5]!;
  if (payloadLen > len - headerLen) return 'ERR_GRE_LENGTH';
  // RFC 2637: S is set whenever there is a payload; without it the data
  // could not be ordered, and pptp-linux treats such a packet as ack-only.
  if (payloadLen > 0 && !hasSeq) return 'ERR_GRE_NO_SEQ';
  let p = off + 8;
  let seq = 0;
  let ack = 0;
  if (hasSeq) {
    seq = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
    p += 4;
  }
  if (hasAck) {
    ack = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
  }
  out.callId = (buf[off + 6]! << 8) | buf[off + 7]!;
  out.payloadLen = payloadLen;
  out.hasSeq = hasSeq;
  out.seq = seq;
  out.hasAck = hasAck;
  out.ack = ack;
  out.headerLen = headerLen;
  return null;
}

/**
 * Strict decode of an enhanced GRE header at buf[off, off+len). Bytes after
 * the declared payload (e.g. link padding) are ignored. Throws ProtocolError
 * (ERR_GRE_*) on anything malformed.
 */
export function decodeGre(buf: Uint8Array, off: number, len: number, out: GreHeader = createGreHeader()): GreHeader {
  const err = tryDecodeGre(buf, off, len, out);
  if (err !== null) throw greError(err);
  return out;
}

/** Where the GRE packet sits inside a raw-socket IPv4 packet. Reused: copy what you keep. */
export interface Ipv4GreView {
  /** Outer source address, host-order uint32 (10.0.0.1 → 0x0a000001). */
  src: number;
  /** Offset of the GRE header in the buffer. */
  greOff: number;
  /** GRE bytes, bounded by the IPv4 total length. */
  greLen: number;
}

export function createIpv4GreView(): Ipv4GreView {
  return { src: 0, greOff: 0, greLen: 0 };
}

/** Non-throwing IPv4 strip; see stripIpv4. */
export function tryStripIpv4(buf: Uint8Array, off: number, len: number, out: Ipv4GreView): GreErrorCode | null {
  if (!inBounds(buf, off, len) || len < 20) return 'ERR_GRE_IP_TRUNCATED';
  const b0 = buf[off]!;
  if (b0 >> 4 !== 4) return 'ERR_GRE_IP_VERSION';
  const ihl = (b0 & 0x0f) * 4;
  if (ihl < 20 || ihl > len) return 'ERR_GRE_IP_HEADER';
  // Linux raw sockets hand us the header with tot_len in network order and
  // covering the whole (reassembled) datagram.
  const total = (buf[off + 2]! << 8) | buf[off + 3]!;
  if (total < ihl || total > len) return 'ERR_GRE_IP_LENGTH';
  if (buf[off + 9] !== IP_PROTOCOL_GRE) return 'ERR_GRE_IP_PROTOCOL';
  out.src = ((buf[off + 12]! << 24) | (buf[off + 13]! << 16) | (buf[off + 14]! << 8) | buf[off + 15]!) >>> 0;
  out.greOff = off + ihl;
  out.greLen = total - ihl;
  return null;
}

/**
 * For packets from a raw IPPROTO_GRE socket, which include the IPv4 header:
 * checks version 4, IHL (20..60 and within the packet), protocol 47 and the
 * total length, and returns the outer source address and where GRE starts.
 */
export function stripIpv4(buf: Uint8Array, off: number, len: number, out: Ipv4GreView = createIpv4GreView()): Ipv4GreView {
  const err = tryStripIpv4(buf, off, len, out);
  if (err !== null) throw greError(err);
  return out;
}

export interface GreEncodeFields {
  /** The peer's call id (goes into the key). */
  callId: number;
  payloadLen: number;
  /** Present → S flag and sequence number. */
  seq?: number | undefined;
  /** Present → A flag and acknowledgment number. */
  ack?: number | undefined;
}

/** Header length for the given optional fields: 8, 12 or 16. */
export function greHeaderLength(hasSeq: boolean, hasAck: boolean): number {
  return GRE_MIN_HEADER_LEN + (hasSeq ? 4 : 0) + (hasAck ? 4 : 0);
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

/**
 * Writes the header at out[off] so the payload can be placed (or already
 * sits) right after it without copying. Returns the header length.
 */
export function encodeGreHeader(out: Uint8Array, off: number, f: GreEncodeFields): number {
  const hasSeq = f.seq !== undefined;
  const hasAck = f.ack !== undefined;
  const hl = greHeaderLength(hasSeq, hasAck);
  if (!Number.isInteger(off) || off < 0 || off + hl > out.length) {
    throw new ProtocolError('ERR_GRE_ENCODE', 'no room for the GRE header');
  }
  if (!Number.isInteger(f.callId) || f.callId < 0 || f.callId > 0xffff) {
    throw new ProtocolError('ERR_GRE_ENCODE', 'call id out of range');
  }
  if (!Number.isInteger(f.payloadLen) || f.payloadLen < 0 || f.payloadLen > GRE_MAX_PAYLOAD) {
    throw new ProtocolError('ERR_GRE_ENCODE', 'payload length out of range');
  }
  if ((hasSeq && !isU32(f.seq!)) || (hasAck && !isU32(f.ack!))) {
    throw new ProtocolError('ERR_GRE_ENCODE', 'sequence/ack number out of range');
  }
  const fv = GRE_FLAG_K | GRE_VERSION | (hasSeq ? GRE_FLAG_S : 0) | (hasAck ? GRE_FLAG_A : 0);
  out[off] = fv >> 8;
  out[off + 1] = fv & 0xff;
  out[off + 2] = GRE_PROTOCOL_PPP >> 8;
  out[off + 3] = GRE_PROTOCOL_PPP & 0xff;
  out[off + 4] = f.payloadLen >> 8;
  out[off + 5] = f.payloadLen & 0xff;
  out[off + 6] = f.callId >> 8;
  out[off + 7] = f.callId & 0xff;
  let p = off + 8;
  if (hasSeq) {
    const s = f.seq!;
    out[p] = s >>> 24;
    out[p + 1] = (s >>> 16) & 0xff;
    out[p + 2] = (s >>> 8) & 0xff;
    out[p + 3] = s & 0xff;
    p += 4;
  }
  if (hasAck) {
    const a = f.ack!;
    out[p] = a >>> 24;
    out[p + 1] = (a >>> 16) & 0xff;
    out[p + 2] = (a >>> 8) & 0xff;
    out[p + 3] = a & 0xff;
  }
  return hl;
}
