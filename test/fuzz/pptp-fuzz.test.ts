// Fuzzes the PPTP codec, framer and control connection with random and
// mutated messages. Short run by default (~20,000 inputs per target);
// PPTPD_FUZZ=long runs 1,000,000. PPTPD_FUZZ_SEED picks the seed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode } from '../../src/protocol/pptp/codec.js';
import { PptpFramer } from '../../src/protocol/pptp/framer.js';
import { MAX_MESSAGE_LENGTH, MESSAGE_LENGTH, PPTP_MAGIC } from '../../src/protocol/pptp/constants.js';
import type { PptpMessage } from '../../src/protocol/pptp/messages.js';
import { CallIdAllocator } from '../../src/control/call-ids.js';
import { ControlConnection, type CallDecision } from '../../src/control/connection.js';
import { ProtocolError } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/log.js';
import { FIXTURES } from '../helpers/pptp-fixtures.js';
import { FakeClock } from '../helpers/fake-clock.js';

const LONG = process.env.PPTPD_FUZZ === 'long';
const N = LONG ? 1_000_000 : 20_000;
const SEED = Number(process.env.PPTPD_FUZZ_SEED ?? 0x5eed1723) >>> 0;

/** xorshift32: fast, deterministic, reproducible from SEED. */
class Rng {
  constructor(private s: number) {
    this.s = s >>> 0 || 1;
  }
  u32(): number {
    let s = this.s;
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return (this.s = s);
  }
  int(n: number): number {
    return this.u32() % n;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

function expectProtocolError(err: unknown, what: string): void {
  if (!(err instanceof ProtocolError) || !err.code.startsWith('ERR_PPTP_')) {
    assert.fail(`${what}: threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} (seed ${SEED})`);
  }
}

function mutate(rng: Rng, src: Buffer): Buffer {
  let b = Buffer.from(src);
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    switch (rng.int(7)) {
      case 0: if (b.length) b[rng.int(b.length)] ^= 1 << rng.int(8); break;
      case 1: if (b.length) b[rng.int(b.length)] = rng.int(256); break;
      case 2: b = b.subarray(0, rng.int(b.length + 1)); break;
      case 3: b = Buffer.concat([b, rng.bytes(1 + rng.int(40))]); break;
      case 4: if (b.length >= 2) b.writeUInt16BE(MESSAGE_LENGTH[1 + rng.int(15)]!, 0); break;
      case 5: if (b.length >= 10) b.writeUInt16BE(rng.int(20), 8); break;
      case 6: if (b.length >= 12) b.writeUInt16BE(rng.int(3) === 0 ? rng.int(65536) : 0, 10); break;
    }
  }
  return b;
}

/** Random body under a valid header: must always decode and round-trip. */
function validHeaderRandomBody(rng: Rng): Buffer {
  const type = 1 + rng.int(15);
  const len = MESSAGE_LENGTH[type]!;
  const b = rng.bytes(len);
  b.writeUInt16BE(len, 0);
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(PPTP_MAGIC, 4);
  b.writeUInt16BE(type, 8);
  b.writeUInt16BE(0, 10);
  return b;
}

function checkDecode(bytes: Buffer, what: string): PptpMessage | undefined {
  let m: PptpMessage;
  try {
    m = decode(bytes);
  } catch (err) {
    expectProtocolError(err, what);
    return undefined;
  }
  // Whatever decodes re-encodes to the same length and is stable from then on.
  const again = encode(m);
  assert.equal(again.length, bytes.length);
  assert.ok(encode(decode(again)).equals(again), `${what}: unstable round trip (seed ${SEED})`);
  return m;
}

describe(`PPTP fuzz (${N} iterations per target, seed ${SEED})`, () => {
  it('decode: random bytes throw only ProtocolError', () => {
    const rng = new Rng(SEED);
    for (let i = 0; i < N; i++) {
      const b = rng.bytes(rng.int(MAX_MESSAGE_LENGTH + 30));
      if (b.length >= 8 && rng.int(2) === 0) {
        b.writeUInt16BE(b.length, 0); // get past the first checks more often
        b.writeUInt16BE(1, 2);
        b.writeUInt32BE(PPTP_MAGIC, 4);
      }
      checkDecode(b, 'random');
    }
  });

  it('decode: mutated fixtures throw only ProtocolError', () => {
    const rng = new Rng(SEED ^ 0x1111);
    for (let i = 0; i < N; i++) checkDecode(mutate(rng, FIXTURES[rng.int(FIXTURES.length)]!.bytes), 'mutated');
  });

  it('decode: any body under a valid header decodes and round-trips', () => {
    const rng = new Rng(SEED ^ 0x2222);
    for (let i = 0; i < N; i++) {
      const b = validHeaderRandomBody(rng);
      assert.ok(checkDecode(b, 'valid header') !== undefined, `valid header rejected (seed ${SEED})`);
      // Reserved bytes inside the body are dropped; everything else survives.
      assert.equal(encode(decode(b)).subarray(0, 12).toString('hex'), b.subarray(0, 12).toString('hex'));
    }
  });

  it('framer: random streams never overflow its bound and throw only ProtocolError', () => {
    const rng = new Rng(SEED ^ 0x3333);
    for (let i = 0; i < N / 10; i++) {
      const parts: Buffer[] = [];
      const count = 1 + rng.int(12);
      for (let k = 0; k < count; k++) {
        const r = rng.int(10);
        parts.push(r < 6 ? FIXTURES[rng.int(FIXTURES.length)]!.bytes : r < 9 ? mutate(rng, FIXTURES[rng.int(FIXTURES.length)]!.bytes) : rng.bytes(rng.int(64)));
      }
      const stream = Buffer.concat(parts);
      const framer = new PptpFramer();
      let off = 0;
      while (off < stream.length) {
        const len = 1 + rng.int(rng.int(2) ? 16 : 300);
        try {
          framer.push(stream.subarray(off, off + len), (m) => {
            assert.ok(m.length >= 16 && m.length <= MAX_MESSAGE_LENGTH);
            checkDecode(Buffer.from(m), 'framed');
          });
        } catch (err) {
          expectProtocolError(err, 'framer');
          assert.equal(framer.broken, true);
          break;
        }
        assert.ok(framer.buffered <= MAX_MESSAGE_LENGTH);
        off += len;
      }
    }
  });

  it('connection: input never throws, bounds hold, every accepted call is cleared once', () => {
    const rng = new Rng(SEED ^ 0x4444);
    const callIds = new CallIdAllocator();
    const sccrq = FIXTURES.find((f) => f.name === 'SCCRQ')!.bytes;
    const ocrqFixture = FIXTURES.find((f) => f.name === 'OCRQ')!;
    const runs = N / 20;
    let totalAccepted = 0;
    let totalSent = 0;
    let reachedEstablished = 0;
    for (let run = 0; run < runs; run++) {
      const clock = new FakeClock();
      const accepted = new Map<number, number>(); // callId → times cleared
      let conn!: ControlConnection;
      conn = new ControlConnection({
        clock, log: silentLogger, peer: 'fuzz', hostName: 'h', vendor: 'v', stimeoutMs: 10_000,
        echoIntervalMs: 60_000, echoTimeoutMs: 60_000, maxCallsPerConnection: 8, callIds,
        send: (bytes) => {
          totalSent++;
          assert.ok(bytes.length >= 16 && bytes.length <= MAX_MESSAGE_LENGTH);
        },
        close: () => {},
        onCall: (call): CallDecision => {
          const r = rng.int(10);
          if (r === 0) conn.disconnectCall(call.callId, 1, 'fuzz');
          if (r === 1) conn.stop(1 + rng.int(3));
          if (r < 7) {
            accepted.set(call.callId, 0);
            return { accept: true };
          }
          return { accept: false, result: 2 + rng.int(6), reason: 'fuzz' };
        },
        onCallCleared: (callId) => {
          assert.ok(accepted.has(callId), `cleared a call never accepted: ${callId}`);
          accepted.set(callId, accepted.get(callId)! + 1);
          if (rng.int(8) === 0) for (const id of conn.calls.keys()) conn.disconnectCall(id, 1, 'cascade');
        },
      });
      const parts: Buffer[] = rng.int(8) === 0 ? [] : [sccrq];
      const count = 1 + rng.int(15);
      for (let k = 0; k < count; k++) {
        // Calls are what matter: bias towards OCRQ.
        const f = rng.int(3) === 0 ? ocrqFixture : FIXTURES[rng.int(FIXTURES.length)]!;
        const b = Buffer.from(f.bytes);
        // Small call id space so CCRQ/SLI/WEN hit live calls.
        if (b.length >= 14 && rng.int(2) === 0) b.writeUInt16BE(1 + rng.int(4), 12);
        const r = rng.int(20);
        parts.push(r === 0 ? rng.bytes(rng.int(40)) : r === 1 ? mutate(rng, b) : b);
      }
      const stream = Buffer.concat(parts);
      let off = 0;
      while (off < stream.length) {
        const len = 1 + rng.int(200);
        conn.input(stream.subarray(off, off + len)); // must not throw
        off += len;
        assert.ok(conn.buffered <= MAX_MESSAGE_LENGTH);
        assert.ok(conn.calls.size <= 8);
        if (rng.int(4) === 0) clock.advance(rng.int(8) === 0 ? rng.int(130_000) : rng.int(1_000));
        if (rng.int(30) === 0) {
          const ids = [...conn.calls.keys()];
          if (ids.length) conn.disconnectCall(ids[rng.int(ids.length)]!, 1, 'fuzz');
        }
      }
      if (conn.state === 'established') reachedEstablished++;
      if (rng.int(3) === 0) conn.stop(3);
      clock.advance(rng.int(200_000));
      conn.closed();
      assert.equal(conn.state, 'closed');
      assert.equal(conn.calls.size, 0);
      assert.equal(clock.pending, 0);
      totalAccepted += accepted.size;
      for (const [id, times] of accepted) assert.equal(times, 1, `call ${id} cleared ${times} times (seed ${SEED})`);
    }
    assert.equal(callIds.size, 0, 'call ids leaked');
    // The run must have exercised real call handling, not just rejected garbage.
    assert.ok(totalAccepted > runs / 4, `only ${totalAccepted} calls accepted`);
    assert.ok(reachedEstablished > runs / 10, `only ${reachedEstablished} runs stayed established`);
    assert.ok(totalSent > runs, `only ${totalSent} messages sent`);
  });
});
