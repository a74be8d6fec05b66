import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../src/util/errors.js';
import {
  createGreHeader,
  decodeGre,
  encodeGreHeader,
  greHeaderLength,
  stripIpv4,
  tryDecodeGre,
  type GreHeader,
} from '../../src/protocol/gre/codec.js';
import { hex, toHex } from '../helpers/gre-hex.js';

// --- fixtures (RFC 2637 §4.1 layout) ---

const DATA_SEQ_ACK = hex(`
  30 81        # C0 R0 K1 S1 s0 recur0 | A1 flags0 ver1
  88 0b        # protocol type: PPP
  00 04        # key high: payload length 4
  12 34        # key low: call id 0x1234
  00 00 00 05  # sequence number 5
  00 00 00 03  # acknowledgment number 3
  c0 21 01 07  # payload: LCP code 1 id 7 (first bytes of a Configure-Request)
`);

const DATA_SEQ_ONLY = hex(`
  30 01        # K S, version 1, no A
  88 0b        # PPP
  00 03        # payload length 3
  00 2a        # call id 42
  ff ff ff ff  # sequence number 2^32-1 (wraps next)
  21 45 00     # payload: PPP proto 0x21 (PFC) + first IP byte
`);

const ACK_ONLY = hex(`
  20 81        # K A, version 1, no S
  88 0b        # PPP
  00 00        # payload length 0
  ab cd        # call id 0xabcd
  80 00 00 01  # acknowledgment number 0x80000001
`);

function expectHeader(h: GreHeader, want: Partial<GreHeader>): void {
  for (const [k, v] of Object.entries(want)) assert.equal(h[k as keyof GreHeader], v, k);
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ProtocolError, `not a ProtocolError: ${String(e)}`);
    return e.code;
  }
  assert.fail('did not throw');
}

test('decode: data packet with sequence and ack', () => {
  const h = decodeGre(DATA_SEQ_ACK, 0, DATA_SEQ_ACK.length);
  expectHeader(h, { callId: 0x1234, payloadLen: 4, hasSeq: true, seq: 5, hasAck: true, ack: 3, headerLen: 16 });
  assert.equal(toHex(DATA_SEQ_ACK.subarray(h.headerLen, h.headerLen + h.payloadLen)), 'c0 21 01 07');
});

test('decode: data packet with sequence only, max sequence number', () => {
  const h = decodeGre(DATA_SEQ_ONLY, 0, DATA_SEQ_ONLY.length);
  expectHeader(h, { callId: 42, payloadLen: 3, hasSeq: true, seq: 0xffffffff, hasAck: false, headerLen: 12 });
});

test('decode: ack-only packet, ack with the top bit set stays unsigned', () => {
  const h = decodeGre(ACK_ONLY, 0, ACK_ONLY.length);
  expectHeader(h, { callId: 0xabcd, payloadLen: 0, hasSeq: false, hasAck: true, ack: 0x80000001, headerLen: 12 });
});

test('decode: at an offset inside a bigger buffer, into a caller-provided header, trailing bytes ignored', () => {
  const buf = new Uint8Array(5 + DATA_SEQ_ACK.length + 3).fill(0xee);
  buf.set(DATA_SEQ_ACK, 5);
  const out = createGreHeader();
  const h = decodeGre(buf, 5, DATA_SEQ_ACK.length + 3, out);
  assert.equal(h, out);
  expectHeader(h, { callId: 0x1234, payloadLen: 4, seq: 5, ack: 3 });
});

test('encode: byte-exact against the fixtures', () => {
  const a = new Uint8Array(16);
  assert.equal(encodeGreHeader(a, 0, { callId: 0x1234, payloadLen: 4, seq: 5, ack: 3 }), 16);
  assert.equal(toHex(a), toHex(DATA_SEQ_ACK.subarray(0, 16)));

  const b = new Uint8Array(12);
  assert.equal(encodeGreHeader(b, 0, { callId: 42, payloadLen: 3, seq: 0xffffffff }), 12);
  assert.equal(toHex(b), toHex(DATA_SEQ_ONLY.subarray(0, 12)));

  const c = new Uint8Array(12);
  assert.equal(encodeGreHeader(c, 0, { callId: 0xabcd, payloadLen: 0, ack: 0x80000001 }), 12);
  assert.equal(toHex(c), toHex(ACK_ONLY));
});

test('encode: writes in place at an offset and leaves the payload after it untouched', () => {
  const buf = new Uint8Array(4 + 16 + 4);
  buf.set([0xc0, 0x21, 0x01, 0x07], 20);
  const hl = encodeGreHeader(buf, 4, { callId: 0x1234, payloadLen: 4, seq: 5, ack: 3 });
  assert.equal(hl, 16);
  assert.equal(toHex(buf.subarray(4)), toHex(DATA_SEQ_ACK));
  assert.deepEqual([...buf.subarray(0, 4)], [0, 0, 0, 0]);
});

test('encode → decode round trip over field combinations', () => {
  const buf = new Uint8Array(16);
  const h = createGreHeader();
  for (const seq of [undefined, 0, 1, 0x7fffffff, 0x80000000, 0xffffffff]) {
    for (const ack of [undefined, 0, 0xfffffffe]) {
      const hl = encodeGreHeader(buf, 0, { callId: 0xfffe, payloadLen: 0, seq, ack });
      assert.equal(hl, greHeaderLength(seq !== undefined, ack !== undefined));
      decodeGre(buf, 0, hl, h);
      assert.equal(h.hasSeq, seq !== undefined);
      assert.equal(h.hasAck, ack !== undefined);
      if (seq !== undefined) assert.equal(h.seq, seq);
      if (ack !== undefined) assert.equal(h.ack, ack);
      assert.equal(h.callId, 0xfffe);
    }
  }
});

test('encode: bad arguments are ERR_GRE_ENCODE', () => {
  const buf = new Uint8Array(16);
  assert.equal(code(() => encodeGreHeader(new Uint8Array(11), 0, { callId: 1, payloadLen: 0, seq: 1 })), 'ERR_GRE_ENCODE');
  assert.equal(code(() => encodeGreHeader(buf, 8, { callId: 1, payloadLen: 0, seq: 1, ack: 1 })), 'ERR_GRE_ENCODE');
  assert.equal(code(() => encodeGreHeader(buf, 0, { callId: 0x10000, payloadLen: 0 })), 'ERR_GRE_ENCODE');
  assert.equal(code(() => encodeGreHeader(buf, 0, { callId: 1, payloadLen: 0x10000 })), 'ERR_GRE_ENCODE');
  assert.equal(code(() => encodeGreHeader(buf, 0, { callId: 1, payloadLen: 0, seq: 2 ** 32 })), 'ERR_GRE_ENCODE');
  assert.equal(code(() => encodeGreHeader(buf, 0, { callId: 1, payloadLen: 0, ack: -1 })), 'ERR_GRE_ENCODE');
  assert.equal(code(() => encodeGreHeader(buf, -1, { callId: 1, payloadLen: 0 })), 'ERR_GRE_ENCODE');
});

/** DATA_SEQ_ACK with one byte replaced. */
function patched(at: number, value: number, src = DATA_SEQ_ACK): Uint8Array {
  const b = src.slice();
  b[at] = value;
  return b;
}

test('decode validation: each failure has its own code', () => {
  const cases: [string, Uint8Array, number, string][] = [
    ['shorter than the fixed header', DATA_SEQ_ACK, 7, 'ERR_GRE_TRUNCATED'],
    ['empty', DATA_SEQ_ACK, 0, 'ERR_GRE_TRUNCATED'],
    ['S and A set but only 12 bytes', DATA_SEQ_ACK, 12, 'ERR_GRE_TRUNCATED'],
    ['version 0 (plain GRE)', patched(1, 0x80), 20, 'ERR_GRE_VERSION'],
    ['version 2', patched(1, 0x82), 20, 'ERR_GRE_VERSION'],
    ['K clear', patched(0, 0x10), 20, 'ERR_GRE_NO_KEY'],
    ['C set', patched(0, 0xb0), 20, 'ERR_GRE_FLAGS'],
    ['R set', patched(0, 0x70), 20, 'ERR_GRE_FLAGS'],
    ['strict source route set', patched(0, 0x38), 20, 'ERR_GRE_FLAGS'],
    ['recursion control 1', patched(0, 0x31), 20, 'ERR_GRE_FLAGS'],
    ['reserved flags set', patched(1, 0x89), 20, 'ERR_GRE_FLAGS'],
    ['protocol 0x0800 (IP)', patched(2, 0x08, patched(3, 0x00)), 20, 'ERR_GRE_PROTOCOL'],
    ['payload length 5 in a 4-byte payload', patched(5, 0x05), 20, 'ERR_GRE_LENGTH'],
    ['payload length 0xffff', patched(4, 0xff, patched(5, 0xff)), 20, 'ERR_GRE_LENGTH'],
    ['payload cut off by len', DATA_SEQ_ACK, 19, 'ERR_GRE_LENGTH'],
    ['payload without S', hex('20 81 88 0b 00 01 00 01 00 00 00 00 ff'), 13, 'ERR_GRE_NO_SEQ'],
  ];
  for (const [name, buf, len, want] of cases) {
    assert.equal(code(() => decodeGre(buf, 0, len)), want, name);
    assert.equal(tryDecodeGre(buf, 0, len, createGreHeader()), want, name);
  }
});

test('decode validation: offsets and lengths outside the buffer are truncation, not RangeError', () => {
  for (const [off, len] of [[-1, 20], [0, 21], [19, 8], [1.5, 8], [NaN, 8], [0, NaN], [0, -3], [0, Infinity]]) {
    assert.equal(code(() => decodeGre(DATA_SEQ_ACK, off!, len!)), 'ERR_GRE_TRUNCATED', `${off},${len}`);
  }
});

// --- outer IPv4 header (raw socket) ---

const IPV4_GRE = hex(`
  45 00 00 28  # version 4, IHL 5 | tos | total length 40 (20 IP + 20 GRE)
  12 34 40 00  # id | DF, fragment offset 0
  40 2f 00 00  # TTL 64 | protocol 47 (GRE) | checksum (not ours to check)
  c0 a8 01 0a  # source 192.168.1.10
  c0 a8 01 01  # destination 192.168.1.1
  30 81 88 0b 00 04 12 34 00 00 00 05 00 00 00 03 c0 21 01 07  # DATA_SEQ_ACK
  de ad        # bytes beyond the total length (must be excluded)
`);

test('stripIpv4: source address, GRE offset and length bounded by the total length', () => {
  const v = stripIpv4(IPV4_GRE, 0, IPV4_GRE.length);
  assert.equal(v.src, 0xc0a8010a);
  assert.equal(v.greOff, 20);
  assert.equal(v.greLen, 20);
  const h = decodeGre(IPV4_GRE, v.greOff, v.greLen);
  assert.equal(h.callId, 0x1234);
});

test('stripIpv4: IP options (IHL 6) move the GRE offset', () => {
  const withOpt = hex(`
    46 00 00 20  # IHL 6 (24 bytes), total 32
    00 00 00 00
    40 2f 00 00
    0a 00 00 01  # source 10.0.0.1
    0a 00 00 02
    01 01 01 00  # options: NOP NOP NOP EOL
    20 81 88 0b 00 00 00 07  # GRE without seq/ack (8 bytes)
  `);
  const v = stripIpv4(withOpt, 0, withOpt.length);
  assert.equal(v.src, 0x0a000001);
  assert.equal(v.greOff, 24);
  assert.equal(v.greLen, 8);
});

test('stripIpv4 validation: each failure has its own code', () => {
  const p = (at: number, value: number) => patched(at, value, IPV4_GRE);
  const cases: [string, Uint8Array, number, string][] = [
    ['19 bytes', IPV4_GRE, 19, 'ERR_GRE_IP_TRUNCATED'],
    ['version 6', p(0, 0x65), IPV4_GRE.length, 'ERR_GRE_IP_VERSION'],
    ['IHL 4', p(0, 0x44), IPV4_GRE.length, 'ERR_GRE_IP_HEADER'],
    ['IHL 15 beyond a 30-byte packet', p(0, 0x4f), 30, 'ERR_GRE_IP_HEADER'],
    ['protocol 6 (TCP)', p(9, 6), IPV4_GRE.length, 'ERR_GRE_IP_PROTOCOL'],
    ['total length beyond the packet', p(3, 0x2b), IPV4_GRE.length, 'ERR_GRE_IP_LENGTH'],
    ['total length smaller than the header', p(3, 0x10), IPV4_GRE.length, 'ERR_GRE_IP_LENGTH'],
    ['offset out of the buffer', IPV4_GRE, IPV4_GRE.length + 1, 'ERR_GRE_IP_TRUNCATED'],
  ];
  for (const [name, buf, len, want] of cases) assert.equal(code(() => stripIpv4(buf, 0, len)), want, name);
});
