// Random and mutated LCP/IPCP/CCP/auth/data frames into links in every
// phase. Properties: input() never throws, no handler inside the link ever
// fails (no error-level log), onDown runs at most once, and every frame the
// link sends is well-formed. PPTPD_FUZZ=long → 1e6 inputs, else a few thousand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authOk, hex, makePair, openLcp, scriptedServer, type Scripted } from '../helpers/ppp-harness.js';
import { seededRandom } from '../../src/util/random.js';

const LONG = process.env.PPTPD_FUZZ === 'long';
const ITERATIONS = LONG ? 1_000_000 : 10_000;

type Phase = 'establish' | 'authenticate' | 'network' | 'running';

function linkIn(phase: Phase): Scripted {
  const s = scriptedServer({ lcpEchoInterval: 5, mppe: { required: true, allow40: true, allow56: true, allow128: true, stateful: true } });
  if (phase === 'establish') {
    s.link.start();
    return s;
  }
  openLcp(s, '05 06 55 66 77 88  07 02  08 02');
  if (phase === 'authenticate') return s;
  authOk(s);
  if (phase === 'network') return s;
  // We offer every allowed key length; the peer Naks with 128-bit, then acks.
  s.feed('ff 03 80 fd 03 01 00 0a  12 06 01 00 00 40');
  s.feed('ff 03 80 fd 02 02 00 0a  12 06 01 00 00 40');
  s.feed('ff 03 80 fd 01 01 00 0a  12 06 01 00 00 40');
  s.feed('ff 03 80 21 02 01 00 0a  03 06 0a 00 00 01');
  s.feed('ff 03 80 21 01 01 00 0a  03 06 0a 00 00 02');
  assert.equal(s.link.phase, 'running');
  return s;
}

/** Valid frames of every kind, from a real back-to-back session plus a few hand-made ones. */
async function corpus(): Promise<Uint8Array[]> {
  const p = makePair();
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  p.client.link.sendIp(new Uint8Array(40).fill(0x45));
  p.server.link.sendIp(new Uint8Array(40).fill(0x45));
  await p.settle();
  return [
    ...p.server.sent,
    ...p.client.sent,
    hex('ff 03 c0 21 01 07 00 22  01 04 05 78  05 06 4f 2a 61 0c  07 02  08 02  0d 03 06  11 04 06 4e  13 09 01 a1 b2 c3 d4 e5 f6'),
    hex('ff 03 80 21 01 01 00 26  02 06 00 2d 0f 01  03 06 00 00 00 00  81 06 00 00 00 00  83 06 00 00 00 00  01 0a 00 00 00 00 00 00 00 00'),
    hex('ff 03 80 fd 01 06 00 11  12 06 00 00 00 41  15 03 2f  1a 04 78 00'),
    hex('ff 03 c0 21 08 09 00 0c  80 fd 01 01 00 0a 12 06'),
    hex('ff 03 c0 21 09 21 00 0c  55 66 77 88  de ad be ef'),
    hex('ff 03 80 fd 0e 33 00 04'),
  ];
}

const PROTOCOLS = [0xc021, 0x8021, 0x80fd, 0xc223, 0xc023, 0x0021, 0x00fd, 0x8057, 0x0057, 0x1235];

function structured(r: (n: number) => Uint8Array): Uint8Array {
  const b = r(8);
  const proto = PROTOCOLS[b[0] % PROTOCOLS.length];
  const nopts = b[1] % 6;
  const opts: number[] = [];
  for (let i = 0; i < nopts; i++) {
    const o = r(3);
    const len = o[1] % 9;
    opts.push(o[0] % 4 === 0 ? o[2] : [1, 2, 3, 5, 7, 8, 18, 129, 131, 130, 132, 13, 17, 19][o[2] % 14], len);
    opts.push(...r(Math.max(0, len - 2)));
  }
  const code = 1 + (b[2] % 16);
  let len = 4 + opts.length;
  if (b[3] % 8 === 0) len = b[4] | (b[5] << 8); // a lying length field
  const head = b[6] % 3 === 0 ? [] : [0xff, 0x03];
  const protoBytes = proto < 0x100 && b[7] % 2 ? [proto] : [proto >> 8, proto & 0xff];
  return Uint8Array.from([...head, ...protoBytes, code, b[7], len >> 8, len & 0xff, ...opts]);
}

function mutate(src: Uint8Array, r: (n: number) => Uint8Array): Uint8Array {
  const b = r(4);
  const f = src.slice();
  switch (b[0] % 5) {
    case 0: { // flip some bytes
      const n = 1 + (b[1] % 4);
      const rb = r(2 * n);
      for (let i = 0; i < n; i++) if (f.length) f[rb[2 * i] % f.length] = rb[2 * i + 1];
      return f;
    }
    case 1: return f.subarray(0, f.length ? b[1] % f.length : 0); // truncate
    case 2: { // change the PPP length field
      if (f.length >= 8) { f[6] = b[1]; f[7] = b[2]; }
      return f;
    }
    case 3: { // append junk
      const out = new Uint8Array(f.length + (b[1] % 32));
      out.set(f);
      out.set(r(out.length - f.length), f.length);
      return out;
    }
    default: return r(b[1] % 48); // pure noise
  }
}

/** Every frame we emit: FF 03 (or ACFC), a protocol, and for control protocols a consistent length. */
function checkOutput(f: Uint8Array): void {
  let p = f[0] === 0xff ? 2 : 0;
  let proto = f[p];
  if (!(proto & 1)) { proto = (proto << 8) | f[p + 1]; p += 2; } else p += 1;
  if (proto >= 0x8000) {
    const len = (f[p + 2] << 8) | f[p + 3];
    assert.equal(len, f.length - p, `control frame length field: ${Buffer.from(f).toString('hex')}`);
    assert.ok(len <= 1500);
  }
}

test(`PPP fuzz: ${ITERATIONS} random/mutated frames into links in every phase never throw`, async () => {
  const base = await corpus();
  const r = seededRandom(0xfacade);
  const phases: Phase[] = ['establish', 'authenticate', 'network', 'running'];
  const links = new Map<Phase, Scripted>(phases.map((ph) => [ph, linkIn(ph)]));
  let inputs = 0;
  let recreated = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const ph = phases[i % phases.length];
    let s = links.get(ph)!;
    if (s.link.phase === 'dead' || s.downs.length) {
      assert.ok(s.downs.length <= 1, 'onDown at most once');
      assert.deepEqual(s.errors, []);
      s = linkIn(ph);
      links.set(ph, s);
      recreated++;
    }
    const pick = r(2);
    const frame = pick[0] % 3 === 0 ? structured(r) : mutate(base[pick[1] % base.length], r);
    s.link.input(frame);
    inputs++;
    if (i % 64 === 0) s.clock.advance(1000 + (pick[1] % 4) * 1000); // timers fire with junk in flight
    for (const out of s.out) checkOutput(out);
    s.out.length = 0;
    if (s.errors.length) assert.fail(`handler error after ${Buffer.from(frame).toString('hex')}: ${s.errors[0]}`);
  }
  for (const s of links.values()) {
    assert.deepEqual(s.errors, []);
    assert.ok(s.downs.length <= 1);
  }
  assert.equal(inputs, ITERATIONS);
  assert.ok(recreated > 0, "the fuzz input did end links (and they were re-made)");
});

test('PPP fuzz: junk into the client link in every phase never throws', async () => {
  const r = seededRandom(77);
  const base = await corpus();
  for (let round = 0; round < (LONG ? 200 : 20); round++) {
    const p = makePair();
    p.server.link.start();
    p.client.link.start();
    const steps = round % 5;
    for (let k = 0; k < steps; k++) await p.settle();
    for (let i = 0; i < 100; i++) {
      const b = r(1);
      p.client.link.input(b[0] % 2 ? structured(r) : mutate(base[b[0] % base.length], r));
    }
    await p.settle();
    assert.ok(p.client.downs.length <= 1);
  }
});
