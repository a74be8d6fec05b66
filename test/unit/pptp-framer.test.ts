import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PptpFramer, isKnownMessageLength } from '../../src/protocol/pptp/framer.js';
import { MAX_MESSAGE_LENGTH, MESSAGE_LENGTH } from '../../src/protocol/pptp/constants.js';
import { ProtocolError } from '../../src/util/errors.js';
import { seededRandom } from '../../src/util/random.js';
import { FIXTURES, fixture } from '../helpers/pptp-fixtures.js';

/** Feeds chunks, returns copies of the messages (views are only valid during the callback). */
function collect(framer: PptpFramer, chunks: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const c of chunks) framer.push(c, (m) => out.push(Buffer.from(m).toString('hex')));
  return out;
}

function throwsCode(fn: () => void, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ProtocolError && e.code === code);
}

describe('PPTP framer', () => {
  it('knows exactly the fixed lengths of the 15 types', () => {
    const known = new Set(MESSAGE_LENGTH.slice(1));
    for (let n = 0; n <= 300; n++) assert.equal(isKnownMessageLength(n), known.has(n), String(n));
    assert.equal(isKnownMessageLength(-1), false);
  });

  it('yields one whole message from one chunk', () => {
    const f = fixture('SCCRQ').bytes;
    assert.deepEqual(collect(new PptpFramer(), [f]), [f.toString('hex')]);
  });

  it('yields several messages from one chunk, in order', () => {
    const all = Buffer.concat(FIXTURES.map((x) => x.bytes));
    assert.deepEqual(collect(new PptpFramer(), [all]), FIXTURES.map((x) => x.bytes.toString('hex')));
  });

  it('reassembles a stream fed one byte at a time', () => {
    const all = Buffer.concat(FIXTURES.map((x) => x.bytes));
    const framer = new PptpFramer();
    const chunks = [...all].map((b) => Uint8Array.of(b));
    assert.deepEqual(collect(framer, chunks), FIXTURES.map((x) => x.bytes.toString('hex')));
    assert.equal(framer.buffered, 0);
  });

  it('property: any split of a long stream yields the same messages', () => {
    const rnd = seededRandom(0xc0ffee);
    const r = (n: number) => {
      const b = rnd(4);
      return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) % n;
    };
    for (let iter = 0; iter < 300; iter++) {
      const picks = Array.from({ length: 1 + r(40) }, () => FIXTURES[r(FIXTURES.length)]!.bytes);
      const stream = Buffer.concat(picks);
      const chunks: Uint8Array[] = [];
      let off = 0;
      while (off < stream.length) {
        const len = 1 + r(r(2) === 0 ? 8 : 400);
        chunks.push(stream.subarray(off, Math.min(stream.length, off + len)));
        off += len;
      }
      const framer = new PptpFramer();
      let maxBuffered = 0;
      const out: string[] = [];
      for (const c of chunks) {
        framer.push(c, (m) => out.push(Buffer.from(m).toString('hex')));
        maxBuffered = Math.max(maxBuffered, framer.buffered);
      }
      assert.deepEqual(out, picks.map((p) => p.toString('hex')), `iteration ${iter}`);
      assert.equal(framer.buffered, 0);
      assert.ok(maxBuffered < MAX_MESSAGE_LENGTH);
    }
  });

  it('holds a partial message and nothing more', () => {
    const icrq = fixture('ICRQ').bytes;
    const framer = new PptpFramer();
    assert.deepEqual(collect(framer, [icrq.subarray(0, 219)]), []);
    assert.equal(framer.buffered, 219);
    assert.deepEqual(collect(framer, [icrq.subarray(219)]), [icrq.toString('hex')]);
    assert.equal(framer.buffered, 0);
  });

  it('rejects an impossible length before buffering the body', () => {
    for (const len of [0, 1, 11, 12, 15, 17, 100, 221, 0x1000, 0xffff]) {
      const framer = new PptpFramer();
      const chunk = Buffer.alloc(2 + 50);
      chunk.writeUInt16BE(len, 0);
      throwsCode(() => framer.push(chunk, () => assert.fail('no message')), 'ERR_PPTP_LENGTH');
      assert.equal(framer.buffered, 0, String(len));
      assert.equal(framer.broken, true);
    }
  });

  it('rejects a bad length split across chunks at its second byte', () => {
    const framer = new PptpFramer();
    framer.push(Uint8Array.of(0x03), () => assert.fail('no message'));
    assert.equal(framer.buffered, 1);
    throwsCode(() => framer.push(Uint8Array.of(0xe8, 1, 2, 3), () => assert.fail('no message')), 'ERR_PPTP_LENGTH');
    assert.equal(framer.buffered, 0);
  });

  it('rejects a bad second message after delivering the good first one', () => {
    const framer = new PptpFramer();
    const got: string[] = [];
    const chunk = Buffer.concat([fixture('EchoRequest').bytes, Buffer.from([0xff, 0xff, 0, 0])]);
    throwsCode(() => framer.push(chunk, (m) => got.push(Buffer.from(m).toString('hex'))), 'ERR_PPTP_LENGTH');
    assert.deepEqual(got, [fixture('EchoRequest').bytes.toString('hex')]);
  });

  it('is unusable after a framing error', () => {
    const framer = new PptpFramer();
    throwsCode(() => framer.push(Uint8Array.of(0, 5), () => {}), 'ERR_PPTP_LENGTH');
    throwsCode(() => framer.push(fixture('EchoRequest').bytes, () => assert.fail('no message')), 'ERR_PPTP_STREAM_BROKEN');
  });

  it('stays consistent when the consumer throws', () => {
    const framer = new PptpFramer();
    const two = Buffer.concat([fixture('EchoRequest').bytes, fixture('StopCCRQ').bytes]);
    assert.throws(() => framer.push(two, () => {
      throw new Error('consumer');
    }));
    assert.equal(framer.buffered, 0);
    assert.deepEqual(collect(framer, [fixture('CCRQ').bytes]), [fixture('CCRQ').bytes.toString('hex')]);
  });
});
