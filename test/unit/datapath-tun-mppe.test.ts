// Wiring of the MPPE cipher: the TUN datapath builds its links' codecs with
// the cipher it was given (the addon's in the daemon), and the session
// manager hands the datapath's codec factory to every PppLink it creates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TunDatapath } from '../../src/datapath/tun/tun-datapath.js';
import { jsMppeCipher, type MppeCipher } from '../../src/crypto/mppe-cipher.js';
import { MppeCodec } from '../../src/crypto/mppe.js';
import type { Datapath } from '../../src/datapath/types.js';
import { PppLink } from '../../src/ppp/link.js';
import type { LinkOptions } from '../../src/ppp/types.js';
import { silentLogger } from '../../src/util/log.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeRawGre, FakeTunHost } from '../helpers/session-ports.js';
import { SessionHarness } from '../helpers/session-harness.js';

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i + 1);

function counting(): { cipher: MppeCipher; calls: () => number } {
  let n = 0;
  const cipher: MppeCipher = {
    kind: 'js',
    crypt: (...a) => {
      n++;
      return jsMppeCipher.crypt(...a);
    },
  };
  return { cipher, calls: () => n };
}

test('TunDatapath.createMppeCodec uses the cipher of its options; without one, the TypeScript default', () => {
  const { cipher, calls } = counting();
  const dp = new TunDatapath({ clock: new FakeClock(), log: silentLogger, raw: new FakeRawGre(), openTun: new FakeTunHost().opener, mppeCipher: cipher });
  const p = { sendKey: KEY, recvKey: KEY, bits: 128 as const, stateful: false };
  const codec = dp.createMppeCodec(p);
  assert.ok(codec instanceof MppeCodec);
  const out = new Uint8Array(64);
  codec.encrypt(Uint8Array.of(0, 0x21, 1, 2, 3), out, 0);
  assert.equal(calls(), 1, 'one cipher call per stateless packet');
  // Same ciphertext as a default codec: the cipher changes where the work runs, not the result.
  const ref = new Uint8Array(64);
  new MppeCodec(p).encrypt(Uint8Array.of(0, 0x21, 1, 2, 3), ref, 0);
  assert.deepEqual(out, ref);
  const plain = new TunDatapath({ clock: new FakeClock(), log: silentLogger, raw: new FakeRawGre(), openTun: new FakeTunHost().opener });
  plain.createMppeCodec(p).encrypt(Uint8Array.of(0, 0x21, 1), out, 0);
  assert.equal(calls(), 1, 'the other datapath does not use this cipher');
});

test('the session manager passes the datapath codec factory to each link (and none when the datapath has none)', () => {
  for (const withFactory of [true, false]) {
    const seen: LinkOptions[] = [];
    const h = new SessionHarness({ createLink: (o) => { seen.push(o); return new PppLink(o); } });
    const factory = (p: ConstructorParameters<typeof MppeCodec>[0]) => new MppeCodec(p);
    if (withFactory) (h.datapath as { createMppeCodec?: Datapath['createMppeCodec'] }).createMppeCodec = factory;
    h.connect().call(7);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.factories?.createMppeCodec, withFactory ? factory : undefined);
  }
});
