// Every crypto primitive and derivation against published vectors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { md4 } from '../../src/crypto/md4.js';
import { desDecryptBlock, desEncryptBlock, expandDesKey, SBOXES } from '../../src/crypto/des.js';
import { Rc4, rc4 } from '../../src/crypto/rc4.js';
import { Sha1 } from '../../src/crypto/sha1.js';
import * as ms from '../../src/crypto/mschap.js';
import * as mk from '../../src/crypto/mppe-keys.js';
import { seededRandom } from '../../src/util/random.js';
import { hex, toHexStr } from '../helpers/auth-fake.js';

const text = (s: string) => new TextEncoder().encode(s);

test('MD4: all seven RFC 1320 appendix A.5 vectors', () => {
  const v: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  for (const [m, d] of v) assert.equal(toHexStr(md4(text(m))), d, `MD4("${m}")`);
});

test('MD4: padding boundaries (55, 56, 63, 64, 119, 120 bytes) agree with a second block path', () => {
  // 55 bytes fit one block with the length; 56 need two. Compare to concatenation invariance of lengths.
  const lens = [55, 56, 63, 64, 119, 120];
  const seen = new Set<string>();
  for (const n of lens) {
    const d = toHexStr(md4(new Uint8Array(n).fill(0x61)));
    assert.equal(d.length, 32);
    seen.add(d);
  }
  assert.equal(seen.size, lens.length);
});

test('DES: FIPS 81 / textbook known-answer vectors', () => {
  const v: [string, string, string][] = [
    // key, plaintext, ciphertext
    ['0123456789abcdef', '4e6f772069732074', '3fa40e8a984d4815'], // FIPS 81 "Now is t"
    ['133457799bbcdff1', '0123456789abcdef', '85e813540f0ab405'],
    ['0e329232ea6d0d73', '8787878787878787', '0000000000000000'],
  ];
  for (const [k, p, c] of v) {
    assert.equal(toHexStr(desEncryptBlock(hex(k), hex(p))), c);
    assert.equal(toHexStr(desDecryptBlock(hex(k), hex(c))), p);
  }
});

test('DES: Rivest maintenance test (16 alternating encrypt/decrypt with the block as key)', () => {
  let x = hex('9474b8e8c73bca7d');
  for (let i = 0; i < 16; i++) x = i % 2 === 0 ? desEncryptBlock(x, x) : desDecryptBlock(x, x);
  assert.equal(toHexStr(x), '1b1a2ddb4c642438');
});

test('DES: every S-box row is a permutation of 0..15', () => {
  for (const box of SBOXES) {
    for (let r = 0; r < 4; r++) assert.deepEqual([...box.slice(r * 16, r * 16 + 16)].sort((a, b) => a - b), [...Array(16).keys()]);
  }
});

test('DES: MS-CHAP 7-byte key expansion spreads 56 bits with odd parity', () => {
  assert.equal(toHexStr(expandDesKey(hex('00000000000000'))), '0101010101010101');
  assert.equal(toHexStr(expandDesKey(hex('ffffffffffffff'))), 'fefefefefefefefe');
  // 0x44EBBA8D5312B8 (first 7 bytes of the RFC 2759 PasswordHash) regrouped 7 bits per byte:
  // 0100010|0111010|1110111|0101000|1101010|1001100|0100101|0111000, each + odd-parity bit
  // -> 0100010 1, 0111010 1, 1110111 1, 0101000 1, 1101010 1, 1001100 0, 0100101 0, 0111000 0
  assert.equal(toHexStr(expandDesKey(hex('44ebba8d5312b8'))), '4575ef51d5984a70');
  for (const b of expandDesKey(seededRandom(7)(7))) {
    let ones = 0;
    for (let i = 0; i < 8; i++) ones += (b >> i) & 1;
    assert.equal(ones % 2, 1, 'odd parity');
  }
});

// RFC 6229 section 2, keystream bytes at the given offsets (written as the RFC prints them).
const RFC6229: Record<string, Record<number, string>> = {
  '0102030405': {
    0: 'b2 39 63 05  f0 3d c0 27   cc c3 52 4a  0a 11 18 a8',
    16: '69 82 94 4f  18 fc 82 d5   89 c4 03 a4  7a 0d 09 19',
    240: '28 cb 11 32  c9 6c e2 86   42 1d ca ad  b8 b6 9e ae',
    1008: '45 12 90 48  e6 a0 ed 0b   56 b4 90 33  8f 07 8d a5',
    4080: '06 83 26 a2  11 84 16 d2   1f 9d 04 b2  cd 1c a0 50',
    4096: 'ff 25 b5 89  95 99 67 07   e5 1f bd f0  8b 34 d8 75',
  },
  '01020304050607': {
    0: '29 3f 02 d4  7f 37 c9 b6   33 f2 af 52  85 fe b4 6b',
    1520: 'd2 aa 90 2b  d4 2d 0d 7c   fd 34 0c d4  58 10 52 9f',
    4096: 'e7 4b 0b 97  31 22 7f d3   7c 0e c0 8a  47 dd d8 b8',
  },
  '0102030405060708': {
    0: '97 ab 8a 1b  f0 af b9 61   32 f2 f6 72  58 da 15 a8',
    768: '44 17 3a 10  3b 66 16 c5   d5 ad 1c ee  40 c8 63 d0',
    3072: 'bc 76 83 20  5d 4f 44 3d   c1 f2 9d da  33 15 c8 7b',
  },
  '0102030405060708090a0b0c0d0e0f10': {
    0: '9a c7 cc 9a  60 9d 1e f7   b2 93 28 99  cd e4 1b 97',
    16: '52 48 c4 95  90 14 12 6a   6e 8a 84 f1  1d 1a 9e 1c',
    240: '06 59 02 e4  b6 20 f6 cc   36 c8 58 9f  66 43 2f 2b',
    2048: '8a 44 12 64  11 ea a7 8b   d5 1e 8d 87  a8 87 9b f5',
    4096: 'a3 6a 4c 30  1a e8 ac 13   61 0c cb c1  22 56 ca cc',
  },
  '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20': {
    0: 'ea a6 bd 25  88 0b f9 3d   3f 5d 1e 4c  a2 61 1d 91',
    496: '91 cb 93 c7  87 96 4e 10   d9 52 7d 99  9c 6f 93 6b',
    4096: 'f3 e4 c0 a2  e0 2d 1d 01   f7 f0 a7 46  18 af 2b 48',
  },
  '833222772a': {
    0: '80 ad 97 bd  c9 73 df 8a   2e 87 9e 92  a4 97 ef da',
    240: 'fa a1 48 e9  90 46 18 1f   ec 6b 20 85  f3 b2 0e d9',
  },
};

test('RC4: RFC 6229 keystreams for 40/56/64/128/256-bit keys at several offsets', () => {
  for (const [key, rows] of Object.entries(RFC6229)) {
    const stream = rc4(hex(key), new Uint8Array(4112));
    for (const [off, bytes] of Object.entries(rows)) {
      assert.equal(toHexStr(stream.subarray(Number(off), Number(off) + 16)), bytes.replace(/\s+/g, ''), `key ${key} offset ${off}`);
    }
  }
});

test('RC4: streaming in odd-sized pieces equals one pass; in-place works; setKey resets', () => {
  const key = hex('0102030405060708090a0b0c0d0e0f10');
  const whole = rc4(key, new Uint8Array(4112));
  const c = new Rc4(key);
  const buf = new Uint8Array(4112);
  let off = 0;
  for (const n of [1, 7, 250, 1500, 3, 2351]) {
    c.process(buf, off, n, buf, off); // in place
    off += n;
  }
  assert.equal(off, 4112);
  assert.deepEqual(buf, whole);
  c.setKey(key, 0, key.length);
  const again = new Uint8Array(16);
  c.process(again, 0, 16, again, 0);
  assert.deepEqual(again, whole.subarray(0, 16));
  // Wikipedia's classic vector
  assert.equal(toHexStr(rc4(text('Key'), text('Plaintext'))), 'bbf316e8d940af0ad3');
});

test('SHA-1 (allocation-free): FIPS 180 vectors and agreement with node:crypto', () => {
  const d = (m: Uint8Array) => {
    const out = new Uint8Array(20);
    new Sha1().update(m).digestInto(out);
    return toHexStr(out);
  };
  assert.equal(d(text('abc')), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.equal(d(text('')), 'da39a3ee5e6b4b0d3255bfef95601890afd80709');
  assert.equal(d(text('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')), '84983e441c3bd26ebaae4aa1f95129e5e54670f1');
  const rnd = seededRandom(42);
  const s = new Sha1();
  for (let n = 0; n < 200; n++) {
    const m = rnd(n * 3);
    const out = new Uint8Array(20);
    s.update(m.subarray(0, n)).update(m, n).digestInto(out); // split update, reuse after digest
    assert.equal(toHexStr(out), createHash('sha1').update(m).digest('hex'), `length ${m.length}`);
  }
});

// RFC 2759 §9.2
const USER = text('User');
const PASSWORD = 'clientPass';
const AUTH_CHALLENGE = hex('5B5D7C7D7B3F2F3E3C2C602132262628');
const PEER_CHALLENGE = hex('21402324255E262A28295F2B3A337C7E');
const NT_RESPONSE = hex('82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF');

test('MS-CHAPv2: RFC 2759 §9.2 hash example', () => {
  assert.equal(toHexStr(ms.challengeHash(PEER_CHALLENGE, AUTH_CHALLENGE, USER)), 'd02e4386bce91226');
  const hash = ms.ntPasswordHash(PASSWORD);
  assert.equal(toHexStr(hash), '44ebba8d5312b8d611474411f56989ae');
  assert.equal(toHexStr(ms.hashNtPasswordHash(hash)), '41c00c584bd2d91c4017a2a12fa59f3f');
  assert.equal(toHexStr(ms.challengeResponse(hex('D02E4386BCE91226'), hash)), toHexStr(NT_RESPONSE));
  assert.deepEqual(ms.generateNtResponse(AUTH_CHALLENGE, PEER_CHALLENGE, USER, PASSWORD), NT_RESPONSE);
  const s = ms.generateAuthenticatorResponse(PASSWORD, NT_RESPONSE, PEER_CHALLENGE, AUTH_CHALLENGE, USER);
  assert.equal(s, 'S=407A5589115FD0D6209F510FE9C04566932CDA56');
  assert.ok(ms.checkAuthenticatorResponse(PASSWORD, NT_RESPONSE, PEER_CHALLENGE, AUTH_CHALLENGE, USER, s + ' M=Access granted'));
  assert.ok(ms.checkAuthenticatorResponse(PASSWORD, NT_RESPONSE, PEER_CHALLENGE, AUTH_CHALLENGE, USER, s.toLowerCase().replace('s=', 'S=')));
  assert.ok(!ms.checkAuthenticatorResponse(PASSWORD, NT_RESPONSE, PEER_CHALLENGE, AUTH_CHALLENGE, USER, 'S=407A5589115FD0D6209F510FE9C04566932CDA57'));
  assert.ok(!ms.checkAuthenticatorResponse('wrong', NT_RESPONSE, PEER_CHALLENGE, AUTH_CHALLENGE, USER, s));
  assert.ok(!ms.checkAuthenticatorResponse(PASSWORD, NT_RESPONSE, PEER_CHALLENGE, AUTH_CHALLENGE, USER, ''));
});

test('MS-CHAP v1: RFC 2433 appendix example (password "MyPw")', () => {
  assert.equal(toHexStr(ms.ntPasswordHash('MyPw')), 'fc156af7edcd6c0edde3337d427f4eac');
  assert.equal(toHexStr(ms.ntChallengeResponse(hex('102DB5DF085D3041'), 'MyPw')), '4e9d3c8f9cfd385d5bf4d3246791956ca4c351ab409a3d61');
});

test('MS-CHAPv2: the domain is stripped from the user name', () => {
  assert.equal(new TextDecoder().decode(ms.stripDomain(text('CORP\\User'))), 'User');
  assert.equal(new TextDecoder().decode(ms.stripDomain(text('User'))), 'User');
});

test('MPPE keys: RFC 3079 §3.5 sample derivations (128-bit and 40-bit)', () => {
  const hh = hex('41C00C584BD2D91C4017A2A12FA59F3F');
  const master = mk.getMasterKey(hh, NT_RESPONSE);
  assert.equal(toHexStr(master), 'fdece3717a8c838cb388e527ae3cdd31');
  const serverSend = mk.getAsymmetricStartKey(master, 16, true, true);
  assert.equal(toHexStr(serverSend), '8b7cdc149b993a1ba118cb153f56dccb');
  assert.deepEqual(mk.getAsymmetricStartKey(master, 16, false, false), serverSend, 'client receive = server send');
  const clientSend = mk.getAsymmetricStartKey(master, 16, true, false);
  assert.equal(toHexStr(clientSend), 'd5f0e9521e3ea9589645e86051c82226');
  assert.deepEqual(mk.getAsymmetricStartKey(master, 16, false, true), clientSend, 'server receive = client send');
  // 128-bit: initial session key and the "test message" encryption
  const s128 = mk.initialSessionKey(serverSend, 128);
  assert.equal(toHexStr(s128), '405cb2247a7956e6e211007ae27b22d4');
  assert.equal(toHexStr(rc4(s128, text('test message'))), '81848317df68846272fb5abe');
  // 40-bit: 8-byte start key, salted with D1 26 9E
  const start40 = mk.getAsymmetricStartKey(master, 8, true, true);
  assert.equal(toHexStr(start40), '8b7cdc149b993a1b');
  const s40 = mk.initialSessionKey(start40, 40);
  assert.equal(toHexStr(s40), 'd1269ec49fa62e3e');
  assert.equal(toHexStr(rc4(s40, text('test message'))), '929137917e5803d668d75898');
});

test('MPPE keys: 56-bit salt, rekey is SHA then RC4 self-encryption, mppeStartKeys roles mirror', () => {
  const start = hex('8B7CDC149B993A1BA118CB153F56DCCB');
  const s56 = mk.initialSessionKey(start, 56);
  assert.equal(s56[0], 0xd1);
  assert.equal(toHexStr(s56.subarray(1)), toHexStr(mk.getNewKeyFromSha(start, start, 8).subarray(1)));
  const interim = mk.getNewKeyFromSha(start, s56, 8);
  const next = rc4(interim, interim);
  next[0] = 0xd1;
  assert.deepEqual(mk.nextSessionKey(start, s56, 56), next);

  const material = { kind: 'mschapv2' as const, masterKey: hex('FDECE3717A8C838CB388E527AE3CDD31') };
  const server = mk.mppeStartKeys(material, 'server', 128);
  const client = mk.mppeStartKeys(material, 'client', 128);
  assert.equal(toHexStr(server.send), '8b7cdc149b993a1ba118cb153f56dccb');
  assert.equal(toHexStr(server.recv), 'd5f0e9521e3ea9589645e86051c82226');
  assert.deepEqual(client.send, server.recv);
  assert.deepEqual(client.recv, server.send);
  assert.equal(mk.mppeStartKeys(material, 'server', 40).send.length, 16, 'always 16 bytes (kernel format)');
});

test('MPPE keys: MS-CHAP v1 start key is SHA1(hh | hh | challenge), same both ways', () => {
  const hh = ms.hashNtPasswordHash(ms.ntPasswordHash('MyPw'));
  const challenge = hex('102DB5DF085D3041');
  const expect = createHash('sha1').update(hh).update(hh).update(challenge).digest().subarray(0, 16);
  const k = mk.mppeStartKeys({ kind: 'mschap', passwordHashHash: hh, challenge, ntResponse: new Uint8Array(24) }, 'server', 128);
  assert.equal(toHexStr(k.send), expect.toString('hex'));
  assert.deepEqual(k.recv, k.send);
});
