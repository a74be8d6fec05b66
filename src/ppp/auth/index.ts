// Factories the PPP link calls once LCP has agreed on an auth protocol.
import type { AuthMethod, Authenticator, AuthenticatorContext, PeerAuthContext, PeerAuthenticator } from './types.js';
import { ChapAuthenticator, type ChapServerVariant } from './chap-server.js';
import { ChapPeer, type ChapPeerVariant } from './chap-peer.js';
import { mschapv2Peer, mschapv2Server } from './mschapv2.js';
import { mschapPeer, mschapServer } from './mschap.js';
import { chapMd5Peer, chapMd5Server } from './chap-md5.js';
import { PapAuthenticator, PapPeer } from './pap.js';

export type { AuthMethod, Authenticator, AuthenticatorContext, PeerAuthContext, PeerAuthenticator } from './types.js';
export { authOptionFor } from './types.js';

const SERVER: Record<Exclude<AuthMethod, 'pap'>, ChapServerVariant> = {
  mschapv2: mschapv2Server,
  mschap: mschapServer,
  'chap-md5': chapMd5Server,
};
const PEER: Record<Exclude<AuthMethod, 'pap'>, ChapPeerVariant> = {
  mschapv2: mschapv2Peer,
  mschap: mschapPeer,
  'chap-md5': chapMd5Peer,
};

/** Server side: we demand that the peer authenticates. Call start() when the link enters the auth phase. */
export function createAuthenticator(method: AuthMethod, ctx: AuthenticatorContext): Authenticator {
  return method === 'pap' ? new PapAuthenticator(ctx) : new ChapAuthenticator(SERVER[method], ctx);
}

/**
 * Client side: we prove who we are. CHAP peers wait for a Challenge; the PAP
 * peer sends its request immediately (from this call).
 */
export function createPeerAuthenticator(method: AuthMethod, ctx: PeerAuthContext): PeerAuthenticator {
  return method === 'pap' ? new PapPeer(ctx) : new ChapPeer(PEER[method], ctx);
}
