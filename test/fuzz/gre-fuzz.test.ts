// Random and mutated GRE / IPv4+GRE packets into the demultiplexer and the
// per-call engines behind it. Never a throw, only typed errors from the
// throwing decoders, bounded hold rings, and consistent counters.
// PPTPD_FUZZ=long → 1,000,000 iterations; PPTPD_FUZZ_SEED=n to replay.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../src/util/errors.js';
import { GreDemux } from '../../src/gre/demux.js';
import { GreCall } from '../../src/gre/engine.js';
import {
  createGreHeader,
  createIpv4GreView,
  decodeGre,
  encodeGreHeader,
  stripIpv4,
} from '../../src/protocol/gre/codec.js';
import { GreTestClock } from '../helpers/gre-clock.js';

const LONG = process.env.PPTPD_FUZZ === 'long';
const ITERATIONS = LONG ? 1_000_000 : 20_000;
const SEED = Number(process.env.PPTPD_FUZZ_SEED ?? Date.now() % 0xffffffff) >>> 0 || 1;

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
  return { u32: next, int: (n: number) => next() % n, chance: (p: number) => next() / 0x100000000 < p };
}

const SOURCES = [0x0a000001, 0xcb007105, 0xc0a8010a];
const WINDOW = 4;
const MAX_PAYLOAD = 64;

function onlyTyped(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ProtocolError) || !/^ERR_GRE_/.test(e.code)) {
      throw new Error(`untyped error (seed ${SEED}): ${String(e)}`);
    }
  }
}

test(`GRE fuzz: ${ITERATIONS} random/mutated packets into dispatch (seed ${SEED})`, () => {
  const r = rng(SEED);
  const clock = new GreTestClock();
  const demux = new GreDemux();
  const calls: { call: GreCall; src: number; callId: number; delivered: number; base: number }[] = [];
  for (let i = 0; i < 8; i++) {
    const entry = { call: undefined as unknown as GreCall, src: SOURCES[i % 3]!, callId: 100 + i, delivered: 0, base: r.u32() };
    entry.call = new GreCall({
      peerCallId: i,
      clock,
      reorderWindow: WINDOW,
      reorderTimeoutMs: i === 7 ? 0 : 300,
      maxPayload: MAX_PAYLOAD,
      sendPacket(p) {
        // What we send must always decode.
        decodeGre(p, 0, p.length);
      },
      deliver(p) {
        assert.ok(p.length > 0 && p.length <= MAX_PAYLOAD);
        entry.delivered += p.length;
      },
    });
    demux.register(entry.src, entry.callId, entry.call);
    calls.push(entry);
  }

  const buf = new Uint8Array(20 + 16 + 96);
  const hdr = createGreHeader();
  const view = createIpv4GreView();
  let viaIp = 0;

  for (let it = 0; it < ITERATIONS; it++) {
    let len: number;
    const mode = r.int(10);
    const target = calls[r.int(calls.length)]!;
    if (mode === 0) {
      // Pure noise.
      len = r.int(buf.length + 1);
      for (let i = 0; i < len; i++) buf[i] = r.u32() & 0xff;
    } else {
      // A valid packet near the call's sequence space, then maybe broken.
      const hasSeq = r.chance(0.85);
      const payloadLen = hasSeq ? r.int(MAX_PAYLOAD + 8) : 0;
      // Like a real peer: one sequence number per packet, some reordering.
      let seq = (target.base + r.int(6)) >>> 0;
      if (r.chance(0.01)) {
        // The peer (or a spoofer) jumps anywhere; follow it so data keeps flowing.
        seq = r.u32();
        target.base = seq;
      }
      if (hasSeq) target.base = (target.base + 1) >>> 0;
      const callId = r.chance(0.9) ? target.callId : r.int(0x10000);
      const hl = encodeGreHeader(buf, 20, {
        callId,
        payloadLen,
        seq: hasSeq ? seq : undefined,
        ack: r.chance(0.5) ? r.u32() : undefined,
      });
      len = hl + payloadLen;
      for (let i = 0; i < payloadLen; i++) buf[20 + hl + i] = r.u32() & 0xff;
      const mutations = r.chance(0.3) ? 1 + r.int(3) : 0;
      for (let m = 0; m < mutations; m++) {
        const at = r.int(len);
        buf[20 + at] = r.chance(0.5) ? r.u32() & 0xff : buf[20 + at]! ^ (1 << r.int(8));
      }
      if (r.chance(0.05)) len = r.int(len + 1); // truncated
      if (r.chance(0.05)) len = Math.min(len + r.int(8), buf.length - 20); // trailing junk
    }

    const src = r.chance(0.9) ? target.src : SOURCES[r.int(3)]!;
    if (mode !== 0 && r.chance(0.3)) {
      // Through the raw-socket path with an IPv4 header in front.
      const total = r.chance(0.9) ? 20 + len : r.int(0x10000);
      buf[0] = r.chance(0.95) ? 0x45 : r.u32() & 0xff;
      buf[1] = 0;
      buf[2] = total >> 8;
      buf[3] = total & 0xff;
      buf[9] = r.chance(0.95) ? 47 : r.u32() & 0xff;
      buf[12] = src >>> 24;
      buf[13] = (src >>> 16) & 0xff;
      buf[14] = (src >>> 8) & 0xff;
      buf[15] = src & 0xff;
      const n = Math.min(20 + len, buf.length);
      onlyTyped(() => stripIpv4(buf, 0, n, view));
      demux.dispatchIpv4(buf, 0, n);
      viaIp++;
    } else {
      const off = mode === 0 ? 0 : 20;
      onlyTyped(() => decodeGre(buf, off, len, hdr));
      demux.dispatch(src, buf, off, len);
    }

    if (r.chance(0.02)) clock.advance(r.int(400));
    if ((it & 1023) === 0) {
      for (const c of calls) assert.ok(c.call.heldPackets <= WINDOW, 'hold ring stays bounded');
    }
  }
  clock.advance(10_000);

  const s = demux.stats;
  assert.equal(s.dispatched + s.unknownCall + s.wrongSource + s.malformed, ITERATIONS, 'every packet accounted for');
  assert.ok(s.dispatched > ITERATIONS / 4, `enough packets reached calls (${s.dispatched})`);
  assert.ok(s.malformed > 0 && s.unknownCall > 0 && s.wrongSource > 0 && viaIp > 0);
  let delivered = 0;
  let lost = 0;
  let resyncs = 0;
  for (const c of calls) {
    assert.equal(c.call.heldPackets, 0, 'everything held was released by the timers');
    assert.equal(c.call.stats.rxBytes, c.delivered, 'rxBytes matches what was delivered');
    delivered += c.call.stats.rxPackets;
    const d = c.call.stats.dropped;
    assert.ok(d.duplicate + d.stale + d.badLength > 0, 'drop paths were exercised');
    lost += c.call.stats.lost;
    resyncs += c.call.stats.resyncs;
  }
  assert.ok(delivered > ITERATIONS / 10, `enough in-order deliveries (${delivered})`);
  assert.ok(lost > 0 && resyncs > 0, 'gap-skip and resync paths were exercised');
});
