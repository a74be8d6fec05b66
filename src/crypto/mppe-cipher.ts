// The crypto primitives of MPPE (RFC 3078 §7.3 key change, RC4 over a packet)
// behind one small interface, so the data path can run them in C (native/
// mppe.ts: per-packet cost) while this TypeScript version stays the reference
// and the fallback. The protocol logic (coherency counts, flushed bit,
// history, resync) lives once, in mppe.ts; it only calls `crypt`.
//
// All key state of a codec is ONE Uint8Array (layout below): both directions'
// start and session keys, an RC4 stream per direction only when stateful
// (stateless re-keys RC4 before every packet, so nothing of it survives a
// packet: a shared scratch schedule serves every session), and the stateless
// receive history.
import { Sha1 } from './sha1.js';
import { SHA_PAD1, SHA_PAD2, keyLength, type MppeBits } from './mppe-keys.js';

/** st[0]: key length (8 or 16); st[1]: salt (5 = 40-bit, 7 = 56-bit, 16 = none); st[2]: 1 = directions carry an RC4 stream. */
export const ST_KEYLEN = 0;
export const ST_SALT = 1;
export const ST_STREAM = 2;
/**
 * The codec's receive coherency count (2 bytes, big-endian) and next
 * stateless history slot: here rather than in codec fields because the
 * native receive fast path (native/src/fastrx.c) advances them too.
 */
export const ST_RXCOUNT = 4;
export const ST_HISTPOS = 6;
/** First direction record (native/src/mppe.c has the same layout). */
export const ST_DIRS = 8;
/** Direction record: start key [0,16), session key [16,32); stateful: i, j at 32, 33, S-box [34, 290). */
export const DIR_SESSION = 16;
export const DIR_I = 32;
export const DIR_SBOX = 34;
const DIR_STATELESS = 32;
const DIR_STATEFUL = 34 + 256;
/** Stateless history slot: key [0,16), count hi, count lo, flags (1 = used, 2 = seen). */
export const HIST_SLOT = 20;

/** crypt flags */
export const CRYPT_PFC = 1; // first output byte odd = compressed PPP protocol: expand to 00 xx
export const CRYPT_RESTART = 2; // stateful: re-key the direction's stream from its session key first

/** Most key changes one crypt call may do (a stateless receiver skips ≤ 2048). */
export const MAX_REKEYS = 4096;

export interface MppeCipher {
  readonly kind: 'js' | 'native';
  /**
   * One packet's crypto. In the direction record at st[dir..]: first
   * `rekeys` RFC 3078 key changes of the session key (a stateful direction's
   * stream is then re-keyed from the new key). Then XOR input[inOff, +len)
   * with a key stream into out[outOff..]: keyOff ≥ 0 takes a fresh RC4
   * schedule of the key at st[keyOff..] (stateless), keyOff < 0 continues the
   * direction's stream (stateful). Returns the bytes written (len, +1 when
   * CRYPT_PFC expanded the protocol). Any offset, length or layout outside
   * its array throws a RangeError; nothing is touched then.
   */
  crypt(
    st: Uint8Array, dir: number, rekeys: number, keyOff: number,
    input: Uint8Array, inOff: number, len: number, out: Uint8Array, outOff: number, flags: number,
  ): number;
}

export interface MppeLayout {
  size: number;
  tx: number;
  rx: number;
  /** Stateless only: the receive history (slots × HIST_SLOT), else -1. */
  hist: number;
  keyLen: 8 | 16;
}

export function mppeLayout(bits: MppeBits, stateful: boolean, historySlots: number): MppeLayout {
  const dir = stateful ? DIR_STATEFUL : DIR_STATELESS;
  const tx = ST_DIRS;
  const rx = tx + dir;
  const hist = stateful ? -1 : rx + dir;
  const size = stateful ? rx + dir : hist + historySlots * HIST_SLOT;
  return { size, tx, rx, hist, keyLen: keyLength(bits) };
}

const saltOf = (bits: MppeBits): number => (bits === 40 ? 5 : bits === 56 ? 7 : 16);

// One-time set-up, not per packet: allocation-free SHA scratch shared by all.
const sha = new Sha1();
const digest = new Uint8Array(20);

function shaStep(st: Uint8Array, dir: number, keyLen: number): void {
  sha.update(st, dir, keyLen).update(SHA_PAD1).update(st, dir + DIR_SESSION, keyLen).update(SHA_PAD2).digestInto(digest);
}

function salt(st: Uint8Array, at: number, s: number): void {
  if (s === 5) { st[at] = 0xd1; st[at + 1] = 0x26; st[at + 2] = 0x9e; }
  else if (s === 7) st[at] = 0xd1;
}

/**
 * A codec's state buffer with both start keys and the initial session keys
 * (the SHA step alone, as Linux ppp_mppe). Stateful streams are left unkeyed:
 * the codec keys them with CRYPT_RESTART through its cipher.
 */
export function createMppeState(l: MppeLayout, bits: MppeBits, stateful: boolean, sendKey: Uint8Array, recvKey: Uint8Array): Uint8Array {
  // Its own ArrayBuffer: never on V8's heap, so the addon may keep its address while it holds a reference.
  const st = new Uint8Array(new ArrayBuffer(l.size));
  st[ST_KEYLEN] = l.keyLen;
  st[ST_SALT] = saltOf(bits);
  st[ST_STREAM] = stateful ? 1 : 0;
  for (const [dir, key] of [[l.tx, sendKey], [l.rx, recvKey]] as const) {
    st.set(key.subarray(0, l.keyLen), dir);
    st.set(key.subarray(0, l.keyLen), dir + DIR_SESSION);
    shaStep(st, dir, l.keyLen);
    st.set(digest.subarray(0, l.keyLen), dir + DIR_SESSION);
    salt(st, dir + DIR_SESSION, st[ST_SALT]!);
  }
  return st;
}

function rangeError(what: string): never {
  throw new RangeError(`mppe crypt: ${what} out of range`);
}

const isInt = (v: number): boolean => (v | 0) === v;

/**
 * The argument and layout checks both ciphers make (the C code repeats
 * them: there they guard memory). Returns the key length.
 */
export function checkCrypt(
  st: Uint8Array, dir: number, rekeys: number, keyOff: number,
  input: Uint8Array, inOff: number, len: number, out: Uint8Array, outOff: number, flags: number,
): number {
  if (st.length < ST_DIRS) rangeError('state');
  const keyLen = st[ST_KEYLEN]!;
  const s = st[ST_SALT]!;
  const stream = st[ST_STREAM]!;
  if ((keyLen !== 8 && keyLen !== 16) || (s !== 5 && s !== 7 && s !== 16) || stream > 1) rangeError('state header');
  if (!isInt(dir) || dir < ST_DIRS || dir + (stream ? DIR_STATEFUL : DIR_STATELESS) > st.length) rangeError('direction');
  if (!isInt(rekeys) || rekeys < 0 || rekeys > MAX_REKEYS) rangeError('rekeys');
  if (!isInt(keyOff) || (keyOff >= 0 ? keyOff + keyLen > st.length : stream === 0)) rangeError('key offset');
  if (!isInt(len) || !isInt(inOff) || !isInt(outOff) || !isInt(flags) || len < 0 || inOff < 0 || outOff < 0) rangeError('length');
  if (inOff + len > input.length) rangeError('input');
  if (outOff + len + ((flags & CRYPT_PFC) !== 0 && len > 0 ? 1 : 0) > out.length) rangeError('output');
  return keyLen;
}

// ---- the TypeScript reference ------------------------------------------------

// Stateless schedules go to this shared Int32Array state: V8 runs RC4 ~25 %
// faster on it than on bytes (see rc4.ts); stateful streams live in st.
const scratchS = new Int32Array(256);
const selfKey = new Uint8Array(16);

function ksaInt(s: Int32Array, key: Uint8Array, off: number, len: number): void {
  for (let k = 0; k < 256; k++) s[k] = k;
  let j = 0;
  let ki = off;
  const end = off + len;
  for (let k = 0; k < 256; k++) {
    const t = s[k]!;
    j = (j + t + key[ki]!) & 0xff;
    s[k] = s[j]!;
    s[j] = t;
    if (++ki === end) ki = off;
  }
}

/** XOR with the stream of scratchS from its start (i = j = 0); returns nothing, the stream is dropped. */
function xorInt(s: Int32Array, input: Uint8Array, inOff: number, len: number, out: Uint8Array, outOff: number, i0: number, j0: number): number {
  let i = i0, j = j0;
  for (let n = 0; n < len; n++) {
    i = (i + 1) & 0xff;
    const si = s[i]!;
    j = (j + si) & 0xff;
    const sj = s[j]!;
    s[i] = sj;
    s[j] = si;
    out[outOff + n] = input[inOff + n]! ^ s[(si + sj) & 0xff]!;
  }
  return (i << 8) | j;
}

// The stateful stream: S-box as bytes inside st at b, i and j at b - 2, b - 1.
function ksaBytes(st: Uint8Array, b: number, key: Uint8Array, off: number, len: number): void {
  for (let k = 0; k < 256; k++) st[b + k] = k;
  let j = 0;
  let ki = off;
  const end = off + len;
  for (let k = 0; k < 256; k++) {
    const t = st[b + k]!;
    j = (j + t + key[ki]!) & 0xff;
    st[b + k] = st[b + j]!;
    st[b + j] = t;
    if (++ki === end) ki = off;
  }
  st[b - 2] = 0;
  st[b - 1] = 0;
}

function xorBytes(st: Uint8Array, b: number, input: Uint8Array, inOff: number, len: number, out: Uint8Array, outOff: number): void {
  let i = st[b - 2]!, j = st[b - 1]!;
  for (let n = 0; n < len; n++) {
    i = (i + 1) & 0xff;
    const si = st[b + i]!;
    j = (j + si) & 0xff;
    const sj = st[b + j]!;
    st[b + i] = sj;
    st[b + j] = si;
    out[outOff + n] = input[inOff + n]! ^ st[b + ((si + sj) & 0xff)]!;
  }
  st[b - 2] = i;
  st[b - 1] = j;
}

/** RFC 3078 §7.3: SHA step, RC4 of the interim key under itself, salt. */
function rekeyJs(st: Uint8Array, dir: number, keyLen: number): void {
  shaStep(st, dir, keyLen);
  ksaInt(scratchS, digest, 0, keyLen);
  xorInt(scratchS, digest, 0, keyLen, selfKey, 0, 0, 0);
  st.set(selfKey.subarray(0, keyLen), dir + DIR_SESSION);
  salt(st, dir + DIR_SESSION, st[ST_SALT]!);
}

function cryptJs(
  st: Uint8Array, dir: number, rekeys: number, keyOff: number,
  input: Uint8Array, inOff: number, len: number, out: Uint8Array, outOff: number, flags: number,
): number {
  const keyLen = checkCrypt(st, dir, rekeys, keyOff, input, inOff, len, out, outOff, flags);
  for (let k = 0; k < rekeys; k++) rekeyJs(st, dir, keyLen);
  const sbox = dir + DIR_SBOX;
  const stream = st[ST_STREAM] === 1;
  if (stream && (rekeys > 0 || (flags & CRYPT_RESTART) !== 0)) ksaBytes(st, sbox, st, dir + DIR_SESSION, keyLen);
  if (len === 0) return 0;
  const pfc = (flags & CRYPT_PFC) !== 0;
  // First byte alone when it may be a compressed protocol to expand.
  const first = pfc ? 1 : len;
  let ij = 0;
  if (keyOff >= 0) {
    ksaInt(scratchS, st, keyOff, keyLen);
    ij = xorInt(scratchS, input, inOff, first, out, outOff, 0, 0);
  } else {
    xorBytes(st, sbox, input, inOff, first, out, outOff);
  }
  if (!pfc) return len;
  let o = outOff + 1;
  let n = len;
  if ((out[outOff]! & 1) !== 0) {
    out[outOff + 1] = out[outOff]!;
    out[outOff] = 0;
    o++;
    n++;
  }
  if (keyOff >= 0) xorInt(scratchS, input, inOff + 1, len - 1, out, o, ij >> 8, ij & 0xff);
  else xorBytes(st, sbox, input, inOff + 1, len - 1, out, o);
  return n;
}

/** The TypeScript cipher: the reference, and what runs without the addon. */
export const jsMppeCipher: MppeCipher = { kind: 'js', crypt: cryptJs };
