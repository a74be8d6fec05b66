// MS-CHAP v1 (RFC 2433): 8-byte challenge; the Response value is
// LM-Response(24) NT-Response(24) Flags(1), Flags 1 = use the NT response.
// We never accept LAN Manager responses (pppd's default without MSLANMAN).
// Keys per RFC 3079 §2 from the NT password hash hash and the challenge.
import { constantTimeEqual, toHex } from '../../crypto/bytes.js';
import { challengeResponse, hashNtPasswordHash, ntPasswordHash } from '../../crypto/mschap.js';
import type { ChapServerVariant } from './chap-server.js';
import type { ChapPeerVariant } from './chap-peer.js';

export const MSCHAP_CHALLENGE_LEN = 8;
export const MSCHAP_RESPONSE_LEN = 49;

export const mschapServer: ChapServerVariant = {
  method: 'mschap',
  challengeLength: MSCHAP_CHALLENGE_LEN,
  responseLength: MSCHAP_RESPONSE_LEN,
  retryInFailure: true,
  verify({ challenge, value, secret }) {
    if (value[48] !== 1) return { ok: false, why: 'LAN Manager response refused' };
    const hash = ntPasswordHash(secret);
    const ntResponse = value.subarray(24, 48);
    if (!constantTimeEqual(challengeResponse(challenge, hash), ntResponse)) return { ok: false };
    return {
      ok: true,
      message: 'Access granted',
      keys: {
        kind: 'mschap',
        passwordHashHash: hashNtPasswordHash(hash),
        challenge: Uint8Array.from(challenge),
        ntResponse: Uint8Array.from(ntResponse),
      },
    };
  },
  failureMessage(retry, next) {
    return retry ? `E=691 R=1 C=${toHex(next, true)}` : 'E=691 R=0';
  },
};

export const mschapPeer: ChapPeerVariant = {
  method: 'mschap',
  challengeLength: MSCHAP_CHALLENGE_LEN,
  retryOnFailure: true,
  answer(_id, challenge, ctx) {
    const hash = ntPasswordHash(ctx.password);
    const ntResponse = challengeResponse(challenge, hash);
    const value = new Uint8Array(MSCHAP_RESPONSE_LEN);
    value.set(ntResponse, 24); // LM response left zero, as pppd sends it
    value[48] = 1;
    return {
      value,
      check: () => ({
        ok: true,
        keys: {
          kind: 'mschap',
          passwordHashHash: hashNtPasswordHash(hash),
          challenge: Uint8Array.from(challenge),
          ntResponse,
        },
      }),
    };
  },
};
