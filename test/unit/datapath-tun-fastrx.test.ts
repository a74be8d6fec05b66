// The TUN datapath with the addon's receive fast path (native/src/fastrx.c)
// against the same datapath without it: the same client traffic — in order,
// reordered, lost, interleaved with control frames, from a wrong source,
// decrypting to a protocol we do not carry, with piggy-backed acks — must
// reach each interface as the same bytes in the same order and leave the
// same counters (link, GRE, MPPE, interface), the fast path taking what it
// can. Interfaces are FIFOs here: the fast path write()s to their fds.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TxQueue, sharedBatch } from '../../native/batch.js';
import type { GreCall } from '../../src/gre/engine.js';
import { TunDatapath } from '../../src/datapath/tun/tun-datapath.js';
import { parseIpv4 } from '../../src/datapath/tun/ipv4.js';
import type { FastRxPort, PacketBatchView, RawGrePort } from '../../src/datapath/tun/ports.js';
import type { PppLink } from '../../src/ppp/link.js';
import type { LinkHooks } from '../../src/ppp/types.js';
import { silentLogger } from '../../src/util/log.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeTun } from '../helpers/session-ports.js';
import { ipPacket, makePair, rogueClient, type Pair, toHex } from '../helpers/ppp-harness.js';

let native: typeof import('../../native/fast-rx.js') | undefined;
let why = '';
try {
  native = await import('../../native/fast-rx.js');
  native.FastRx.open();
} catch (e) {
  why = (e as Error).message;
  native = undefined;
}
const skip = native ? false : `native addon not built: ${why}`;
if (!native) console.log(`# SKIPPING datapath fast path tests: ${why}`);

const dir = mkdtempSync(join(tmpdir(), 'fastrx-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let fifos = 0;

/** A FIFO opened read-write and non-blocking: what is written to fd can be read back. */
function fifo(): number {
  const path = join(dir, `f${fifos++}`);
  execFileSync('mkfifo', [path]);
  return openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
}

function drain(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    try {
      const n = readSync(fd, buf);
      if (n <= 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw e;
    }
  }
  return Buffer.concat(chunks).toString('hex');
}

/** Raw port whose batches are the addon's shared receive arena (what the fast path reads). */
class ArenaRawGre implements RawGrePort {
  private cb: ((b: PacketBatchView) => void) | undefined;
  readonly sent: Array<{ dst: number; hex: string }> = [];
  onPackets(cb: (b: PacketBatchView) => void): void {
    this.cb = cb;
  }
  send(dst: number, pkt: Uint8Array): boolean {
    this.sent.push({ dst, hex: toHex(pkt) });
    return true;
  }
  flush(): void {}
  close(): void {}
  receive(packets: Array<{ src: number; pkt: Uint8Array }>): void {
    const b = sharedBatch();
    assert.ok(packets.length <= b.offsets.length);
    packets.forEach(({ src, pkt }, i) => {
      b.offsets[i] = i * 2048;
      b.lengths[i] = pkt.length;
      b.sources[i] = src;
      b.data.set(pkt, i * 2048);
    });
    b.count = packets.length;
    this.cb?.(b);
  }
}

/** TUN ports on FIFOs, their JS-path writes through one TxQueue to the same fds. */
class FifoTun extends FakeTun {
  constructor(name: string, readonly fd: number, private readonly queue: TxQueue<Int32Array<ArrayBuffer>>, onClose: (t: FakeTun) => void) {
    super(name, onClose);
  }
  get writeBuffer(): Uint8Array {
    return this.queue.data;
  }
  beginWrite(max: number): number {
    return this.closed ? -1 : this.queue.begin(max);
  }
  commitWrite(start: number, skip: number, len: number): boolean {
    return !this.closed && this.queue.commit(this.fd, start, skip, len);
  }
  override write(p: Uint8Array): boolean {
    return this.queue.push(this.fd, p);
  }
  override flush(): void {
    writeQueued(this.queue);
  }
}

function writeQueued(q: TxQueue<Int32Array<ArrayBuffer>>): void {
  for (let i = 0; i < q.count; i++) writeSync(q.targets[i]!, q.data, q.offsets[i]!, q.lengths[i]!);
  q.clear();
}

const CLIENT = parseIpv4('203.0.113.7')!;
const OTHER = parseIpv4('203.0.113.99')!;
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** IPv4 + enhanced GRE (K S [A]) around a PPP frame. */
function greIp(src: number, callId: number, seq: number, ppp: Uint8Array, ack?: number): Uint8Array {
  const hl = ack === undefined ? 12 : 16;
  const gre = new Uint8Array(hl + ppp.length);
  gre.set(ack === undefined ? hex('30 01 88 0b') : hex('30 81 88 0b'));
  const v = new DataView(gre.buffer);
  v.setUint16(4, ppp.length);
  v.setUint16(6, callId);
  v.setUint32(8, seq);
  if (ack !== undefined) v.setUint32(12, ack);
  gre.set(ppp, hl);
  const ip = new Uint8Array(20 + gre.length);
  ip.set(hex('45 00 00 00  00 00 40 00  40 2f 00 00'));
  new DataView(ip.buffer).setUint16(2, ip.length);
  new DataView(ip.buffer).setUint32(12, src);
  ip.set(hex('c6 33 64 01'), 16);
  ip.set(gre, 20);
  return ip;
}

interface Session {
  p: Pair;
  link: PppLink;
  gre: GreCall;
  callId: number;
  fd: number;
  counters: () => { rxPackets: number; rxBytes: number };
  /** The client's codec (any protocol inside MPPE). */
  enc: (proto: number, body: Uint8Array) => Uint8Array;
}

async function build(fast: boolean, n: number) {
  const clock = new FakeClock();
  const raw = new ArenaRawGre();
  const queue = new TxQueue(new Int32Array(64), writeQueued);
  let unit = 0;
  const openTun = () => new FifoTun(`ppp${unit++}`, fifo(), queue, () => {});
  const fastRx: FastRxPort | undefined = fast
    ? (() => {
        const fr = native!.FastRx.open();
        return { add: (e) => fr.add(e), remove: (id) => fr.remove(id), run: (b) => fr.run(b.count), report: fr.report };
      })()
    : undefined;
  const dp = new TunDatapath({ clock, log: silentLogger, raw, openTun, ...(fastRx ? { fastRx } : {}) });
  const sessions: Session[] = [];
  for (let i = 0; i < n; i++) {
    const p = makePair({ clock });
    p.server.link.start();
    p.client.link.start();
    await p.settle();
    assert.equal(p.server.link.phase, 'running');
    const callId = 0x40 + i;
    const call = dp.openCall({ sessionId: `s${i}`, callId, peerCallId: 0x1000 + i, clientAddress: '203.0.113.7', localAddress: '198.51.100.1' });
    call.onFrame = (f) => p.server.link.input(f);
    (p.server.link as unknown as { hooks: LinkHooks }).hooks.onIp = (pkt) => call.deliverIp(pkt);
    const { ifname } = await call.attach({ local: '10.0.0.1', peer: '10.0.0.2', mtu: 1400, mru: 1400, mppe: null, link: p.server.link });
    const tunFd = (call as unknown as { tun: FifoTun }).tun.fd;
    assert.equal(ifname, `ppp${i}`);
    const enc = rogueClient(p);
    sessions.push({ p, link: p.server.link, gre: (call as unknown as { gre: GreCall }).gre, callId, fd: tunFd, counters: () => call.counters(), enc });
  }
  return { clock, raw, dp, sessions };
}

type Built = Awaited<ReturnType<typeof build>>;

/** The scenario, identical for both datapaths; returns what each interface received, in order. */
async function play(b: Built, trace: (what: string) => void): Promise<string[]> {
  const { raw, sessions, clock } = b;
  const seq = sessions.map(() => 0);
  const ip = (i: number, k: number) => ipPacket('10.0.0.2', '10.250.0.1', `session ${i} packet ${k} ${'.'.repeat((i * 37 + k * 11) % 200)}`);
  const data = (i: number, k: number, ack?: number) => ({ src: CLIENT, pkt: greIp(CLIENT, sessions[i]!.callId, seq[i]!++, sessions[i]!.enc(0x0021, ip(i, k)), ack) });

  // 0. Each call's first packet sets its GRE numbering (JS: the fast path needs it started).
  raw.receive(sessions.map((_, i) => data(i, 0)));
  // 1. In order, interleaved, three sessions × 5 packets, piggy-backed acks on some.
  const batch1 = [];
  for (let k = 1; k < 6; k++) for (let i = 0; i < sessions.length; i++) batch1.push(data(i, k, k % 2 === 0 ? 1000 + k : undefined));
  raw.receive(batch1);
  trace('in order');

  // 2. Session 0 reordered (seq 7 before 6), then in order again; session 1 in order alongside.
  const s0a = data(0, 6);
  const s0b = data(0, 7);
  raw.receive([s0b, data(1, 6), s0a, data(1, 7), data(0, 8), data(1, 8)]);
  trace('reordered');

  // 3. A loss on session 2 (seq 9 never arrives; the reorder timeout gives up on it).
  data(2, 6); // encrypted and numbered, then lost
  raw.receive([data(2, 7), data(2, 8)]);
  clock.advance(400);
  await Promise.resolve();
  raw.receive([data(2, 9), data(2, 10)]);
  trace('lost');

  // 4. Control frames among data: an LCP Echo-Request in the middle of session 1's packets.
  const magic = new Uint8Array(4);
  const echo = { src: CLIENT, pkt: greIp(CLIENT, sessions[1]!.callId, seq[1]!++, hex('ff 03 c0 21 09 07 00 08 00 00 00 00')) };
  void magic;
  raw.receive([data(1, 9), echo, data(1, 10), data(0, 9)]);
  trace('control');

  // 5. Wrong source and unknown call id; a packet decrypting to IPv6 (not carried: dropped).
  const wrong = { src: OTHER, pkt: greIp(OTHER, sessions[0]!.callId, seq[0]!, sessions[0]!.enc(0x0021, ip(0, 99))) };
  const unknown = { src: CLIENT, pkt: greIp(CLIENT, 0x7777, 0, hex('ff 03 00 fd 90 00 01 02 03')) };
  const v6 = { src: CLIENT, pkt: greIp(CLIENT, sessions[1]!.callId, seq[1]!++, sessions[1]!.enc(0x0057, hex('60 00 00 00 00 00 3b 40'))) };
  raw.receive([wrong, unknown, v6, data(1, 11)]);
  trace('hostile');

  // 6. Nothing sent back within 50 ms: each session owes an ack-only packet.
  clock.advance(60);
  await Promise.resolve();
  trace('acks');
  return sessions.map((s) => drain(s.fd));
}

function snapshot(b: Built) {
  return b.sessions.map((s) => ({
    link: { ...s.link.stats },
    gre: JSON.parse(JSON.stringify(s.gre.stats)) as unknown,
    counters: s.counters(),
  }));
}

test('fast path vs JS path: same bytes to each interface, same counters, same acks; the fast path takes the in-order data', { skip }, async () => {
  const js = await build(false, 3);
  const fast = await build(true, 3);
  const outJs = await play(js, () => {});
  const outFast = await play(fast, () => {});
  // Each interface got exactly the IPv4 packets the JS path delivers, in the same order.
  const readable = (o: string[]) => o.map((h) => Buffer.from(h, 'hex').toString('latin1').match(/packet \d+/g)?.join(','));
  assert.deepEqual(readable(outFast), readable(outJs));
  assert.deepEqual(outFast, outJs);
  for (const o of outJs) assert.ok(o.length > 0);
  assert.deepEqual(snapshot(fast), snapshot(js));
  // The ack-only packets (and anything else the server sent) are the same.
  assert.deepEqual(fast.raw.sent.map((x) => x.hex.slice(0, 8)), js.raw.sent.map((x) => x.hex.slice(0, 8)));
  assert.equal(fast.raw.sent.length, js.raw.sent.length);
  assert.equal(js.dp.stats.fastPackets, 0);
  // The 15 in-order packets of step 1 at least; never the control, hostile or out-of-order ones.
  assert.ok(fast.dp.stats.fastPackets >= 15, `fast path took ${fast.dp.stats.fastPackets}`);
  const total = fast.sessions.reduce((n, s) => n + s.counters().rxPackets, 0);
  assert.ok(fast.dp.stats.fastPackets < total + 1, 'the JS path took some too');
  assert.equal(fast.dp.stats.errors, 0);
  assert.equal(fast.dp.stats.fastWriteFailed, 0);
  assert.deepEqual(fast.dp.demux.stats, js.dp.demux.stats);
  for (const b of [js, fast]) for (const s of b.sessions) closeSync(s.fd);
});

test('a call leaves the fast path when its link stops running or the call closes: later packets go through JS (and are dropped there)', { skip }, async () => {
  const b = await build(true, 2);
  const [s0, s1] = b.sessions as [Session, Session];
  let seq0 = 0;
  const pkt = (k: number) => ({ src: CLIENT, pkt: greIp(CLIENT, s0.callId, seq0++, s0.enc(0x0021, ipPacket('10.0.0.2', '10.250.0.1', `p${k}`))) });
  b.raw.receive([pkt(0)]); // starts the GRE numbering (JS)
  b.raw.receive([pkt(1), pkt(2)]);
  assert.equal(b.dp.stats.fastPackets, 2);
  assert.equal(drain(s0.fd).length > 0, true);
  // The server closes the link: Terminate-Request sent, phase terminate. Data now is the JS path's to drop.
  s0.link.close('admin');
  const dropped = s0.link.stats.dropped;
  b.raw.receive([pkt(3)]);
  assert.equal(b.dp.stats.fastPackets, 2, 'not taken natively once the link terminates');
  assert.equal(s0.link.stats.dropped - dropped, 1);
  assert.equal(drain(s0.fd), '');
  // Session 1 is unaffected.
  let seq1 = 0;
  const other = (k: number) => ({ src: CLIENT, pkt: greIp(CLIENT, s1.callId, seq1++, s1.enc(0x0021, ipPacket('10.0.0.2', '10.250.0.1', `other ${k}`))) });
  b.raw.receive([other(0)]);
  b.raw.receive([other(1)]);
  assert.equal(b.dp.stats.fastPackets, 3);
  assert.ok(drain(s1.fd).includes(Buffer.from('other 1').toString('hex')));
  // Closing the call unregisters it before its fd goes: nothing more is taken for it.
  const calls = (b.dp as unknown as { calls: Set<{ close(): Promise<void> }> }).calls;
  for (const c of calls) await c.close();
  b.raw.receive([other(2)]);
  assert.equal(b.dp.stats.fastPackets, 3);
  assert.equal(drain(s1.fd), '');
  for (const s of b.sessions) closeSync(s.fd);
});
