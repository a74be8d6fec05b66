// The MS-CHAPv2 helpers the authenticator and the peer use to compute each
// derivation once per attempt (PasswordHashHash and ChallengeHash passed in),
// against RFC 2759 §9.2; and the module's shared SHA-1 against node:crypto
// over many back-to-back calls of different lengths (no state carried over).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as ms from '../../src/crypto/mschap.js';
import * as mk from '../../src/crypto/mppe-keys.js';
import { seededRandom } from '../../src/util/random.js';
import { hex, toHexStr } from '../helpers/auth-fake.js';

const USER = new TextEncoder().encode('User');
const AUTH_CHALLENGE = hex('5B5D7C7D7B3F2F3E3C2C602132262628');
const PEER_CHALLENGE = hex('21402324255E262A28295F2B3A337C7E');
const NT_RESPONSE = hex('82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF');
const HASH_HASH = hex('41C00C584BD2D91C4017A2A12FA59F3F');
const CHALLENGE_HASH = hex('D02E4386BCE91226');
const S = 'S=407A5589115FD0D6209F510FE9C04566932CDA56';

test('authenticatorResponseFromHashHash: RFC 2759 §9.2', () => {
  assert.equal(ms.authenticatorResponseFromHashHash(HASH_HASH, NT_RESPONSE, CHALLENGE_HASH), S);
});

test('checkAuthenticatorResponseFromHashHash: accepts S= (any case, M= after it), rejects one wrong digit or key', () => {
  assert.ok(ms.checkAuthenticatorResponseFromHashHash(HASH_HASH, NT_RESPONSE, CHALLENGE_HASH, `${S} M=Access granted`));
  assert.ok(ms.checkAuthenticatorResponseFromHashHash(HASH_HASH, NT_RESPONSE, CHALLENGE_HASH, 'S=' + S.slice(2).toLowerCase()));
  assert.ok(!ms.checkAuthenticatorResponseFromHashHash(HASH_HASH, NT_RESPONSE, CHALLENGE_HASH, S.slice(0, -1) + '7'));
  const otherHh = Uint8Array.from(HASH_HASH);
  otherHh[0] ^= 1;
  assert.ok(!ms.checkAuthenticatorResponseFromHashHash(otherHh, NT_RESPONSE, CHALLENGE_HASH, S));
  assert.ok(!ms.checkAuthenticatorResponseFromHashHash(HASH_HASH, NT_RESPONSE, CHALLENGE_HASH, ''));
});

test('shared SHA-1: challengeHash and getMasterKey equal node:crypto for 200 random inputs in a row', () => {
  const rnd = seededRandom(2759);
  for (let i = 0; i < 200; i++) {
    const pc = rnd(16);
    const ac = rnd(16);
    const name = rnd(i % 90); // 32..121 bytes in all: one and two SHA-1 blocks
    const want = createHash('sha1').update(pc).update(ac).update(name).digest().subarray(0, 8);
    assert.equal(toHexStr(ms.challengeHash(pc, ac, name)), want.toString('hex'));
    const hh = rnd(16);
    const nt = rnd(24);
    const master = createHash('sha1').update(hh).update(nt).update('This is the MPPE Master Key', 'latin1').digest().subarray(0, 16);
    assert.equal(toHexStr(mk.getMasterKey(hh, nt)), master.toString('hex'));
  }
});
