// IPv4 ICMP echo packets for the traffic option: the client link encrypts one
// to the server's tunnel address and the server's kernel answers it.

/** RFC 1071 Internet checksum of buf[off, off+len). */
export function internetChecksum(buf: Uint8Array, off: number, len: number): number {
  let sum = 0;
  let i = off;
  const end = off + len;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export const ICMP_ECHO_REQUEST = 8;
export const ICMP_ECHO_REPLY = 0;

/**
 * Writes an IPv4 ICMP echo (request by default) from src to dst (host-order
 * uint32) with `payloadLen` bytes of pattern into `out`; returns its length.
 */
export function writeIcmpEcho(
  out: Uint8Array, src: number, dst: number, ident: number, seq: number, payloadLen: number, type = ICMP_ECHO_REQUEST,
): number {
  const total = 20 + 8 + payloadLen;
  if (out.length < total || total > 0xffff) throw new RangeError('ICMP echo does not fit');
  out[0] = 0x45; // IPv4, 20-byte header
  out[1] = 0;
  out[2] = total >>> 8; out[3] = total & 0xff;
  out[4] = seq >>> 8 & 0xff; out[5] = seq & 0xff; // IP id
  out[6] = 0x40; out[7] = 0; // DF
  out[8] = 64; // TTL
  out[9] = 1; // ICMP
  out[10] = 0; out[11] = 0;
  out[12] = src >>> 24; out[13] = src >>> 16 & 0xff; out[14] = src >>> 8 & 0xff; out[15] = src & 0xff;
  out[16] = dst >>> 24; out[17] = dst >>> 16 & 0xff; out[18] = dst >>> 8 & 0xff; out[19] = dst & 0xff;
  const ipSum = internetChecksum(out, 0, 20);
  out[10] = ipSum >>> 8; out[11] = ipSum & 0xff;
  out[20] = type; out[21] = 0; out[22] = 0; out[23] = 0;
  out[24] = ident >>> 8 & 0xff; out[25] = ident & 0xff;
  out[26] = seq >>> 8 & 0xff; out[27] = seq & 0xff;
  for (let i = 0; i < payloadLen; i++) out[28 + i] = (i + 0x10) & 0xff;
  const icmpSum = internetChecksum(out, 20, 8 + payloadLen);
  out[22] = icmpSum >>> 8; out[23] = icmpSum & 0xff;
  return total;
}

export interface IcmpEcho {
  type: number;
  src: number;
  dst: number;
  ident: number;
  seq: number;
}

/** Parses an IPv4 ICMP echo request/reply with valid checksums, or returns null. */
export function parseIcmpEcho(p: Uint8Array): IcmpEcho | null {
  if (p.length < 28 || p[0]! >>> 4 !== 4) return null;
  const ihl = (p[0]! & 0x0f) * 4;
  const total = (p[2]! << 8) | p[3]!;
  if (ihl < 20 || total > p.length || total < ihl + 8 || p[9] !== 1) return null;
  if (internetChecksum(p, 0, ihl) !== 0 || internetChecksum(p, ihl, total - ihl) !== 0) return null;
  const type = p[ihl]!;
  if (type !== ICMP_ECHO_REQUEST && type !== ICMP_ECHO_REPLY) return null;
  const u32 = (o: number) => ((p[o]! << 24) | (p[o + 1]! << 16) | (p[o + 2]! << 8) | p[o + 3]!) >>> 0;
  return {
    type, src: u32(12), dst: u32(16), ident: (p[ihl + 4]! << 8) | p[ihl + 5]!, seq: (p[ihl + 6]! << 8) | p[ihl + 7]!,
  };
}
