// The MPPE cipher primitive in both implementations: the TypeScript
// reference (src/crypto/mppe-cipher.ts) and the addon's C (native/src/mppe.c).
// (1) published vectors through both, (2) a differential run of whole codecs
// (random keys, strengths, modes, sizes, loss, reordering, duplicates,
// corruption, CCP resets) that must agree byte for byte, (3) bad offsets and
// lengths throw and never touch memory out of range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MppeCodec, type MppeParams } from '../../src/crypto/mppe.js';
import {
  CRYPT_PFC, CRYPT_RESTART, DIR_SESSION, ST_KEYLEN, ST_SALT, ST_STREAM, createMppeState, jsMppeCipher, mppeLayout,
  type MppeCipher,
} from '../../src/crypto/mppe-cipher.js';
import { initialSessionKey, nextSessionKey, type MppeBits } from '../../src/crypto/mppe-keys.js';
import { rc4 } from '../../src/crypto/rc4.js';
import { seededRandom } from '../../src/util/random.js';
import { addonPath } from '../../native/index.js';
import { hex, toHexStr } from '../helpers/auth-fake.js';

const native: MppeCipher | undefined = addonPath()
  ? (await import('../../native/mppe.js')).nativeMppeCipher()
  : undefined;
const SKIP = native ? false : 'native addon not built (npm run build:native): the C cipher is untested';
const ciphers: MppeCipher[] = native ? [jsMppeCipher, native] : [jsMppeCipher];

// RFC 3079 §3.5 start keys: server send (= client receive), client send.
const SERVER_SEND = hex('8B7CDC149B993A1BA118CB153F56DCCB');
const CLIENT_SEND = hex('D5F0E9521E3EA9589645E86051C82226');
const text = (s: string) => new TextEncoder().encode(s);

function enc(c: MppeCodec, input: Uint8Array): Uint8Array {
  const out = new Uint8Array(input.length + 2);
  assert.equal(c.encrypt(input, out, 0), input.length + 2);
  return out;
}

for (const cipher of ciphers) {
  test(`${cipher.kind}: RFC 3079 §3.5 "test message" (128 and 40 bit) as the first stateful packet`, () => {
    const c128 = new MppeCodec({ sendKey: SERVER_SEND, recvKey: CLIENT_SEND, bits: 128, stateful: true }, cipher);
    // 10 00: D set, count 0; ciphertext = RC4(SessionKey 405CB224…) of "test message"
    assert.equal(toHexStr(enc(c128, text('test message'))), '1000' + '81848317df68846272fb5abe');
    const c40 = new MppeCodec(
      { sendKey: SERVER_SEND.subarray(0, 8), recvKey: CLIENT_SEND.subarray(0, 8), bits: 40, stateful: true }, cipher);
    assert.equal(toHexStr(enc(c40, text('test message'))), '1000' + '929137917e5803d668d75898');
  });

  test(`${cipher.kind}: stateless packets use the RFC 3078 §7.3 key changes (mppe-keys reference)`, () => {
    const msg = text('\x00\x21stateless payload');
    for (const bits of [40, 56, 128] as const) {
      const sendKey = bits === 128 ? SERVER_SEND : SERVER_SEND.subarray(0, 8);
      const c = new MppeCodec({ sendKey, recvKey: CLIENT_SEND, bits, stateful: false }, cipher);
      let k = initialSessionKey(sendKey, bits);
      for (let n = 0; n < 3; n++) {
        k = nextSessionKey(sendKey, k, bits);
        const p = enc(c, msg);
        assert.equal(p[0], 0x90, 'A | D');
        assert.equal(p[1], n);
        assert.deepEqual(p.subarray(2), rc4(k, msg), `${bits}-bit packet ${n}`);
      }
    }
  });

  test(`${cipher.kind}: RC4 keystreams of RFC 6229 (64- and 128-bit keys), stateless key and stateful stream`, () => {
    const rows: [string, number, string][] = [
      ['0102030405060708', 0, '97ab8a1bf0afb9613 2f2f67258da15a8'],
      ['0102030405060708', 768, '44173a103b6616c5d5ad1cee40c863d0'],
      ['0102030405060708', 3072, 'bc7683205d4f443dc1f29dda3315c87b'],
      ['0102030405060708090a0b0c0d0e0f10', 0, '9ac7cc9a609d1ef7b293289 9cde41b97'],
      ['0102030405060708090a0b0c0d0e0f10', 240, '065902e4b620f6cc36c8589f66432f2b'],
      ['0102030405060708090a0b0c0d0e0f10', 4096, 'a36a4c301ae8ac13610ccbc12256cacc'],
    ];
    for (const [key, off, want] of rows) {
      const k = hex(key);
      const bits: MppeBits = k.length === 16 ? 128 : 56;
      for (const stateful of [false, true]) {
        const l = mppeLayout(bits, stateful, 1);
        const st = createMppeState(l, bits, stateful, k, k);
        st.set(k, l.tx + DIR_SESSION); // the session key slot holds the raw RFC key (no salt: not rekeyed)
        const zeros = new Uint8Array(off + 16);
        const ks = new Uint8Array(off + 16);
        if (stateful) {
          cipher.crypt(st, l.tx, 0, -1, zeros, 0, 0, ks, 0, CRYPT_RESTART);
          // in two pieces: the stream continues across calls
          cipher.crypt(st, l.tx, 0, -1, zeros, 0, 7, ks, 0, 0);
          cipher.crypt(st, l.tx, 0, -1, zeros, 7, off + 9, ks, 7, 0);
        } else {
          assert.equal(cipher.crypt(st, l.tx, 0, l.tx + DIR_SESSION, zeros, 0, off + 16, ks, 0, 0), off + 16);
        }
        assert.equal(toHexStr(ks.subarray(off)), want.replace(/\s+/g, ''), `${key} @${off} stateful=${stateful}`);
      }
    }
  });
}

test('primitive: random crypt calls on twin states leave identical states and outputs', { skip: SKIP }, () => {
  const rnd = seededRandom(99);
  const r = () => { const b = rnd(4); return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0; };
  for (let n = 0; n < 3000; n++) {
    const bits = ([40, 56, 128] as const)[r() % 3]!;
    const stateful = r() % 2 === 0;
    const l = mppeLayout(bits, stateful, 2);
    const a = createMppeState(l, bits, stateful, rnd(16), rnd(16));
    if (l.hist >= 0) a.set(rnd(40), l.hist);
    const b = a.slice();
    const input = rnd(r() % 300);
    const len = input.length === 0 ? 0 : r() % (input.length + 1);
    const inOff = r() % (input.length - len + 1);
    const flags = r() % 4;
    const outA = new Uint8Array(len + 3);
    const outB = new Uint8Array(len + 3);
    const dir = r() % 2 ? l.tx : l.rx;
    const keyOff = stateful && r() % 2 ? -1 : [dir + DIR_SESSION, l.tx, l.rx + 3, l.hist >= 0 ? l.hist + 20 : dir][r() % 4]!;
    const rekeys = r() % 3;
    const ra = jsMppeCipher.crypt(a, dir, rekeys, keyOff, input, inOff, len, outA, 1, flags);
    const rb = native!.crypt(b, dir, rekeys, keyOff, input, inOff, len, outB, 1, flags);
    assert.equal(rb, ra, `call ${n}`);
    assert.deepEqual(b, a, `call ${n}: state`);
    assert.deepEqual(outB, outA, `call ${n}: output`);
  }
});

// ---- differential: native vs TypeScript --------------------------------------

interface Wire { pkt: Uint8Array }

/** A frame to encrypt: protocol + payload, sometimes PFC-compressed (1 byte protocol), sometimes a whole IPv4 packet. */
function plainFrame(r: () => number, size: number): Uint8Array {
  const f = new Uint8Array(size);
  for (let i = 0; i < size; i++) f[i] = r() & 0xff;
  const kind = r() % 4;
  if (kind === 0 && size >= 22) {
    // 00 21 + IPv4 header whose total length matches: what a resync probe recognises
    f[0] = 0; f[1] = 0x21; f[2] = 0x45; f[4] = (size - 2) >> 8; f[5] = (size - 2) & 0xff;
  } else if (kind === 1) {
    f[0] = 0x21; // PFC: the receiver expands it to 00 21
  } else if (kind === 2 && size >= 2) {
    f[0] = 0; f[1] = 0x21;
  }
  return f;
}

function runDifferential(seed: number, cipherB: MppeCipher): void {
  const rnd = seededRandom(seed);
  const r = () => { const b = rnd(4); return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0; };
  const bits = ([40, 56, 128] as const)[r() % 3]!;
  const stateful = r() % 2 === 0;
  const keyA = rnd(16);
  const keyB = rnd(16);
  const mk = (c: MppeCipher) => ({
    tx: new MppeCodec({ sendKey: keyA, recvKey: keyB, bits, stateful } satisfies MppeParams, c),
    rx: new MppeCodec({ sendKey: keyB, recvKey: keyA, bits, stateful }, c),
  });
  const a = mk(jsMppeCipher);
  const b = mk(cipherB);
  const where = `seed ${seed} bits ${bits} stateful ${stateful}`;
  const queue: Wire[] = [];
  const outA = new Uint8Array(1700);
  const outB = new Uint8Array(1700);
  for (let n = 0; n < 400; n++) {
    const size = 1 + (r() % 1600);
    const plain = plainFrame(r, size);
    const pa = enc(a.tx, plain);
    const pb = enc(b.tx, plain);
    assert.deepEqual(pb, pa, `${where}: ciphertext of packet ${n}`);
    const fate = r() % 100;
    if (fate < 8) continue; // lost
    if (fate < 10) queue.push({ pkt: pa.slice() }); // duplicated
    if (fate < 13) { // corrupted header or body
      const c = pa.slice();
      c[r() % c.length] ^= 1 << (r() % 8);
      queue.push({ pkt: c });
    } else queue.push({ pkt: pa });
    if (fate >= 13 && fate < 20 && queue.length >= 2) { // reordered: swap the newest two
      const t = queue[queue.length - 1]!;
      queue[queue.length - 1] = queue[queue.length - 2]!;
      queue[queue.length - 2] = t;
    }
    // deliver all but a few (so later packets can overtake them)
    while (queue.length > (r() % 3)) {
      const { pkt } = queue.shift()!;
      const la = a.rx.decrypt(pkt, outA, 1);
      const lb = b.rx.decrypt(pkt, outB, 1);
      assert.equal(lb, la, `${where}: decrypted length at packet ${n}`);
      if (la > 0) assert.deepEqual(outB.subarray(1, 1 + lb), outA.subarray(1, 1 + la), `${where}: plaintext at ${n}`);
      assert.equal(b.rx.needsReset, a.rx.needsReset);
      if (a.rx.needsReset && r() % 2 === 0) { // the CCP Reset-Request reaches the sender
        a.tx.onResetRequest();
        b.tx.onResetRequest();
      }
    }
  }
  assert.deepEqual(b.tx.stats, a.tx.stats, `${where}: sender stats`);
  assert.deepEqual(b.rx.stats, a.rx.stats, `${where}: receiver stats`);
  assert.ok(a.rx.stats.decrypted > 50, `${where}: the run decrypted something (${a.rx.stats.decrypted})`);
}

test('differential: the TypeScript codec agrees with itself under the harness (sanity of the harness)', () => {
  for (let seed = 1; seed <= 4; seed++) runDifferential(seed, jsMppeCipher);
});

test('differential: native and TypeScript codecs give identical ciphertext, plaintext and stats', { skip: SKIP }, () => {
  let sawResync = 0;
  for (let seed = 1; seed <= 60; seed++) runDifferential(seed * 7919, native!);
  // The resync path with extra key changes runs under the native cipher too:
  // a stateful sender, a lost packet and a lost flushed reply (as mppe-stateful-linux tests for JS).
  for (const c of ciphers) {
    const tx = new MppeCodec({ sendKey: SERVER_SEND, recvKey: CLIENT_SEND, bits: 128, stateful: true }, c);
    const rx = new MppeCodec({ sendKey: CLIENT_SEND, recvKey: SERVER_SEND, bits: 128, stateful: true }, c);
    const ip = plainFrame(() => 0, 60); // kind 0: a whole IPv4 frame
    const out = new Uint8Array(80);
    assert.ok(rx.decrypt(enc(tx, ip), out, 0) > 0);
    enc(tx, ip); // lost → receiver discards from the next
    assert.equal(rx.decrypt(enc(tx, ip), out, 0), -1);
    assert.ok(rx.needsReset);
    tx.onResetRequest();
    enc(tx, ip); // the flushed flag packet is lost too
    // Linux-style senders rekey on a reset at a non-flag count; ours jumps to a flag count, so
    // the receiver catches up with Linux's arithmetic: the next flag packet decrypts.
    for (let i = 0; i < 300; i++) {
      const len = rx.decrypt(enc(tx, ip), out, 0);
      if (len > 0) { assert.deepEqual(out.subarray(0, len), ip); sawResync++; break; }
    }
  }
  assert.equal(sawResync, ciphers.length);
});

test('differential: a TypeScript sender and a native receiver interoperate (and the reverse)', { skip: SKIP }, () => {
  for (const stateful of [false, true]) {
    for (const [s, d] of [[jsMppeCipher, native!], [native!, jsMppeCipher]] as const) {
      const tx = new MppeCodec({ sendKey: SERVER_SEND, recvKey: CLIENT_SEND, bits: 128, stateful }, s);
      const rx = new MppeCodec({ sendKey: CLIENT_SEND, recvKey: SERVER_SEND, bits: 128, stateful }, d);
      const out = new Uint8Array(1600);
      for (let n = 0; n < 600; n++) { // crosses two stateful flag packets (counts 255, 511)
        const plain = new Uint8Array(2 + (n % 1400));
        plain[1] = 0x21;
        for (let i = 2; i < plain.length; i++) plain[i] = (n + i) & 0xff;
        const len = rx.decrypt(enc(tx, plain), out, 0);
        assert.deepEqual(out.subarray(0, len), plain, `packet ${n}`);
      }
    }
  }
});

// ---- bounds ---------------------------------------------------------------------

test('bounds: bad offsets, lengths, layouts and types throw, the same in both ciphers', () => {
  const l = mppeLayout(128, true, 0);
  const fresh = () => createMppeState(l, 128, true, SERVER_SEND, CLIENT_SEND);
  const buf = new Uint8Array(100);
  const out = new Uint8Array(100);
  type Args = Parameters<MppeCipher['crypt']>;
  const ok: Args = [fresh(), l.rx, 1, -1, buf, 0, 100, out, 0, 0];
  const bad: [string, (a: Args) => void][] = [
    ['state too short', (a) => { a[0] = new Uint8Array(3); }],
    ['key length byte', (a) => { a[0][ST_KEYLEN] = 200; }],
    ['salt byte', (a) => { a[0][ST_SALT] = 9; }],
    ['stream byte', (a) => { a[0][ST_STREAM] = 7; }],
    ['dir negative', (a) => { a[1] = -4; }],
    ['dir in the header', (a) => { a[1] = 0; }],
    ['dir past the end', (a) => { a[1] = l.size - 10; }],
    ['dir huge', (a) => { a[1] = 0x7fffffff; }],
    ['rekeys negative', (a) => { a[2] = -1; }],
    ['rekeys too many', (a) => { a[2] = 5000; }],
    ['keyOff past the end', (a) => { a[3] = l.size - 15; }],
    ['keyOff huge', (a) => { a[3] = 0x7fffffff; }],
    ['stateless state, no key', (a) => { a[0] = createMppeState(mppeLayout(128, false, 0), 128, false, SERVER_SEND, SERVER_SEND); a[1] = 4; }],
    ['len past the input', (a) => { a[6] = 101; }],
    ['len negative', (a) => { a[6] = -1; }],
    ['inOff past the input', (a) => { a[5] = 1; }],
    ['inOff huge', (a) => { a[5] = 0x7fffffff; }],
    ['inOff negative', (a) => { a[5] = -1; }],
    ['outOff past the output', (a) => { a[8] = 1; }],
    ['outOff negative', (a) => { a[8] = -100; }],
    ['no room for the PFC byte', (a) => { a[9] = CRYPT_PFC; }],
  ];
  for (const c of ciphers) {
    assert.equal(c.crypt(...ok), 100, `${c.kind}: the baseline call is valid`);
    for (const [what, mutate] of bad) {
      const a: Args = [fresh(), l.rx, 1, -1, buf, 0, 100, out, 0, 0];
      mutate(a);
      const before = a[0].slice();
      const outBefore = out.slice();
      assert.throws(() => c.crypt(...a), RangeError, `${c.kind}: ${what}`);
      assert.deepEqual(a[0], before, `${c.kind}: ${what}: state untouched`);
      assert.deepEqual(out, outBefore, `${c.kind}: ${what}: output untouched`);
    }
  }
  if (native) {
    const call = native.crypt as unknown as (...a: unknown[]) => number;
    const st = fresh();
    assert.throws(() => call(new Int32Array(300), l.rx, 0, -1, buf, 0, 1, out, 0, 0), TypeError);
    assert.throws(() => call(st, l.rx, 0, -1, 'text', 0, 1, out, 0, 0), TypeError);
    assert.throws(() => call(st, l.rx, 0, -1, buf, 0, 1, new Uint16Array(8), 0, 0), TypeError);
    assert.throws(() => call(st, 'x', 0, -1, buf, 0, 1, out, 0, 0), TypeError);
    assert.throws(() => call(st, l.rx, 0, -1, buf), TypeError, 'too few arguments');
    // views: offsets are relative to the view, and its end is enforced
    const big = new Uint8Array(64);
    const view = big.subarray(16, 32);
    assert.throws(() => native.crypt(st, l.rx, 0, -1, view, 0, 17, out, 0, 0), RangeError);
    assert.equal(native.crypt(st, l.rx, 0, -1, view, 0, 16, big.subarray(40, 56), 0, 0), 16);
    assert.deepEqual(big.subarray(56), new Uint8Array(8), 'nothing written past the output view');
  }
});

test('bounds: random arguments to the native cipher throw or stay in range, never crash', { skip: SKIP }, () => {
  const rnd = seededRandom(42);
  const r = () => { const b = rnd(4); return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) | 0; };
  const pick = (v: number, small: number) => (r() % 4 === 0 ? v : ((r() >>> 0) % small) - 8);
  let threw = 0;
  for (let n = 0; n < 20000; n++) {
    const stateful = r() % 2 === 0;
    const l = mppeLayout(128, stateful, 2);
    const st = createMppeState(l, 128, stateful, SERVER_SEND, CLIENT_SEND);
    if (r() % 8 === 0) st[r() & 3] = r() & 0xff;
    const guard = new Uint8Array(256 + 64);
    const input = guard.subarray(32, 32 + ((r() >>> 0) % 200));
    const output = guard.subarray(64, 64 + ((r() >>> 0) % 200));
    const sentinel = guard.subarray(264).fill(0xa5);
    try {
      native!.crypt(st, pick(l.rx, l.size + 16), (r() >>> 0) % 3, pick(-1, l.size + 16), input, pick(0, 220), pick(input.length, 220),
        output, pick(0, 220), r() & 3);
    } catch (e) {
      assert.ok(e instanceof RangeError, String(e));
      threw++;
    }
    assert.ok(sentinel.every((b) => b === 0xa5), 'nothing written past the output view');
  }
  assert.ok(threw > 1000, `most random calls are rejected (${threw})`);
});

// The addon uses the node binary's OpenSSL SHA1_Transform when it exports one
// and its own C otherwise: both must give RFC 3078's key changes.
test('native: stateless key changes are right with the OpenSSL SHA-1 transform and with the built-in C one', { skip: SKIP }, async () => {
  const { loadNative } = await import('../../native/index.js');
  const addon = loadNative();
  const msg = text('\x00\x21stateless payload');
  const seen: string[] = [];
  try {
    for (const builtin of [true, false]) {
      seen.push(addon.mppeSha1Impl(builtin));
      for (const bits of [40, 56, 128] as const) {
        const sendKey = bits === 128 ? SERVER_SEND : SERVER_SEND.subarray(0, 8);
        const c = new MppeCodec({ sendKey, recvKey: CLIENT_SEND, bits, stateful: false }, native!);
        let k = initialSessionKey(sendKey, bits);
        for (let n = 0; n < 40; n++) {
          k = nextSessionKey(sendKey, k, bits);
          assert.deepEqual(enc(c, msg).subarray(2), rc4(k, msg), `${seen.at(-1)} SHA-1, ${bits}-bit packet ${n}`);
        }
      }
    }
  } finally {
    addon.mppeSha1Impl(false);
  }
  assert.equal(seen[0], 'builtin');
  console.log(`# SHA-1 transforms checked: ${seen.join(', ')}`);
});
