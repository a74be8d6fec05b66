// The MPPE data codec (RFC 3078) with the RFC 3079 keys: vectors, both
// directions, stateless loss/reordering, stateful loss and resync.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MppeCodec, type MppeParams } from '../../src/crypto/mppe.js';
import { initialSessionKey, nextSessionKey, mppeStartKeys } from '../../src/crypto/mppe-keys.js';
import { rc4 } from '../../src/crypto/rc4.js';
import { PptpdError } from '../../src/util/errors.js';
import { hex, toHexStr } from '../helpers/auth-fake.js';

// RFC 3079 §3.5: server send start key (= client receive) and client send start key.
const SERVER_SEND = hex('8B7CDC149B993A1BA118CB153F56DCCB');
const CLIENT_SEND = hex('D5F0E9521E3EA9589645E86051C82226');

function pair(bits: 40 | 56 | 128, stateful: boolean): { server: MppeCodec; client: MppeCodec } {
  return {
    server: new MppeCodec({ sendKey: SERVER_SEND, recvKey: CLIENT_SEND, bits, stateful }),
    client: new MppeCodec({ sendKey: CLIENT_SEND, recvKey: SERVER_SEND, bits, stateful }),
  };
}

/** An IPv4-ish PPP frame: protocol 0x0021 + payload derived from n. */
function frame(n: number, len = 60): Uint8Array {
  const f = new Uint8Array(len);
  f[0] = 0x00; f[1] = 0x21;
  for (let i = 2; i < len; i++) f[i] = (n * 31 + i) & 0xff;
  return f;
}

function enc(c: MppeCodec, input: Uint8Array): Uint8Array {
  const out = new Uint8Array(input.length + 2);
  assert.equal(c.encrypt(input, out, 0), input.length + 2);
  return out;
}

function dec(c: MppeCodec, pkt: Uint8Array): Uint8Array | undefined {
  const out = new Uint8Array(pkt.length + 8);
  const n = c.decrypt(pkt, out, 4);
  return n < 0 ? undefined : out.subarray(4, 4 + n);
}

const ccount = (p: Uint8Array) => ((p[0] & 0x0f) << 8) | p[1];
const flushed = (p: Uint8Array) => (p[0] & 0x80) !== 0;

test('RFC 3079 "test message" vectors: the first stateful packet uses the initial session key', () => {
  const msg = new TextEncoder().encode('test message');
  const c128 = new MppeCodec({ sendKey: SERVER_SEND, recvKey: CLIENT_SEND, bits: 128, stateful: true });
  const p128 = enc(c128, msg);
  // 10 00: D (encrypted) set, A clear, coherency count 0 (Linux starts at 4095 + 1)
  assert.equal(toHexStr(p128), '1000' + '81848317df68846272fb5abe');
  const c40 = new MppeCodec({ sendKey: SERVER_SEND.subarray(0, 8), recvKey: CLIENT_SEND.subarray(0, 8), bits: 40, stateful: true });
  assert.equal(toHexStr(enc(c40, msg)), '1000' + '929137917e5803d668d75898');
});

test('stateless: first packet is count 0, flushed, encrypted with the first rekeyed key', () => {
  const { server } = pair(128, false);
  const msg = frame(1, 20);
  const p = enc(server, msg);
  assert.equal(p[0], 0x90); // A | D
  assert.equal(p[1], 0x00);
  const k1 = nextSessionKey(SERVER_SEND, initialSessionKey(SERVER_SEND, 128), 128);
  assert.equal(toHexStr(p.subarray(2)), toHexStr(rc4(k1, msg)));
  const p2 = enc(server, msg);
  assert.equal(ccount(p2), 1);
  const k2 = nextSessionKey(SERVER_SEND, k1, 128);
  assert.equal(toHexStr(p2.subarray(2)), toHexStr(rc4(k2, msg)));
  assert.equal(server.stats.rekeys, 2);
});

for (const bits of [40, 56, 128] as const) {
  for (const stateful of [false, true]) {
    test(`roundtrip both ways, ${bits}-bit ${stateful ? 'stateful' : 'stateless'}, across the 4096 count wrap`, () => {
      const { server, client } = pair(bits, stateful);
      for (let n = 0; n < 4200; n++) {
        const a = frame(n, 20 + (n % 50));
        const pa = enc(server, a);
        assert.equal(ccount(pa), n & 0xfff);
        assert.equal(flushed(pa), !stateful || (n & 0xff) === 0xff, `A bit on packet ${n}`);
        assert.deepEqual(dec(client, pa), a, `server->client ${n}`);
        const b = frame(n + 7, 30);
        assert.deepEqual(dec(server, enc(client, b)), b, `client->server ${n}`);
      }
      assert.equal(server.stats.dropped + client.stats.dropped, 0);
      assert.equal(server.stats.encrypted, 4200);
      assert.equal(client.stats.decrypted, 4200);
    });
  }
}

test('keys from mppeStartKeys: server and client codecs interoperate; 40-bit is not 128-bit', () => {
  const material = { kind: 'mschapv2' as const, masterKey: hex('FDECE3717A8C838CB388E527AE3CDD31') };
  const s = mppeStartKeys(material, 'server', 128);
  const c = mppeStartKeys(material, 'client', 128);
  const server = new MppeCodec({ sendKey: s.send, recvKey: s.recv, bits: 128, stateful: false });
  const client = new MppeCodec({ sendKey: c.send, recvKey: c.recv, bits: 128, stateful: false });
  const m = frame(3);
  assert.deepEqual(dec(client, enc(server, m)), m);
  assert.deepEqual(dec(server, enc(client, m)), m);
  const p40 = enc(new MppeCodec({ sendKey: s.send, recvKey: s.recv, bits: 40, stateful: false }), m);
  assert.notDeepEqual(dec(new MppeCodec({ sendKey: c.send, recvKey: c.recv, bits: 128, stateful: false }), p40), m);
});

test('stateless: lost packets are skipped by rekeying count-difference times', () => {
  const { server, client } = pair(128, false);
  const pkts = Array.from({ length: 40 }, (_, n) => enc(server, frame(n)));
  for (let n = 0; n < 40; n++) {
    if (n % 5 === 1 || (n >= 20 && n < 30)) continue; // lose some, including a burst of 10
    assert.deepEqual(dec(client, pkts[n]), frame(n), `packet ${n}`);
  }
  assert.equal(client.stats.dropped, 0);
});

test('stateless: reordered packets inside the window decrypt once; late, duplicate and replay are dropped', () => {
  const { server, client } = pair(128, false);
  const pkts = Array.from({ length: 30 }, (_, n) => enc(server, frame(n)));
  const order = [0, 2, 1, 5, 3, 4, 6, 9, 8, 7];
  for (const n of order) assert.deepEqual(dec(client, pkts[n]), frame(n), `packet ${n}`);
  assert.equal(dec(client, pkts[9]), undefined, 'duplicate of the newest');
  assert.equal(dec(client, pkts[4]), undefined, 'replay of an already decrypted late packet');
  assert.deepEqual(dec(client, pkts[29]), frame(29));
  assert.equal(dec(client, pkts[10]), undefined, '19 packets late: outside the window');
  assert.deepEqual(dec(client, pkts[21]), frame(21), '8 late: inside the window');
  assert.equal(client.stats.dropped, 3);
});

test('stateless: a packet more than half the count space ahead is treated as late (Linux) and dropped', () => {
  const { server, client } = pair(128, false);
  const pkts = Array.from({ length: 3 }, (_, n) => enc(server, frame(n)));
  assert.deepEqual(dec(client, pkts[0]), frame(0));
  const forged = Uint8Array.from(pkts[1]);
  forged[0] = 0x90 | 0x08; forged[1] = 0x02; // count 0x802 = 2050 ahead of 0
  assert.equal(dec(client, forged), undefined);
  assert.deepEqual(dec(client, pkts[2]), frame(2), 'still in sync afterwards');
});

test('stateful: a lost packet -> drop + needsReset, discard until flushed, then resync', () => {
  const { server, client } = pair(128, true);
  for (let n = 0; n < 10; n++) assert.deepEqual(dec(client, enc(server, frame(n))), frame(n));
  enc(server, frame(10)); // lost
  const p11 = enc(server, frame(11));
  assert.equal(dec(client, p11), undefined);
  assert.equal(client.needsReset, true);
  assert.equal(dec(client, enc(server, frame(12))), undefined, 'discarding until flushed');
  assert.equal(client.needsReset, true);
  server.onResetRequest(); // the CCP Reset-Request reached the sender
  const p13 = enc(server, frame(13));
  assert.ok(flushed(p13), 'next packet carries the flushed bit');
  assert.deepEqual(dec(client, p13), frame(13));
  assert.equal(client.needsReset, false);
  for (let n = 14; n < 600; n++) assert.deepEqual(dec(client, enc(server, frame(n))), frame(n), `packet ${n}`);
  assert.equal(client.stats.dropped, 2);
});

test('stateful: losing packets across flag packets (255, 511) still resyncs', () => {
  const { server, client } = pair(40, true);
  for (let n = 0; n < 250; n++) dec(client, enc(server, frame(n)));
  for (let n = 250; n < 520; n++) enc(server, frame(n)); // lost, incl. flag packets 255 and 511
  assert.equal(dec(client, enc(server, frame(520))), undefined);
  assert.ok(client.needsReset);
  server.onResetRequest();
  assert.deepEqual(dec(client, enc(server, frame(521))), frame(521));
  for (let n = 522; n < 800; n++) assert.deepEqual(dec(client, enc(server, frame(n))), frame(n), `packet ${n}`);
});

test('stateful: a flag packet without the flushed bit is dropped', () => {
  const { server, client } = pair(128, true);
  for (let n = 0; n < 255; n++) dec(client, enc(server, frame(n)));
  const flag = enc(server, frame(255));
  assert.equal(ccount(flag), 255);
  const bad = Uint8Array.from(flag);
  bad[0] &= ~0x80;
  assert.equal(dec(client, bad), undefined);
});

test('decrypt expands a PFC-compressed protocol and rejects malformed headers', () => {
  const { server, client } = pair(128, false);
  const compressed = Uint8Array.of(0x21, 0x45, 0x00, 0x00, 0x14);
  assert.deepEqual(dec(client, enc(server, compressed)), Uint8Array.of(0x00, 0x21, 0x45, 0x00, 0x00, 0x14));
  const good = enc(server, frame(1));
  const notEncrypted = Uint8Array.from(good);
  notEncrypted[0] &= ~0x10;
  assert.equal(dec(client, notEncrypted), undefined);
  const notFlushed = Uint8Array.from(good);
  notFlushed[0] &= ~0x80;
  assert.equal(dec(client, notFlushed), undefined, 'stateless requires A');
  assert.equal(dec(client, good.subarray(0, 2)), undefined, 'header only');
  assert.equal(client.decrypt(good, new Uint8Array(good.length - 2), 0), -1, 'no room for the output');
  assert.deepEqual(dec(client, good), frame(1), 'still in sync after the rejects');
});

test('encrypt: out of room is a typed error; bad parameters are typed errors', () => {
  const { server } = pair(128, false);
  assert.throws(() => server.encrypt(frame(1, 10), new Uint8Array(11), 0), (e: unknown) => e instanceof PptpdError && e.code === 'ERR_MPPE_BUFFER');
  const p: MppeParams = { sendKey: new Uint8Array(8), recvKey: new Uint8Array(8), bits: 128, stateful: false };
  assert.throws(() => new MppeCodec(p), (e: unknown) => e instanceof PptpdError && e.code === 'ERR_MPPE_KEY');
  assert.throws(() => new MppeCodec({ ...p, bits: 64 as 40 }), (e: unknown) => e instanceof PptpdError && e.code === 'ERR_MPPE_BITS');
});
