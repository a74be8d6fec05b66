// Server authenticator against the peer authenticator, every method, over an
// in-memory pipe with a fake clock and an async secrets back-end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthMethod } from '../../src/ppp/auth/types.js';
import { mppeStartKeys } from '../../src/crypto/mppe-keys.js';
import { MppeCodec } from '../../src/crypto/mppe.js';
import { pipe, msg } from '../helpers/auth-pipe.js';
import { entry, settle } from '../helpers/auth-fake.js';

const METHODS: AuthMethod[] = ['mschapv2', 'mschap', 'chap-md5', 'pap'];
const CHAP_LIKE: AuthMethod[] = ['mschapv2', 'mschap', 'chap-md5'];

for (const method of METHODS) {
  test(`${method}: correct password -> both sides succeed exactly once`, async () => {
    const p = pipe(method);
    await settle();
    assert.equal(p.serverDone.length, 1);
    const s = p.serverDone[0];
    assert.ok(s.ok, JSON.stringify(s));
    assert.equal(s.user, 'alice');
    assert.equal(s.entry.source, 'test:1');
    assert.deepEqual(p.peerDone, [p.peerDone[0]]);
    assert.equal(p.peerDone[0].ok, true);
    assert.deepEqual(p.backend.lookups, [{ client: 'alice', server: 'pptpd' }]);
    assert.equal(p.server.protocol, method === 'pap' ? 0xc023 : 0xc223);
    assert.equal(p.clock.pending, 0, 'no timer left running');
    if (method === 'mschapv2' || method === 'mschap') {
      assert.ok(s.keys, 'MPPE key material on success');
      const peerKeys = (p.peerDone[0] as { keys?: typeof s.keys }).keys;
      assert.deepEqual(peerKeys, s.keys, 'both ends derive the same material');
      // ... and it drives a working MPPE pair
      const sk = mppeStartKeys(s.keys!, 'server', 128);
      const ck = mppeStartKeys(peerKeys!, 'client', 128);
      const a = new MppeCodec({ sendKey: sk.send, recvKey: sk.recv, bits: 128, stateful: false });
      const b = new MppeCodec({ sendKey: ck.send, recvKey: ck.recv, bits: 128, stateful: false });
      const m = Uint8Array.of(0, 0x21, 9, 8, 7);
      const w = new Uint8Array(7);
      a.encrypt(m, w, 0);
      const r = new Uint8Array(8);
      assert.deepEqual(r.subarray(0, b.decrypt(w, r, 0)), m);
    } else {
      assert.equal(s.keys, undefined);
    }
    for (const l of p.logLines) assert.ok(!l.includes('correct horse'), 'password never logged');
  });
}

for (const method of ['mschapv2', 'mschap'] as const) {
  test(`${method}: wrong password -> Failure R=1 with a new challenge, retries, then R=0 and done(false)`, async () => {
    const p = pipe(method, { password: 'battery staple', maxRetries: 2 });
    await settle(10);
    const failures = p.fromServer.filter((x) => x[0] === 4).map(msg);
    assert.equal(failures.length, 3);
    const hexLen = method === 'mschapv2' ? 32 : 16;
    const re1 = method === 'mschapv2'
      ? new RegExp(`^E=691 R=1 C=[0-9A-F]{${hexLen}} V=3 M=Authentication failed$`)
      : new RegExp(`^E=691 R=1 C=[0-9A-F]{${hexLen}}$`);
    assert.match(failures[0], re1);
    assert.match(failures[1], re1);
    assert.notEqual(failures[0].slice(0, 20 + hexLen), failures[1].slice(0, 20 + hexLen), 'a fresh challenge each time');
    assert.match(failures[2], method === 'mschapv2' ? /^E=691 R=0 C=[0-9A-F]{32} V=3 M=Authentication failed$/ : /^E=691 R=0$/);
    // Each retry Response used id = Failure id + 1.
    const responses = p.fromPeer;
    assert.equal(responses.length, 3);
    const failIds = p.fromServer.filter((x) => x[0] === 4).map((x) => x[1]);
    assert.equal(responses[1][1], (failIds[0] + 1) & 0xff);
    assert.equal(responses[2][1], (failIds[1] + 1) & 0xff);
    assert.equal(p.serverDone.length, 1);
    const s = p.serverDone[0];
    assert.ok(!s.ok);
    assert.equal(s.user, 'alice');
    assert.match(s.reason, /authentication failed for user alice/);
    assert.equal(p.peerDone.length, 1);
    assert.equal(p.peerDone[0].ok, false);
    for (const l of p.logLines) {
      assert.ok(!l.includes('battery staple') && !l.includes('correct horse'), 'no password in logs');
    }
    assert.equal(p.logLines.filter((l) => l.includes('authentication failed')).length, 3);
  });
}

test('mschapv2: a retry after a failed attempt is checked against the new challenge and succeeds', async () => {
  const p = pipe('mschapv2', { password: 'second', maxRetries: 1 });
  // First lookup: no secret (-> Failure R=1 C=...); from the second on the user exists.
  let calls = 0;
  (p.backend as unknown as { lookup: () => Promise<unknown> }).lookup = async () => (calls++ === 0 ? undefined : entry('alice', 'second'));
  await settle(10);
  assert.equal(calls, 2);
  assert.equal(p.fromServer.filter((x) => x[0] === 4).length, 1);
  assert.equal(p.serverDone.length, 1);
  assert.ok(p.serverDone[0].ok);
  assert.equal(p.peerDone[0].ok, true);
});

for (const method of METHODS) {
  test(`${method}: unknown user gets the same Failure as a wrong password; the log reason names it`, async () => {
    const p = pipe(method, { user: 'mallory' });
    await settle();
    const s = p.serverDone[0];
    assert.ok(s && !s.ok);
    assert.equal(s.reason, 'no secret for user mallory');
    const wrong = pipe(method, { password: 'nope' });
    await settle();
    const last = (q: typeof p) => q.fromServer[q.fromServer.length - 1];
    if (method === 'pap') {
      assert.deepEqual(last(p).subarray(4), last(wrong).subarray(4), 'identical Nak message');
    } else {
      // Same text apart from the random challenge.
      assert.equal(msg(last(p)).replace(/C=[0-9A-F]+/, 'C='), msg(last(wrong)).replace(/C=[0-9A-F]+/, 'C='));
    }
    assert.equal(p.peerDone[0].ok, false);
  });
}

for (const method of CHAP_LIKE) {
  test(`${method}: challenge retransmitted every 3 s, timeout ends it with 'authentication timed out'`, async () => {
    const p = pipe(method, { timeoutMs: 20_000, drop: (from) => from === 'server' });
    await settle();
    assert.equal(p.fromServer.length, 1);
    p.clock.advance(2_999);
    assert.equal(p.fromServer.length, 1);
    p.clock.advance(1);
    assert.equal(p.fromServer.length, 2);
    assert.deepEqual(p.fromServer[1], p.fromServer[0], 'same id and challenge');
    p.clock.advance(16_999);
    assert.equal(p.serverDone.length, 0);
    p.clock.advance(1);
    assert.deepEqual(p.serverDone, [{ ok: false, reason: 'authentication timed out' }]);
    assert.equal(p.fromServer.length, 7); // t = 0, 3, ..., 18 s
    p.clock.advance(60_000);
    assert.equal(p.fromServer.length, 7, 'nothing after done');
    assert.equal(p.serverDone.length, 1);
  });

  test(`${method}: at most 10 challenges, then give up`, async () => {
    const p = pipe(method, { timeoutMs: 120_000, drop: (from) => from === 'server' });
    p.clock.advance(60_000);
    assert.equal(p.fromServer.length, 10);
    assert.equal(p.serverDone.length, 1);
    assert.ok(!p.serverDone[0].ok);
    assert.match(p.serverDone[0].reason, /no response to 10 challenges/);
  });

  test(`${method}: a lost Response is recovered by the retransmitted Challenge (same Response resent)`, async () => {
    const p = pipe(method, { drop: (from, _pkt, i) => from === 'peer' && i === 0 });
    await settle();
    assert.equal(p.serverDone.length, 0);
    p.clock.advance(3_000);
    await settle();
    assert.equal(p.fromPeer.length, 2);
    assert.deepEqual(p.fromPeer[1], p.fromPeer[0]);
    assert.ok(p.serverDone[0]?.ok);
    assert.equal(p.peerDone[0]?.ok, true);
  });

  test(`${method}: duplicate Response after Success -> the same Success again; wrong id ignored`, async () => {
    const p = pipe(method);
    await settle();
    const success = p.fromServer[p.fromServer.length - 1];
    assert.equal(success[0], 3);
    const n = p.fromServer.length;
    p.server.input(p.fromPeer[0]);
    assert.equal(p.fromServer.length, n + 1);
    assert.deepEqual(p.fromServer[n], success);
    const wrongId = Uint8Array.from(p.fromPeer[0]);
    wrongId[1] ^= 0x55;
    p.server.input(wrongId);
    await settle();
    assert.equal(p.fromServer.length, n + 1, 'ignored');
    assert.equal(p.serverDone.length, 1);
  });

  test(`${method}: a Response with the wrong id before success is ignored`, async () => {
    const p = pipe(method, { noPeer: true });
    const ch = p.fromServer[0];
    assert.equal(ch[0], 1);
    const fake = Uint8Array.of(2, (ch[1] + 1) & 0xff, 0, 22, 16, ...new Uint8Array(16), 0x61);
    p.server.input(fake);
    await settle();
    assert.equal(p.backend.lookups.length, 0);
    assert.equal(p.serverDone.length, 0);
  });

  test(`${method}: stop() cancels timers; no callbacks afterwards`, async () => {
    const p = pipe(method, { noPeer: true });
    p.server.stop();
    p.clock.advance(100_000);
    assert.equal(p.fromServer.length, 1);
    assert.equal(p.serverDone.length, 0);
    assert.equal(p.clock.pending, 0);
  });
}

test('chap-md5: with retries the server sends Failure then a new Challenge; a right answer then succeeds', async () => {
  const { chapMd5Response } = await import('../../src/ppp/auth/chap-md5.js');
  const p = pipe('chap-md5', { noPeer: true, maxRetries: 1 });
  const answer = (ch: Uint8Array, secret: string) => {
    const id = ch[1];
    const value = chapMd5Response(id, secret, ch.subarray(5, 5 + ch[4]));
    const name = Buffer.from('alice');
    const len = 5 + 16 + name.length;
    return Uint8Array.of(2, id, 0, len, 16, ...value, ...name);
  };
  p.server.input(answer(p.fromServer[0], 'wrong'));
  await settle();
  assert.equal(p.fromServer.length, 3);
  assert.equal(p.fromServer[1][0], 4);
  assert.equal(p.fromServer[2][0], 1);
  assert.equal(p.fromServer[2][1], (p.fromServer[0][1] + 1) & 0xff, 'new id');
  assert.notDeepEqual(p.fromServer[2].subarray(5, 21), p.fromServer[0].subarray(5, 21), 'new challenge');
  p.server.input(answer(p.fromServer[2], 'correct horse'));
  await settle();
  assert.ok(p.serverDone[0]?.ok);
});

test('pap: Nak then a new request with the right password -> Ack; a repeated request is re-Acked', async () => {
  const { encodePapRequest } = await import('../../src/ppp/auth/pap.js');
  const p = pipe('pap', { noPeer: true, maxRetries: 1 });
  const req = (id: number, pw: string) => encodePapRequest(id, Buffer.from('alice'), Buffer.from(pw));
  p.server.input(req(7, 'wrong'));
  await settle();
  assert.deepEqual([...p.fromServer[0].subarray(0, 2)], [3, 7]);
  assert.equal(p.serverDone.length, 0);
  p.server.input(req(8, 'correct horse'));
  await settle();
  assert.deepEqual([...p.fromServer[1].subarray(0, 2)], [2, 8]);
  assert.ok(p.serverDone[0]?.ok);
  p.server.input(req(9, 'correct horse'));
  assert.deepEqual([...p.fromServer[2].subarray(0, 2)], [2, 9]);
  assert.equal(p.serverDone.length, 1);
});

test('pap: peer retransmits its request every 3 s while unanswered; timeout on the server', async () => {
  const p = pipe('pap', { timeoutMs: 10_000, drop: (from) => from === 'peer' });
  assert.equal(p.fromPeer.length, 1);
  p.clock.advance(9_000);
  assert.equal(p.fromPeer.length, 4);
  p.clock.advance(1_000);
  assert.deepEqual(p.serverDone, [{ ok: false, reason: 'authentication timed out' }]);
});

test('mschapv2 peer: a Success with a wrong authenticator response fails mutual authentication', async () => {
  const p = pipe('mschapv2', {
    drop: (from, pkt) => from === 'server' && pkt[0] === 3,
  });
  await settle();
  assert.ok(p.serverDone[0]?.ok);
  const real = p.fromServer.find((x) => x[0] === 3)!;
  const forged = Uint8Array.from(real);
  forged[6] = forged[6] === 0x30 ? 0x31 : 0x30; // change one hex digit of S=
  p.peer!.input(forged);
  assert.equal(p.peerDone.length, 1);
  assert.ok(!p.peerDone[0].ok);
  assert.match((p.peerDone[0] as { reason: string }).reason, /mutual authentication/);
});

test('mschapv2: a Response whose value-size is not 49 counts as a failed attempt', async () => {
  const p = pipe('mschapv2', { noPeer: true });
  const ch = p.fromServer[0];
  const bad = Uint8Array.of(2, ch[1], 0, 5 + 48 + 5, 48, ...new Uint8Array(48), ...Buffer.from('alice'));
  p.server.input(bad);
  await settle();
  assert.ok(!p.serverDone[0]?.ok);
  assert.match((p.serverDone[0] as { reason: string }).reason, /malformed mschapv2 response/);
  assert.equal(p.fromServer[1][0], 4);
});

test('mschapv2: a DOMAIN\\user name is looked up as sent and hashed without the domain', async () => {
  const p = pipe('mschapv2', { user: 'CORP\\alice', secrets: [entry('CORP\\alice', 'pw')], password: 'pw' });
  await settle();
  assert.ok(p.serverDone[0]?.ok);
  assert.equal(p.peerDone[0]?.ok, true);
});

test('mschap: a LAN Manager-only response (flags 0) is refused', async () => {
  const p = pipe('mschap', { noPeer: true });
  const ch = p.fromServer[0];
  const bad = Uint8Array.of(2, ch[1], 0, 5 + 49 + 5, 49, ...new Uint8Array(49), ...Buffer.from('alice'));
  p.server.input(bad);
  await settle();
  assert.match((p.serverDone[0] as { reason: string }).reason, /LAN Manager response refused/);
});

test('a failing secrets back-end is a failed attempt, not a crash', async () => {
  const p = pipe('mschapv2');
  (p.backend as unknown as { lookup: () => Promise<never> }).lookup = () => Promise.reject(new Error('db down'));
  await settle();
  assert.ok(!p.serverDone[0]?.ok);
  assert.equal((p.serverDone[0] as { reason: string }).reason, 'secret lookup failed');
});
