// DES against the 120 single-bit known-answer vectors of test/fixtures/crypto/des-kat.txt
// (every plaintext bit and every key bit through IP/FP, E, the S-boxes, P, PC1 and PC2),
// through both the one-shot functions and an explicit key schedule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { desCryptWithSchedule, desDecryptBlock, desEncryptBlock, desKeySchedule } from '../../src/crypto/des.js';
import { hex, toHexStr } from '../helpers/auth-fake.js';

const vectors = readFileSync(new URL('../fixtures/crypto/des-kat.txt', import.meta.url), 'latin1')
  .split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => l.trim().split(/\s+/));

test('DES KAT fixture: 64 variable-plaintext + 56 variable-key vectors, NIST SP 800-17 anchors', () => {
  assert.equal(vectors.length, 120);
  // Published first entries of SP 800-17 tables B.1 and B.2.
  assert.deepEqual(vectors[0], ['0101010101010101', '8000000000000000', '95f8a5e5dd31d900']);
  assert.deepEqual(vectors[64], ['8001010101010101', '0000000000000000', '95a8d72813daa94d']);
});

test('DES: every KAT vector encrypts and decrypts', () => {
  for (const [k, p, c] of vectors) {
    assert.equal(toHexStr(desEncryptBlock(hex(k), hex(p))), c, `E(${k}, ${p})`);
    assert.equal(toHexStr(desDecryptBlock(hex(k), hex(c))), p, `D(${k}, ${c})`);
  }
});

test('DES: one key schedule serves encryption and decryption of several blocks', () => {
  const ks = desKeySchedule(hex('0101010101010101'));
  for (const [, p, c] of vectors.slice(0, 64)) {
    assert.equal(toHexStr(desCryptWithSchedule(ks, hex(p), false)), c);
    assert.equal(toHexStr(desCryptWithSchedule(ks, hex(c), true)), p);
  }
  // Round keys are six-bit groups; parity bits do not matter (0x01 vs 0x00 bytes).
  assert.ok(ks.every((g) => g < 64));
  assert.deepEqual(desKeySchedule(hex('0000000000000000')), ks);
});

test('DES: wrong sizes are RangeErrors, not wrong answers', () => {
  assert.throws(() => desKeySchedule(new Uint8Array(7)), RangeError);
  assert.throws(() => desCryptWithSchedule(new Uint8Array(127), new Uint8Array(8), false), RangeError);
  assert.throws(() => desCryptWithSchedule(new Uint8Array(128), new Uint8Array(9), false), RangeError);
  assert.throws(() => desEncryptBlock(new Uint8Array(8), new Uint8Array(7)), RangeError);
});
