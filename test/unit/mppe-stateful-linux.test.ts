// Stateful MPPE resynchronisation against Linux ppp_mppe's algorithm (a
// model in test/helpers/mppe-linux-model.ts): byte-exact packets across a
// flag packet and a CCP reset, and recovery when the flushed packet that
// answers a Reset-Request is itself lost — in both roles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_LOST_FLUSHES, MppeCodec } from '../../src/crypto/mppe.js';
import { initialSessionKey, nextSessionKey } from '../../src/crypto/mppe-keys.js';
import { rc4 } from '../../src/crypto/rc4.js';
import { hex, toHexStr } from '../helpers/auth-fake.js';
import { LinuxMppeModel } from '../helpers/mppe-linux-model.js';

// RFC 3079 §3.5 start keys: server send (= client receive), client send.
const SERVER_SEND = hex('8B7CDC149B993A1BA118CB153F56DCCB');
const CLIENT_SEND = hex('D5F0E9521E3EA9589645E86051C82226');

// PPP protocol 0x0021 + a 20-byte IPv4 header (total length 0x14, ICMP,
// 192.168.72.100 → 192.168.72.1), the plaintext of every vector below.
const PLAIN = hex('0021' + '45000014' + '00010000' + '40010000' + 'c0a84864' + 'c0a84801');

// Session keys: K0 initial (SHA step only), Kn = n key changes later.
const K0 = initialSessionKey(SERVER_SEND, 128);
const K1 = nextSessionKey(SERVER_SEND, K0, 128);
const K2 = nextSessionKey(SERVER_SEND, K1, 128);

function server(): MppeCodec {
  return new MppeCodec({ sendKey: SERVER_SEND, recvKey: CLIENT_SEND, bits: 128, stateful: true });
}
/** Our codec receiving what a Linux sender with SERVER_SEND sends. */
function receiver(): MppeCodec {
  return new MppeCodec({ sendKey: CLIENT_SEND, recvKey: SERVER_SEND, bits: 128, stateful: true });
}

function enc(c: MppeCodec, plain: Uint8Array): Uint8Array {
  const out = new Uint8Array(plain.length + 2);
  assert.equal(c.encrypt(plain, out, 0), plain.length + 2);
  return out;
}
function dec(c: MppeCodec, pkt: Uint8Array): Uint8Array | undefined {
  const out = new Uint8Array(pkt.length + 1);
  const n = c.decrypt(pkt, out, 0);
  return n < 0 ? undefined : out.subarray(0, n);
}
const ccount = (p: Uint8Array) => ((p[0] & 0x0f) << 8) | p[1];
const flushed = (p: Uint8Array) => (p[0] & 0x80) !== 0;

/** PPP IPv4 frame of `len` bytes (protocol included) whose IP total length is right; content from n. */
function ipv4(n: number, len = 60): Uint8Array {
  const f = new Uint8Array(len);
  f[0] = 0x00; f[1] = 0x21; f[2] = 0x45;
  f[4] = (len - 2) >> 8; f[5] = (len - 2) & 0xff;
  f[6] = n >> 8; f[7] = n & 0xff; f[10] = 64; f[11] = 6;
  for (let i = 22; i < len; i++) f[i] = (n * 7 + i) & 0xff;
  return f;
}
/** PPP IPv6 frame (protocol 0x0057), payload length right. */
function ipv6(n: number, len = 80): Uint8Array {
  const f = new Uint8Array(len);
  f[0] = 0x00; f[1] = 0x57; f[2] = 0x60;
  f[6] = (len - 42) >> 8; f[7] = (len - 42) & 0xff; f[8] = 17; f[9] = 64;
  for (let i = 10; i < len; i++) f[i] = (n * 13 + i) & 0xff;
  return f;
}

test('vectors: Linux stateful sender across the flag packet and a reset; our sender jumps to a flag count', () => {
  const linux = new LinuxMppeModel(SERVER_SEND, 128);
  const ours = server();
  const pkts: Uint8Array[] = [];
  for (let n = 0; n < 300; n++) {
    const a = linux.compress(PLAIN);
    assert.deepEqual(enc(ours, PLAIN), a, `packet ${n}: same bytes as ppp_mppe`);
    pkts.push(a);
  }
  // 10 00: D set, count 0, initial key K0 (no rekey before the first packet)
  assert.equal(toHexStr(pkts[0]), '1000' + 'f5c0b563ff11e110019a7dda9fc22210970ff0124527');
  // 10 fe: count 254, still K0 (stateful: no key change between flag packets)
  assert.equal(toHexStr(pkts[254]), '10fe' + 'e0ee66b097b2263ddd5bdab705c2e566dfa2f1e80d43');
  // 90 ff: A|D, count 255 = flag packet: key changed to K1 first
  assert.equal(toHexStr(pkts[255]), '90ff' + '7058132be07b58bbd366c9247f5455122194f87b0df4');
  // 11 00: count 256, K1's stream continues (no restart)
  assert.equal(toHexStr(pkts[256]), '1100' + 'b41548259d46d7824a4d12ec9fd20295c54235549e42');
  assert.equal(toHexStr(pkts[0].subarray(2)), toHexStr(rc4(K0, PLAIN)));
  assert.equal(toHexStr(pkts[255].subarray(2)), toHexStr(rc4(K1, PLAIN)));

  // Reset-Request answered (Linux: mppe_comp_reset at our outbound Reset-Ack).
  linux.compReset();
  ours.onResetRequest();
  ours.onResetRequest(); // a repeated Reset-Request before the next packet changes nothing more
  const l = linux.compress(PLAIN);
  const o = enc(ours, PLAIN);
  // Linux: 91 2c = A|D, count 300; the next count, with a full key change to K2.
  assert.equal(toHexStr(l), '912c' + '353ca429a625ee5d42dd5b968d9230ea48d7f5d9555a');
  // Ours: 91 ff = A|D, count 511: jumped to the next flag count, same key K2.
  assert.equal(toHexStr(o), '91ff' + '353ca429a625ee5d42dd5b968d9230ea48d7f5d9555a');
  assert.equal(toHexStr(o.subarray(2)), toHexStr(rc4(K2, PLAIN)));
  // 12 00: count 512, K2's stream continues; no A (the reset was consumed once).
  assert.equal(toHexStr(enc(ours, PLAIN)), '1200' + '6c8f63aedf4e9d27edf69c84ea3dbffe7f65d2e8424a');
});

for (const [name, make] of [['IPv4', ipv4], ['IPv6', ipv6]] as const) {
  test(`Linux sender → our receiver: the flushed packet answering the Reset-Request is lost too (${name})`, () => {
    const linux = new LinuxMppeModel(SERVER_SEND, 128);
    const rx = receiver();
    for (let n = 0; n < 10; n++) assert.deepEqual(dec(rx, linux.compress(make(n))), make(n));
    linux.compress(make(10)); // lost
    assert.equal(dec(rx, linux.compress(make(11))), undefined);
    assert.ok(rx.needsReset);
    linux.compReset();
    const lostFlush = linux.compress(make(12)); // flushed, key change; lost
    assert.ok(flushed(lostFlush) && ccount(lostFlush) === 12);
    assert.equal(dec(rx, linux.compress(make(13))), undefined, 'still discarding');
    linux.compReset(); // our repeated Reset-Request
    const p14 = linux.compress(make(14));
    assert.ok(flushed(p14));
    // Linux's own arithmetic would apply one key change here; the sender did two.
    assert.deepEqual(dec(rx, p14), make(14), 'resynchronised on the second flushed packet');
    assert.equal(rx.needsReset, false);
    assert.equal(rx.stats.lostFlushes, 1);
    for (let n = 15; n < 700; n++) assert.deepEqual(dec(rx, linux.compress(make(n))), make(n), `packet ${n}`);
    assert.equal(rx.stats.dropped, 2);
  });
}

test('Linux sender → our receiver: lost flushed packets across a flag packet, up to MAX_LOST_FLUSHES', () => {
  const linux = new LinuxMppeModel(SERVER_SEND, 128);
  const rx = receiver();
  for (let n = 0; n < 240; n++) assert.deepEqual(dec(rx, linux.compress(ipv4(n))), ipv4(n));
  let n = 240;
  linux.compress(ipv4(n++)); // lost: discard from here
  assert.equal(dec(rx, linux.compress(ipv4(n++))), undefined);
  for (let k = 0; k < MAX_LOST_FLUSHES; k++) {
    linux.compReset();
    linux.compress(ipv4(n++)); // each flushed answer lost
    for (let j = 0; j < 3; j++) assert.equal(dec(rx, linux.compress(ipv4(n++))), undefined);
  }
  while (n <= 0x104) linux.compress(ipv4(n++)); // the flag packet 255 lost as well
  linux.compReset();
  assert.deepEqual(dec(rx, linux.compress(ipv4(n))), ipv4(n));
  assert.equal(rx.stats.lostFlushes, MAX_LOST_FLUSHES);
  for (n++; n < 600; n++) assert.deepEqual(dec(rx, linux.compress(ipv4(n))), ipv4(n), `packet ${n}`);
});

test('Linux sender → our receiver: a non-IP flushed packet gets Linux\'s key (no guessing)', () => {
  const linux = new LinuxMppeModel(SERVER_SEND, 128);
  const rx = receiver();
  const other = Uint8Array.of(0x00, 0x2b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10); // IPX
  dec(rx, linux.compress(other));
  linux.compress(other); // lost
  assert.equal(dec(rx, linux.compress(other)), undefined);
  linux.compReset();
  assert.deepEqual(dec(rx, linux.compress(other)), other);
  assert.equal(rx.stats.lostFlushes, 0);
});

test('our sender → Linux receiver: the flushed packet answering the Reset-Request is lost too', () => {
  const ours = server();
  const linux = new LinuxMppeModel(SERVER_SEND, 128);
  const m = (n: number) => ipv4(n, 40 + (n % 30));
  for (let n = 0; n < 10; n++) assert.deepEqual(linux.decompress(enc(ours, m(n))), m(n));
  enc(ours, m(10)); // lost
  assert.equal(linux.decompress(enc(ours, m(11))), undefined);
  assert.ok(linux.discard);
  ours.onResetRequest();
  const lost = enc(ours, m(12));
  assert.equal(ccount(lost), 0xff, 'answer to the reset is a flag packet');
  assert.ok(flushed(lost));
  // lost; the next one is not flushed and still discarded
  const p = enc(ours, m(13));
  assert.equal(ccount(p), 0x100);
  assert.equal(linux.decompress(p), undefined);
  ours.onResetRequest(); // the peer asks again
  const again = enc(ours, m(14));
  assert.equal(ccount(again), 0x1ff);
  assert.deepEqual(linux.decompress(again), m(14), 'ppp_mppe\'s catch-up arithmetic lands on our key');
  assert.equal(linux.discard, false);
  for (let n = 15; n < 1200; n++) assert.deepEqual(linux.decompress(enc(ours, m(n))), m(n), `packet ${n}`);
});

test('our sender → Linux receiver: a stale Reset-Request costs one packet, then both are in sync again', () => {
  const ours = server();
  const linux = new LinuxMppeModel(SERVER_SEND, 128);
  for (let n = 0; n < 5; n++) assert.deepEqual(linux.decompress(enc(ours, ipv4(n))), ipv4(n));
  ours.onResetRequest(); // a late duplicate: the receiver was never out of sync
  const j = enc(ours, ipv4(5));
  assert.equal(ccount(j), 0xff);
  assert.equal(linux.decompress(j), undefined, 'the jump looks like loss to the receiver');
  assert.ok(linux.discard);
  ours.onResetRequest();
  assert.deepEqual(linux.decompress(enc(ours, ipv4(6))), ipv4(6));
  for (let n = 7; n < 400; n++) assert.deepEqual(linux.decompress(enc(ours, ipv4(n))), ipv4(n), `packet ${n}`);
});

test('our codec against itself: random loss both ways with resets stays in sync (IPv4 frames)', () => {
  const a = server();
  const b = receiver();
  // b receives from a; a "peer's Reset-Request" is delivered whenever b needs one.
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
  let delivered = 0;
  for (let n = 0; n < 5000; n++) {
    const f = ipv4(n, 30 + (n % 100));
    const p = enc(a, f);
    if (rnd() < 0.05) continue; // lost, flushed ones included
    const got = dec(b, p);
    if (got) {
      assert.deepEqual(got, f, `packet ${n}`);
      delivered++;
    }
    if (b.needsReset && rnd() < 0.8) a.onResetRequest(); // the Reset-Request itself may be lost
  }
  assert.ok(delivered > 4000, `${delivered} delivered`);
});
