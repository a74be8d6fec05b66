// CHAP with MD5 (RFC 1994): Response = MD5(id | secret | challenge).
import { createHash } from 'node:crypto';
import { constantTimeEqual } from '../../crypto/bytes.js';
import type { ChapServerVariant } from './chap-server.js';
import type { ChapPeerVariant } from './chap-peer.js';

export const MD5_CHALLENGE_LEN = 16;

export function chapMd5Response(id: number, secret: string, challenge: Uint8Array): Uint8Array {
  return new Uint8Array(
    createHash('md5').update(Uint8Array.of(id & 0xff)).update(Buffer.from(secret, 'utf8')).update(challenge).digest(),
  );
}

export const chapMd5Server: ChapServerVariant = {
  method: 'chap-md5',
  challengeLength: MD5_CHALLENGE_LEN,
  responseLength: 16,
  retryInFailure: false,
  verify({ id, challenge, value, secret }) {
    return constantTimeEqual(chapMd5Response(id, secret, challenge), value)
      ? { ok: true, message: 'Access granted' }
      : { ok: false };
  },
  failureMessage: () => 'Authentication failed',
};

export const chapMd5Peer: ChapPeerVariant = {
  method: 'chap-md5',
  challengeLength: 0,
  retryOnFailure: false,
  answer(id, challenge, ctx) {
    return { value: chapMd5Response(id, ctx.password, challenge), check: () => ({ ok: true }) };
  },
};
