import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { ControlConnection } from '../../src/control/connection.js';
import { CallIdAllocator } from '../../src/control/call-ids.js';
import { encode } from '../../src/protocol/pptp/codec.js';
import { createLogger } from '../../src/util/log.js';
import { fixture } from '../helpers/pptp-fixtures.js';
import { SCCRQ, establishedHarness, makeHarness, ocrq } from '../helpers/pptp-harness.js';

describe('ControlConnection: start', () => {
  it('SCCRQ → SCCRP (version 1.0, ok, caps, host name, vendor) and established', () => {
    const h = makeHarness();
    assert.equal(h.conn.state, 'idle');
    h.feed(SCCRQ);
    const rep = h.takeOne('SCCRP');
    assert.deepEqual(rep, {
      type: 'SCCRP', protocolVersion: 0x0100, resultCode: 1, errorCode: 0, framingCapabilities: 3,
      bearerCapabilities: 3, maxChannels: 64, firmwareRevision: 1, hostName: 'pptpd', vendor: 'pptpd-ts',
    });
    // Byte-exact: the reply is the SCCRP fixture.
    assert.equal(Buffer.from(h.raw[0]!).toString('hex'), fixture('SCCRP').bytes.toString('hex'));
    assert.equal(h.conn.state, 'established');
    assert.equal(h.clock.pending, 1); // the stimeout timer became the echo timer
    assert.deepEqual(h.closes, []);
    assert.equal(h.conn.stats.messagesIn, 1);
    assert.equal(h.conn.stats.messagesOut, 1);
  });

  it('uses maxChannels and firmwareRevision when given', () => {
    const h = makeHarness({ maxChannels: 1000, firmwareRevision: 0x0203 });
    h.feed(SCCRQ);
    const rep = h.takeOne('SCCRP');
    assert.equal(rep.maxChannels, 1000);
    assert.equal(rep.firmwareRevision, 0x0203);
  });

  it('stimeout: no SCCRQ in time closes the connection', () => {
    const h = makeHarness({ stimeoutMs: 10_000 });
    h.clock.advance(9_999);
    assert.equal(h.conn.state, 'idle');
    h.clock.advance(1);
    assert.equal(h.conn.state, 'closed');
    assert.deepEqual(h.closes, ['stimeout']);
    assert.deepEqual(h.take(), []);
    assert.equal(h.clock.pending, 0);
  });

  it('stimeout 0 disables the start timer', () => {
    const h = makeHarness({ stimeoutMs: 0 });
    assert.equal(h.clock.pending, 0);
    h.clock.advance(3_600_000);
    assert.equal(h.conn.state, 'idle');
  });

  it('bytes before SCCRQ that are not an SCCRQ: close without a call', () => {
    const h = makeHarness();
    h.feed(ocrq(1));
    assert.equal(h.conn.state, 'closed');
    assert.deepEqual(h.closes, ['OCRQ before SCCRQ']);
    assert.deepEqual(h.take(), []);
    assert.equal(h.calls.length, 0);
    assert.equal(h.conn.stats.errors, 1);
  });

  it('an unsupported protocol version gets SCCRP result 5 and a close', () => {
    const h = makeHarness();
    h.feed({ ...SCCRQ, protocolVersion: 0x0200 } as typeof SCCRQ);
    assert.equal(h.takeOne('SCCRP').resultCode, 5);
    assert.equal(h.conn.state, 'closed');
    assert.deepEqual(h.closes, ['unsupported PPTP protocol version']);
  });

  it('a second SCCRQ gets SCCRP result 3 and the connection stays', () => {
    const h = establishedHarness();
    h.feed(SCCRQ);
    assert.equal(h.takeOne('SCCRP').resultCode, 3);
    assert.equal(h.conn.state, 'established');
    assert.deepEqual(h.closes, []);
  });

  it('accepts messages split across chunks and several in one chunk', () => {
    const h = makeHarness();
    const stream = Buffer.concat([encode(SCCRQ), encode(ocrq(10)), encode(ocrq(11))]);
    for (let i = 0; i < stream.length; i += 7) h.conn.input(stream.subarray(i, i + 7));
    assert.deepEqual(h.take().map((m) => m.type), ['SCCRP', 'OCRP', 'OCRP']);
    assert.equal(h.conn.calls.size, 2);
  });
});

describe('ControlConnection: calls', () => {
  it('OCRQ → onCall with the request fields → OCRP connected', () => {
    const h = establishedHarness();
    h.feed(ocrq(8000, { callSerial: 9, minBps: 2400, maxBps: 64000, recvWindow: 32, processingDelay: 3, phoneNumber: '555', subaddress: 'x' }));
    assert.equal(h.calls.length, 1);
    const call = h.calls[0]!;
    assert.deepEqual(call, {
      callId: call.callId, peerCallId: 8000, callSerial: 9, minBps: 2400, maxBps: 64000, bearerType: 3,
      framingType: 3, recvWindow: 32, processingDelay: 3, phoneNumber: '555', subaddress: 'x',
    });
    assert.ok(h.callIds.inUse(call.callId));
    assert.deepEqual(h.takeOne('OCRP'), {
      type: 'OCRP', callId: call.callId, peerCallId: 8000, resultCode: 1, errorCode: 0, causeCode: 0,
      connectSpeed: 10_000_000, recvWindow: 64, processingDelay: 0, physicalChannelId: 0,
    });
    assert.deepEqual([...h.conn.calls.entries()].map(([id, c]) => [id, c.peerCallId, c.sendAccm, c.recvAccm]),
      [[call.callId, 8000, 0xffffffff, 0xffffffff]]);
  });

  it('the decision may set connect speed and window', () => {
    const h = establishedHarness();
    h.decide = () => ({ accept: true, connectSpeed: 115200, recvWindow: 16 });
    h.feed(ocrq(1));
    const rep = h.takeOne('OCRP');
    assert.equal(rep.connectSpeed, 115200);
    assert.equal(rep.recvWindow, 16);
  });

  it('a refused call gets the OCRP result and error, call id 0, and frees its id', () => {
    const h = establishedHarness();
    h.decide = () => ({ accept: false, result: 4, errorCode: 0, reason: 'pool empty' });
    h.feed(ocrq(77));
    assert.deepEqual(h.takeOne('OCRP'), {
      type: 'OCRP', callId: 0, peerCallId: 77, resultCode: 4, errorCode: 0, causeCode: 0,
      connectSpeed: 0, recvWindow: 0, processingDelay: 0, physicalChannelId: 0,
    });
    assert.equal(h.callIds.size, 0);
    assert.equal(h.conn.calls.size, 0);
    assert.deepEqual(h.cleared, []);
    h.decide = () => ({ accept: false, result: 2, errorCode: 4, reason: 'no resource' });
    h.feed(ocrq(78));
    const r = h.takeOne('OCRP');
    assert.equal(r.resultCode, 2);
    assert.equal(r.errorCode, 4);
  });

  it('a refusal with an impossible result code becomes general error (2)', () => {
    const h = establishedHarness();
    h.decide = () => ({ accept: false, result: 1, reason: 'confused' });
    h.feed(ocrq(1));
    assert.equal(h.takeOne('OCRP').resultCode, 2);
  });

  it('an onCall that throws refuses the call with general error', () => {
    const h = establishedHarness();
    h.decide = () => {
      throw new Error('boom');
    };
    h.feed(ocrq(1));
    const r = h.takeOne('OCRP');
    assert.equal(r.resultCode, 2);
    assert.equal(r.errorCode, 6);
    assert.equal(h.conn.state, 'established');
    assert.equal(h.callIds.size, 0);
  });

  it('several calls on one connection, each with its own server-wide id', () => {
    const h = establishedHarness();
    h.feed(ocrq(100), ocrq(101), ocrq(102));
    const reps = h.take();
    assert.equal(reps.length, 3);
    const ids = h.calls.map((c) => c.callId);
    assert.equal(new Set(ids).size, 3);
    assert.deepEqual(reps.map((r) => (r as { callId: number }).callId), ids);
    assert.deepEqual(reps.map((r) => (r as { peerCallId: number }).peerCallId), [100, 101, 102]);
    assert.equal(h.conn.calls.size, 3);
    assert.equal(h.callIds.size, 3);
  });

  it('two connections share the allocator: no id twice', () => {
    const callIds = new CallIdAllocator();
    const a = establishedHarness({ callIds });
    const b = establishedHarness({ callIds });
    a.feed(ocrq(1));
    b.feed(ocrq(1));
    assert.notEqual(a.calls[0]!.callId, b.calls[0]!.callId);
    assert.equal(callIds.size, 2);
  });

  it('CCRQ → CDN result 4 (request) with our id, onCallCleared, others untouched', () => {
    const h = establishedHarness();
    h.feed(ocrq(100), ocrq(101), ocrq(102));
    h.take();
    const mid = h.calls[1]!.callId;
    h.feed({ type: 'CCRQ', callId: 101 });
    assert.deepEqual(h.takeOne('CDN'), {
      type: 'CDN', callId: mid, resultCode: 4, errorCode: 0, causeCode: 0, callStatistics: '',
    });
    assert.deepEqual(h.cleared, [[mid, 'call-clear-request from peer']]);
    assert.equal(h.conn.calls.size, 2);
    assert.equal(h.callIds.inUse(mid), false);
    assert.equal(h.conn.state, 'established');
    // A peer call id is free again after its call is cleared.
    h.feed(ocrq(101));
    assert.equal(h.takeOne('OCRP').resultCode, 1);
  });

  it('CCRQ for an unknown call is ignored', () => {
    const h = establishedHarness();
    h.feed({ type: 'CCRQ', callId: 5 });
    assert.deepEqual(h.take(), []);
    assert.deepEqual(h.cleared, []);
    assert.equal(h.conn.state, 'established');
  });

  it('a peer call id already in use on the connection is refused (2 / bad value)', () => {
    const h = establishedHarness();
    h.feed(ocrq(9), ocrq(9));
    const [first, second] = h.take() as Array<{ resultCode: number; errorCode: number }>;
    assert.equal(first!.resultCode, 1);
    assert.equal(second!.resultCode, 2);
    assert.equal(second!.errorCode, 3);
    assert.equal(h.calls.length, 1);
  });

  it('calls beyond maxCallsPerConnection get OCRP busy (4)', () => {
    const h = establishedHarness({ maxCallsPerConnection: 2 });
    h.feed(ocrq(1), ocrq(2), ocrq(3));
    assert.deepEqual(h.take().map((m) => (m as { resultCode: number }).resultCode), [1, 1, 4]);
    assert.equal(h.calls.length, 2);
  });

  it('no free call id: OCRP general error / no resource', () => {
    const callIds = new CallIdAllocator();
    while (callIds.allocate() !== undefined);
    const h = establishedHarness({ callIds });
    h.feed(ocrq(1));
    const r = h.takeOne('OCRP');
    assert.equal(r.resultCode, 2);
    assert.equal(r.errorCode, 4);
    assert.equal(h.calls.length, 0);
  });

  it('ICRQ is refused with ICRP result 3 and never becomes a call', () => {
    const h = establishedHarness();
    h.feed(fixture('ICRQ').message);
    assert.deepEqual(h.takeOne('ICRP'), fixture('ICRP').message);
    assert.equal(h.calls.length, 0);
    assert.equal(h.conn.calls.size, 0);
  });

  it('SLI records the ACCMs of the call it names (by our call id)', () => {
    const h = establishedHarness();
    h.feed(ocrq(40));
    const id = h.calls[0]!.callId;
    h.feed({ type: 'SLI', peerCallId: id, sendAccm: 0, recvAccm: 0x000a0000 });
    assert.deepEqual(h.links, [[id, 0, 0x000a0000]]);
    assert.equal(h.conn.calls.get(id)!.sendAccm, 0);
    assert.equal(h.conn.calls.get(id)!.recvAccm, 0x000a0000);
    h.feed({ type: 'SLI', peerCallId: 999, sendAccm: 1, recvAccm: 1 });
    assert.equal(h.links.length, 1);
    assert.deepEqual(h.take().slice(1), []);
  });

  it('WEN is counted and reported for its call', () => {
    const h = establishedHarness();
    h.feed(ocrq(40));
    const id = h.calls[0]!.callId;
    h.feed({ ...fixture('WEN').message, peerCallId: id } as ReturnType<typeof fixture>['message']);
    assert.equal(h.conn.stats.wanErrorNotifies, 1);
    assert.deepEqual(h.wanErrors, [[id, {
      crcErrors: 1, framingErrors: 2, hardwareOverruns: 3, bufferOverruns: 4, timeoutErrors: 5, alignmentErrors: 6,
    }]]);
  });

  it('disconnectCall sends CDN with the given result and clears once', () => {
    const h = establishedHarness();
    h.feed(ocrq(50), ocrq(51));
    h.take();
    const id = h.calls[0]!.callId;
    h.conn.disconnectCall(id, 1, 'lcp down');
    assert.deepEqual(h.takeOne('CDN'), { type: 'CDN', callId: id, resultCode: 1, errorCode: 0, causeCode: 0, callStatistics: '' });
    assert.deepEqual(h.cleared, [[id, 'lcp down']]);
    h.conn.disconnectCall(id, 1, 'again');
    h.conn.disconnectCall(4242, 3, 'unknown');
    assert.deepEqual(h.take(), []);
    assert.equal(h.cleared.length, 1);
    assert.equal(h.conn.calls.size, 1);
  });

  it('unexpected PAC-to-PNS messages are counted and ignored', () => {
    const h = establishedHarness();
    h.feed(fixture('OCRP').message, fixture('CDN').message, fixture('ICCN').message, fixture('StopCCRP').message);
    assert.deepEqual(h.take(), []);
    assert.equal(h.conn.stats.errors, 4);
    assert.equal(h.conn.state, 'established');
  });
});

describe('ControlConnection: stop and close', () => {
  it('StopCCRQ with several calls: StopCCRP, every call cleared, closed', () => {
    const h = establishedHarness();
    h.feed(ocrq(1), ocrq(2), ocrq(3));
    h.take();
    h.feed({ type: 'StopCCRQ', reason: 1 });
    assert.deepEqual(h.takeOne('StopCCRP'), { type: 'StopCCRP', resultCode: 1, errorCode: 0 });
    assert.deepEqual(h.cleared.map(([id]) => id).sort(), h.calls.map((c) => c.callId).sort());
    assert.ok(h.cleared.every(([, r]) => r === 'StopCCRQ from peer (reason 1)'));
    assert.equal(h.conn.state, 'closed');
    assert.deepEqual(h.closes, ['StopCCRQ from peer (reason 1)']);
    assert.equal(h.callIds.size, 0);
    assert.equal(h.clock.pending, 0);
  });

  it('closed() without StopCCRQ (pptp-linux) clears every call, sends nothing, cancels timers', () => {
    const h = establishedHarness();
    h.feed(ocrq(1), ocrq(2));
    h.take();
    h.conn.closed();
    assert.equal(h.conn.state, 'closed');
    assert.equal(h.cleared.length, 2);
    assert.ok(h.cleared.every(([, r]) => r === 'control connection closed'));
    assert.deepEqual(h.take(), []);
    assert.deepEqual(h.closes, []); // the socket is already gone
    assert.equal(h.clock.pending, 0);
    assert.equal(h.callIds.size, 0);
    h.conn.closed();
    h.conn.input(encode(ocrq(3)));
    h.conn.stop(1);
    h.conn.disconnectCall(1, 1, 'x');
    assert.equal(h.cleared.length, 2);
    assert.deepEqual(h.take(), []);
  });

  it('stop(): CDN (admin shutdown) for every call, StopCCRQ, close on StopCCRP', () => {
    const h = establishedHarness();
    h.feed(ocrq(1), ocrq(2));
    h.take();
    h.conn.stop(3);
    const out = h.take();
    assert.deepEqual(out.map((m) => m.type), ['CDN', 'CDN', 'StopCCRQ']);
    assert.ok(out.slice(0, 2).every((m) => (m as { resultCode: number }).resultCode === 3));
    assert.deepEqual(out[2], { type: 'StopCCRQ', reason: 3 });
    assert.equal(h.conn.state, 'stopping');
    assert.equal(h.cleared.length, 2);
    // An echo request still gets its reply while stopping; an OCRQ is ignored.
    h.feed({ type: 'EchoRequest', identifier: 5 }, ocrq(9));
    assert.equal(h.takeOne('EchoReply').identifier, 5);
    assert.equal(h.calls.length, 2);
    h.feed({ type: 'StopCCRP', resultCode: 1, errorCode: 0 });
    assert.equal(h.conn.state, 'closed');
    assert.deepEqual(h.closes, ['control connection stopped']);
    assert.equal(h.clock.pending, 0);
  });

  it('stop(): no StopCCRP → close after the stop timeout', () => {
    const h = establishedHarness({ stopTimeoutMs: 2_000 });
    h.conn.stop(1);
    h.takeOne('StopCCRQ');
    h.clock.advance(1_999);
    assert.equal(h.conn.state, 'stopping');
    h.clock.advance(1);
    assert.deepEqual(h.closes, ['stop timeout']);
  });

  it('stop(): a crossing StopCCRQ is answered and closes', () => {
    const h = establishedHarness();
    h.conn.stop(2);
    h.takeOne('StopCCRQ');
    h.feed({ type: 'StopCCRQ', reason: 1 });
    h.takeOne('StopCCRP');
    assert.deepEqual(h.closes, ['control connection stopped']);
  });

  it('stop() before SCCRQ just closes', () => {
    const h = makeHarness();
    h.conn.stop(3);
    assert.deepEqual(h.take(), []);
    assert.deepEqual(h.closes, ['stopped before SCCRQ']);
  });

  it('garbage closes the connection and clears its calls', () => {
    for (const garbage of [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.from(fixture('EchoRequest').bytes).fill(0x55, 4, 8), // bad magic
      Buffer.from([0x00, 0x10, 0x00, 0x01, 0x1a, 0x2b, 0x3c, 0x4d, 0x00, 0x63, 0, 0, 0, 0, 0, 0]), // type 99
    ]) {
      const h = establishedHarness();
      h.feed(ocrq(1));
      h.take();
      h.conn.input(garbage);
      assert.equal(h.conn.state, 'closed');
      assert.equal(h.closes.length, 1);
      assert.match(h.closes[0]!, /^protocol error ERR_PPTP_/);
      assert.equal(h.cleared.length, 1);
      assert.equal(h.conn.stats.errors, 1);
      assert.deepEqual(h.take(), []);
    }
  });

  it('a send() that throws closes the connection', () => {
    const h = makeHarness({
      send() {
        throw new Error('EPIPE');
      },
    });
    h.feed(SCCRQ);
    assert.equal(h.conn.state, 'closed');
    assert.deepEqual(h.closes, ['send failed']);
  });
});

describe('ControlConnection: echo', () => {
  it('answers Echo-Request with the identifier and result 1', () => {
    const h = establishedHarness();
    h.feed({ type: 'EchoRequest', identifier: 0xdeadbeef });
    assert.deepEqual(h.takeOne('EchoReply'), { type: 'EchoReply', identifier: 0xdeadbeef, resultCode: 1, errorCode: 0 });
  });

  it('sends Echo-Request after echoIntervalMs of silence; a reply keeps the link', () => {
    const h = establishedHarness({ echoIntervalMs: 60_000, echoTimeoutMs: 60_000 });
    h.clock.advance(59_999);
    assert.deepEqual(h.take(), []);
    h.clock.advance(1);
    const req = h.takeOne('EchoRequest');
    h.clock.advance(5_000);
    h.feed({ type: 'EchoReply', identifier: req.identifier, resultCode: 1, errorCode: 0 });
    h.clock.advance(59_999);
    assert.deepEqual(h.take(), []);
    assert.equal(h.conn.state, 'established');
    h.clock.advance(1); // 60 s after the reply: the next probe
    const req2 = h.takeOne('EchoRequest');
    assert.notEqual(req2.identifier, req.identifier);
    assert.ok(h.clock.pending <= 1);
  });

  it('any received byte resets the silence interval', () => {
    const h = establishedHarness({ echoIntervalMs: 60_000 });
    h.clock.advance(30_000);
    h.feed({ type: 'SLI', peerCallId: 1, sendAccm: 0, recvAccm: 0 }); // unknown call, still activity
    h.clock.advance(30_000);
    assert.deepEqual(h.take(), []);
    h.clock.advance(29_999);
    assert.deepEqual(h.take(), []);
    h.clock.advance(1);
    h.takeOne('EchoRequest');
  });

  it('a partial message counts as activity too', () => {
    const h = establishedHarness({ echoIntervalMs: 60_000 });
    h.clock.advance(50_000);
    h.conn.input(encode({ type: 'EchoRequest', identifier: 1 }).subarray(0, 3));
    h.clock.advance(50_000);
    assert.deepEqual(h.take(), []);
  });

  it('no Echo-Reply within echoTimeoutMs closes the connection and clears calls', () => {
    const h = establishedHarness({ echoIntervalMs: 60_000, echoTimeoutMs: 20_000 });
    h.feed(ocrq(1));
    h.take();
    h.clock.advance(60_000);
    const req = h.takeOne('EchoRequest');
    // Other traffic, or a reply with the wrong identifier, is not an answer.
    h.feed({ type: 'EchoReply', identifier: req.identifier + 1, resultCode: 1, errorCode: 0 });
    h.feed({ type: 'SLI', peerCallId: h.calls[0]!.callId, sendAccm: 0, recvAccm: 0 });
    h.clock.advance(19_999);
    assert.equal(h.conn.state, 'established');
    h.clock.advance(1);
    assert.equal(h.conn.state, 'closed');
    assert.deepEqual(h.closes, ['echo timeout']);
    assert.deepEqual(h.cleared, [[h.calls[0]!.callId, 'echo timeout']]);
    assert.equal(h.clock.pending, 0);
  });

  it('echoIntervalMs 0 disables our probes', () => {
    const h = establishedHarness({ echoIntervalMs: 0 });
    assert.equal(h.clock.pending, 0);
    h.clock.advance(10 * 3_600_000);
    assert.deepEqual(h.take(), []);
    assert.equal(h.conn.state, 'established');
  });

  it('never holds more than one timer', () => {
    const h = establishedHarness({ echoIntervalMs: 1_000, echoTimeoutMs: 500 });
    for (let i = 0; i < 50; i++) {
      h.clock.advance(250);
      assert.ok(h.clock.pending <= 1);
      const sent = h.take().filter((m) => m.type === 'EchoRequest') as Array<{ identifier: number }>;
      for (const s of sent) h.feed({ type: 'EchoReply', identifier: s.identifier, resultCode: 1, errorCode: 0 });
    }
    assert.equal(h.conn.state, 'established');
  });
});

describe('ControlConnection: re-entrant callbacks', () => {
  it('onCall disconnecting its own call: OCRP first, then CDN, cleared once', () => {
    const h = establishedHarness();
    h.decide = (call) => {
      h.conn.disconnectCall(call.callId, 3, 'admin kill');
      return { accept: true };
    };
    h.feed(ocrq(7));
    assert.deepEqual(h.take().map((m) => m.type), ['OCRP', 'CDN']);
    assert.deepEqual(h.cleared, [[h.calls[0]!.callId, 'admin kill']]);
    assert.equal(h.callIds.size, 0);
  });

  it('connection closed from inside onCall: no OCRP, the accepted call is cleared once', () => {
    const h = establishedHarness();
    h.decide = () => {
      h.conn.closed();
      return { accept: true };
    };
    h.feed(ocrq(7));
    assert.deepEqual(h.take(), []);
    assert.deepEqual(h.cleared, [[h.calls[0]!.callId, 'control connection closed']]);
    assert.equal(h.callIds.size, 0);
  });

  it('stop() from inside onCall: the call is refused and StopCCRQ follows', () => {
    const h = establishedHarness();
    h.decide = () => {
      h.conn.stop(3);
      return { accept: true };
    };
    h.feed(ocrq(7));
    const out = h.take();
    assert.deepEqual(out.map((m) => m.type), ['StopCCRQ', 'OCRP']);
    assert.equal((out[1] as { resultCode: number }).resultCode, 2);
    assert.deepEqual(h.cleared, [[h.calls[0]!.callId, 'server shutdown']]);
  });

  it('onCallCleared touching other calls during teardown: each cleared exactly once', () => {
    const h = establishedHarness();
    h.feed(ocrq(1), ocrq(2), ocrq(3));
    h.take();
    const seen: number[] = [];
    const conn = h.conn;
    (h as { cleared: Array<[number, string]> }).cleared = new Proxy(h.cleared, {
      get(target, prop, recv) {
        if (prop === 'push') {
          return (entry: [number, string]) => {
            seen.push(entry[0]);
            for (const id of conn.calls.keys()) conn.disconnectCall(id, 1, 'cascade');
            return target.push(entry);
          };
        }
        return Reflect.get(target, prop, recv);
      },
    });
    conn.closed();
    assert.equal(seen.length, 3);
    assert.equal(new Set(seen).size, 3);
  });

  it('input() re-entered from send() is processed after, in order', () => {
    let conn: ControlConnection | undefined;
    const sent: string[] = [];
    let reentered = false;
    const h = makeHarness({
      send(bytes) {
        sent.push(bytes[9] === 2 ? 'SCCRP' : String(bytes[9]));
        if (!reentered && conn) {
          reentered = true;
          conn.input(encode({ type: 'EchoRequest', identifier: 1 }));
        }
      },
    });
    conn = h.conn;
    h.feed(SCCRQ, ocrq(1));
    assert.deepEqual(sent, ['SCCRP', '8', '6']); // SCCRP, OCRP, then the echo reply
  });
});

describe('ControlConnection: logging', () => {
  it('logs one line per call event with peer and call ids', () => {
    const lines: Record<string, unknown>[] = [];
    const dest = new Writable({
      write(chunk: Buffer, _e, cb) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const log = createLogger({ level: 'debug', format: 'json', destination: dest });
    const h = establishedHarness({ log });
    h.feed(ocrq(4242));
    const id = h.calls[0]!.callId;
    h.feed({ type: 'CCRQ', callId: 4242 });
    return new Promise<void>((resolve) => setImmediate(() => {
      const accepted = lines.find((l) => l.msg === 'outgoing call accepted');
      assert.ok(accepted);
      assert.equal(accepted.peer, '192.0.2.7:40000');
      assert.equal(accepted.callId, id);
      assert.equal(accepted.peerCallId, 4242);
      const cleared = lines.find((l) => l.msg === 'call cleared');
      assert.ok(cleared);
      assert.equal(cleared.result, 4);
      resolve();
    }));
  });
});
