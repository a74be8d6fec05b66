import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GreCall, type GreCallOptions } from '../../src/gre/engine.js';
import { createGreHeader, decodeGre, type GreHeader } from '../../src/protocol/gre/codec.js';
import { GreTestClock } from '../helpers/gre-clock.js';
import { hex, toHex } from '../helpers/gre-hex.js';

interface Sent {
  bytes: Uint8Array;
  hdr: GreHeader;
}

function setup(opts: Partial<GreCallOptions> = {}) {
  const clock = new GreTestClock();
  const sent: Sent[] = [];
  const got: number[][] = [];
  const call = new GreCall({
    peerCallId: 0x4321,
    clock,
    sendPacket(pkt) {
      const bytes = pkt.slice(); // the engine may reuse its buffer
      sent.push({ bytes, hdr: decodeGre(bytes, 0, bytes.length) });
    },
    deliver(p) {
      got.push([...p]);
    },
    ...opts,
  });
  return { clock, sent, got, call };
}

/** A received data packet with sequence number seq whose payload is [tag, tag+1]. */
function data(call: GreCall, seq: number, tag = seq & 0xff, ack?: number): void {
  const h = createGreHeader();
  h.hasSeq = true;
  h.seq = seq >>> 0;
  h.payloadLen = 2;
  if (ack !== undefined) {
    h.hasAck = true;
    h.ack = ack;
  }
  call.input(h, Uint8Array.of(tag, (tag + 1) & 0xff));
}

function ackOnly(call: GreCall, ack: number): void {
  const h = createGreHeader();
  h.hasAck = true;
  h.ack = ack;
  call.input(h, new Uint8Array(0));
}

const tags = (got: number[][]) => got.map((p) => p[0]);

test('send: sequence numbers start at 0, byte-exact packet, no ack before anything was received', () => {
  const { call, sent } = setup();
  call.send(hex('c0 21 01 01'));
  call.send(hex('c0 21 01 02'));
  assert.equal(sent.length, 2);
  assert.equal(
    toHex(sent[0]!.bytes),
    toHex(hex(`
      30 01        # K S, version 1
      88 0b        # PPP
      00 04        # payload length
      43 21        # peer call id
      00 00 00 00  # seq 0
      c0 21 01 01  # payload
    `)),
  );
  assert.equal(sent[1]!.hdr.seq, 1);
  assert.equal(sent[1]!.hdr.hasAck, false);
  assert.equal(call.stats.txPackets, 2);
  assert.equal(call.stats.txBytes, 8);
});

test('send: piggy-backs the highest in-order received seq once, then no ack until new data', () => {
  const { call, sent } = setup();
  data(call, 7);
  call.send(hex('aa'));
  assert.equal(
    toHex(sent[0]!.bytes),
    toHex(hex(`
      30 81        # K S A, version 1
      88 0b
      00 01        # payload length 1
      43 21
      00 00 00 00  # seq 0
      00 00 00 07  # ack 7
      aa
    `)),
  );
  call.send(hex('bb'));
  assert.equal(sent[1]!.hdr.hasAck, false);
  data(call, 8);
  data(call, 9);
  call.send(hex('cc'));
  assert.equal(sent[2]!.hdr.ack, 9);
});

test('ack-only: sent ackDelayMs after received data when nothing was sent, exactly once, one timer', () => {
  const { call, sent, clock } = setup();
  data(call, 7);
  clock.advance(10);
  data(call, 8);
  data(call, 9);
  assert.equal(clock.armed, 1, 'one timer for a burst of packets');
  clock.advance(39); // t = 49
  assert.equal(sent.length, 0);
  clock.advance(1); // t = 50
  assert.equal(sent.length, 1);
  assert.equal(
    toHex(sent[0]!.bytes),
    toHex(hex(`
      20 81        # K A, no S
      88 0b
      00 00        # no payload
      43 21
      00 00 00 09  # ack 9
    `)),
  );
  assert.equal(call.stats.acksSent, 1);
  assert.equal(call.stats.txPackets, 0, 'ack-only is not a data packet');
  clock.advance(1000);
  assert.equal(sent.length, 1, 'no further acks without new data');
  assert.equal(clock.active, 0, 'no timer left armed when idle');
});

test('ack-only: not sent when data went out in time; the delay restarts from the next unacked packet', () => {
  const { call, sent, clock } = setup();
  data(call, 1);
  clock.advance(20);
  call.send(hex('01')); // carries ack 1
  clock.advance(10); // t = 30
  data(call, 2);
  clock.advance(49); // t = 79: the stale timer (t = 50) fired and did nothing
  assert.equal(sent.length, 1);
  clock.advance(1); // t = 80 = 30 + 50
  assert.equal(sent.length, 2);
  assert.equal(sent[1]!.hdr.hasSeq, false);
  assert.equal(sent[1]!.hdr.ack, 2);
});

test('ack-only: ackDelayMs option', () => {
  const { call, sent, clock } = setup({ ackDelayMs: 5 });
  data(call, 1);
  clock.advance(4);
  assert.equal(sent.length, 0);
  clock.advance(1);
  assert.equal(sent.length, 1);
});

test('receive: the first packet sets the expectation whatever its seq (0 or 1)', () => {
  for (const first of [0, 1, 12345]) {
    const { call, got } = setup();
    data(call, first, 10);
    data(call, first + 1, 20);
    assert.deepEqual(tags(got), [10, 20]);
    assert.deepEqual(got[0], [10, 11]);
    assert.equal(call.stats.rxPackets, 2);
    assert.equal(call.stats.rxBytes, 4);
  }
});

test('reorder: packets ahead of a gap are held and delivered in order when it fills', () => {
  const { call, got, sent, clock } = setup();
  data(call, 10);
  data(call, 13);
  data(call, 12);
  assert.deepEqual(tags(got), [10]);
  assert.equal(call.heldPackets, 2);
  data(call, 11);
  assert.deepEqual(tags(got), [10, 11, 12, 13]);
  assert.equal(call.heldPackets, 0);
  assert.equal(call.stats.lost, 0);
  clock.advance(50);
  assert.equal(sent.at(-1)!.hdr.ack, 13, 'ack covers the drained run');
  clock.advance(1000);
  assert.deepEqual(tags(got), [10, 11, 12, 13], 'no late re-delivery from the reorder timer');
});

test('reorder: a gap is skipped after reorderTimeoutMs and the held packets delivered in order', () => {
  const { call, got, clock } = setup();
  data(call, 10);
  data(call, 13);
  data(call, 12);
  clock.advance(299);
  assert.deepEqual(tags(got), [10]);
  clock.advance(1);
  assert.deepEqual(tags(got), [10, 12, 13]);
  assert.equal(call.stats.lost, 1);
  data(call, 11);
  assert.equal(call.stats.dropped.stale, 1, 'the skipped packet arriving late is stale');
  data(call, 14);
  assert.deepEqual(tags(got), [10, 12, 13, 14]);
});

test('setReorderTimeout: shortens the wait of packets already held and of later gaps; 0 turns holding off', () => {
  const { call, got, clock } = setup();
  data(call, 10);
  clock.advance(5);
  data(call, 12); // held at t=5, would wait until t=305
  clock.advance(5);
  call.setReorderTimeout(10);
  clock.advance(4);
  assert.deepEqual(tags(got), [10], 'still within the new 10 ms');
  clock.advance(1);
  assert.deepEqual(tags(got), [10, 12], 'released 10 ms after it was held, not 300');
  data(call, 14);
  clock.advance(9);
  assert.deepEqual(tags(got), [10, 12]);
  clock.advance(1);
  assert.deepEqual(tags(got), [10, 12, 14]);
  call.setReorderTimeout(0);
  data(call, 16);
  assert.deepEqual(tags(got), [10, 12, 14, 16], 'no hold at all');
  assert.throws(() => call.setReorderTimeout(-1), /reorderTimeoutMs/);
});

test('reorder: each gap waits for the oldest packet held behind it', () => {
  const { call, got, clock } = setup();
  data(call, 10);
  data(call, 12); // t = 0, gap 11
  clock.advance(100);
  data(call, 15); // t = 100, gap 13-14
  clock.advance(200); // t = 300: gap 11 abandoned
  assert.deepEqual(tags(got), [10, 12]);
  clock.advance(99); // t = 399
  assert.deepEqual(tags(got), [10, 12]);
  data(call, 13); // fills part of the second gap
  assert.deepEqual(tags(got), [10, 12, 13]);
  clock.advance(1); // t = 400: 15 has waited 300 ms
  assert.deepEqual(tags(got), [10, 12, 13, 15]);
  assert.equal(call.stats.lost, 2);
});

test('reorder: a packet beyond the window flushes what is held, in order, and resynchronises', () => {
  const { call, got, clock } = setup({ reorderWindow: 4 });
  data(call, 0);
  for (const s of [5, 3, 2, 4]) data(call, s);
  assert.equal(call.heldPackets, 4, 'the window holds reorderWindow packets');
  data(call, 6); // 6 - 1 = 5 ahead of the expected 1: beyond a window of 4
  assert.deepEqual(tags(got), [0, 2, 3, 4, 5, 6]);
  assert.equal(call.heldPackets, 0);
  assert.equal(call.stats.dropped.window, 0, 'nothing was dropped');
  assert.equal(call.stats.lost, 1);
  data(call, 1);
  assert.equal(call.stats.dropped.stale, 1);
  data(call, 7);
  assert.deepEqual(tags(got), [0, 2, 3, 4, 5, 6, 7]);
  clock.advance(1000);
  assert.equal(got.length, 7);
});

test('reorder: a burst loss longer than the window does not stall the call', () => {
  const { call, got } = setup();
  data(call, 1);
  data(call, 50001);
  data(call, 50002);
  assert.deepEqual(tags(got), [1, 50001 & 0xff, 50002 & 0xff]);
  assert.equal(call.stats.lost, 49999);
  assert.equal(call.stats.resyncs, 0);
});

test('far jump (> 65536 away): followed only once the next packet confirms it', () => {
  const { call, got } = setup();
  data(call, 1, 1);
  data(call, 200001, 2); // unconfirmed: dropped
  assert.deepEqual(tags(got), [1]);
  assert.equal(call.stats.dropped.window, 1);
  data(call, 200001, 3); // the same seq again confirms nothing
  assert.equal(call.stats.dropped.window, 2);
  data(call, 200003, 4); // 2 after the candidate: within the window, confirms
  assert.deepEqual(tags(got), [1, 4]);
  assert.equal(call.stats.resyncs, 1);
  data(call, 200002, 5); // reordered neighbour of the new numbering is held/stale as usual
  assert.equal(call.stats.dropped.stale, 1);
  data(call, 200004, 6);
  assert.deepEqual(tags(got), [1, 4, 6]);
});

test('far jump: a single spoofed or corrupt sequence number does not derail the stream', () => {
  const { call, got } = setup();
  data(call, 10, 1);
  data(call, 0x9abcdef0, 99); // far away
  data(call, 11, 2); // the real stream continues and clears the candidate
  data(call, 0x9abcdef1, 98); // would have confirmed the stale candidate
  data(call, 12, 3);
  assert.deepEqual(tags(got), [1, 2, 3]);
  assert.equal(call.stats.dropped.window, 2);
  assert.equal(call.stats.resyncs, 0);
});

test('far jump backwards: a peer that restarts its numbering is followed after confirmation', () => {
  const { call, got } = setup();
  data(call, 0x40000000, 1);
  data(call, 0, 2);
  data(call, 1, 3);
  data(call, 2, 4);
  assert.deepEqual(tags(got), [1, 3, 4]);
  assert.equal(call.stats.resyncs, 1);
});

test('reorder: held payloads are copied (the receive buffer is reused by the caller)', () => {
  const { call, got, clock } = setup();
  data(call, 1);
  const h = createGreHeader();
  h.hasSeq = true;
  h.seq = 3;
  h.payloadLen = 3;
  const rx = Uint8Array.of(7, 8, 9);
  call.input(h, rx);
  rx.fill(0);
  clock.advance(300);
  assert.deepEqual(got[1], [7, 8, 9]);
});

test('reorderTimeoutMs 0: ahead packets are delivered at once, late ones dropped', () => {
  const { call, got, clock } = setup({ reorderTimeoutMs: 0 });
  data(call, 10);
  data(call, 12);
  assert.deepEqual(tags(got), [10, 12]);
  assert.equal(call.heldPackets, 0);
  data(call, 11);
  assert.deepEqual(tags(got), [10, 12]);
  assert.equal(call.stats.dropped.stale, 1);
  assert.equal(call.stats.lost, 1);
  clock.advance(1000);
  assert.equal(got.length, 2);
});

test('drops: duplicates (delivered or held) and stale packets are counted, not delivered', () => {
  const { call, got } = setup();
  data(call, 100);
  data(call, 101);
  data(call, 102);
  data(call, 102); // the last delivered
  data(call, 100); // delivered two ago
  data(call, 105);
  data(call, 105); // already held
  assert.equal(call.stats.dropped.duplicate, 3);
  data(call, 50); // never seen, far older
  data(call, 102 - 40); // beyond the duplicate memory
  assert.equal(call.stats.dropped.stale, 2);
  assert.deepEqual(tags(got), [100, 101, 102]);
  assert.equal(call.heldPackets, 1);
});

test('drops: payload length disagreeing with the header or above maxPayload', () => {
  const { call, got } = setup({ maxPayload: 4 });
  const h = createGreHeader();
  h.hasSeq = true;
  h.seq = 1;
  h.payloadLen = 3;
  call.input(h, Uint8Array.of(1, 2));
  h.payloadLen = 5;
  call.input(h, new Uint8Array(5));
  assert.equal(call.stats.dropped.badLength, 2);
  assert.equal(got.length, 0);
  h.payloadLen = 4;
  call.input(h, new Uint8Array(4));
  assert.equal(got.length, 1);
});

test('32-bit wrap: in order, reordered across the wrap, and stale across the wrap', () => {
  const { call, got, sent, clock } = setup();
  data(call, 0xfffffffe, 1);
  data(call, 0, 3); // ahead across the wrap: held
  assert.equal(call.heldPackets, 1);
  data(call, 0xffffffff, 2);
  data(call, 1, 4);
  assert.deepEqual(tags(got), [1, 2, 3, 4]);
  data(call, 0xfffffff0, 9);
  assert.equal(call.stats.dropped.stale, 1);
  data(call, 0xffffffff, 9);
  assert.equal(call.stats.dropped.duplicate, 1);
  clock.advance(50);
  assert.equal(sent.at(-1)!.hdr.ack, 1);
});

test('32-bit wrap: gap skipped by timeout across the wrap', () => {
  const { call, got, clock } = setup();
  data(call, 0xfffffffe, 1);
  data(call, 1, 4);
  clock.advance(300);
  assert.deepEqual(tags(got), [1, 4]);
  assert.equal(call.stats.lost, 2);
});

test('peer acks: ack-only packets and piggy-backed acks update lastAckReceived, never backwards', () => {
  const { call, got } = setup();
  assert.equal(call.stats.lastAckReceived, -1);
  ackOnly(call, 5);
  assert.equal(call.stats.lastAckReceived, 5);
  assert.equal(call.stats.acksOnly, 1);
  ackOnly(call, 3);
  assert.equal(call.stats.lastAckReceived, 5);
  data(call, 1, 1, 0xffffffff);
  assert.equal(call.stats.lastAckReceived, 5, '0xffffffff is older than 5 in wrap order');
  data(call, 2, 2, 9);
  assert.equal(call.stats.lastAckReceived, 9);
  assert.equal(call.stats.acksOnly, 2, "data packets carrying acks are not ack-only");
  assert.equal(got.length, 2);
});

test('sendInPlace: header written right in front of the payload, no copy', () => {
  const { call, clock } = setup();
  const views: Uint8Array[] = [];
  const c2 = new GreCall({ peerCallId: 7, clock, sendPacket: (p) => views.push(p), deliver() {} });
  const buf = new Uint8Array(16 + 3);
  buf.set([0xde, 0xad, 0xbe], 16);
  c2.sendInPlace(buf, 16, 3);
  assert.equal(views[0]!.buffer, buf.buffer, 'same memory');
  assert.equal(views[0]!.byteOffset, 4, 'no ack pending: 12-byte header');
  assert.equal(toHex(views[0]!), '30 01 88 0b 00 03 00 07 00 00 00 00 de ad be');
  data(c2, 40);
  c2.sendInPlace(buf, 16, 3);
  assert.equal(views[1]!.byteOffset, 0);
  assert.equal(toHex(views[1]!), '30 81 88 0b 00 03 00 07 00 00 00 01 00 00 00 28 de ad be');
  assert.throws(() => c2.sendInPlace(buf, 15, 3), { code: 'ERR_GRE_ENCODE' });
  assert.throws(() => c2.sendInPlace(buf, 16, 4), { code: 'ERR_GRE_ENCODE' });
  call.close();
});

test('a reply sent from inside deliver carries the ack of the packet being delivered', () => {
  const clock = new GreTestClock();
  const sent: GreHeader[] = [];
  const call: GreCall = new GreCall({
    peerCallId: 1,
    clock,
    sendPacket: (p) => sent.push(decodeGre(p.slice(), 0, p.length)),
    deliver: () => call.send(Uint8Array.of(0xff)),
  });
  data(call, 3);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.ack, 3);
  clock.advance(100);
  assert.equal(sent.length, 1, 'no ack-only after the piggy-back');
});

test('close: cancels the timer, drops held packets, ignores later input', () => {
  const { call, got, sent, clock } = setup();
  data(call, 1);
  data(call, 3);
  call.close();
  assert.equal(clock.active, 0);
  clock.advance(1000);
  data(call, 2);
  call.send(Uint8Array.of(1));
  assert.deepEqual(tags(got), [1]);
  assert.equal(sent.length, 0);
});

test('a deliver callback that closes the call mid-drain stops delivery cleanly', () => {
  const clock = new GreTestClock();
  const got: number[] = [];
  const call: GreCall = new GreCall({
    peerCallId: 1,
    clock,
    sendPacket() {},
    deliver: (p) => {
      got.push(p[0]!);
      if (p[0] === 3) call.close();
    },
  });
  data(call, 1);
  data(call, 3);
  data(call, 4);
  data(call, 2);
  assert.deepEqual(got, [1, 2, 3]);
  assert.equal(clock.active, 0);
});

test('options are validated', () => {
  const clock = new GreTestClock();
  const base = { clock, sendPacket() {}, deliver() {} };
  assert.throws(() => new GreCall({ ...base, peerCallId: 0x10000 }), { code: 'ERR_GRE_OPTIONS' });
  assert.throws(() => new GreCall({ ...base, peerCallId: 1, reorderWindow: 0 }), { code: 'ERR_GRE_OPTIONS' });
  assert.throws(() => new GreCall({ ...base, peerCallId: 1, ackDelayMs: -1 }), { code: 'ERR_GRE_OPTIONS' });
  assert.throws(() => new GreCall({ ...base, peerCallId: 1, maxPayload: 70000 }), { code: 'ERR_GRE_OPTIONS' });
});
