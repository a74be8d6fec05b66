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
import { keyLength, type MppeBits } from './mppe-keys.js';
import {
  CRYPT_PFC, CRYPT_RESTART, DIR_SESSION, HIST_SLOT, ST_HISTPOS, ST_RXCOUNT, createMppeState, jsMppeCipher, mppeLayout,
  type MppeCipher, type MppeLayout,
} from './mppe-cipher.js';

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
/** History slot flags. */
const H_USED = 1;
const H_SEEN = 2;

// Shared scratch: the codec is synchronous and single-threaded.
const probe = new Uint8Array(PROBE_LEN);
const savedKey = new Uint8Array(16);
const NONE = new Uint8Array(0);

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

/**
 * Both directions of one link. Key state lives in one Uint8Array (see
 * mppe-cipher.ts); `cipher` does the SHA-1/RC4 work: the TypeScript one by
 * default, the addon's on the TUN datapath.
 */
export class MppeCodec {
  readonly stats: MppeStats = { encrypted: 0, decrypted: 0, dropped: 0, rekeys: 0, lostFlushes: 0 };
  private readonly st: Uint8Array;
  private readonly l: MppeLayout;
  private readonly stateful: boolean;
  private readonly crypt: MppeCipher['crypt'];
  private txCount = CCOUNT_SPACE - 1;
  /** Stateful sender: the next packet jumps to a flag count (peer sent Reset-Request). */
  private flushPending = false;
  /** Stateful receiver lost sync: drop until a flushed packet. */
  private discard = false;
  /** Receive count and history position live in st (ST_RXCOUNT, ST_HISTPOS): the native fast path shares them. */
  private get rxCount(): number {
    return (this.st[ST_RXCOUNT]! << 8) | this.st[ST_RXCOUNT + 1]!;
  }
  private set rxCount(v: number) {
    this.st[ST_RXCOUNT] = v >> 8;
    this.st[ST_RXCOUNT + 1] = v & 0xff;
  }
  private get histPos(): number {
    return this.st[ST_HISTPOS]!;
  }
  private set histPos(v: number) {
    this.st[ST_HISTPOS] = v;
  }

  constructor(p: MppeParams, cipher: MppeCipher = jsMppeCipher) {
    if (p.bits !== 40 && p.bits !== 56 && p.bits !== 128) {
      throw new PptpdError('ERR_MPPE_BITS', `unsupported MPPE strength ${String(p.bits)}`);
    }
    const len = keyLength(p.bits);
    if (p.sendKey.length < len || p.recvKey.length < len) {
      throw new PptpdError('ERR_MPPE_KEY', `MPPE-${p.bits} needs ${len}-byte start keys`);
    }
    this.stateful = p.stateful;
    this.crypt = cipher.crypt;
    this.l = mppeLayout(p.bits, p.stateful, HISTORY);
    this.st = createMppeState(this.l, p.bits, p.stateful, p.sendKey, p.recvKey);
    this.rxCount = CCOUNT_SPACE - 1;
    if (p.stateful) {
      this.crypt(this.st, this.l.tx, 0, -1, NONE, 0, 0, NONE, 0, CRYPT_RESTART);
      this.crypt(this.st, this.l.rx, 0, -1, NONE, 0, 0, NONE, 0, CRYPT_RESTART);
    }
  }

  /**
   * Stateless only (else null): the receive state the native fast path
   * shares — the state buffer, the receive direction record, the history.
   * It decrypts the common in-order packet exactly as decrypt() does.
   */
  fastRxView(): { st: Uint8Array; rx: number; hist: number; histSlots: number } | null {
    return this.stateful ? null : { st: this.st, rx: this.l.rx, hist: this.l.hist, histSlots: HISTORY };
  }

  /** The native fast path decrypted `packets` in-order packets (one key change each): count them. */
  countFastRx(packets: number): void {
    this.stats.decrypted += packets;
    this.stats.rekeys += packets;
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
    let cc = (this.txCount + 1) & CCOUNT_MASK;
    // Peer asked for a reset: make this a flag packet (see the top comment).
    if (this.flushPending) cc |= 0xff;
    this.txCount = cc;
    let bits = BIT_ENCRYPTED;
    let rekeys = 0;
    if (!this.stateful || (cc & 0xff) === 0xff) {
      rekeys = 1;
      this.stats.rekeys++;
      this.flushPending = false;
      bits |= BIT_FLUSHED;
    }
    out[outOff] = bits | (cc >> 8);
    out[outOff + 1] = cc & 0xff;
    const tx = this.l.tx;
    this.crypt(this.st, tx, rekeys, this.stateful ? -1 : tx + DIR_SESSION, input, 0, n, out, outOff + 2, 0);
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
    const rx = this.l.rx;
    let rekeys = 0;
    let keyOff = -1;
    if (!this.stateful) {
      if (!flushed) return this.drop();
      const ahead = (cc - this.rxCount) & CCOUNT_MASK;
      if (ahead === 0) {
        return this.drop(); // a duplicate of the newest packet
      } else if (ahead <= MAX_AHEAD) {
        this.skipTo(ahead);
        this.rxCount = cc;
        rekeys = 1; // the last key change: in the decrypting call
        keyOff = rx + DIR_SESSION;
      } else {
        const slot = this.findHistory(cc);
        if (slot < 0) return this.drop(); // too late, or a replay
        keyOff = this.l.hist + slot * HIST_SLOT;
        this.st[keyOff + 18] |= H_SEEN;
      }
    } else {
      if ((cc & 0xff) === 0xff && !flushed) return this.drop();
      if (this.discard) {
        if (!flushed) return this.drop();
        this.resync(input, cc, ctLen);
      } else {
        const expected = (this.rxCount + 1) & CCOUNT_MASK;
        if (cc !== expected) {
          this.rxCount = expected;
          this.discard = true;
          return this.drop();
        }
        this.rxCount = cc;
        if (flushed) {
          rekeys = 1;
          this.stats.rekeys++;
        }
      }
    }
    const len = this.crypt(this.st, rx, rekeys, keyOff, input, 2, ctLen, out, outOff, CRYPT_PFC);
    this.stats.decrypted++;
    return len;
  }

  /**
   * Stateless: the key changes of `ahead` counts but the last (that one runs
   * with the decryption). Keys of skipped counts may still be needed by
   * reordered packets: the newest HISTORY of them are remembered.
   */
  private skipTo(ahead: number): void {
    const rx = this.l.rx;
    this.remember(this.rxCount, true);
    let k = 1;
    if (ahead - 1 > HISTORY) {
      const bulk = ahead - 1 - HISTORY; // too old to remember: one call
      this.crypt(this.st, rx, bulk, rx + DIR_SESSION, NONE, 0, 0, NONE, 0, 0);
      k += bulk;
    }
    for (; k < ahead; k++) {
      this.crypt(this.st, rx, 1, rx + DIR_SESSION, NONE, 0, 0, NONE, 0, 0);
      this.remember((this.rxCount + k) & CCOUNT_MASK, false);
    }
    this.stats.rekeys += ahead;
  }

  /**
   * Stateful, discarding, a flushed packet arrived: Linux's catch-up (one key
   * change per 256-block crossed, one for A), then up to MAX_LOST_FLUSHES
   * more if only those make the packet a whole IP frame. Leaves rx keyed.
   */
  private resync(input: Uint8Array, cc: number, ctLen: number): void {
    const st = this.st;
    const rx = this.l.rx;
    const len = this.l.keyLen;
    const session = rx + DIR_SESSION;
    let changes = 1;
    let count = this.rxCount;
    while ((cc & 0xf00) !== (count & 0xf00)) {
      changes++;
      count = (count + 256) & CCOUNT_MASK;
    }
    this.discard = false;
    this.rxCount = cc;
    const n = Math.min(ctLen, PROBE_LEN);
    this.crypt(st, rx, changes, -1, input, 2, n, probe, 0, 0);
    if (!wholeIpFrame(probe, ctLen)) {
      for (let i = 0; i < len; i++) savedKey[i] = st[session + i];
      let extra = 0;
      for (let k = 1; k <= MAX_LOST_FLUSHES && extra === 0; k++) {
        this.crypt(st, rx, 1, -1, input, 2, n, probe, 0, 0);
        if (wholeIpFrame(probe, ctLen)) extra = k;
      }
      if (extra === 0) {
        for (let i = 0; i < len; i++) st[session + i] = savedKey[i]; // none fits: Linux's key
      } else {
        changes += extra;
        this.stats.lostFlushes += extra;
      }
    }
    // Restart the stream for the real decryption.
    this.crypt(st, rx, 0, -1, NONE, 0, 0, NONE, 0, CRYPT_RESTART);
    this.stats.rekeys += changes;
  }

  /** Stateless: the receive session key now in use is the key of `count`. */
  private remember(count: number, seen: boolean): void {
    const slot = this.histPos;
    this.histPos = (slot + 1) % HISTORY;
    const at = this.l.hist + slot * HIST_SLOT;
    const session = this.l.rx + DIR_SESSION;
    // A byte loop, not copyWithin: that is a C++ runtime call, several times slower for 16 bytes (once per packet).
    const st = this.st;
    for (let i = 0, n = this.l.keyLen; i < n; i++) st[at + i] = st[session + i]!;
    st[at + 16] = count >> 8;
    st[at + 17] = count & 0xff;
    st[at + 18] = H_USED | (seen ? H_SEEN : 0);
  }

  private findHistory(count: number): number {
    const st = this.st;
    for (let i = 0, at = this.l.hist; i < HISTORY; i++, at += HIST_SLOT) {
      if (st[at + 18] === H_USED && ((st[at + 16] << 8) | st[at + 17]) === count) return i;
    }
    return -1;
  }

  private drop(): number {
    this.stats.dropped++;
    return -1;
  }
}
