// The native MPPE cipher passes its seven integers through an addon-owned
// Int32Array (mppeCryptPacked) instead of as arguments. Same bytes and state
// as the 10-argument entry point; anything the Int32Array would silently
// coerce is refused instead of being used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CRYPT_PFC, createMppeState, mppeLayout } from '../../src/crypto/mppe-cipher.js';
import { seededRandom } from '../../src/util/random.js';
import { addonPath, loadNative } from '../../native/index.js';

const SKIP = addonPath() ? false : 'native addon not built (npm run build:native)';

test('packed and 10-argument calls give the same output and state (stateless and stateful, PFC, rekeys)', { skip: SKIP }, async () => {
  const { nativeMppeCipher } = await import('../../native/mppe.js');
  const packed = nativeMppeCipher();
  const direct = loadNative().mppeCrypt;
  const rnd = seededRandom(9);
  for (const stateful of [false, true]) {
    const l = mppeLayout(128, stateful, 8);
    const key = rnd(16);
    const a = createMppeState(l, 128, stateful, key, key);
    const b = a.slice();
    for (let i = 0; i < 50; i++) {
      const len = 1 + (rnd(1)[0]! % 200);
      const input = rnd(len + 3);
      const rekeys = rnd(1)[0]! % 3;
      const flags = i % 2 ? CRYPT_PFC : 0;
      const keyOff = stateful ? -1 : l.rx + 16;
      const outA = new Uint8Array(len + 8);
      const outB = new Uint8Array(len + 8);
      const na = packed.crypt(a, l.rx, rekeys, keyOff, input, 3, len, outA, 5, flags);
      const nb = direct(b, l.rx, rekeys, keyOff, input, 3, len, outB, 5, flags);
      assert.equal(na, nb);
      assert.deepEqual(outA, outB);
      assert.deepEqual(a, b, `state after call ${i}`);
    }
  }
});

test('packed: non-int32 integers throw TypeError and touch nothing; bad ranges still RangeError', { skip: SKIP }, async () => {
  const { nativeMppeCipher } = await import('../../native/mppe.js');
  const crypt = nativeMppeCipher().crypt as unknown as (...a: unknown[]) => number;
  const l = mppeLayout(128, false, 8);
  const st = createMppeState(l, 128, false, new Uint8Array(16).fill(1), new Uint8Array(16).fill(2));
  const input = new Uint8Array(32).fill(7);
  const out = new Uint8Array(40);
  const ok: unknown[] = [st, l.rx, 1, l.rx + 16, input, 0, 32, out, 0, 0];
  assert.equal(crypt(...ok), 32);
  const before = st.slice();
  const outBefore = out.slice();
  for (const [i, v] of [[1, 4.5], [2, 2 ** 31], [3, '20'], [5, undefined], [6, NaN], [8, -0.5], [9, null]] as const) {
    const a = ok.slice();
    a[i] = v;
    assert.throws(() => crypt(...a), TypeError, `argument ${i} = ${String(v)}`);
  }
  assert.deepEqual(st, before);
  assert.deepEqual(out, outBefore);
  assert.throws(() => crypt(st, l.rx, 1, l.rx + 16, input, 0, 33, out, 0, 0), RangeError, 'len past the input');
  assert.throws(() => crypt(st, l.rx, 1, l.rx + 16, input, 0, 32, out, 9, 0), RangeError, 'past the output');
});
