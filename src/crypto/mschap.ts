// MS-CHAP v1 (RFC 2433) and v2 (RFC 2759) derivations. Pure functions of
// bytes; the password is a JS string encoded as UTF-16LE like Windows does.
import { md4 } from './md4.js';
import { Sha1 } from './sha1.js';
import { desCryptWithSchedule, desKeySchedule, expandDesKey } from './des.js';
import { ascii, concatBytes, constantTimeEqual, toHex } from './bytes.js';

// One JS SHA-1 for the whole module (calls are synchronous): node:crypto's
// createHash costs twice as much for these few-block inputs, and several run
// per session set-up on both ends.
const hasher = new Sha1();

function sha1(...parts: Uint8Array[]): Uint8Array {
  hasher.reset();
  for (const p of parts) hasher.update(p);
  const out = new Uint8Array(20);
  hasher.digestInto(out);
  return out;
}

function utf16le(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'utf16le'));
}

/** MD4 of the UTF-16LE password (16 bytes). */
export function ntPasswordHash(password: string): Uint8Array {
  return md4(utf16le(password));
}

/** MD4 of the password hash (16 bytes). */
export function hashNtPasswordHash(passwordHash: Uint8Array): Uint8Array {
  return md4(passwordHash);
}

/** SHA1(PeerChallenge | AuthenticatorChallenge | UserName), first 8 bytes. */
export function challengeHash(peerChallenge: Uint8Array, authChallenge: Uint8Array, userName: Uint8Array): Uint8Array {
  return sha1(peerChallenge, authChallenge, userName).subarray(0, 8);
}

/** Three DES encryptions of the 8-byte challenge under the zero-padded 21-byte hash (24 bytes). */
export function challengeResponse(challenge: Uint8Array, passwordHash: Uint8Array): Uint8Array {
  const z = new Uint8Array(21);
  z.set(passwordHash.subarray(0, 16));
  const out = new Uint8Array(24);
  for (let i = 0; i < 3; i++) {
    const ks = desKeySchedule(expandDesKey(z.subarray(i * 7, i * 7 + 7)));
    out.set(desCryptWithSchedule(ks, challenge, false), i * 8);
  }
  return out;
}

/** MS-CHAPv2 NT-Response (24 bytes). userName is the name without any DOMAIN\ prefix. */
export function generateNtResponse(
  authChallenge: Uint8Array, peerChallenge: Uint8Array, userName: Uint8Array, password: string,
): Uint8Array {
  return ntResponseFromHash(authChallenge, peerChallenge, userName, ntPasswordHash(password));
}

export function ntResponseFromHash(
  authChallenge: Uint8Array, peerChallenge: Uint8Array, userName: Uint8Array, passwordHash: Uint8Array,
): Uint8Array {
  return challengeResponse(challengeHash(peerChallenge, authChallenge, userName), passwordHash);
}

const AUTH_MAGIC1 = ascii('Magic server to client signing constant');
const AUTH_MAGIC2 = ascii('Pad to make it do more than one iteration');

/** "S=" + 40 upper-case hex digits (RFC 2759 §8.7). */
export function generateAuthenticatorResponse(
  password: string, ntResponse: Uint8Array, peerChallenge: Uint8Array, authChallenge: Uint8Array, userName: Uint8Array,
): string {
  return authenticatorResponseFromHashHash(
    hashNtPasswordHash(ntPasswordHash(password)), ntResponse, challengeHash(peerChallenge, authChallenge, userName),
  );
}

/**
 * The same from PasswordHashHash and the 8-byte ChallengeHash, for callers
 * that already hold both (verification computes each once per attempt).
 */
export function authenticatorResponseFromHashHash(
  passwordHashHash: Uint8Array, ntResponse: Uint8Array, challengeHash8: Uint8Array,
): string {
  const digest = sha1(passwordHashHash, ntResponse, AUTH_MAGIC1);
  return 'S=' + toHex(sha1(digest, challengeHash8, AUTH_MAGIC2), true);
}

/** Peer side: does the server's "S=..." prove it knows our password? */
export function checkAuthenticatorResponse(
  password: string, ntResponse: Uint8Array, peerChallenge: Uint8Array, authChallenge: Uint8Array,
  userName: Uint8Array, received: string,
): boolean {
  const expected = generateAuthenticatorResponse(password, ntResponse, peerChallenge, authChallenge, userName);
  return constantTimeEqual(ascii(expected), ascii(received.slice(0, 42).toUpperCase()));
}

/** checkAuthenticatorResponse from values the peer computed for its Response already. */
export function checkAuthenticatorResponseFromHashHash(
  passwordHashHash: Uint8Array, ntResponse: Uint8Array, challengeHash8: Uint8Array, received: string,
): boolean {
  const expected = authenticatorResponseFromHashHash(passwordHashHash, ntResponse, challengeHash8);
  return constantTimeEqual(ascii(expected), ascii(received.slice(0, 42).toUpperCase()));
}

/** MS-CHAP v1 NT response: ChallengeResponse(challenge, NtPasswordHash). */
export function ntChallengeResponse(challenge: Uint8Array, password: string): Uint8Array {
  return challengeResponse(challenge, ntPasswordHash(password));
}

/** The user part of "DOMAIN\user" (MS-CHAPv2 hashes the name without the domain). */
export function stripDomain(name: Uint8Array): Uint8Array {
  const i = name.lastIndexOf(0x5c);
  return i >= 0 ? name.subarray(i + 1) : name;
}

export { concatBytes };
