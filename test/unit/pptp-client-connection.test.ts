// The client role of a PPTP control connection, run against the REAL server
// ControlConnection in memory, with byte-exact checks of what the client sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallRefusedError, ClientConnection, ocrpResultName } from '../../src/control/client-connection.js';
import { CallIdAllocator } from '../../src/control/call-ids.js';
import { encode } from '../../src/protocol/pptp/codec.js';
import { PptpdError } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/log.js';
import { makeClientPair } from '../helpers/client-pair.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { hex, text, zeros } from '../helpers/pptp-hex.js';

const HDR = '0001 1a2b3c4d'; // control message, magic cookie

async function established(o: Parameters<typeof makeClientPair>[0] = {}) {
  const p = makeClientPair(o);
  const started = p.client.start();
  await p.flush();
  await started;
  return p;
}

/** A client alone, its bytes captured, the "server" written by hand. */
function lone(o: Partial<ConstructorParameters<typeof ClientConnection>[0]> = {}) {
  const clock = new FakeClock(0);
  const sent: Buffer[] = [];
  const closes: string[] = [];
  const client = new ClientConnection({
    clock, log: silentLogger, send: (b) => void sent.push(Buffer.from(b)), close: (r) => void closes.push(r), ...o,
  });
  return { clock, sent, closes, client };
}

const sccrpOk = () => encode({
  type: 'SCCRP', protocolVersion: 0x0100, resultCode: 1, errorCode: 0, framingCapabilities: 3,
  bearerCapabilities: 3, maxChannels: 0, firmwareRevision: 1, hostName: 'x', vendor: 'y',
});

test('start(): SCCRQ byte for byte, the real server answers, the connection is established', async () => {
  const p = makeClientPair();
  const started = p.client.start();
  assert.equal(p.client.state, 'connecting');
  assert.deepEqual(p.clientRaw, [hex(`
    009c ${HDR} 0001 0000   # length 156, SCCRQ, reserved0
    0100 0000               # protocol version 1.0, reserved1
    00000003                # framing capabilities: async | sync
    00000003                # bearer capabilities: analog | digital
    0000                    # maximum channels: 0 (a PNS sends 0)
    0001                    # firmware revision
    ${text('pptpd-ts-client', 64)}   # host name
    ${text('pptpd-ts', 64)}          # vendor
  `)]);
  await p.flush();
  await started;
  assert.equal(p.client.state, 'established');
  assert.equal(p.server.state, 'established');
  assert.equal(p.client.serverInfo?.hostName, 'pptpd');
  assert.equal(p.client.serverInfo?.vendor, 'pptpd-ts');
});

test('call(): OCRQ byte for byte; OCRP result 1 gives our id and the server\'s id', async () => {
  const p = await established();
  const pending = p.client.call();
  assert.deepEqual(p.clientRaw.at(-1), hex(`
    00a8 ${HDR} 0007 0000   # length 168, OCRQ
    0001 0001               # our call id 1, call serial 1
    0000012c                # minimum bps 300
    05f5e100                # maximum bps 100,000,000
    00000003 00000003       # bearer type, framing type: any
    0040 0000               # receive window 64, processing delay 0
    0000 0000               # phone number length 0, reserved
    ${zeros(64)}            # phone number
    ${zeros(64)}            # subaddress
  `));
  await p.flush();
  const call = await pending;
  assert.deepEqual(call, { callId: 1, peerCallId: 0x100, connectSpeed: 10_000_000, peerRecvWindow: 64 });
  assert.equal(p.serverCalls.length, 1);
  assert.equal(p.serverCalls[0]!.peerCallId, 1, 'the server saw our call id');
  assert.equal(p.serverCalls[0]!.recvWindow, 64);
  assert.deepEqual([...p.client.calls.keys()], [1]);
});

test('many calls on one connection get distinct ids on both sides', async () => {
  const p = await established();
  const calls = [p.client.call(), p.client.call(), p.client.call()];
  await p.flush();
  const got = await Promise.all(calls);
  assert.deepEqual(got.map((c) => c.callId), [1, 2, 3]);
  assert.deepEqual(got.map((c) => c.peerCallId), [0x100, 0x101, 0x102]);
  assert.equal(p.client.liveCalls, 3);
  assert.equal(p.server.calls.size, 3);
});

test('a refused call rejects with the OCRP result code and name; nothing stays allocated', async () => {
  const p = await established();
  p.decide = () => ({ accept: false, result: 4, reason: 'test says busy' });
  const pending = p.client.call();
  await p.flush();
  await assert.rejects(pending, (e: unknown) => {
    assert.ok(e instanceof CallRefusedError);
    assert.equal(e.code, 'ERR_PPTP_CALL_REFUSED');
    assert.equal(e.resultCode, 4);
    assert.equal(e.resultName, 'BUSY');
    assert.match(e.message, /result 4 \(BUSY\)/);
    return true;
  });
  assert.equal(p.client.pendingCalls, 0);
  assert.equal(p.client.liveCalls, 0);
  assert.equal(ocrpResultName(7), 'DO_NOT_ACCEPT');
  assert.equal(ocrpResultName(99), 'RESULT_99');
});

test('the server\'s per-connection call limit: the extra call is refused busy', async () => {
  const p = await established({ server: { maxCallsPerConnection: 1 } });
  const a = p.client.call();
  const b = p.client.call();
  await p.flush();
  assert.equal((await a).callId, 1);
  await assert.rejects(b, (e: unknown) => e instanceof CallRefusedError && e.resultCode === 4);
});

test('server Echo-Request after silence is answered byte for byte; the server stays up', async () => {
  const p = await established({ client: { echoIntervalMs: 0 } });
  p.clock.advance(60_000); // the server's default echo interval
  await p.flush();
  const req = p.serverSent.find((m) => m.type === 'EchoRequest');
  assert.ok(req && req.type === 'EchoRequest');
  const idHex = req.identifier.toString(16).padStart(8, '0');
  assert.deepEqual(p.clientRaw.at(-1), hex(`
    0014 ${HDR} 0006 0000   # length 20, Echo-Reply
    ${idHex}                # the request's identifier
    01 00 0000              # result 1 (ok), error 0, reserved
  `));
  p.clock.advance(60_000);
  await p.flush();
  assert.deepEqual(p.serverCloses, []);
  assert.equal(p.client.stats.echoRepliesSent, 2, 'one reply per server echo');
});

test('client echo: sent after silence, a reply keeps the connection, no reply closes it', async () => {
  const p = await established({ client: { echoIntervalMs: 1_000, echoTimeoutMs: 500 } });
  p.clock.advance(1_000);
  assert.deepEqual(p.clientRaw.at(-1), hex(`0010 ${HDR} 0005 0000 00000001   # Echo-Request, identifier 1`));
  await p.flush(); // the real server replies
  p.clock.advance(600);
  assert.equal(p.client.state, 'established');

  const l = lone({ echoIntervalMs: 1_000, echoTimeoutMs: 500 });
  void l.client.start();
  l.client.input(sccrpOk());
  l.clock.advance(1_000);
  assert.equal(l.sent.length, 2); // SCCRQ, Echo-Request
  l.clock.advance(499);
  assert.equal(l.client.state, 'established');
  l.clock.advance(1);
  assert.equal(l.client.state, 'closed');
  assert.deepEqual(l.closes, ['echo timeout']);
});

test('CDN from the server ends the call once, with its result; the id is released', async () => {
  const p = await established();
  const pending = p.client.call();
  await p.flush();
  const call = await pending;
  p.server.disconnectCall(call.peerCallId, 3, 'admin kill');
  await p.flush();
  assert.equal(p.ended.length, 1);
  const [c, end] = p.ended[0]!;
  assert.equal(c.callId, call.callId);
  assert.equal(end.resultCode, 3);
  assert.match(end.reason, /CDN from server \(result 3\)/);
  assert.equal(p.client.liveCalls, 0);
  assert.equal(p.client.state, 'established', 'the control connection outlives its calls');
});

test('clearCall(): CCRQ byte for byte, the server clears and answers CDN result 4', async () => {
  const p = await established();
  const pending = p.client.call();
  await p.flush();
  const call = await pending;
  assert.equal(p.client.clearCall(call.callId), true);
  assert.deepEqual(p.clientRaw.at(-1), hex(`
    0010 ${HDR} 000c 0000   # length 16, Call-Clear-Request
    0001 0000               # our call id 1, reserved
  `));
  assert.equal(p.client.liveCalls, 1, 'listed until the CDN');
  await p.flush();
  assert.deepEqual(p.serverCleared, [[0x100, 'call-clear-request from peer']]);
  assert.equal(p.ended.length, 1);
  assert.equal(p.ended[0]![1].resultCode, 4);
  assert.equal(p.ended[0]![1].reason, 'cleared');
  assert.equal(p.client.clearCall(call.callId), false, 'unknown call');
});

test('server stop: CDN per call, then StopCCRQ answered with StopCCRP, both ends close', async () => {
  const p = await established();
  const calls = [p.client.call(), p.client.call()];
  await p.flush();
  await Promise.all(calls);
  p.server.stop(3);
  await p.flush();
  assert.deepEqual(p.ended.map(([, e]) => e.resultCode), [3, 3]);
  assert.deepEqual(p.clientRaw.at(-1), hex(`0010 ${HDR} 0004 0000 01 00 0000   # StopCCRP, result 1 ok`));
  assert.equal(p.client.state, 'closed');
  assert.deepEqual(p.clientCloses, ['StopCCRQ from server (reason 3)']);
  assert.deepEqual(p.serverCloses, ['control connection stopped']);
});

test('client stop(): StopCCRQ byte for byte, resolves on StopCCRP; calls end without CDN', async () => {
  const p = await established();
  const pending = p.client.call();
  await p.flush();
  await pending;
  const stopped = p.client.stop(1);
  assert.deepEqual(p.clientRaw.at(-1), hex(`0010 ${HDR} 0003 0000 01 00 0000   # StopCCRQ, reason 1 (none)`));
  await p.flush();
  await stopped;
  assert.equal(p.client.state, 'closed');
  assert.deepEqual(p.clientCloses, ['control connection stopped']);
  assert.equal(p.ended.length, 1);
  assert.equal(p.ended[0]![1].resultCode, 0);
  assert.deepEqual(p.serverCleared.map(([, r]) => r), ['StopCCRQ from peer (reason 1)']);
});

test('stop() without an answer closes after the stop timeout', async () => {
  const l = lone({ stopTimeoutMs: 2_000 });
  void l.client.start();
  l.client.input(sccrpOk());
  let done = false;
  void l.client.stop().then(() => (done = true));
  l.clock.advance(1_999);
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false);
  l.clock.advance(1);
  await new Promise((r) => setImmediate(r));
  assert.equal(done, true);
  assert.deepEqual(l.closes, ['no StopCCRP in time']);
});

test('SCCRP with a failure result rejects start() and closes', async () => {
  const l = lone();
  const started = l.client.start();
  l.client.input(encode({
    type: 'SCCRP', protocolVersion: 0x0100, resultCode: 5, errorCode: 0, framingCapabilities: 0,
    bearerCapabilities: 0, maxChannels: 0, firmwareRevision: 0, hostName: '', vendor: '',
  }));
  await assert.rejects(started, (e: unknown) => e instanceof PptpdError && e.code === 'ERR_PPTP_CONNECT' && /SCCRP result 5 \(BAD_VERSION\)/.test(e.message));
  assert.deepEqual(l.closes, ['SCCRP result 5 (BAD_VERSION)']);
});

test('timeouts: no SCCRP fails start(); no OCRP fails the call and clears it on the server', async () => {
  const a = lone({ connectTimeoutMs: 3_000 });
  const started = a.client.start();
  a.clock.advance(3_000);
  await assert.rejects(started, /no SCCRP in time/);

  const b = lone({ callTimeoutMs: 5_000 });
  void b.client.start();
  b.client.input(sccrpOk());
  const call = b.client.call();
  b.clock.advance(5_000);
  await assert.rejects(call, (e: unknown) => e instanceof PptpdError && e.code === 'ERR_PPTP_CALL_TIMEOUT');
  assert.deepEqual(b.sent.at(-1), hex(`0010 ${HDR} 000c 0000 0001 0000   # CCRQ for our call id 1`));
  assert.equal(b.client.pendingCalls, 0);
  // A late OCRP for it is ignored (counted), not turned into a call.
  b.client.input(encode({
    type: 'OCRP', callId: 9, peerCallId: 1, resultCode: 1, errorCode: 0, causeCode: 0, connectSpeed: 0,
    recvWindow: 0, processingDelay: 0, physicalChannelId: 0,
  }));
  assert.equal(b.client.liveCalls, 0);
  assert.equal(b.client.stats.errors, 1);
});

test('garbage from the server closes the connection; the pending call rejects', async () => {
  const p = await established();
  const pending = p.client.call();
  p.injectToClient(hex('00 07 ff ff ff ff ff'));
  await p.flush();
  assert.equal(p.client.state, 'closed');
  await assert.rejects(pending, /closed before OCRP: protocol error ERR_PPTP_LENGTH/);
  assert.deepEqual(p.clientCloses, ['protocol error ERR_PPTP_LENGTH']);
});

test('TCP loss: live calls end (result 0), nothing is sent, no close callback', async () => {
  const p = await established();
  const pending = p.client.call();
  await p.flush();
  await pending;
  const before = p.clientRaw.length;
  p.client.closed('socket reset');
  assert.equal(p.client.state, 'closed');
  assert.equal(p.client.closedReason, 'socket reset');
  assert.equal(p.ended.length, 1);
  assert.deepEqual(p.ended[0]![1], { resultCode: 0, errorCode: 0, causeCode: 0, reason: 'socket reset' });
  assert.equal(p.clientRaw.length, before);
  assert.deepEqual(p.clientCloses, []);
  await assert.rejects(p.client.call(), (e: unknown) => e instanceof PptpdError && e.code === 'ERR_PPTP_CLIENT_STATE');
});

test('sendRaw/sendMessage script a misbehaving client: the real server closes on junk after SCCRQ', async () => {
  const p = await established();
  p.client.sendRaw(hex(`0010 0001 deadbeef 0005 0000 00000001   # Echo-Request with a bad magic cookie`));
  assert.deepEqual(p.clientRaw.at(-1), hex('0010 0001 deadbeef 0005 0000 00000001'));
  await p.flush();
  assert.deepEqual(p.serverCloses, ['protocol error ERR_PPTP_MAGIC']);

  const q = await established();
  q.client.sendMessage({ type: 'SCCRQ', protocolVersion: 0x0100, framingCapabilities: 1, bearerCapabilities: 1, maxChannels: 0, firmwareRevision: 1, hostName: '', vendor: '' });
  await q.flush();
  const reply = q.serverSent.at(-1);
  assert.ok(reply?.type === 'SCCRP' && reply.resultCode === 3, 'a second SCCRQ gets "channel exists"');
});

test('connections sharing one allocator never hand out the same call id', async () => {
  const ids = new CallIdAllocator();
  const a = await established({ client: { callIds: ids } });
  const b = await established({ client: { callIds: ids } });
  const ca = [a.client.call(), a.client.call()];
  const cb = [b.client.call(), b.client.call()];
  await a.flush();
  await b.flush();
  const all = [...(await Promise.all(ca)), ...(await Promise.all(cb))].map((c) => c.callId);
  assert.deepEqual(all, [1, 2, 3, 4]);
  assert.equal(ids.size, 4);
  a.client.closed();
  assert.equal(ids.size, 2, 'ids of a closed connection are released');
});

test('start()/call() in the wrong state reject with a typed error', async () => {
  const l = lone();
  await assert.rejects(l.client.call(), (e: unknown) => e instanceof PptpdError && e.code === 'ERR_PPTP_CLIENT_STATE');
  void l.client.start();
  await assert.rejects(l.client.start(), (e: unknown) => e instanceof PptpdError && e.code === 'ERR_PPTP_CLIENT_STATE');
});
