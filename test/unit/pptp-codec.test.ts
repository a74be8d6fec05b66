import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode, layoutSize, LAYOUT, peekControlType } from '../../src/protocol/pptp/codec.js';
import { CtrlType, MESSAGE_LENGTH, PPTP_HEADER_LENGTH, type CtrlTypeName } from '../../src/protocol/pptp/constants.js';
import type { PptpMessage } from '../../src/protocol/pptp/messages.js';
import { ProtocolError } from '../../src/util/errors.js';
import { FIXTURES, fixture } from '../helpers/pptp-fixtures.js';
import { hex, text } from '../helpers/pptp-hex.js';

function rejects(bytes: Uint8Array, code: string): void {
  assert.throws(() => decode(bytes), (err: unknown) => {
    assert.ok(err instanceof ProtocolError, `expected ProtocolError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

function patched(name: PptpMessage['type'], offset: number, ...bytes: number[]): Buffer {
  const b = Buffer.from(fixture(name).bytes);
  bytes.forEach((v, i) => (b[offset + i] = v));
  return b;
}

describe('PPTP codec: layout', () => {
  it('every body layout adds up to the fixed length of its type', () => {
    for (const [name, num] of Object.entries(CtrlType)) {
      assert.equal(layoutSize(name as CtrlTypeName) + PPTP_HEADER_LENGTH, MESSAGE_LENGTH[num], name);
    }
    assert.equal(Object.keys(LAYOUT).length, 15);
  });

  it('has one fixture per control type, each of its fixed length', () => {
    assert.deepEqual(FIXTURES.map((f) => f.name).sort(), Object.keys(CtrlType).sort());
    for (const f of FIXTURES) assert.equal(f.bytes.length, MESSAGE_LENGTH[CtrlType[f.name as CtrlTypeName]], f.name);
  });

  it('the fixture text() helper matches literal hex', () => {
    const sccrq = fixture('SCCRQ').bytes;
    assert.equal(sccrq.subarray(28, 92).toString('hex'), text('local', 64));
    assert.equal(sccrq.subarray(92, 156).toString('hex'), text('cananian', 64));
  });
});

describe('PPTP codec: byte-exact fixtures both ways', () => {
  for (const f of FIXTURES) {
    it(`${f.name}: decode(bytes) equals the message`, () => {
      assert.deepEqual(decode(f.bytes), f.message);
    });
    it(`${f.name}: encode(message) equals the bytes`, () => {
      const out = encode(f.message);
      assert.equal(out.toString('hex'), f.bytes.toString('hex'));
    });
    it(`${f.name}: encode(decode(bytes)) equals the bytes`, () => {
      assert.ok(encode(decode(f.bytes)).equals(f.bytes));
      assert.equal(peekControlType(f.bytes), CtrlType[f.name as CtrlTypeName]);
    });
  }

  it('decodes from a Uint8Array view with a byte offset', () => {
    const f = fixture('OCRP');
    const backing = new Uint8Array(f.bytes.length + 7);
    backing.set(f.bytes, 5);
    assert.deepEqual(decode(backing.subarray(5, 5 + f.bytes.length)), f.message);
  });
});

describe('PPTP codec: string fields', () => {
  it('a full 64-byte host name without NUL stops at the field end', () => {
    const m = { ...fixture('SCCRQ').message, hostName: 'A'.repeat(64), vendor: 'B'.repeat(64) } as PptpMessage;
    const bytes = encode(m);
    const back = decode(bytes) as { hostName: string; vendor: string };
    assert.equal(back.hostName, 'A'.repeat(64));
    assert.equal(back.vendor, 'B'.repeat(64));
  });

  it('reads only up to the first NUL inside the field', () => {
    const b = Buffer.from(fixture('SCCRQ').bytes);
    b.write('ab\0cd', 28, 'latin1');
    assert.equal((decode(b) as { hostName: string }).hostName, 'ab');
  });

  it('is latin1 both ways', () => {
    const b = Buffer.from(fixture('CDN').bytes);
    b[20] = 0xe9; // "é" in latin1
    b[21] = 0xff;
    b[22] = 0;
    const m = decode(b) as { callStatistics: string };
    assert.equal(m.callStatistics, '\u00e9\u00ff');
    assert.equal(encode(m as PptpMessage).subarray(20, 23).toString('hex'), 'e9ff00');
  });

  it('encode truncates an over-long string to its field', () => {
    const m = { ...fixture('OCRQ').message, phoneNumber: '9'.repeat(100), subaddress: 'x' } as PptpMessage;
    const bytes = encode(m);
    assert.equal(bytes.length, 168);
    const back = decode(bytes) as { phoneNumber: string; subaddress: string };
    assert.equal(back.phoneNumber, '9'.repeat(64));
    assert.equal(back.subaddress, 'x');
  });
});

describe('PPTP codec: validation', () => {
  it('ERR_PPTP_SHORT below the 12-byte header', () => {
    rejects(new Uint8Array(0), 'ERR_PPTP_SHORT');
    rejects(fixture('StopCCRQ').bytes.subarray(0, 11), 'ERR_PPTP_SHORT');
  });

  it('ERR_PPTP_LENGTH when the length field disagrees with the buffer', () => {
    rejects(fixture('StopCCRQ').bytes.subarray(0, 15), 'ERR_PPTP_LENGTH'); // truncated
    rejects(Buffer.concat([fixture('StopCCRQ').bytes, Buffer.from([0])]), 'ERR_PPTP_LENGTH'); // oversized
    rejects(patched('SCCRQ', 0, 0x00, 0x9d), 'ERR_PPTP_LENGTH');
  });

  it('ERR_PPTP_LENGTH when the length is not the fixed length of the type', () => {
    // An Echo-Request (type 5, 16 bytes) claiming 20 bytes, and 20 bytes long.
    rejects(hex(`0014 0001 1a2b3c4d 0005 0000  12345678 00000000`), 'ERR_PPTP_LENGTH');
    // An SLI (24) header on a 16-byte message.
    rejects(hex(`0010 0001 1a2b3c4d 000f 0000  0001 0000 ffffffff`), 'ERR_PPTP_LENGTH');
  });

  it('ERR_PPTP_MSG_TYPE for message type other than 1', () => {
    rejects(patched('EchoRequest', 2, 0x00, 0x02), 'ERR_PPTP_MSG_TYPE'); // management
    rejects(patched('EchoRequest', 2, 0x00, 0x00), 'ERR_PPTP_MSG_TYPE');
    rejects(patched('EchoRequest', 2, 0x01, 0x01), 'ERR_PPTP_MSG_TYPE');
  });

  it('ERR_PPTP_MAGIC for a wrong magic cookie', () => {
    rejects(patched('EchoRequest', 4, 0x4d, 0x3c, 0x2b, 0x1a), 'ERR_PPTP_MAGIC');
    rejects(patched('SCCRQ', 7, 0x4c), 'ERR_PPTP_MAGIC');
  });

  it('ERR_PPTP_CTRL_TYPE for control types 0, 16 and beyond', () => {
    rejects(patched('EchoRequest', 8, 0x00, 0x00), 'ERR_PPTP_CTRL_TYPE');
    rejects(patched('EchoRequest', 8, 0x00, 0x10), 'ERR_PPTP_CTRL_TYPE');
    rejects(patched('EchoRequest', 8, 0xff, 0xff), 'ERR_PPTP_CTRL_TYPE');
    rejects(patched('EchoRequest', 8, 0x01, 0x05), 'ERR_PPTP_CTRL_TYPE');
  });

  it('ERR_PPTP_RESERVED for a non-zero header Reserved0', () => {
    rejects(patched('EchoRequest', 10, 0x00, 0x01), 'ERR_PPTP_RESERVED');
    rejects(patched('SCCRQ', 10, 0x80, 0x00), 'ERR_PPTP_RESERVED');
  });

  it('tolerates non-zero reserved fields inside a body and re-encodes them as zero', () => {
    const b = patched('StopCCRQ', 13, 0xaa, 0xbb, 0xcc);
    const m = decode(b);
    assert.deepEqual(m, { type: 'StopCCRQ', reason: 3 });
    assert.ok(encode(m).equals(fixture('StopCCRQ').bytes));
    const sccrq = patched('SCCRQ', 14, 0x12, 0x34); // Reserved1 after the version
    assert.deepEqual(decode(sccrq), fixture('SCCRQ').message);
  });

  it('encode rejects out-of-range fields and unknown types with a typed error', () => {
    const bad = (m: unknown, code: string) =>
      assert.throws(() => encode(m as PptpMessage), (e: unknown) => e instanceof ProtocolError && e.code === code);
    bad({ ...fixture('OCRP').message, callId: 65536 }, 'ERR_PPTP_FIELD_RANGE');
    bad({ ...fixture('OCRP').message, resultCode: -1 }, 'ERR_PPTP_FIELD_RANGE');
    bad({ ...fixture('EchoRequest').message, identifier: 2 ** 32 }, 'ERR_PPTP_FIELD_RANGE');
    bad({ ...fixture('EchoRequest').message, identifier: 1.5 }, 'ERR_PPTP_FIELD_RANGE');
    bad({ type: 'SLI', peerCallId: 1, sendAccm: 0 }, 'ERR_PPTP_FIELD_RANGE');
    bad({ type: 'Nope' }, 'ERR_PPTP_CTRL_TYPE');
    bad({ type: 'toString' }, 'ERR_PPTP_CTRL_TYPE');
  });
});
