// Back-to-back: our server link against our client link over an in-memory
// pipe, with the real authentication protocols (src/ppp/auth) and the real
// MPPE codec (src/crypto/mppe.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hex, ipPacket, makePair, openLcp, scriptedServer, toHex } from '../helpers/ppp-harness.js';
import { isMppeData as isData, startStatefulLossyPair } from '../helpers/ppp-lossy-pair.js';
const isCcp = (f: Uint8Array, code: number) => f[2] === 0x80 && f[3] === 0xfd && f[4] === code;

test('LCP → MS-CHAPv2 → CCP (MPPE-128 stateless) → IPCP, then IP both ways through MPPE', async () => {
  const p = makePair();
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  assert.equal(p.server.link.phase, 'running');
  assert.equal(p.client.link.phase, 'running');
  const [s] = p.server.ups;
  const [c] = p.client.ups;
  assert.equal(p.server.ups.length, 1);
  assert.equal(s.user, 'alice');
  assert.equal(s.authMethod, 'mschapv2');
  assert.deepEqual([s.local, s.peer], ['10.0.0.1', '10.0.0.2']);
  assert.deepEqual([c.local, c.peer], ['10.0.0.2', '10.0.0.1'], 'client asked 0.0.0.0 and got the pool address');
  assert.deepEqual(c.dns, ['8.8.8.8', '8.8.4.4'], 'client received ms-dns');
  assert.deepEqual([s.mppe?.bits, s.mppe?.stateful, c.mppe?.bits, c.mppe?.stateful], [128, false, 128, false]);
  assert.deepEqual(s.mppe!.sendKey, c.mppe!.recvKey, 'server send key = client receive key');
  assert.deepEqual(s.mppe!.recvKey, c.mppe!.sendKey);
  assert.notDeepEqual(s.mppe!.sendKey, s.mppe!.recvKey);
  assert.equal(s.mtu, 1400);

  const up = ipPacket('10.0.0.2', '10.0.0.1', 'hello server, plaintext marker');
  const down = ipPacket('10.0.0.1', '10.0.0.2', 'hello client, plaintext marker');
  for (let i = 0; i < 5; i++) p.client.link.sendIp(up);
  for (let i = 0; i < 3; i++) p.server.link.sendIp(down);
  await p.settle();
  assert.equal(p.server.ips.length, 5);
  assert.equal(p.client.ips.length, 3);
  assert.ok(p.server.ips.every((x) => toHex(x) === toHex(up)));
  assert.ok(p.client.ips.every((x) => toHex(x) === toHex(down)));
  const data = p.client.sent.filter(isData);
  assert.equal(data.length, 5, 'IP travels as protocol 0x00FD');
  assert.ok(data.every((f) => !Buffer.from(f).includes(Buffer.from('plaintext marker'))), 'encrypted on the wire');
  assert.equal(p.server.link.stats.rxIp, 5);
  assert.equal(p.server.link.stats.txIp, 3);

  p.client.link.close('user hung up');
  await p.settle();
  assert.deepEqual(p.client.downs, ['user hung up']);
  assert.equal(p.server.downs.length, 1);
  assert.match(p.server.downs[0], /^peer terminated the link \(LCP Terminate-Request: user hung up\)/);
  assert.equal(p.clock.pending, 0, 'no timers left on either side');
});

test('wrong password: MS-CHAPv2 retries, then the link ends on both sides, once, without the password', async () => {
  const p = makePair({ password: 'wrong-pw' });
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  p.clock.advance(10_000);
  await p.settle();
  assert.equal(p.server.ups.length, 0);
  assert.equal(p.server.downs.length, 1);
  assert.match(p.server.downs[0], /^authentication failed/);
  assert.ok(!p.server.downs[0].includes('wrong-pw') && !p.server.downs[0].includes('secret-pw'));
  assert.equal(p.client.downs.length, 1);
  const responses = p.client.sent.filter((f) => f[2] === 0xc2 && f[3] === 0x23 && f[4] === 2).length;
  assert.equal(responses, 3, 'first try + maxAuthRetries (2) retries');
});

test('client refuses MPPE while the server requires it → link ends with that reason', async () => {
  const p = makePair({ client: { mppe: null } });
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  p.clock.advance(10_000);
  await p.settle();
  assert.deepEqual(p.server.downs, ['peer refused MPPE encryption (required by require-mppe-128)']);
  assert.equal(p.client.downs.length, 1);
  assert.equal(p.server.ups.length, 0);
});

test('MPPE optional on the server, client without MPPE: link up unencrypted, IP as protocol 0x0021', async () => {
  const p = makePair({
    server: { mppe: { required: false, allow40: false, allow56: false, allow128: true, stateful: false } },
    client: { mppe: null },
  });
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  assert.equal(p.server.ups[0]?.mppe, null);
  p.client.link.sendIp(ipPacket('10.0.0.2', '10.0.0.1', 'x'));
  await p.settle();
  assert.equal(p.server.ips.length, 1);
  assert.equal(toHex(p.client.sent.at(-1)!.subarray(0, 4)), 'ff030021');
});

test('MPPE-40 when both ends allow only 40-bit', async () => {
  const m40 = { required: true, allow40: true, allow56: false, allow128: false, stateful: false };
  const p = makePair({ server: { mppe: m40 }, client: { mppe: m40 } });
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  assert.equal(p.server.ups[0]?.mppe?.bits, 40);
  p.server.link.sendIp(ipPacket('10.0.0.1', '10.0.0.2', 'forty'));
  await p.settle();
  assert.equal(p.client.ips.length, 1);
});

test('client asking for a specific address gets it when the rules allow', async () => {
  const p = makePair({ requestAddress: '10.0.0.77' });
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  assert.equal(p.server.ups[0]?.peer, '10.0.0.77');
  assert.equal(p.client.ups[0]?.local, '10.0.0.77');
  assert.deepEqual(p.assigned.map((a) => a.requested), [undefined, '10.0.0.77']);
});

test('stateful MPPE: a lost packet → one CCP Reset-Request → the peer flushes → decryption resumes', async () => {
  const { p, dropNextC2sData } = await startStatefulLossyPair();
  assert.deepEqual([p.server.ups[0]?.mppe?.stateful, p.client.ups[0]?.mppe?.stateful], [true, true]);
  const pkt = (n: number) => ipPacket('10.0.0.2', '10.0.0.1', `packet ${n}`);
  p.client.link.sendIp(pkt(1));
  await p.settle();
  dropNextC2sData();
  p.client.link.sendIp(pkt(2)); // lost
  await p.settle();
  p.client.link.sendIp(pkt(3)); // cannot be decrypted: server asks for a reset
  await p.settle();
  const resets = p.server.sent.filter((f) => isCcp(f, 14));
  assert.equal(resets.length, 1, 'one Reset-Request');
  assert.equal(p.client.sent.filter((f) => isCcp(f, 15)).length, 1, 'client answered with Reset-Ack');
  p.client.link.sendIp(pkt(4)); // flushed: decrypts again
  p.client.link.sendIp(pkt(5));
  await p.settle();
  assert.deepEqual(p.server.ips.map((x) => Buffer.from(x.subarray(20)).toString()), ['packet 1', 'packet 4', 'packet 5']);
  assert.equal(p.server.link.stats.dropped, 1);
});

test('authentication timeout: a client that never answers the challenge', async () => {
  const p = makePair({ filter: (dir, f) => !(dir === 'c2s' && f[2] === 0xc2 && f[3] === 0x23) });
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  assert.equal(p.server.link.phase, 'authenticate');
  p.clock.advance(30_000);
  await p.settle();
  p.clock.advance(10_000);
  await p.settle();
  assert.equal(p.server.downs.length, 1);
  assert.match(p.server.downs[0], /timed out/);
});

test('lowerDown: onDown once, no frames afterwards, input ignored', async () => {
  const p = makePair();
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  const before = p.server.sent.length;
  p.server.link.lowerDown('GRE gone');
  p.server.link.lowerDown('again');
  p.server.link.close('and again');
  p.server.link.sendIp(ipPacket('10.0.0.1', '10.0.0.2', 'x'));
  p.server.link.input(hex('ff 03 c0 21 09 01 00 08 00 00 00 00'));
  p.clock.advance(60_000);
  assert.deepEqual(p.server.downs, ['GRE gone']);
  assert.equal(p.server.sent.length, before);
  assert.equal(p.server.link.phase, 'dead');
});

test('server close(): Terminate-Request, peer acks, onDown(reason) on both sides', async () => {
  const p = makePair();
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  p.server.link.close('administrative kill');
  await p.settle();
  assert.deepEqual(p.server.downs, ['administrative kill']);
  assert.equal(p.client.downs.length, 1);
});

test('kernel data mode: keys in onUp, userspace sendIp refused', async () => {
  const p = makePair({ serverDataMode: 'kernel' });
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  assert.equal(p.server.ups[0]?.mppe?.sendKey.length, 16);
  const before = p.server.sent.length;
  p.server.link.sendIp(ipPacket('10.0.0.1', '10.0.0.2', 'x'));
  assert.equal(p.server.sent.length, before);
  assert.equal(p.server.link.stats.dropped, 1);
});

test('PFC/ACFC negotiated by the peer: data frames go out compressed; compressed input accepted', () => {
  const s = scriptedServer({ auth: [], mppe: null });
  openLcp(s, '05 06 55 66 77 88  07 02  08 02');
  // No auth, no MPPE: straight to IPCP.
  s.feed(`ff 03 80 21 02 01 00 0a  03 06 0a 00 00 01`);
  s.feed(`ff 03 80 21 01 01 00 0a  03 06 0a 00 00 02`);
  assert.equal(s.link.phase, 'running');
  s.take();
  const ip = ipPacket('10.0.0.1', '10.0.0.2', 'pfc');
  s.link.sendIp(ip);
  assert.deepEqual(s.take(), ['21' + toHex(ip)], 'no FF 03, 1-byte protocol');
  s.link.input(Uint8Array.from([0x21, ...ip]));
  s.link.input(Uint8Array.from([0xff, 0x03, 0x00, 0x21, ...ip]));
  assert.equal(s.ips.length, 2);
  // Control frames stay uncompressed.
  s.feed(`c0 21 09 07 00 08 55 66 77 88`);
  assert.match(s.take()[0], /^ff03c0210a07/);
});

test('kernel data mode: the MPPE keys are armed again before a stateful renegotiation round (kernel derives a key per Configure-Ack)', async () => {
  const events: string[] = [];
  const mppe = { required: true, allow40: false, allow56: false, allow128: true, stateful: true };
  const p = makePair({
    serverDataMode: 'kernel',
    server: { mppe },
    client: { mppe },
    serverHooks: { kernelMppeKeys: () => void events.push('arm') },
  });
  // Watch the server's CCP Configure-Request/Ack frames in order with the arms.
  const send = p.server.sent;
  const seen = { n: 0 };
  const note = () => {
    for (; seen.n < send.length; seen.n++) {
      const f = send[seen.n];
      if (f[2] === 0x80 && f[3] === 0xfd && (f[4] === 1 || f[4] === 2)) events.push(f[4] === 1 ? 'req' : 'ack');
    }
  };
  const origPush = send.push.bind(send);
  send.push = (...xs: Uint8Array[]) => { const r = origPush(...xs); note(); return r; };
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  assert.equal(p.server.ups[0]?.mppe?.stateful, true, 'stateful after renegotiation');
  const arms = events.flatMap((e, i) => (e === 'arm' ? [i] : []));
  assert.equal(arms.length, 2, events.join(' '));
  // First arm before any CCP frame; second after the first round's acks and
  // before the renegotiated Configure-Request.
  assert.ok(arms[0] < events.indexOf('req'), events.join(' '));
  assert.ok(events.slice(0, arms[1]).includes('ack'), events.join(' '));
  assert.equal(events[arms[1] + 1], 'req', events.join(' '));
});
