// MS-CHAPv2 (RFC 2759): 16-byte challenge with our name; the Response value
// is PeerChallenge(16) Reserved(8) NT-Response(24) Flags(1); Success carries
// "S=<authenticator response> M=Access granted"; Failure "E=691 R=r C=<next
// challenge> V=3 M=Authentication failed". Keys: RFC 3079 master key.
import { constantTimeEqual, toHex } from '../../crypto/bytes.js';
import {
  authenticatorResponseFromHashHash, challengeHash, challengeResponse, checkAuthenticatorResponseFromHashHash,
  hashNtPasswordHash, ntPasswordHash, stripDomain,
} from '../../crypto/mschap.js';
import { getMasterKey } from '../../crypto/mppe-keys.js';
import type { ChapServerVariant } from './chap-server.js';
import type { ChapPeerVariant } from './chap-peer.js';

export const MSCHAPV2_CHALLENGE_LEN = 16;
export const MSCHAPV2_RESPONSE_LEN = 49;

/** Splits the 49-byte Response value. */
export function splitV2Response(value: Uint8Array): { peerChallenge: Uint8Array; ntResponse: Uint8Array; flags: number } {
  return { peerChallenge: value.subarray(0, 16), ntResponse: value.subarray(24, 48), flags: value[48] };
}

export function buildV2Response(peerChallenge: Uint8Array, ntResponse: Uint8Array): Uint8Array {
  const v = new Uint8Array(MSCHAPV2_RESPONSE_LEN);
  v.set(peerChallenge, 0);
  v.set(ntResponse, 24);
  return v;
}

export const mschapv2Server: ChapServerVariant = {
  method: 'mschapv2',
  challengeLength: MSCHAPV2_CHALLENGE_LEN,
  responseLength: MSCHAPV2_RESPONSE_LEN,
  retryInFailure: true,
  verify({ challenge, value, name, secret }) {
    const { peerChallenge, ntResponse } = splitV2Response(value);
    // Each derivation once per attempt (NT hash, its hash, ChallengeHash): the
    // set-up rate at 10,000 sessions is CPU-bound on both ends.
    const ch = challengeHash(peerChallenge, challenge, stripDomain(name));
    const hash = ntPasswordHash(secret);
    if (!constantTimeEqual(challengeResponse(ch, hash), ntResponse)) return { ok: false };
    const hh = hashNtPasswordHash(hash);
    return {
      ok: true,
      message: `${authenticatorResponseFromHashHash(hh, ntResponse, ch)} M=Access granted`,
      keys: { kind: 'mschapv2', masterKey: Uint8Array.from(getMasterKey(hh, ntResponse)) },
    };
  },
  failureMessage(retry, next) {
    return `E=691 R=${retry ? 1 : 0} C=${toHex(next, true)} V=3 M=Authentication failed`;
  },
};

export const mschapv2Peer: ChapPeerVariant = {
  method: 'mschapv2',
  challengeLength: MSCHAPV2_CHALLENGE_LEN,
  retryOnFailure: true,
  answer(_id, challenge, ctx) {
    const peerChallenge = ctx.random(16);
    const ch = challengeHash(peerChallenge, challenge, stripDomain(Buffer.from(ctx.user, 'utf8')));
    const hash = ntPasswordHash(ctx.password);
    const ntResponse = challengeResponse(ch, hash);
    return {
      value: buildV2Response(peerChallenge, ntResponse),
      check(message) {
        // Mutual authentication: the server must prove it knows our password too.
        const hh = hashNtPasswordHash(hash);
        if (!checkAuthenticatorResponseFromHashHash(hh, ntResponse, ch, message)) {
          return { ok: false, reason: 'server failed mutual authentication (bad S= authenticator response)' };
        }
        return { ok: true, keys: { kind: 'mschapv2', masterKey: Uint8Array.from(getMasterKey(hh, ntResponse)) } };
      },
    };
  },
};
