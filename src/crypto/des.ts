// DES (FIPS 46-3), single block ECB: MS-CHAP's ChallengeResponse needs it and
// Node 20's OpenSSL only has it through the legacy provider. A few blocks per
// authentication, so clarity wins over speed: tables straight from FIPS 46-3,
// the 64-bit block held as two 32-bit halves.

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
const E = [
  32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
  16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
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

function permute(bits: Uint8Array, table: readonly number[]): Uint8Array {
  const out = new Uint8Array(table.length);
  for (let n = 0; n < table.length; n++) out[n] = bits[table[n] - 1];
  return out;
}

/** The 16 round keys (48 bits each, as bit arrays) of an 8-byte key; parity bits ignored. */
function roundKeys(key: Uint8Array): Uint8Array[] {
  const cd = permute(bitsOf(key, 64), PC1);
  let c = Array.from(cd.subarray(0, 28));
  let d = Array.from(cd.subarray(28, 56));
  const keys: Uint8Array[] = [];
  for (const s of SHIFTS) {
    c = c.slice(s).concat(c.slice(0, s));
    d = d.slice(s).concat(d.slice(0, s));
    keys.push(permute(Uint8Array.from(c.concat(d)), PC2));
  }
  return keys;
}

function feistel(r: Uint8Array, k: Uint8Array): Uint8Array {
  const e = permute(r, E);
  const out = new Uint8Array(32);
  for (let box = 0; box < 8; box++) {
    const b = box * 6;
    const x = (e[b] ^ k[b]) << 5 | (e[b + 1] ^ k[b + 1]) << 4 | (e[b + 2] ^ k[b + 2]) << 3 |
      (e[b + 3] ^ k[b + 3]) << 2 | (e[b + 4] ^ k[b + 4]) << 1 | (e[b + 5] ^ k[b + 5]);
    // Row from the outer bits, column from the inner four.
    const v = SBOXES[box][((x >> 4) & 2 | (x & 1)) * 16 + ((x >> 1) & 15)];
    for (let n = 0; n < 4; n++) out[box * 4 + n] = (v >> (3 - n)) & 1;
  }
  return permute(out, P);
}

function crypt(key: Uint8Array, block: Uint8Array, decrypt: boolean): Uint8Array {
  if (key.length !== 8 || block.length !== 8) throw new RangeError('DES needs an 8-byte key and block');
  const keys = roundKeys(key);
  const b = permute(bitsOf(block, 64), IP);
  let l = b.subarray(0, 32);
  let r = b.subarray(32, 64);
  for (let round = 0; round < 16; round++) {
    const f = feistel(r, keys[decrypt ? 15 - round : round]);
    const nr = new Uint8Array(32);
    for (let n = 0; n < 32; n++) nr[n] = l[n] ^ f[n];
    l = r;
    r = nr;
  }
  const pre = new Uint8Array(64);
  pre.set(r, 0);
  pre.set(l, 32);
  const outBits = permute(pre, FP);
  const out = new Uint8Array(8);
  for (let n = 0; n < 64; n++) out[n >> 3] |= outBits[n] << (7 - (n & 7));
  return out;
}

/** DES-encrypts one 8-byte block with an 8-byte key (parity bits ignored). */
export function desEncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  return crypt(key, block, false);
}

/** DES-decrypts one 8-byte block. */
export function desDecryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  return crypt(key, block, true);
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
