// TUN datapath with the native pieces replaced by in-memory fakes: GRE in and
// out through the real GRE engine and demux, interfaces named lowest-free pppN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STATEFUL_REORDER_MS, TunDatapath } from '../../src/datapath/tun/tun-datapath.js';
import { parseIpv4 } from '../../src/datapath/tun/ipv4.js';
import { PptpdError } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/log.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeRawGre, FakeTunHost } from '../helpers/session-ports.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const CLIENT = '203.0.113.7'; // cb 00 71 07
const SERVER = '198.51.100.1'; // c6 33 64 01

// An IPv4 header (protocol 47) around `gre`, from `src`.
function ipv4(src: string, gre: Uint8Array): Uint8Array {
  const s = parseIpv4(src)!;
  const total = 20 + gre.length;
  const h = hex(`
    45 00 ${total.toString(16).padStart(4, '0')}  # v4 IHL 5, total length
    00 00 40 00                                  # id, DF
    40 2f 00 00                                  # TTL 64, protocol 47 (GRE), checksum (not checked)
    ${s.toString(16).padStart(8, '0')}            # source
    c6 33 64 01                                  # destination ${SERVER}
  `);
  const out = new Uint8Array(total);
  out.set(h);
  out.set(gre, 20);
  return out;
}

function setup() {
  const clock = new FakeClock();
  const raw = new FakeRawGre();
  const host = new FakeTunHost();
  const dp = new TunDatapath({ clock, log: silentLogger, raw, openTun: host.opener });
  return { clock, raw, host, dp };
}

const params = (sessionId: string, callId: number, peerCallId: number, client = CLIENT) => ({
  sessionId, callId, peerCallId, clientAddress: client, localAddress: SERVER,
});

test('GRE from the client reaches the call as a PPP frame; other sources and call ids do not', () => {
  const { raw, dp } = setup();
  const call = dp.openCall(params('s1', 0x0040, 0x1234));
  const frames: string[] = [];
  call.onFrame = (f) => frames.push(toHex(f));
  const gre = hex(`
    30 01 88 0b   # K S, version 1, protocol PPP
    00 08 00 40   # payload length 8, call id 0x40 (ours)
    00 00 00 01   # seq 1
    ff 03 c0 21 01 01 00 04   # LCP Configure-Request id 1, no options
  `);
  raw.receive(ipv4(CLIENT, gre));
  assert.deepEqual(frames, ['ff03c02101010004']);
  // Same call id from another address (spoofed): dropped.
  raw.receive(ipv4('203.0.113.8', gre));
  // Unknown call id: dropped.
  const other = Uint8Array.from(gre);
  other[7] = 0x41;
  raw.receive(ipv4(CLIENT, other));
  // Not IPv4 / not GRE: dropped before the demux.
  const bad = ipv4(CLIENT, gre);
  bad[9] = 17;
  raw.receive(bad, hex('60 00 00 00'));
  assert.equal(frames.length, 1);
  assert.equal(dp.demux.stats.wrongSource, 1);
  assert.equal(dp.demux.stats.unknownCall, 1);
  assert.equal(dp.stats.badIpv4, 2);
  assert.equal(dp.stats.rawPackets, 5);
  assert.ok(raw.flushes >= 1, 'sends are flushed once per received batch');
});

test('sendFrame → one GRE packet to the client with the peer call id, seq from 0, ack piggy-backed', () => {
  const { raw, dp } = setup();
  const call = dp.openCall(params('s1', 0x0040, 0x1234));
  call.sendFrame(hex('ff 03 c0 21 02 01 00 04'));
  assert.equal(raw.sent.length, 1);
  assert.equal(raw.sent[0]!.dst, 0xcb007107);
  assert.equal(
    toHex(raw.sent[0]!.pkt),
    toHex(hex(`
      30 01 88 0b   # K S, v1, PPP
      00 08 12 34   # payload 8, peer call id 0x1234
      00 00 00 00   # seq 0
      ff 03 c0 21 02 01 00 04
    `)),
  );
  // After receiving seq 5 the next packet acknowledges it.
  raw.receive(ipv4(CLIENT, hex('30 01 88 0b 00 04 00 40 00 00 00 05 ff 03 c0 21')));
  call.sendFrame(hex('ff 03 c0 21 09 02 00 08 00 00 00 00'));
  assert.equal(
    toHex(raw.sent[1]!.pkt),
    toHex(hex(`
      30 81 88 0b   # K S A, v1, PPP
      00 0c 12 34   # payload 12, peer call id
      00 00 00 01   # seq 1
      00 00 00 05   # ack 5
      ff 03 c0 21 09 02 00 08 00 00 00 00
    `)),
  );
});

test('received data with nothing to send → an ack-only packet after 50 ms (injected clock)', () => {
  const { raw, dp, clock } = setup();
  dp.openCall(params('s1', 7, 9));
  raw.receive(ipv4(CLIENT, hex('30 01 88 0b 00 04 00 07 00 00 00 00 ff 03 c0 21')));
  assert.equal(raw.sent.length, 0);
  clock.advance(49);
  assert.equal(raw.sent.length, 0);
  clock.advance(1);
  assert.equal(toHex(raw.sent[0]!.pkt), toHex(hex('20 81 88 0b 00 00 00 09 00 00 00 00'))); // K A, len 0, call 9, ack 0
});

test('two clients behind one NAT address are told apart by call id', () => {
  const { raw, dp } = setup();
  const a = dp.openCall(params('a', 100, 1));
  const b = dp.openCall(params('b', 101, 1));
  const got: string[] = [];
  a.onFrame = (f) => got.push(`a:${toHex(f)}`);
  b.onFrame = (f) => got.push(`b:${toHex(f)}`);
  raw.receive(
    ipv4(CLIENT, hex('30 01 88 0b 00 02 00 65 00 00 00 00 aa bb')), // call 101
    ipv4(CLIENT, hex('30 01 88 0b 00 02 00 64 00 00 00 00 cc dd')), // call 100
  );
  assert.deepEqual(got, ['b:aabb', 'a:ccdd']);
});

test('attach: lowest free pppN, MTU and point-to-point addresses, IP both ways, counters', async () => {
  const { raw, dp, host } = setup();
  host.system.add('ppp0'); // someone else's interface
  const c1 = dp.openCall(params('s1', 1, 11));
  const c2 = dp.openCall(params('s2', 2, 12, '203.0.113.9'));
  const sentIp: string[] = [];
  const link = { sendIp: (p: Uint8Array) => sentIp.push(toHex(p)) };
  const r1 = await c1.attach({ local: '10.0.0.1', peer: '10.0.0.2', mtu: 1400, mru: 1400, mppe: null, link });
  const r2 = await c2.attach({ local: '10.0.0.1', peer: '10.0.0.3', mtu: 1396, mru: 1400, mppe: null, link });
  assert.equal(r1.ifname, 'ppp1');
  assert.equal(r2.ifname, 'ppp2');
  const t1 = host.open.get('ppp1')!;
  assert.deepEqual(t1.configured, { mtu: 1400, local: '10.0.0.1', peer: '10.0.0.2', up: true });
  assert.equal(host.open.get('ppp2')!.configured!.mtu, 1396);
  await assert.rejects(c1.attach({ local: '10.0.0.1', peer: '10.0.0.2', mtu: 1400, mru: 1400, mppe: null, link }), PptpdError);

  // Kernel → ppp1 → link.sendIp (one batch of two packets) → raw flushed once after the batch.
  const flushes = raw.flushes;
  const v4a = '45000014' + '00'.repeat(16) + 'aa';
  const v4b = '45000014' + '00'.repeat(16) + 'bbcc';
  // An IPv6 packet (router solicitation) in the same batch: dropped, IPv6CP is not negotiated.
  t1.emit(hex(v4a), hex('60 00 00 00 00 08 3a ff' + '00'.repeat(32)), hex(v4b));
  assert.deepEqual(sentIp, [v4a, v4b]);
  assert.equal(dp.stats.nonIpv4, 1);
  assert.equal(raw.flushes, flushes + 1);

  // Link → deliverIp → TUN write, flushed at the end of the raw batch that carried it.
  c1.onFrame = () => c1.deliverIp(hex('45 00 00 14 01 02 03'));
  raw.receive(ipv4(CLIENT, hex('30 01 88 0b 00 02 00 01 00 00 00 00 00 21')));
  assert.deepEqual(t1.written.map(toHex), ['45000014010203']);
  assert.equal(t1.flushes, 1);
  assert.deepEqual(c1.counters(), { rxPackets: 1, rxBytes: 7, txPackets: 2, txBytes: 43 });
});

test('close: interface removed and its name free again, GRE unregistered, timers cancelled', async () => {
  const { raw, dp, host, clock } = setup();
  const c = dp.openCall(params('s1', 1, 11));
  await c.attach({ local: '10.0.0.1', peer: '10.0.0.2', mtu: 1400, mru: 1400, mppe: null, link: { sendIp() {} } });
  raw.receive(ipv4(CLIENT, hex('30 01 88 0b 00 02 00 01 00 00 00 00 c0 21'))); // arms the ack timer
  assert.equal(clock.pending, 1);
  await c.close();
  await c.close(); // idempotent
  assert.equal(host.open.size, 0);
  assert.equal(dp.interfaceNames.size, 0);
  assert.equal(dp.callCount, 0);
  assert.equal(clock.pending, 0);
  raw.receive(ipv4(CLIENT, hex('30 01 88 0b 00 02 00 01 00 00 00 01 c0 21')));
  assert.equal(dp.demux.stats.unknownCall, 1);
  c.sendFrame(hex('ff 03')); // after close: nothing goes out
  assert.equal(raw.sent.length, 0);
  // The next session gets ppp0 again (lowest free).
  const c2 = dp.openCall(params('s2', 2, 12));
  assert.equal((await c2.attach({ local: '10.0.0.1', peer: '10.0.0.2', mtu: 1400, mru: 1400, mppe: null, link: { sendIp() {} } })).ifname, 'ppp0');
  await dp.close();
  assert.ok(raw.closed);
  assert.equal(host.open.size, 0);
  assert.throws(() => dp.openCall(params('s3', 3, 13)), PptpdError);
});

test('a configure failure closes the new interface; IPv6 clients are refused by openCall', async () => {
  const { dp, host } = setup();
  const orig = host.opener;
  host.opener = (taken) => {
    const t = orig(taken);
    t.configure = () => {
      throw new Error('SIOCSIFADDR: EPERM');
    };
    return t;
  };
  const dp2 = new TunDatapath({ clock: new FakeClock(), log: silentLogger, raw: new FakeRawGre(), openTun: host.opener });
  const c = dp2.openCall(params('s1', 1, 11));
  await assert.rejects(c.attach({ local: '10.0.0.1', peer: '10.0.0.2', mtu: 1400, mru: 1400, mppe: null, link: { sendIp() {} } }), /EPERM/);
  assert.equal(host.open.size, 0);
  assert.equal(dp2.interfaceNames.size, 0);
  assert.throws(() => dp.openCall(params('s6', 5, 6, '2001:db8::1')), (e: unknown) => e instanceof PptpdError && e.code === 'ERR_DATAPATH_ADDRESS');
  // v4-mapped addresses are IPv4.
  assert.doesNotThrow(() => dp.openCall(params('s7', 7, 8, '::ffff:203.0.113.7')));
});

test('parseIpv4', () => {
  assert.equal(parseIpv4('10.0.0.1'), 0x0a000001);
  assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  assert.equal(parseIpv4('256.0.0.1'), undefined);
  assert.equal(parseIpv4('1.2.3'), undefined);
  assert.equal(parseIpv4('::1'), undefined);
});

test('stateful MPPE: the GRE reorder hold drops to STATEFUL_REORDER_MS (a gap reaches MPPE, and its Reset-Request, at once); stateless keeps 300 ms', async () => {
  const { raw, dp, clock } = setup();
  const link = { sendIp: () => {} };
  const mppe = (stateful: boolean) => ({ bits: 128 as const, stateful, sendKey: new Uint8Array(16), recvKey: new Uint8Array(16) });
  const held = async (stateful: boolean, callId: number): Promise<string[]> => {
    const call = dp.openCall(params(`s${callId}`, callId, 0x2000 + callId));
    const frames: string[] = [];
    call.onFrame = (f) => frames.push(toHex(f));
    await call.attach({ local: '10.0.0.1', peer: `10.0.0.${callId}`, mtu: 1400, mru: 1400, mppe: mppe(stateful), link });
    const gre = (seq: number) => {
      const g = hex(`30 01 88 0b  00 02 00 00  00 00 00 00  00 21`);
      g[7] = callId;
      g[11] = seq;
      g[13] = seq;
      return ipv4(CLIENT, g);
    };
    raw.receive(gre(1));
    raw.receive(gre(3)); // 2 lost: 3 waits for it
    clock.advance(STATEFUL_REORDER_MS);
    return frames;
  };
  assert.deepEqual(await held(true, 0x41), ['0001', '0003'], 'stateful: released after STATEFUL_REORDER_MS');
  assert.deepEqual(await held(false, 0x42), ['0001'], 'stateless: still held (300 ms)');
  clock.advance(300);
  assert.equal(dp.stats.errors, 0);
});
