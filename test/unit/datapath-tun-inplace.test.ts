// In-place delivery on the TUN datapath: the link decrypts a received MPPE
// packet straight into the TUN write queue (IpSink → TunPort.beginWrite /
// commitWrite → TxQueue.begin / commit) instead of scratch → onIp → a copy.
// A dropped packet (bad protocol, oversize, undecryptable) is simply never
// committed: counted, nothing queued, its room reused by the next packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TX_SLOTS, TX_SLOT_SIZE, TxQueue } from '../../native/batch.js';
import { TunDatapath } from '../../src/datapath/tun/tun-datapath.js';
import { parseIpv4 } from '../../src/datapath/tun/ipv4.js';
import type { IpSink, LinkHooks } from '../../src/ppp/types.js';
import type { PppLink } from '../../src/ppp/link.js';
import { silentLogger } from '../../src/util/log.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { InPlaceTunHost } from '../helpers/datapath-tun-inplace.js';
import { ipPacket, makePair, rogueClient, type Pair, toHex } from '../helpers/ppp-harness.js';
import { FakeRawGre, type FakeTun, FakeTunHost } from '../helpers/session-ports.js';

const hooksOf = (l: unknown) => (l as { hooks: LinkHooks }).hooks;
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex'));

test('TxQueue.begin/commit: in place with a skipped prefix; no commit = abort; anything in between voids the commit', () => {
  const flushed: string[][] = [];
  const q = new TxQueue(new Int32Array(TX_SLOTS), (x) => {
    const got: string[] = [];
    for (let i = 0; i < x.count; i++) got.push(`${x.targets[i]}:${toHex(x.data.subarray(x.offsets[i]!, x.offsets[i]! + x.lengths[i]!))}`);
    flushed.push(got);
    x.clear();
  });
  assert.equal(q.begin(0), -1);
  assert.equal(q.begin(TX_SLOT_SIZE + 1), -1);
  const a = q.begin(100);
  assert.equal(a, 0);
  q.data.set(hex('00 21 45 aa bb'), a); // protocol 0x0021 then a 3-byte "packet"
  assert.equal(q.commit(7, a, 2, 3), true);
  assert.equal(q.count, 1);
  // Aborted: begin, write, no commit. The next packet gets the same room.
  const b = q.begin(100);
  assert.equal(b, 5);
  q.data.set(hex('00 57 60 60'), b);
  const c = q.begin(100);
  assert.equal(c, b, 'an abandoned reservation holds nothing');
  q.data.set(hex('00 21 45 cc'), c);
  // Something queued between begin and commit: that commit is refused (it would overlap).
  q.push(9, hex('45 dd'));
  assert.equal(q.commit(8, c, 2, 2), false);
  assert.equal(q.commit(8, q.begin(10), 0, TX_SLOT_SIZE + 1), false, 'longer than a slot');
  assert.equal(q.commit(8, q.begin(10), 0, 0), false, 'empty');
  assert.equal(q.count, 2);
  // Full (64 slots) → begin flushes first and starts at 0 again.
  while (q.count < TX_SLOTS) q.push(1, hex('45'));
  assert.equal(q.begin(10), 0);
  assert.equal(flushed.length, 1);
  assert.deepEqual(flushed[0]!.slice(0, 2), ['7:45aabb', '9:45dd']);
  // 63 full slots: the last slot's room is still there (the arena is slots × slot size: no flush yet).
  for (let i = 0; i < TX_SLOTS - 1; i++) q.push(2, new Uint8Array(TX_SLOT_SIZE).fill(0x45));
  assert.equal(q.begin(TX_SLOT_SIZE), (TX_SLOTS - 1) * TX_SLOT_SIZE);
  assert.equal(q.commit(3, (TX_SLOTS - 1) * TX_SLOT_SIZE, 2, TX_SLOT_SIZE - 1), false, 'past the arena end');
  assert.equal(q.commit(3, (TX_SLOTS - 1) * TX_SLOT_SIZE, 2, TX_SLOT_SIZE - 2), true);
  assert.equal(flushed.length, 1);
  assert.equal(q.begin(1), 0, 'all slots used: flushed first');
  assert.equal(flushed.length, 2);
  assert.equal(flushed[1]!.length, TX_SLOTS);
});

/** A running server/client pair; the server link delivers into `host`'s queue through a counting sink. */
async function runningPair(): Promise<{ p: Pair; host: InPlaceTunHost; sink: IpSink & { begins: number; commits: number } }> {
  const p = makePair();
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  assert.equal(p.server.link.phase, 'running');
  const host = new InPlaceTunHost();
  const tun = host.opener();
  const sink = {
    begins: 0,
    commits: 0,
    buffer: tun.writeBuffer,
    begin(max: number) {
      this.begins++;
      return tun.beginWrite(max);
    },
    commit(start: number, skip: number, len: number) {
      this.commits++;
      assert.ok(tun.commitWrite(start, skip, len));
    },
  };
  p.server.link.setIpSink(sink);
  return { p, host, sink };
}

test('link: decrypted IPv4 goes straight into the sink, not to onIp; drops are counted and never committed', async () => {
  const { p, host, sink } = await runningPair();
  const frame = rogueClient(p);
  const ip1 = ipPacket('10.0.0.2', '10.0.0.1', 'first packet');
  const ip2 = ipPacket('10.0.0.2', '10.0.0.1', 'second, after the drops');
  const s = p.server.link.stats;
  const dropped0 = s.dropped;
  const errors0 = s.mppeErrors;

  p.server.link.input(frame(0x0021, ip1));
  const afterFirst = host.queue.offsets[0]! + host.queue.lengths[0]!;
  // Inside MPPE but not IPv4 (IPv6: not negotiated): reserved, decrypted, not committed.
  p.server.link.input(frame(0x0057, hex('60 00 00 00 00 00 3b 40')));
  // Protocol 0x0021 with no packet after it.
  p.server.link.input(frame(0x0021, new Uint8Array(0)));
  // Longer than the link's MRU allows: refused before any reservation.
  const begins = sink.begins;
  p.server.link.input(frame(0x0021, new Uint8Array(1600).fill(0x45)));
  assert.equal(sink.begins, begins, 'oversize: no reservation taken');
  // Not encrypted (D bit clear): the codec refuses it, an MPPE error.
  const plain = frame(0x0021, ip1);
  plain[4]! &= ~0x10;
  p.server.link.input(plain);
  p.server.link.input(frame(0x0021, ip2));

  assert.equal(sink.commits, 2);
  assert.equal(s.dropped - dropped0, 4);
  assert.equal(s.mppeErrors - errors0, 1);
  assert.equal(p.server.ips.length, 0, 'onIp is not called for in-place packets');
  // The aborted reservations left no gap: ip2 starts 2 bytes (its protocol) after ip1 ends.
  assert.equal(host.queue.count, 2);
  assert.equal(host.queue.offsets[1], afterFirst + 2);
  host.flush();
  assert.deepEqual(host.written, [{ ifname: 'ppp0', hex: toHex(ip1) }, { ifname: 'ppp0', hex: toHex(ip2) }]);

  // Sink removed: back to scratch + onIp.
  p.server.link.setIpSink(null);
  p.server.link.input(frame(0x0021, ip2));
  assert.deepEqual(p.server.ips.map(toHex), [toHex(ip2)]);
  assert.equal(host.queue.count, 0);
});

// --- the whole TUN datapath: raw batch → demux → GreCall → link → sink → TUN queue ---

const CLIENT = '203.0.113.7';
const SERVER = '198.51.100.1';

function greIp(callId: number, seq: number, ppp: Uint8Array): Uint8Array {
  const gre = new Uint8Array(12 + ppp.length);
  gre.set(hex('30 01 88 0b')); // K S, version 1, protocol PPP
  gre[4] = ppp.length >> 8;
  gre[5] = ppp.length & 0xff;
  gre[6] = callId >> 8;
  gre[7] = callId & 0xff;
  new DataView(gre.buffer).setUint32(8, seq);
  gre.set(ppp, 12);
  const ip = new Uint8Array(20 + gre.length);
  ip.set(hex('45 00 00 00  00 00 40 00  40 2f 00 00'));
  ip[2] = ip.length >> 8;
  ip[3] = ip.length & 0xff;
  new DataView(ip.buffer).setUint32(12, parseIpv4(CLIENT)!);
  ip.set(hex('c6 33 64 01'), 16);
  ip.set(gre, 20);
  return ip;
}

async function datapathWith(inPlace: boolean, sessions: number) {
  const raw = new FakeRawGre();
  const host = inPlace ? new InPlaceTunHost() : new FakeTunHost();
  const dp = new TunDatapath({ clock: new FakeClock(), log: silentLogger, raw, openTun: host.opener });
  const calls = [];
  for (let i = 0; i < sessions; i++) {
    const { p } = { p: makePair() };
    p.server.link.start();
    p.client.link.start();
    await p.settle();
    const call = dp.openCall({ sessionId: `s${i}`, callId: 0x40 + i, peerCallId: 0x1000 + i, clientAddress: CLIENT, localAddress: SERVER });
    call.onFrame = (f) => p.server.link.input(f);
    hooksOf(p.server.link).onIp = (pkt) => call.deliverIp(pkt); // as the session manager wires it
    const sinks: Array<IpSink | null> = [];
    const link = p.server.link;
    const spy = { sendIp: (x: Uint8Array) => link.sendIp(x), setIpSink: (s: IpSink | null) => { sinks.push(s); link.setIpSink(s); } };
    const { ifname } = await call.attach({ local: '10.0.0.1', peer: '10.0.0.2', mtu: 1400, mru: 1400, mppe: null, link: spy });
    calls.push({ p, call, ifname, sinks, link: link as PppLink });
  }
  return { raw, host, dp, calls };
}

test('TUN datapath: several sessions interleaved in one raw batch land in place, each on its interface, in order', async () => {
  const { raw, host, dp, calls } = await datapathWith(true, 3);
  assert.ok(host instanceof InPlaceTunHost);
  for (const c of calls) assert.equal(c.sinks.length, 1, 'attach gave the link its sink');
  const seq = [0, 0, 0];
  const packets: Uint8Array[] = [];
  const want: Array<{ ifname: string; hex: string }> = [];
  const bad = rogueClient(calls[1]!.p)(0x0057, hex('60 00 00 00 00 00 3b 40'));
  // Round-robin over the sessions, 4 packets each; session 1's own sequence interrupted by a bad protocol.
  for (let k = 0; k < 4; k++) {
    for (let i = 0; i < 3; i++) {
      const c = calls[i]!;
      const ip = ipPacket('10.0.0.2', '10.250.0.1', `session ${i} packet ${k} ${'.'.repeat(i * 40 + k)}`);
      c.p.client.link.sendIp(ip);
      packets.push(greIp(0x40 + i, ++seq[i]!, c.p.client.sent.at(-1)!));
      want.push({ ifname: c.ifname, hex: toHex(ip) });
    }
    if (k === 1) packets.push(greIp(0x41, ++seq[1]!, bad));
  }
  const dropped1 = calls[1]!.link.stats.dropped;
  raw.receive(...packets);
  // The datapath flushes the TUN queue once per raw batch.
  assert.deepEqual(host.written, want);
  assert.equal(host.writes, 1, 'one write batch for the whole raw batch');
  assert.equal(calls[1]!.link.stats.dropped - dropped1, 1);
  for (const c of calls) {
    assert.equal(c.p.server.ips.length, 0);
    assert.equal(c.call.counters().rxPackets, 4);
  }
  assert.equal(dp.stats.errors, 0);
  assert.equal(dp.stats.sinkDropped, 0);
  // Close: the link loses the sink (packets after that never touch the queue).
  await calls[0]!.call.close();
  assert.deepEqual(calls[0]!.sinks, [calls[0]!.sinks[0], null]);
});

test('TUN datapath on an interface without in-place writing: no sink, packets via deliverIp → write() as before', async () => {
  const { raw, host, calls } = await datapathWith(false, 2);
  assert.ok(host instanceof FakeTunHost);
  const want: string[][] = [[], []];
  const packets: Uint8Array[] = [];
  for (let k = 0; k < 2; k++) {
    for (let i = 0; i < 2; i++) {
      const c = calls[i]!;
      assert.equal(c.sinks.length, 0);
      const ip = ipPacket('10.0.0.2', '10.250.0.1', `copy path ${i} ${k}`);
      c.p.client.link.sendIp(ip);
      packets.push(greIp(0x40 + i, k + 1, c.p.client.sent.at(-1)!));
      want[i]!.push(toHex(ip));
    }
  }
  raw.receive(...packets);
  for (let i = 0; i < 2; i++) {
    const tun: FakeTun = host.open.get(calls[i]!.ifname)!;
    assert.deepEqual(tun.written.map(toHex), want[i]);
    assert.equal(tun.flushes, 1);
    assert.equal(calls[i]!.call.counters().rxPackets, 2);
  }
});

test('TxQueue: queued packets are flushed at the end of the turn once; an explicit flush cancels that (no idle wakeup)', async () => {
  let flushes = 0;
  const sizes: number[] = [];
  const q = new TxQueue(new Int32Array(TX_SLOTS), (x) => {
    flushes++;
    sizes.push(x.count);
    x.clear();
  });
  const turn = () => new Promise((r) => setImmediate(r));
  q.push(1, hex('45 01'));
  q.commit(1, q.begin(10), 0, 3);
  assert.equal(flushes, 0);
  await turn();
  assert.deepEqual(sizes, [2], 'one end-of-turn flush for both');
  // Explicit flush by the owner (end of a receive batch): the scheduled one is cancelled.
  q.push(1, hex('45 02'));
  let ranBefore = false;
  setImmediate(() => { ranBefore = true; });
  q.clear();
  await turn();
  await turn();
  assert.ok(ranBefore);
  assert.deepEqual(sizes, [2], 'nothing ran for the cleared queue');
  q.push(1, hex('45 03'));
  await turn();
  assert.deepEqual(sizes, [2, 1], 'and the next packet schedules again');
});
