// MPPE data codec (RFC 3078), one per link, both directions. Mirrors Linux
// ppp_mppe so that either end may be the kernel: coherency count starts at
// 4095 (first packet carries 0), stateless rekeys before every packet,
// stateful rekeys on "flag" packets (low byte 0xFF) and on every received
// packet with the flushed bit, and a stateful receiver that lost a packet
// discards until a flushed packet arrives. Hot path: no allocation, buffers owned by
// the caller.
//
// Stateful resynchronisation, as Linux ppp_mppe does it (drivers/net/ppp/
// ppp_mppe.c + ppp_generic.c ppp_ccp_peek), and where we go further:
//  - The sender's compressor is told to reset only when its CCP Reset-Ack
//    goes out (ppp_ccp_peek on the outbound Reset-Ack → mppe_comp_reset). That
//    sets the flushed bit (A) for the next packet; the next packet then does
//    a full key change (RFC 3078 §7.3: new session key, RC4 re-keyed), not a
//    mere RC4 restart with the current key. So A on the wire means "the
//    session key changed just before this packet", flag packet or not.
//  - The receiver on a lost packet (count ≠ last + 1) enters "discard" and
//    drops everything without A. On the first packet with A it rekeys once
//    per 256-block boundary between the count it expected and the packet's
//    count (the flag packets it missed), then once more because A is set.
//    ppp_generic meanwhile stops feeding the decompressor (SC_DC_ERROR) until
//    an inbound Reset-Ack, handing the frames to pppd, which sends the
//    Reset-Request.
//  - Weakness: a sender that rekeys for a Reset-Request at a non-flag count
//    and has that flushed packet lost is one key ahead of the receiver's
//    catch-up arithmetic for good: every later packet decrypts to garbage
//    and nothing ever notices (the interop stall under 2 % loss).
// What we do about it, compatible with Linux (and Windows, which interoperates
// with Linux) on the other end:
//  - Sending: a Reset-Request makes our next packet a flag packet: the count
//    jumps to the end of its 256-block (a receiver in discard accepts any
//    count with A). Our key then changes only at flag counts, which is exactly
//    what a receiver's catch-up counts, so losing that packet (or several)
//    cannot desynchronise a Linux receiver. Cost: a stale Reset-Request
//    makes an in-sync receiver see a gap, lose one packet and ask again.
//  - Receiving from a Linux sender: after Linux's catch-up we also try up to
//    MAX_LOST_FLUSHES more key changes (flushed packets of the sender that
//    were lost), and take the first key under which the packet is a complete
//    IPv4/IPv6 frame; if none is, Linux's key.
import { PptpdError } from '../util/errors.js';
import { Rc4 } from './rc4.js';
import { Sha1 } from './sha1.js';
import { SHA_PAD1, SHA_PAD2, keyLength, reduceKey, type MppeBits } from './mppe-keys.js';

export interface MppeParams {
  /** Start keys (RFC 3079); at least 16 bytes for 128-bit, 8 for 40/56. */
  sendKey: Uint8Array;
  recvKey: Uint8Array;
  bits: MppeBits;
  stateful: boolean;
}

export interface MppeStats {
  encrypted: number;
  decrypted: number;
  dropped: number;
  rekeys: number;
  /** Stateful: key changes of the peer's lost flushed packets found by a resync. */
  lostFlushes: number;
}

const BIT_FLUSHED = 0x80; // A, in the header's first byte
const BIT_ENCRYPTED = 0x10; // D
const CCOUNT_SPACE = 0x1000;
const CCOUNT_MASK = 0xfff;
/** Stateless: a count further ahead than this is a late packet (as Linux). */
const MAX_AHEAD = CCOUNT_SPACE / 2;
/** Stateless: keys kept for packets that arrive out of order (per direction, 16 bytes each). */
const HISTORY = 8;
/** Stateful resync: extra key changes tried for lost flushed packets of the sender. */
export const MAX_LOST_FLUSHES = 3;
/** Bytes decrypted to judge a resync candidate: protocol (≤2) + IPv6 up to its payload length. */
const PROBE_LEN = 8;

// Shared scratch: the codec is synchronous and single-threaded, so one SHA-1
// and one digest buffer serve every session (saves memory per session).
const sha = new Sha1();
const digest = new Uint8Array(20);
const probe = new Uint8Array(PROBE_LEN);
const savedKey = new Uint8Array(16);

/**
 * True when plain[0..n) (only the first PROBE_LEN bytes are present in
 * `head`) is a PPP frame holding one complete IPv4 or IPv6 packet: protocol
 * 0x0021/0x0057 (or PFC 0x21/0x57), the IP version, and the IP length field
 * equal to what is left. Garbage passes with odds of about 2^-30.
 */
function wholeIpFrame(head: Uint8Array, n: number): boolean {
  if (n < PROBE_LEN) return false;
  let p = 0;
  let proto = head[0];
  if (proto === 0) {
    proto = head[1];
    p = 2;
  } else {
    p = 1;
  }
  const left = n - p;
  const v = head[p] >> 4;
  if (proto === 0x21 && v === 4 && (head[p] & 0x0f) >= 5) return ((head[p + 2] << 8) | head[p + 3]) === left;
  if (proto === 0x57 && v === 6 && p + 5 < PROBE_LEN) return ((head[p + 4] << 8) | head[p + 5]) + 40 === left;
  return false;
}

class Direction {
  readonly start = new Uint8Array(16);
  readonly session = new Uint8Array(16);
  readonly rc4 = new Rc4();
  ccount = CCOUNT_SPACE - 1;

  constructor(startKey: Uint8Array, private readonly len: number, private readonly bits: MppeBits) {
    this.start.set(startKey.subarray(0, len));
    // Initial session key: the SHA step only (no RC4 self-encryption), as ppp_mppe.
    this.sha(this.start);
    this.session.set(digest.subarray(0, len));
    reduceKey(this.session, bits);
    this.rc4.setKey(this.session, 0, len);
  }

  private sha(sessionKey: Uint8Array): void {
    sha.update(this.start, 0, this.len).update(SHA_PAD1).update(sessionKey, 0, this.len).update(SHA_PAD2).digestInto(digest);
  }

  /** RFC 3078 §7.3 key change; leaves rc4 keyed with the new session key. */
  rekey(): void {
    const len = this.len;
    this.sha(this.session);
    this.rc4.setKey(digest, 0, len);
    this.rc4.process(digest, 0, len, this.session, 0);
    reduceKey(this.session, this.bits);
    this.rc4.setKey(this.session, 0, len);
  }
}

export class MppeCodec {
  readonly stats: MppeStats = { encrypted: 0, decrypted: 0, dropped: 0, rekeys: 0, lostFlushes: 0 };
  private readonly tx: Direction;
  private readonly rx: Direction;
  private readonly len: number;
  private readonly stateful: boolean;
  /** Stateful sender: the next packet jumps to a flag count (peer sent Reset-Request). */
  private flushPending = false;
  /** Stateful receiver lost sync: drop until a flushed packet. */
  private discard = false;
  private readonly histKeys = new Uint8Array(HISTORY * 16);
  private readonly histCount = new Int16Array(HISTORY).fill(-1);
  private readonly histSeen = new Uint8Array(HISTORY);
  private histPos = 0;

  constructor(p: MppeParams) {
    if (p.bits !== 40 && p.bits !== 56 && p.bits !== 128) {
      throw new PptpdError('ERR_MPPE_BITS', `unsupported MPPE strength ${String(p.bits)}`);
    }
    this.len = keyLength(p.bits);
    if (p.sendKey.length < this.len || p.recvKey.length < this.len) {
      throw new PptpdError('ERR_MPPE_KEY', `MPPE-${p.bits} needs ${this.len}-byte start keys`);
    }
    this.stateful = p.stateful;
    this.tx = new Direction(p.sendKey, this.len, p.bits);
    this.rx = new Direction(p.recvKey, this.len, p.bits);
  }

  /** Stateful receiver lost a packet and waits for a flushed one: the link sends CCP Reset-Request. */
  get needsReset(): boolean {
    return this.discard;
  }

  /** The peer asked for a reset: our next packet is a flag packet (new key, flushed bit). Repeats before it coalesce. */
  onResetRequest(): void {
    if (this.stateful) this.flushPending = true;
  }

  /**
   * input = PPP protocol (2 bytes) + payload. Writes the 2-byte MPPE header
   * and the ciphertext at out[outOff..]; returns 2 + input.length.
   * input and out must not overlap.
   */
  encrypt(input: Uint8Array, out: Uint8Array, outOff: number): number {
    const n = input.length;
    if (n < 1 || outOff < 0 || outOff + 2 + n > out.length) {
      throw new PptpdError('ERR_MPPE_BUFFER', `MPPE encrypt: ${n} bytes do not fit at ${outOff} in ${out.length}`);
    }
    const tx = this.tx;
    let cc = (tx.ccount + 1) & CCOUNT_MASK;
    // Peer asked for a reset: make this a flag packet (see the top comment).
    if (this.flushPending) cc |= 0xff;
    tx.ccount = cc;
    let bits = BIT_ENCRYPTED;
    if (!this.stateful || (cc & 0xff) === 0xff) {
      tx.rekey();
      this.stats.rekeys++;
      this.flushPending = false;
      bits |= BIT_FLUSHED;
    }
    out[outOff] = bits | (cc >> 8);
    out[outOff + 1] = cc & 0xff;
    tx.rc4.process(input, 0, n, out, outOff + 2);
    this.stats.encrypted++;
    return 2 + n;
  }

  /**
   * input = MPPE header + ciphertext. Writes protocol + payload at out[outOff..]
   * (a compressed 1-byte protocol is expanded to 2) and returns its length,
   * or -1 when the packet is dropped. out needs input.length - 1 bytes.
   */
  decrypt(input: Uint8Array, out: Uint8Array, outOff: number): number {
    const n = input.length;
    if (n < 3) return this.drop();
    const b0 = input[0];
    const cc = ((b0 & 0x0f) << 8) | input[1];
    const flushed = (b0 & BIT_FLUSHED) !== 0;
    const ctLen = n - 2;
    if ((b0 & BIT_ENCRYPTED) === 0) return this.drop();
    if (outOff < 0 || outOff + ctLen + 1 > out.length) return this.drop();
    const rx = this.rx;
    let rc4 = rx.rc4;
    if (!this.stateful) {
      if (!flushed) return this.drop();
      const ahead = (cc - rx.ccount) & CCOUNT_MASK;
      if (ahead === 0) {
        return this.drop(); // a duplicate of the newest packet
      } else if (ahead <= MAX_AHEAD) {
        this.remember(rx.ccount, true);
        for (let k = 1; k <= ahead; k++) {
          rx.rekey();
          // Keys of skipped counts may still be needed by reordered packets.
          if (k < ahead && ahead - k <= HISTORY) this.remember((rx.ccount + k) & CCOUNT_MASK, false);
        }
        this.stats.rekeys += ahead;
        rx.ccount = cc;
      } else {
        const slot = this.findHistory(cc);
        if (slot < 0) return this.drop(); // too late, or a replay
        this.histSeen[slot] = 1;
        rc4 = this.lateRc4;
        rc4.setKey(this.histKeys, slot * 16, this.len);
      }
    } else {
      if ((cc & 0xff) === 0xff && !flushed) return this.drop();
      if (this.discard) {
        if (!flushed) return this.drop();
        this.resync(input, cc, ctLen);
      } else {
        const expected = (rx.ccount + 1) & CCOUNT_MASK;
        if (cc !== expected) {
          rx.ccount = expected;
          this.discard = true;
          return this.drop();
        }
        rx.ccount = cc;
        if (flushed) {
          rx.rekey();
          this.stats.rekeys++;
        }
      }
    }
    // First byte alone: an odd value is a PFC-compressed protocol to expand.
    rc4.process(input, 2, 1, out, outOff);
    let len = ctLen;
    let o = outOff + 1;
    if ((out[outOff] & 1) !== 0) {
      out[outOff + 1] = out[outOff];
      out[outOff] = 0;
      o++;
      len++;
    }
    rc4.process(input, 3, ctLen - 1, out, o);
    this.stats.decrypted++;
    return len;
  }

  /**
   * Stateful, discarding, a flushed packet arrived: Linux's catch-up (one key
   * change per 256-block crossed, one for A), then up to MAX_LOST_FLUSHES
   * more if only those make the packet a whole IP frame. Leaves rx keyed.
   */
  private resync(input: Uint8Array, cc: number, ctLen: number): void {
    const rx = this.rx;
    const len = this.len;
    let changes = 1;
    while ((cc & 0xf00) !== (rx.ccount & 0xf00)) {
      rx.rekey();
      changes++;
      rx.ccount = (rx.ccount + 256) & CCOUNT_MASK;
    }
    rx.rekey();
    this.discard = false;
    rx.ccount = cc;
    const n = Math.min(ctLen, PROBE_LEN);
    rx.rc4.process(input, 2, n, probe, 0);
    if (!wholeIpFrame(probe, ctLen)) {
      savedKey.set(rx.session.subarray(0, len));
      let extra = 0;
      for (let k = 1; k <= MAX_LOST_FLUSHES && extra === 0; k++) {
        rx.rekey();
        rx.rc4.process(input, 2, n, probe, 0);
        if (wholeIpFrame(probe, ctLen)) extra = k;
      }
      if (extra === 0) {
        rx.session.set(savedKey.subarray(0, len)); // none fits: Linux's key
      } else {
        changes += extra;
        this.stats.lostFlushes += extra;
      }
    }
    rx.rc4.setKey(rx.session, 0, len); // restart the stream for the real decryption
    this.stats.rekeys += changes;
  }

  // Only stateless late packets use it; created on first need.
  private lateRc4Cache: Rc4 | undefined;
  private get lateRc4(): Rc4 {
    return (this.lateRc4Cache ??= new Rc4());
  }

  private remember(count: number, seen: boolean): void {
    const slot = this.histPos;
    this.histPos = (slot + 1) % HISTORY;
    this.histKeys.set(this.rx.session.subarray(0, this.len), slot * 16);
    this.histCount[slot] = count;
    this.histSeen[slot] = seen ? 1 : 0;
  }

  private findHistory(count: number): number {
    for (let i = 0; i < HISTORY; i++) {
      if (this.histCount[i] === count && this.histSeen[i] === 0) return i;
    }
    return -1;
  }

  private drop(): number {
    this.stats.dropped++;
    return -1;
  }
}
