import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GreDemux } from '../../src/gre/demux.js';
import { GreCall } from '../../src/gre/engine.js';
import { encodeGreHeader } from '../../src/protocol/gre/codec.js';
import { GreTestClock } from '../helpers/gre-clock.js';
import { hex } from '../helpers/gre-hex.js';

const NAT = 0xcb007105; // 203.0.113.5, two clients behind it
const OTHER = 0xc6336407; // 198.51.100.7

/** A GRE data packet for our call id with a one-byte payload. */
function pkt(callId: number, seq: number, byte: number): Uint8Array {
  const b = new Uint8Array(13);
  const hl = encodeGreHeader(b, 0, { callId, payloadLen: 1, seq });
  b[hl] = byte;
  return b;
}

function makeCall(clock: GreTestClock, peerCallId: number) {
  const got: number[] = [];
  const call = new GreCall({ peerCallId, clock, sendPacket() {}, deliver: (p) => got.push(p[0]!) });
  return { call, got };
}

test('NAT: two clients behind one address, different call ids, each gets its own packets', () => {
  const clock = new GreTestClock();
  const d = new GreDemux();
  const a = makeCall(clock, 0x0101);
  const b = makeCall(clock, 0x0202);
  d.register(NAT, 100, a.call);
  d.register(NAT, 200, b.call);
  assert.equal(d.dispatch(NAT, pkt(100, 0, 0xa1), 0, 13), true);
  assert.equal(d.dispatch(NAT, pkt(200, 0, 0xb1), 0, 13), true);
  assert.equal(d.dispatch(NAT, pkt(100, 1, 0xa2), 0, 13), true);
  assert.deepEqual(a.got, [0xa1, 0xa2]);
  assert.deepEqual(b.got, [0xb1]);
  assert.equal(d.stats.dispatched, 3);
  assert.equal(d.size, 2);
});

test('the same call id from two different sources routes by source', () => {
  const clock = new GreTestClock();
  const d = new GreDemux();
  const a = makeCall(clock, 1);
  const b = makeCall(clock, 2);
  d.register(NAT, 5, a.call);
  d.register(OTHER, 5, b.call);
  d.dispatch(OTHER, pkt(5, 0, 0xbb), 0, 13);
  d.dispatch(NAT, pkt(5, 0, 0xaa), 0, 13);
  assert.deepEqual(a.got, [0xaa]);
  assert.deepEqual(b.got, [0xbb]);
});

test('wrong source for a live call id and unknown call ids are dropped and counted', () => {
  const clock = new GreTestClock();
  const d = new GreDemux();
  const a = makeCall(clock, 1);
  d.register(NAT, 100, a.call);
  assert.equal(d.dispatch(OTHER, pkt(100, 0, 1), 0, 13), false);
  assert.equal(d.dispatch(NAT, pkt(101, 0, 1), 0, 13), false);
  assert.equal(d.dispatch(OTHER, pkt(7, 0, 1), 0, 13), false);
  assert.equal(d.stats.wrongSource, 1);
  assert.equal(d.stats.unknownCall, 2);
  assert.deepEqual(a.got, []);
  assert.equal(a.call.stats.rxPackets, 0, 'a spoofed packet did not set the call\'s expectation');
});

test('malformed packets are counted by code, never thrown', () => {
  const d = new GreDemux();
  const bad = hex('20 01 88 0b 00 05 00 64'); // payload length 5 in an 8-byte packet
  assert.equal(d.dispatch(NAT, bad, 0, bad.length), false);
  assert.equal(d.dispatch(NAT, bad, 0, 3), false);
  assert.equal(d.dispatch(NAT, bad, 4, 100), false);
  assert.equal(d.stats.malformed, 3);
  assert.deepEqual(d.stats.malformedByCode, { ERR_GRE_LENGTH: 1, ERR_GRE_TRUNCATED: 2 });
});

test('ack-only packets reach the call with an empty payload', () => {
  const clock = new GreTestClock();
  const d = new GreDemux();
  const a = makeCall(clock, 1);
  d.register(NAT, 9, a.call);
  const ack = hex('20 81 88 0b 00 00 00 09 00 00 00 2a'); // ack 42 for call 9
  assert.equal(d.dispatch(NAT, ack, 0, ack.length), true);
  assert.equal(a.call.stats.acksOnly, 1);
  assert.equal(a.call.stats.lastAckReceived, 42);
  assert.deepEqual(a.got, []);
});

test('dispatchIpv4: strips the raw-socket IPv4 header and routes by its source address', () => {
  const clock = new GreTestClock();
  const d = new GreDemux();
  const a = makeCall(clock, 1);
  d.register(0xc0a8010a, 0x1234, a.call);
  const ip = hex(`
    45 00 00 21 00 00 40 00 40 2f 00 00  # IPv4, total 33, protocol 47
    c0 a8 01 0a c0 a8 01 01              # 192.168.1.10 → 192.168.1.1
    30 01 88 0b 00 01 12 34 00 00 00 00  # GRE seq 0, call 0x1234, 1 byte
    5a
  `);
  assert.equal(d.dispatchIpv4(ip, 0, ip.length), true);
  assert.deepEqual(a.got, [0x5a]);
  ip[15] = 0x0b; // source 192.168.1.11: same call id, wrong address
  assert.equal(d.dispatchIpv4(ip, 0, ip.length), false);
  assert.equal(d.stats.wrongSource, 1);
  ip[9] = 6;
  assert.equal(d.dispatchIpv4(ip, 0, ip.length), false);
  assert.equal(d.stats.malformedByCode.ERR_GRE_IP_PROTOCOL, 1);
});

test('register/unregister: duplicates refused, unregister makes the call id unknown again', () => {
  const clock = new GreTestClock();
  const d = new GreDemux();
  const a = makeCall(clock, 1);
  d.register(NAT, 100, a.call);
  assert.throws(() => d.register(NAT, 100, a.call), { code: 'ERR_GRE_DEMUX' });
  assert.throws(() => d.register(-1, 100, a.call), { code: 'ERR_GRE_DEMUX' });
  assert.throws(() => d.register(NAT, 65536, a.call), { code: 'ERR_GRE_DEMUX' });
  assert.equal(d.lookup(NAT, 100), a.call);
  assert.equal(d.unregister(NAT, 100), true);
  assert.equal(d.unregister(NAT, 100), false);
  d.dispatch(OTHER, pkt(100, 0, 1), 0, 13);
  assert.equal(d.stats.unknownCall, 1, 'no longer "wrong source" once nobody owns the id');
  assert.equal(d.size, 0);
});

test('source addresses with the top bit set (>= 128.0.0.0) are keyed correctly', () => {
  const clock = new GreTestClock();
  const d = new GreDemux();
  const a = makeCall(clock, 1);
  d.register(0xffffffff, 0xffff, a.call);
  assert.equal(d.dispatch(0xffffffff, pkt(0xffff, 0, 7), 0, 13), true);
  assert.equal(d.dispatch(0xfffffffe, pkt(0xffff, 0, 7), 0, 13), false);
  assert.deepEqual(a.got, [7]);
});
