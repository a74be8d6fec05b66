// Raw GRE sockets for real on the loopback of a namespace this file creates
// (root only; skipped loudly otherwise): 100 packets in one sendmmsg batch,
// received in batches with their IPv4 headers and source addresses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestNetns, rootSkipReason } from '../helpers/netns.js';
import { RawGreSocket, ipv4ToUint32, uint32ToIpv4, type PacketBatch } from '../../native/raw-gre.js';
import { loadNative } from '../../native/index.js';

const skip = rootSkipReason();
if (skip) console.error(`\n*** native-raw-gre: ${skip} ***\n`);

let ns: TestNetns | undefined;
before(() => {
  if (skip) return;
  ns = TestNetns.create();
  ns.enter();
});
after(() => ns?.destroy());

const hex = (s: string) => Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');

// Enhanced GRE (RFC 2637 §4.1) carrying 4 bytes of PPP payload.
const GRE = hex(`
  30 01         # flags: key + sequence present; version 1
  88 0b         # protocol: PPP
  00 04         # payload length 4
  12 34         # call id 0x1234
  00 00 00 00   # sequence number (set per packet below)
  ff 03 00 21   # payload: PPP address, control, protocol IP
`);

function gre(seq: number): Buffer {
  const p = Buffer.from(GRE);
  p.writeUInt32BE(seq, 8);
  return p;
}

interface Received { src: number; pkt: Buffer }

function collect(sock: RawGreSocket, want: number): { done: Promise<Received[]>; batches: number[] } {
  const got: Received[] = [];
  const batches: number[] = [];
  const done = new Promise<Received[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`got ${got.length} of ${want} packets in 5 s`)), 5000);
    sock.onPackets((b: PacketBatch) => {
      batches.push(b.count);
      for (let i = 0; i < b.count; i++) {
        got.push({ src: b.sources[i], pkt: Buffer.from(b.data.subarray(b.offsets[i], b.offsets[i] + b.lengths[i])) });
      }
      if (got.length >= want) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
  return { done, batches };
}

test('100 GRE packets go out in one batch and arrive with IPv4 header and source', { skip }, async () => {
  const tx = RawGreSocket.open('127.0.0.1');
  const rx = RawGreSocket.open('127.0.0.2');
  try {
    const { done, batches } = collect(rx, 100);
    let senderSaw = 0;
    tx.onPackets((b) => (senderSaw += b.count));
    const dst = ipv4ToUint32('127.0.0.2');
    for (let seq = 0; seq < 100; seq++) assert.equal(tx.send(dst, gre(seq)), true);
    tx.flush();
    assert.equal(tx.txPackets, 100);
    assert.equal(tx.txDropped, 0);
    const got = await done;
    assert.equal(got.length, 100);
    assert.ok(batches.every((n) => n >= 1 && n <= 64), batches.join());
    assert.ok(batches.length <= 4, `batched: ${batches.length} callbacks for 100 packets`);
    for (const [seq, { src, pkt }] of got.entries()) {
      assert.equal(uint32ToIpv4(src), '127.0.0.1');
      assert.equal(pkt.length, 20 + GRE.length);
      assert.equal(pkt[0], 0x45, 'IPv4 header, no options');
      assert.equal(pkt.readUInt16BE(2), 20 + GRE.length, 'IP total length');
      assert.equal(pkt[9], 47, 'protocol GRE');
      assert.deepEqual([...pkt.subarray(12, 16)], [127, 0, 0, 1]);
      assert.deepEqual([...pkt.subarray(16, 20)], [127, 0, 0, 2]);
      assert.ok(pkt.subarray(20).equals(gre(seq)), `payload of packet ${seq}`);
    }
    assert.equal(senderSaw, 0, 'a socket bound to 127.0.0.1 does not see traffic to 127.0.0.2');
  } finally {
    tx.close();
    rx.close();
  }
});

test('sendBatch on a raw socket: one call, many destinations in one arena', { skip }, async () => {
  const native = loadNative();
  const fd = native.rawOpen(47);
  const rx = RawGreSocket.open();
  try {
    const { done } = collect(rx, 3);
    const arena = new Uint8Array(4096);
    arena.set(gre(1), 0);
    arena.set(gre(2), 100);
    arena.set(gre(3), 2000);
    const dests = new Uint32Array([0x7f000001, 0x7f000005, 0x7f000009]);
    const n = native.sendBatch(fd, arena, new Uint32Array([0, 100, 2000]), new Uint32Array(3).fill(GRE.length), dests, 3);
    assert.equal(n, 3);
    const got = await done;
    // An unbound socket sees all GRE; the sender's copies look the same.
    assert.equal(got.length, 3);
    const seqs = got.map((r) => r.pkt.readUInt32BE(28)).sort((a, b) => a - b);
    assert.deepEqual(seqs, [1, 2, 3]);
    const dsts = got.map((r) => uint32ToIpv4(r.pkt.readUInt32BE(16))).sort();
    assert.deepEqual(dsts, ['127.0.0.1', '127.0.0.5', '127.0.0.9']);
  } finally {
    rx.close();
    native.closeFd(fd);
  }
});

test('an unroutable packet is dropped and counted; the rest of the batch goes', { skip }, async () => {
  const tx = RawGreSocket.open('127.0.0.1');
  const rx = RawGreSocket.open('127.0.0.3');
  try {
    const { done } = collect(rx, 2);
    const here = ipv4ToUint32('127.0.0.3');
    tx.send(here, gre(1));
    tx.send(ipv4ToUint32('10.99.0.1'), gre(2)); // no route in this namespace
    // Built in place in the send arena.
    const off = tx.reserve(here, GRE.length);
    assert.ok(off >= 0);
    tx.txData.set(gre(3), off);
    tx.flush();
    assert.equal(tx.txPackets, 2);
    assert.equal(tx.txErrors, 1);
    assert.equal(tx.txDropped, 1);
    assert.equal((tx.lastError as NodeJS.ErrnoException).code, 'ENETUNREACH');
    assert.equal((tx.lastError as NodeJS.ErrnoException).syscall, 'sendmmsg');
    const got = await done;
    assert.deepEqual(got.map((r) => r.pkt.readUInt32BE(28)), [1, 3]);
    assert.equal(tx.send(here, new Uint8Array(3000)), false, 'larger than a slot');
  } finally {
    tx.close();
    rx.close();
  }
  assert.equal(tx.send(ipv4ToUint32('127.0.0.3'), gre(4)), false, 'closed');
});

test('queued packets are flushed on the next event-loop turn without flush()', { skip }, async () => {
  const tx = RawGreSocket.open('127.0.0.1');
  const rx = RawGreSocket.open('127.0.0.4');
  try {
    const { done } = collect(rx, 5);
    for (let i = 0; i < 5; i++) tx.send(ipv4ToUint32('127.0.0.4'), gre(i));
    assert.equal(tx.txPackets, 0, 'nothing sent synchronously');
    const got = await done;
    assert.equal(got.length, 5);
    assert.equal(tx.txPackets, 5);
  } finally {
    tx.close();
    rx.close();
  }
});

test('binding to an address the namespace does not have fails with EADDRNOTAVAIL', { skip }, () => {
  assert.throws(
    () => RawGreSocket.open('192.0.2.1'),
    (e: NodeJS.ErrnoException) => e.code === 'EADDRNOTAVAIL' && e.syscall === 'bind(SOCK_RAW)',
  );
});
