// Byte-exact MS-CHAPv2 packets built from the RFC 2759 §9.2 example values
// (UserName "User", Password "clientPass"), our server name "pptpd", id 0x2A.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeChap } from '../../src/ppp/auth/chap-packet.js';
import { pipe } from '../helpers/auth-pipe.js';
import { entry, hex, scriptedRandom, settle, toHexStr } from '../helpers/auth-fake.js';

const AUTH_CHALLENGE = hex('5B5D7C7D7B3F2F3E3C2C602132262628');
const PEER_CHALLENGE = hex('21402324255E262A28295F2B3A337C7E');

const CHALLENGE = hex(`
  01 2a 00 1a                                       # Challenge, id 0x2A, length 26
  10                                                # value-size 16
  5b 5d 7c 7d 7b 3f 2f 3e 3c 2c 60 21 32 26 26 28   # AuthenticatorChallenge
  70 70 74 70 64                                    # name "pptpd"
`);

const RESPONSE = hex(`
  02 2a 00 3a                                       # Response, id 0x2A, length 58
  31                                                # value-size 49
  21 40 23 24 25 5e 26 2a 28 29 5f 2b 3a 33 7c 7e   # PeerChallenge
  00 00 00 00 00 00 00 00                           # reserved
  82 30 9e cd 8d 70 8b 5e a0 8f aa 39 81 cd 83 54   # NT-Response (24)
  42 33 11 4a 3d 85 d6 df
  00                                                # flags
  55 73 65 72                                       # name "User"
`);

const SUCCESS = hex(`
  03 2a 00 3f                                       # Success, id 0x2A, length 63
  53 3d 34 30 37 41 35 35 38 39 31 31 35 46 44 30   # "S=407A5589115FD0"
  44 36 32 30 39 46 35 31 30 46 45 39 43 30 34 35   # "D6209F510FE9C045"
  36 36 39 33 32 43 44 41 35 36                     # "66932CDA56"
  20 4d 3d 41 63 63 65 73 73 20 67 72 61 6e 74 65   # " M=Access grante"
  64                                                # "d"
`);

const FAILURE_FINAL = hex(`
  04 2a 00 4c                                       # Failure, id 0x2A, length 76
  45 3d 36 39 31 20 52 3d 30 20                     # "E=691 R=0 "
  43 3d 30 30 30 31 30 32 30 33 30 34 30 35 30 36   # "C=00010203040506"
  30 37 30 38 30 39 30 41 30 42 30 43 30 44 30 45   # "0708090A0B0C0D0E"
  30 46 20 56 3d 33 20                              # "0F V=3 "
  4d 3d 41 75 74 68 65 6e 74 69 63 61 74 69 6f 6e   # "M=Authentication"
  20 66 61 69 6c 65 64                              # " failed"
`);

function server(secret: string) {
  return pipe('mschapv2', {
    noPeer: true,
    secrets: [entry('User', secret)],
    serverRandom: scriptedRandom(Uint8Array.of(0x2a), AUTH_CHALLENGE, Uint8Array.from({ length: 16 }, (_, i) => i)),
  });
}

test('fixtures decode as the RFC values', () => {
  const r = decodeChap(RESPONSE);
  assert.equal(r.code, 2);
  assert.equal(r.id, 0x2a);
  if (r.code !== 2) return;
  assert.equal(r.value.length, 49);
  assert.equal(toHexStr(r.value.subarray(24, 48)), '82309ecd8d708b5ea08faa3981cd83544233114a3d85d6df');
  assert.equal(Buffer.from(r.name).toString(), 'User');
  const s = decodeChap(SUCCESS);
  assert.equal(s.code, 3);
  if (s.code === 3) assert.equal(Buffer.from(s.message).toString(), 'S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Access granted');
});

test('server: sends the Challenge fixture and answers the Response fixture with the Success fixture', async () => {
  const p = server('clientPass');
  assert.equal(toHexStr(p.fromServer[0]), toHexStr(CHALLENGE));
  p.server.input(RESPONSE);
  await settle();
  assert.equal(toHexStr(p.fromServer[1]), toHexStr(SUCCESS));
  const s = p.serverDone[0];
  assert.ok(s?.ok);
  assert.deepEqual(s.keys, { kind: 'mschapv2', masterKey: hex('FDECE3717A8C838CB388E527AE3CDD31') });
});

test('server: the same Response with the wrong secret gets the final Failure fixture', async () => {
  const p = server('not the password');
  p.server.input(RESPONSE);
  await settle();
  assert.equal(toHexStr(p.fromServer[1]), toHexStr(FAILURE_FINAL));
  assert.ok(p.serverDone[0] && !p.serverDone[0].ok);
});

test('peer: answers the Challenge fixture with the Response fixture and accepts the Success fixture', async () => {
  const { createPeerAuthenticator } = await import('../../src/ppp/auth/index.js');
  const { FakeClock } = await import('../helpers/auth-fake.js');
  const sent: Uint8Array[] = [];
  const done: unknown[] = [];
  const peer = createPeerAuthenticator('mschapv2', {
    user: 'User', password: 'clientPass', clock: new FakeClock(), random: scriptedRandom(PEER_CHALLENGE),
    send: (x) => sent.push(Uint8Array.from(x)), done: (o) => done.push(o),
  });
  peer.input(CHALLENGE);
  assert.equal(toHexStr(sent[0]), toHexStr(RESPONSE));
  peer.input(CHALLENGE); // retransmitted challenge -> identical response
  assert.equal(toHexStr(sent[1]), toHexStr(RESPONSE));
  peer.input(SUCCESS);
  assert.deepEqual(done, [{ ok: true, keys: { kind: 'mschapv2', masterKey: hex('FDECE3717A8C838CB388E527AE3CDD31') } }]);
});
