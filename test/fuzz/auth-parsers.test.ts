// Fuzz every auth packet parser and both ends of every method with random
// and mutated packets: only ProtocolError (parsers) or nothing (engines) may
// come out, views stay inside the packet, and nobody crashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeChap, encodeChapValue, encodeChapMessage, parseMsChapFailure } from '../../src/ppp/auth/chap-packet.js';
import { decodePap, encodePapRequest, encodePapReply } from '../../src/ppp/auth/pap.js';
import { ProtocolError } from '../../src/util/errors.js';
import { seededRandom, type RandomSource } from '../../src/util/random.js';
import type { AuthMethod } from '../../src/ppp/auth/types.js';
import { pipe } from '../helpers/auth-pipe.js';
import { settle } from '../helpers/auth-fake.js';

const ROUNDS = process.env.PPTPD_FUZZ === 'long' ? 200_000 : 10_000;

function seeds(rnd: RandomSource): Uint8Array[] {
  const name = Buffer.from('alice');
  return [
    encodeChapValue(1, 1, rnd(16), Buffer.from('pptpd')),
    encodeChapValue(2, 1, rnd(49), name),
    encodeChapValue(2, 2, rnd(16), name),
    encodeChapMessage(3, 1, 'S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Access granted'),
    encodeChapMessage(4, 1, 'E=691 R=1 C=000102030405060708090A0B0C0D0E0F V=3 M=x'),
    encodePapRequest(1, name, Buffer.from('secret')),
    encodePapReply(2, 1, 'ok'),
    encodePapReply(3, 1, 'no'),
  ];
}

/** Random bytes, or a valid packet with a few bytes changed / truncated / extended. */
function mutant(rnd: RandomSource, pool: Uint8Array[]): Uint8Array {
  const r = rnd(4);
  if (r[0] < 64) return rnd(r[1] % 80);
  const base = pool[r[1] % pool.length];
  let p = Uint8Array.from(base);
  const edits = 1 + (r[2] % 4);
  for (let i = 0; i < edits; i++) {
    const e = rnd(3);
    if (p.length === 0) break;
    const at = e[1] % p.length;
    switch (e[0] % 4) {
      case 0: p[at] = e[2]; break;
      case 1: p = p.subarray(0, at); break;
      case 2: { const q = new Uint8Array(p.length + (e[2] % 8)); q.set(p); q.set(rnd(q.length - p.length), p.length); p = q; break; }
      case 3: if (at < 4) p[at] = e[2] & 1 ? 0xff : 0x00; break; // length/code extremes
    }
  }
  return p;
}

function onlyProtocolErrors(fn: () => unknown): 'ok' | 'error' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof ProtocolError, `unexpected ${String(e)}`);
    assert.match(e.code, /^ERR_(CHAP|PAP)_[A-Z_]+$/);
    return 'error';
  }
}

test(`decodeChap / decodePap / parseMsChapFailure: ${ROUNDS} inputs, typed errors only, views in bounds`, () => {
  const rnd = seededRandom(1234);
  const pool = seeds(rnd);
  const outcomes = { ok: 0, error: 0 };
  for (let i = 0; i < ROUNDS; i++) {
    const p = mutant(rnd, pool);
    outcomes[onlyProtocolErrors(() => {
      const c = decodeChap(p);
      const length = (p[2] << 8) | p[3];
      assert.ok(length <= p.length);
      if ('value' in c) {
        assert.ok(c.code === 1 || c.code === 2);
        assert.ok(c.value.length >= 1 && 5 + c.value.length + c.name.length === length);
        assert.ok(c.name.length <= 255);
      } else {
        assert.ok(c.code === 3 || c.code === 4);
        assert.equal(4 + c.message.length, length);
      }
    })]++;
    outcomes[onlyProtocolErrors(() => {
      const q = decodePap(p);
      if (q.code === 1) assert.ok(6 + q.peerId.length + q.password.length <= p.length);
      else assert.ok(q.message.length <= p.length);
    })]++;
    const f = parseMsChapFailure(Buffer.from(p).toString('latin1'));
    assert.equal(typeof f.retry, 'boolean');
  }
  assert.ok(outcomes.ok > ROUNDS / 20 && outcomes.error > ROUNDS / 20, JSON.stringify(outcomes));
});

for (const method of ['mschapv2', 'mschap', 'chap-md5', 'pap'] as AuthMethod[]) {
  test(`${method}: server and peer swallow ${ROUNDS / 10} hostile packets without throwing`, async () => {
    const rnd = seededRandom(method.length * 77);
    const pool = seeds(rnd);
    const srv = pipe(method, { noPeer: true, maxRetries: 3 });
    pool.push(...srv.fromServer);
    const full = pipe(method);
    await settle();
    pool.push(...full.fromServer, ...full.fromPeer);
    const peerSide = pipe(method, { drop: () => true });
    for (let i = 0; i < ROUNDS / 10; i++) {
      const p = mutant(rnd, pool);
      srv.server.input(p);
      peerSide.peer!.input(p);
      full.server.input(p);
      if (i % 100 === 0) await settle(1);
    }
    await settle();
    assert.ok(srv.serverDone.length <= 1, 'done at most once');
    assert.ok(peerSide.peerDone.length <= 1);
    assert.equal(full.serverDone.length, 1);
    assert.ok(full.serverDone[0].ok, 'the finished session stays finished');
  });
}
