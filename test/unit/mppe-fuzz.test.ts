// Random and mutated packets into MppeCodec.decrypt: never a throw, output
// always inside its bound, and the codec keeps working for real traffic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MppeCodec } from '../../src/crypto/mppe.js';
import { seededRandom } from '../../src/util/random.js';

const ROUNDS = process.env.PPTPD_FUZZ === 'long' ? 200_000 : 5_000;
const KEY_A = Uint8Array.from({ length: 16 }, (_, i) => i * 7 + 1);
const KEY_B = Uint8Array.from({ length: 16 }, (_, i) => i * 13 + 5);

for (const stateful of [false, true]) {
  test(`fuzz decrypt (${stateful ? 'stateful' : 'stateless'}): ${ROUNDS} random/mutated packets`, () => {
    const rnd = seededRandom(stateful ? 11 : 22);
    const tx = new MppeCodec({ sendKey: KEY_A, recvKey: KEY_B, bits: 128, stateful });
    const rx = new MppeCodec({ sendKey: KEY_B, recvKey: KEY_A, bits: 128, stateful });
    const out = new Uint8Array(2000);
    let invalid = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const r = rnd(3);
      let pkt: Uint8Array;
      if (r[0] < 128) {
        pkt = rnd(r[1] % 64); // pure noise, often too short
      } else {
        const plain = rnd(4 + (r[1] % 100));
        pkt = new Uint8Array(plain.length + 2);
        tx.encrypt(plain, pkt, 0);
        pkt[r[2] % pkt.length] ^= 1 << (r[1] & 7); // flip one bit anywhere
      }
      const n = rx.decrypt(pkt, out, 0);
      assert.ok(Number.isInteger(n) && n >= -1 && n <= pkt.length - 1, `bounded result ${n} for ${pkt.length} bytes`);
      if (pkt.length < 3 || (pkt[0] & 0x10) === 0) {
        assert.equal(n, -1, 'short or unencrypted packets are dropped');
        invalid++;
      }
    }
    assert.ok(invalid > ROUNDS / 10);
    // Fresh pair afterwards: the codec class is still sound (no shared state damaged).
    const a = new MppeCodec({ sendKey: KEY_A, recvKey: KEY_B, bits: 128, stateful });
    const b = new MppeCodec({ sendKey: KEY_B, recvKey: KEY_A, bits: 128, stateful });
    const msg = Uint8Array.of(0, 0x21, 1, 2, 3);
    const p = new Uint8Array(7);
    a.encrypt(msg, p, 0);
    const o = new Uint8Array(8);
    assert.deepEqual(o.subarray(0, b.decrypt(p, o, 0)), msg);
  });
}
