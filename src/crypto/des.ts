// DES (FIPS 46-3), single block ECB: MS-CHAP's ChallengeResponse needs it and
// Node 20's OpenSSL only has it through the legacy provider. Tables straight
// from FIPS 46-3; the block is two 32-bit halves and S-box + P are one
// precomputed table per box (see SP below).

// prettier-ignore
const IP = [
  58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
  62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
  57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
  61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];
// prettier-ignore
const FP = [
  40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31,
  38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21, 61, 29,
  36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27,
  34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25,
];
// prettier-ignore
const P = [
  16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
  2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
];
// prettier-ignore
const PC1 = [
  57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
  10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
  63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
  14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];
// prettier-ignore
const PC2 = [
  14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
  41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];
const SHIFTS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];
// prettier-ignore
export const SBOXES: readonly (readonly number[])[] = [
  [14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
   0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
   4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
   15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13],
  [15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
   3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
   0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
   13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9],
  [10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
   13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
   13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
   1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12],
  [7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
   13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
   10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
   3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14],
  [2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
   14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
   4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
   11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3],
  [12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
   10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
   9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
   4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13],
  [4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
   13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
   1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
   6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12],
  [13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
   1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
   7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
   2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11],
];

/** Bit n (1-based, MSB first as in FIPS 46) of a big-endian bit array. */
function bitsOf(bytes: Uint8Array, count: number): Uint8Array {
  const bits = new Uint8Array(count);
  for (let n = 0; n < count; n++) bits[n] = (bytes[n >> 3] >> (7 - (n & 7))) & 1;
  return bits;
}

// The cipher works on 32-bit words, FIPS bit 1 = the word's MSB. S-box and P
// are folded into one table per box (SP[box * 64 + 6-bit input] = P(S(x)) in
// place), so a round is 8 rotations, 8 lookups and XORs: MS-CHAP runs 3 blocks
// per authentication on both ends, and the bit-array version cost ~35 µs each.
const SP = buildSp();

function buildSp(): Int32Array {
  // dest[k] = where P sends f's bit k (1-based): output bit n takes input bit P[n-1].
  const dest = new Array<number>(33);
  for (let n = 1; n <= 32; n++) dest[P[n - 1]] = n;
  const sp = new Int32Array(8 * 64);
  for (let box = 0; box < 8; box++) {
    for (let x = 0; x < 64; x++) {
      const v = SBOXES[box][((x >> 4) & 2 | (x & 1)) * 16 + ((x >> 1) & 15)];
      let w = 0;
      for (let n = 0; n < 4; n++) {
        // S-box output bit n is f's bit box*4 + n + 1 before P.
        if ((v >> (3 - n)) & 1) w |= 1 << (32 - dest[box * 4 + n + 1]);
      }
      sp[box * 64 + x] = w;
    }
  }
  return sp;
}

/** Bit n (1-based) of the 64-bit value hi:lo. */
function bit64(hi: number, lo: number, n: number): number {
  return n <= 32 ? (hi >>> (32 - n)) & 1 : (lo >>> (64 - n)) & 1;
}

/**
 * The 16 round keys of an 8-byte key (parity bits ignored): 8 six-bit
 * groups per round, the group for S-box b of round r at r * 8 + b.
 */
export function desKeySchedule(key: Uint8Array): Uint8Array {
  if (key.length !== 8) throw new RangeError('DES needs an 8-byte key');
  const hi = (key[0] << 24 | key[1] << 16 | key[2] << 8 | key[3]) >>> 0;
  const lo = (key[4] << 24 | key[5] << 16 | key[6] << 8 | key[7]) >>> 0;
  // C and D as 28-bit integers, FIPS bit 1 of each in bit 27.
  let c = 0;
  let d = 0;
  for (let n = 0; n < 28; n++) {
    c = c << 1 | bit64(hi, lo, PC1[n]);
    d = d << 1 | bit64(hi, lo, PC1[n + 28]);
  }
  const out = new Uint8Array(16 * 8);
  for (let round = 0; round < 16; round++) {
    const sh = SHIFTS[round];
    c = ((c << sh) | (c >>> (28 - sh))) & 0xfffffff;
    d = ((d << sh) | (d >>> (28 - sh))) & 0xfffffff;
    // PC2 takes its first 24 bits from C and the last 24 from D.
    const kc = PC2_C[c >>> 21] | PC2_C[128 + ((c >>> 14) & 127)] | PC2_C[256 + ((c >>> 7) & 127)] | PC2_C[384 + (c & 127)];
    const kd = PC2_D[d >>> 21] | PC2_D[128 + ((d >>> 14) & 127)] | PC2_D[256 + ((d >>> 7) & 127)] | PC2_D[384 + (d & 127)];
    const at = round * 8;
    out[at] = kc >>> 18; out[at + 1] = (kc >>> 12) & 63; out[at + 2] = (kc >>> 6) & 63; out[at + 3] = kc & 63;
    out[at + 4] = kd >>> 18; out[at + 5] = (kd >>> 12) & 63; out[at + 6] = (kd >>> 6) & 63; out[at + 7] = kd & 63;
  }
  return out;
}

// PC2 by 7-bit chunks of C (bits 1..28) and D (29..56): entry [chunk * 128 + v]
// is the 24-bit share of the round key those 7 bits give (the round key's
// first bit in bit 23). Eight lookups per round instead of 48 bit moves.
const PC2_C = buildPc2Half(0);
const PC2_D = buildPc2Half(28);

function buildPc2Half(base: number): Int32Array {
  const t = new Int32Array(4 * 128);
  for (let j = 0; j < 24; j++) {
    const n = PC2[(base === 0 ? 0 : 24) + j] - base - 1; // 0..27 within the half
    const chunk = (n / 7) | 0;
    const bitInChunk = 6 - (n % 7);
    for (let v = 0; v < 128; v++) if ((v >> bitInChunk) & 1) t[chunk * 128 + v] |= 1 << (23 - j);
  }
  return t;
}

/** f(R, K): E expansion, key XOR, S-boxes and P through the SP tables. */
function feistel(r: number, ks: Uint8Array, at: number): number {
  let f = 0;
  for (let box = 0; box < 8; box++) {
    // E (FIPS 46-3) gives box b the bits 4b .. 4b+5 of R, wrapping (bit 0 =
    // bit 32, bit 33 = bit 1): rotate bit 4b to the top and take six bits.
    const s = (4 * box + 31) & 31;
    const rot = (r << s) | (r >>> (32 - s)); // s is never 0
    f |= SP[box * 64 + (((rot >>> 26) ^ ks[at + box]) & 63)];
  }
  return f;
}

/** Applies a 64-entry permutation table (FIPS 1-based) to hi:lo, into two words. */
function permute64(hi: number, lo: number, table: readonly number[], out: Int32Array): void {
  let a = 0;
  let b = 0;
  for (let n = 0; n < 32; n++) a = a << 1 | bit64(hi, lo, table[n]);
  for (let n = 32; n < 64; n++) b = b << 1 | bit64(hi, lo, table[n]);
  out[0] = a;
  out[1] = b;
}

const halves = new Int32Array(2);

/** One block under a key schedule from desKeySchedule. */
export function desCryptWithSchedule(ks: Uint8Array, block: Uint8Array, decrypt: boolean): Uint8Array {
  if (ks.length !== 128 || block.length !== 8) throw new RangeError('DES needs a 128-byte schedule and an 8-byte block');
  const hi = (block[0] << 24 | block[1] << 16 | block[2] << 8 | block[3]) >>> 0;
  const lo = (block[4] << 24 | block[5] << 16 | block[6] << 8 | block[7]) >>> 0;
  permute64(hi, lo, IP, halves);
  let l = halves[0];
  let r = halves[1];
  for (let round = 0; round < 16; round++) {
    const nr = l ^ feistel(r, ks, (decrypt ? 15 - round : round) * 8);
    l = r;
    r = nr;
  }
  // The last round is not swapped: the pre-output is R16 L16.
  permute64(r >>> 0, l >>> 0, FP, halves);
  const out = new Uint8Array(8);
  const a = halves[0];
  const b = halves[1];
  out[0] = a >>> 24; out[1] = a >>> 16; out[2] = a >>> 8; out[3] = a;
  out[4] = b >>> 24; out[5] = b >>> 16; out[6] = b >>> 8; out[7] = b;
  return out;
}

/** DES-encrypts one 8-byte block with an 8-byte key (parity bits ignored). */
export function desEncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  return desCryptWithSchedule(desKeySchedule(key), block, false);
}

/** DES-decrypts one 8-byte block. */
export function desDecryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  return desCryptWithSchedule(desKeySchedule(key), block, true);
}

/**
 * MS-CHAP's 56-bit key: 7 bytes spread over 8, seven key bits per byte in
 * the high bits, the low bit set for odd parity (DES ignores it).
 */
export function expandDesKey(key7: Uint8Array): Uint8Array {
  if (key7.length !== 7) throw new RangeError('expandDesKey needs 7 bytes');
  const bits = bitsOf(key7, 56);
  const out = new Uint8Array(8);
  for (let i = 0; i < 8; i++) {
    let v = 0;
    let ones = 0;
    for (let n = 0; n < 7; n++) {
      v = (v << 1) | bits[i * 7 + n];
      ones += bits[i * 7 + n];
    }
    out[i] = (v << 1) | ((ones & 1) ^ 1);
  }
  return out;
}
