// TUN devices for real, inside network namespaces this file creates (root
// only; skipped loudly otherwise). Checks pppd-style naming, configuration
// as `ip` sees it, an ICMP echo answered by the kernel through the device,
// counters, and that closing removes the interface.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestNetns, rootSkipReason } from '../helpers/netns.js';
import { TunDevice, tunTxCounters, type PacketBatch } from '../../native/tun.js';
import { ifStats } from '../../native/ifstats.js';
import { loadNative } from '../../native/index.js';

const skip = rootSkipReason();
if (skip) console.error(`\n*** native-tun: ${skip} ***\n`);

let ns: TestNetns | undefined;
before(() => {
  if (skip) return;
  ns = TestNetns.create();
  ns.enter();
});
after(() => ns?.destroy());

interface IpLink { ifname: string; mtu: number; flags: string[]; link_type: string }
interface IpAddr { ifname: string; addr_info: { family: string; local: string; address?: string; prefixlen: number }[] }

function internetChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (b.length & 1) sum += b[b.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

// ICMP echo request 10.0.0.2 → 10.0.0.1, as the PPP peer would send it.
// Checksums are left 0 here and filled in below.
const hex = (s: string) => Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');
const ECHO_REQUEST = hex(`
  45 00 00 24   # IPv4, IHL 5, total length 36
  12 34 40 00   # id 0x1234, DF
  40 01 00 00   # TTL 64, protocol 1 (ICMP), header checksum
  0a 00 00 02   # source 10.0.0.2 (peer)
  0a 00 00 01   # destination 10.0.0.1 (local)
  08 00 00 00   # ICMP type 8 (echo request), code 0, checksum
  be ef 00 07   # identifier 0xbeef, sequence 7
  70 70 74 70 64 2d 74 73   # payload "pptpd-ts"
`);
ECHO_REQUEST.writeUInt16BE(internetChecksum(ECHO_REQUEST.subarray(0, 20)), 10);
ECHO_REQUEST.writeUInt16BE(internetChecksum(ECHO_REQUEST.subarray(20)), 22);

test('lowest free pppN, as pppd names its units', { skip }, () => {
  const a = TunDevice.openLowestFree('ppp');
  const b = TunDevice.openLowestFree('ppp');
  try {
    assert.equal(a.name, 'ppp0');
    assert.equal(b.name, 'ppp1');
    assert.notEqual(a.fd, b.fd);
    assert.ok(loadNative().ifExists('ppp0') && loadNative().ifExists('ppp1'));
    a.close();
    assert.equal(loadNative().ifExists('ppp0'), false, 'closing the fd removes the interface');
    const c = TunDevice.openLowestFree('ppp');
    assert.equal(c.name, 'ppp0', 'a freed unit is reused first');
    // A name the caller reserved is skipped, and not left behind.
    const d = TunDevice.openLowestFree('ppp', new Set(['ppp2', 'ppp3']));
    assert.equal(d.name, 'ppp4');
    assert.equal(loadNative().ifExists('ppp2'), false);
    assert.equal(loadNative().ifExists('ppp3'), false);
    c.close();
    d.close();
  } finally {
    a.close();
    b.close();
  }
  assert.deepEqual(ns!.ipJson<IpLink[]>('link').map((l) => l.ifname), ['lo']);
});

test('an exact name that is taken throws EBUSY', { skip }, () => {
  const a = TunDevice.open('ppp7');
  try {
    assert.equal(a.name, 'ppp7');
    assert.throws(() => TunDevice.open('ppp7'), (e: NodeJS.ErrnoException) => e.code === 'EBUSY' && /TUNSETIFF/.test(e.message));
    assert.throws(() => TunDevice.open('lo'), (e: NodeJS.ErrnoException) => e.code === 'EBUSY');
    // A persistent TUN someone else left is not hijacked.
    ns!.ip('tuntap', 'add', 'dev', 'ppp8', 'mode', 'tun');
    assert.throws(() => TunDevice.open('ppp8'), (e: NodeJS.ErrnoException) => e.code === 'EBUSY');
    ns!.ip('tuntap', 'del', 'dev', 'ppp8', 'mode', 'tun');
  } finally {
    a.close();
  }
});

test('configure sets MTU, point-to-point /32 addresses and up', { skip }, () => {
  const t = TunDevice.openLowestFree('ppp');
  try {
    t.configure({ mtu: 1396, local: '192.168.0.1', peer: '192.168.0.234', up: true });
    const [link] = ns!.ipJson<IpLink[]>('link', 'show', 'dev', t.name);
    assert.equal(link.mtu, 1396);
    assert.ok(link.flags.includes('UP') && link.flags.includes('POINTOPOINT'), link.flags.join());
    assert.equal(link.link_type, 'none');
    const [addr] = ns!.ipJson<IpAddr[]>('addr', 'show', 'dev', t.name);
    const v4 = addr.addr_info.filter((a) => a.family === 'inet');
    assert.deepEqual(v4.map((a) => [a.local, a.address, a.prefixlen]), [['192.168.0.1', '192.168.0.234', 32]]);
    t.configure({ mtu: 1400, local: '192.168.0.1', peer: '192.168.0.234', up: false });
    const [down] = ns!.ipJson<IpLink[]>('link', 'show', 'dev', t.name);
    assert.ok(!down.flags.includes('UP'));
    assert.equal(down.mtu, 1400);
    assert.throws(() => t.configure({ mtu: 9000, local: '1.1.1.1', peer: '1.1.1.2', up: true }), RangeError);
  } finally {
    t.close();
  }
});

test('an ICMP echo written into the TUN is answered by the kernel out of it', { skip }, async () => {
  const t = TunDevice.openLowestFree('ppp');
  try {
    t.configure({ mtu: 1400, local: '10.0.0.1', peer: '10.0.0.2', up: true });
    const before = ifStats(t.name);
    const replies: Buffer[] = [];
    let batches = 0;
    const got = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no echo reply within 5 s')), 5000);
      t.onPackets((batch: PacketBatch) => {
        batches++;
        for (let i = 0; i < batch.count; i++) {
          const p = Buffer.from(batch.data.subarray(batch.offsets[i], batch.offsets[i] + batch.lengths[i]));
          assert.equal(batch.sources[i], 0);
          // Skip IPv6 link-local chatter; keep IPv4 ICMP.
          if (p[0] >> 4 === 4 && p[9] === 1) replies.push(p);
        }
        if (replies.length >= 3) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    // Three requests in one flush: one tunWriteBatch call.
    for (let seq = 7; seq < 10; seq++) {
      const req = Buffer.from(ECHO_REQUEST);
      req.writeUInt16BE(seq, 26);
      req.writeUInt16BE(0, 22);
      req.writeUInt16BE(internetChecksum(req.subarray(20)), 22);
      assert.equal(t.write(req), true);
    }
    const written = tunTxCounters.written;
    t.flush();
    assert.equal(tunTxCounters.written, written + 3);
    await got;
    assert.ok(batches >= 1 && batches <= 3);
    for (const [i, r] of replies.entries()) {
      assert.equal(r.length, 36);
      assert.deepEqual([...r.subarray(12, 16)], [10, 0, 0, 1], 'from local');
      assert.deepEqual([...r.subarray(16, 20)], [10, 0, 0, 2], 'to peer');
      assert.equal(r[20], 0, 'ICMP echo reply');
      assert.equal(r.readUInt16BE(24), 0xbeef);
      assert.equal(r.readUInt16BE(26), 7 + i);
      assert.equal(r.subarray(28).toString(), 'pptpd-ts');
      assert.equal(internetChecksum(r.subarray(0, 20)), 0, 'valid IPv4 header checksum');
      assert.equal(internetChecksum(r.subarray(20)), 0, 'valid ICMP checksum');
    }
    const after = ifStats(t.name);
    assert.ok(after.rxPackets - before.rxPackets >= 3, 'requests counted as received by the interface');
    assert.ok(after.rxBytes - before.rxBytes >= 3 * 36);
    assert.ok(after.txPackets - before.txPackets >= 3, 'replies counted as sent');
  } finally {
    t.close();
  }
  assert.equal(loadNative().ifExists(t.name), false);
  assert.equal(t.write(Buffer.from(ECHO_REQUEST)), false, 'no writes after close');
});

test('deleting the interface under a polling device reports an error, no crash', { skip }, async () => {
  const t = TunDevice.openLowestFree('ppp');
  try {
    t.configure({ mtu: 1400, local: '10.1.0.1', peer: '10.1.0.2', up: true });
    const err = new Promise<Error>((resolve) => t.onPackets(() => {}, resolve));
    ns!.ip('link', 'del', 'dev', t.name);
    const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error('no error within 3 s')), 3000).unref());
    const e = (await Promise.race([err, timeout])) as NodeJS.ErrnoException;
    // The kernel detaches the fd: poll reports an error (libuv: EBADF), reads EBADFD.
    assert.ok(e.code === 'EBADF' || e.code === 'EBADFD', String(e.code));
    assert.equal(t.rxErrors, 1);
    assert.equal(loadNative().ifExists(t.name), false);
  } finally {
    t.close();
  }
});
