// MPPE key derivation (RFC 3079), the keys both ends compute from the
// authentication. Not on a hot path except getNewKeyFromSha, which the codec
// reimplements allocation-free (see mppe.ts).
import type { MppeKeyMaterial } from '../ppp/auth/types.js';
import { ascii } from './bytes.js';
import { rc4 } from './rc4.js';
import { Sha1 } from './sha1.js';

export type MppeBits = 40 | 56 | 128;

export const SHA_PAD1 = new Uint8Array(40);
export const SHA_PAD2 = new Uint8Array(40).fill(0xf2);
const MASTER_MAGIC = ascii('This is the MPPE Master Key');
const MAGIC2 = ascii('On the client side, this is the send key; on the server side, it is the receive key.');
const MAGIC3 = ascii('On the client side, this is the receive key; on the server side, it is the send key.');

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

export function keyLength(bits: MppeBits): 8 | 16 {
  return bits === 128 ? 16 : 8;
}

/** MS-CHAPv2: SHA1(PasswordHashHash | NT-Response | Magic1), 16 bytes. */
export function getMasterKey(passwordHashHash: Uint8Array, ntResponse: Uint8Array): Uint8Array {
  return sha1(passwordHashHash, ntResponse, MASTER_MAGIC).subarray(0, 16);
}

/**
 * MS-CHAPv2 start key. The server sends with Magic3 and receives with Magic2;
 * the client the other way round.
 */
export function getAsymmetricStartKey(masterKey: Uint8Array, keyLen: number, isSend: boolean, isServer: boolean): Uint8Array {
  const magic = isSend === isServer ? MAGIC3 : MAGIC2;
  return sha1(masterKey.subarray(0, 16), SHA_PAD1, magic, SHA_PAD2).subarray(0, keyLen);
}

/** SHA1(StartKey | Pad1 | SessionKey | Pad2), keyLen bytes (RFC 3079 §3.4 / RFC 3078 §7.3). */
export function getNewKeyFromSha(startKey: Uint8Array, sessionKey: Uint8Array, keyLen: number): Uint8Array {
  return sha1(startKey.subarray(0, keyLen), SHA_PAD1, sessionKey.subarray(0, keyLen), SHA_PAD2).subarray(0, keyLen);
}

/** Forces the 40-bit (0xD1 0x26 0x9E) or 56-bit (0xD1) salt onto the first bytes. */
export function reduceKey(key: Uint8Array, bits: MppeBits): void {
  if (bits === 40) { key[0] = 0xd1; key[1] = 0x26; key[2] = 0x9e; }
  else if (bits === 56) key[0] = 0xd1;
}

/**
 * The first session key from a start key, as Linux ppp_mppe does it: the SHA
 * step alone (the RC4 self-encryption applies to later rekeys only).
 */
export function initialSessionKey(startKey: Uint8Array, bits: MppeBits): Uint8Array {
  const k = Uint8Array.from(getNewKeyFromSha(startKey, startKey, keyLength(bits)));
  reduceKey(k, bits);
  return k;
}

/** One rekey (RFC 3078 §7.3): RC4 of the SHA interim key under itself, then the salt. */
export function nextSessionKey(startKey: Uint8Array, sessionKey: Uint8Array, bits: MppeBits): Uint8Array {
  const len = keyLength(bits);
  const interim = getNewKeyFromSha(startKey, sessionKey, len);
  const k = rc4(interim, interim);
  reduceKey(k, bits);
  return k;
}

/** MS-CHAP v1 (RFC 3079 §2.4, as pppd does it with the NT hash): SHA1(hh | hh | challenge), 16 bytes. */
export function getStartKeyV1(passwordHashHash: Uint8Array, challenge: Uint8Array): Uint8Array {
  return sha1(passwordHashHash, passwordHashHash, challenge).subarray(0, 16);
}

/**
 * Start keys for one end of the link. Always 16 bytes (what the kernel's
 * PPPIOCSCOMPRESS takes); 40/56-bit MPPE uses the first 8. MS-CHAP v1 keys
 * are the same both ways.
 */
export function mppeStartKeys(
  material: MppeKeyMaterial, role: 'server' | 'client', bits: MppeBits,
): { send: Uint8Array; recv: Uint8Array } {
  void bits; // The start keys do not depend on the strength; the codec truncates and salts.
  if (material.kind === 'mschapv2') {
    const isServer = role === 'server';
    return {
      send: Uint8Array.from(getAsymmetricStartKey(material.masterKey, 16, true, isServer)),
      recv: Uint8Array.from(getAsymmetricStartKey(material.masterKey, 16, false, isServer)),
    };
  }
  const k = getStartKeyV1(material.passwordHashHash, material.challenge);
  return { send: Uint8Array.from(k), recv: Uint8Array.from(k) };
}
