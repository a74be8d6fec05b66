// The native receive fast path (native/src/fastrx.c via native/fast-rx.ts).
// Packets are written into the shared receive arena by hand and run() is
// called, as the TUN datapath does per raw batch. A FIFO opened read-write
// stands in for the TUN fd (no root). The reference is the project's own JS
// receive path: GreCall.input + MppeCodec.decrypt on twin objects fed the
// same packets; bytes written and the shared state arrays must match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addonPath, loadNative, type NativeAddon, type RxArena } from '../../native/index.js';
import {
  FastRx, FASTRX_DROPPED, FASTRX_FRAMES, FASTRX_ID, FASTRX_IP_BYTES, FASTRX_IP_PACKETS, type FastRxEntry,
} from '../../native/fast-rx.js';
import { MppeCodec } from '../../src/crypto/mppe.js';
import { ST_HISTPOS, ST_RXCOUNT, ST_STREAM, ST_KEYLEN, ST_SALT } from '../../src/crypto/mppe-cipher.js';
import type { MppeBits } from '../../src/crypto/mppe-keys.js';
import { GreCall, GRX_ACK, GRX_CANDIDATE, GRX_FLAGS, GRX_HELD, GRX_MAX_PAYLOAD, GRX_STARTED } from '../../src/gre/engine.js';
import { createGreHeader, createIpv4GreView, encodeGreHeader, tryDecodeGre, tryStripIpv4 } from '../../src/protocol/gre/codec.js';
import { FakeClock } from '../helpers/fake-clock.js';

const skip = addonPath() === undefined ? 'native addon not built (npm run build:native)' : false;
if (skip) console.log(`# native-fast-rx: skipped: ${skip}`);
const native: NativeAddon | undefined = skip ? undefined : loadNative();
const arena: RxArena | undefined = native?.rxArena();

// ---- fds ----------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'pptpd-fastrx-'));
let fifoN = 0;
function fifoPath(): string {
  const p = join(dir, `f${fifoN++}`);
  assert.equal(spawnSync('mkfifo', [p]).status, 0, 'mkfifo');
  return p;
}
/** One fd to write and read (O_RDWR never blocks on a Linux FIFO). */
function fifo(): number {
  return openSync(fifoPath(), constants.O_RDWR | constants.O_NONBLOCK);
}
/** Everything written so far. */
function drain(fd: number): Buffer {
  const parts: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw e;
    }
    if (n <= 0) break;
    parts.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(parts);
}

// ---- packets ------------------------------------------------------------------

const SERVER = 0x0a000001; // 10.0.0.1
const CLIENT = 0xc0a80105; // 192.168.1.5
const KEY_A = Uint8Array.from({ length: 16 }, (_, i) => (i * 37 + 11) & 0xff);
const KEY_B = Uint8Array.from({ length: 16 }, (_, i) => (i * 91 + 200) & 0xff);

/** An inner IPv4 packet of `n` bytes (only its first bytes look like IPv4; nothing checks more). */
function innerIp(n: number, tag: number): Uint8Array {
  const b = new Uint8Array(n);
  b[0] = 0x45;
  b[2] = n >> 8;
  b[3] = n & 0xff;
  for (let i = 4; i < n; i++) b[i] = (i * 13 + tag) & 0xff;
  return b;
}

interface FrameOpts {
  /** Leave out FF 03 (ACFC). */
  acfc?: boolean;
  /** 1-byte PPP protocol FD. */
  pfc?: boolean;
  /** Protocol inside MPPE compressed to one byte (0x21). */
  innerPfc?: boolean;
}

/** A PPP frame: [FF 03] (00) FD + MPPE of (00) 21 + inner. */
function mppeFrame(sender: MppeCodec, inner: Uint8Array, o: FrameOpts = {}): Uint8Array {
  const proto = o.innerPfc ? [0x21] : [0x00, 0x21];
  const plain = new Uint8Array(proto.length + inner.length);
  plain.set(proto, 0);
  plain.set(inner, proto.length);
  const head = [...(o.acfc ? [] : [0xff, 0x03]), ...(o.pfc ? [0xfd] : [0x00, 0xfd])];
  const f = new Uint8Array(head.length + 2 + plain.length);
  f.set(head, 0);
  assert.equal(sender.encrypt(plain, f, head.length), 2 + plain.length);
  return f;
}

/** Outer IPv4 (20 bytes, protocol 47) + enhanced GRE (S, A when ack given) + payload. */
function grePacket(src: number, callId: number, seq: number | undefined, payload: Uint8Array, ack?: number): Uint8Array {
  const hl = 8 + (seq === undefined ? 0 : 4) + (ack === undefined ? 0 : 4);
  const total = 20 + hl + payload.length;
  const b = new Uint8Array(total);
  b[0] = 0x45;
  b[2] = total >> 8;
  b[3] = total & 0xff;
  b[8] = 64;
  b[9] = 47;
  new DataView(b.buffer).setUint32(12, src);
  new DataView(b.buffer).setUint32(16, SERVER);
  assert.equal(encodeGreHeader(b, 20, { callId, payloadLen: payload.length, seq, ack }), hl);
  b.set(payload, 20 + hl);
  return b;
}

interface Slot {
  pkt: Uint8Array;
  src: number;
}

/** Puts packets into arena slots 0..n-1, as poll.c does. */
function load(slots: Slot[]): void {
  const a = arena!;
  slots.forEach((s, i) => {
    const off = i * a.slotSize;
    a.data.set(s.pkt, off);
    a.offsets[i] = off;
    a.lengths[i] = s.pkt.length;
    a.sources[i] = s.src;
  });
}

function records(fr: FastRx): number[][] {
  const r = fr.report;
  const out: number[][] = [];
  for (let k = 0; k < r[0]!; k++) out.push([...r.subarray(1 + k * 8, 1 + k * 8 + 8)]);
  return out;
}

// ---- a call: sender, fast-path receiver, JS twin ---------------------------

const clock = new FakeClock();

/** The JS receive path of one call: GreCall → PPP header → MppeCodec.decrypt → IPv4 out. */
class JsReceiver {
  readonly out: Uint8Array[] = [];
  readonly codec: MppeCodec;
  readonly gre: GreCall;
  private readonly hdr = createGreHeader();
  private readonly ip = createIpv4GreView();
  private readonly buf = new Uint8Array(4096);

  constructor(bits: MppeBits) {
    this.codec = new MppeCodec({ sendKey: KEY_B, recvKey: KEY_A, bits, stateful: false });
    this.gre = new GreCall({ peerCallId: 9, clock, sendPacket: () => {}, deliver: (f) => this.frame(f) });
  }

  input(pkt: Uint8Array): void {
    assert.equal(tryStripIpv4(pkt, 0, pkt.length, this.ip), null);
    assert.equal(tryDecodeGre(pkt, this.ip.greOff, this.ip.greLen, this.hdr), null);
    const p = this.ip.greOff + this.hdr.headerLen;
    this.gre.input(this.hdr, pkt.subarray(p, p + this.hdr.payloadLen));
  }

  private frame(f: Uint8Array): void {
    let p = f[0] === 0xff && f[1] === 0x03 ? 2 : 0;
    p += f[p]! & 1 ? 1 : 2;
    const len = this.codec.decrypt(f.subarray(p), this.buf, 0);
    if (len >= 3 && this.buf[0] === 0 && this.buf[1] === 0x21) this.out.push(this.buf.slice(2, len));
  }
}

interface Call {
  sender: MppeCodec;
  /** Its state arrays are the ones registered with the fast path. */
  rx: JsReceiver;
  /** Fed the same packets through JS only. */
  twin: JsReceiver;
  entry: FastRxEntry;
  fd: number;
  seq: number;
  id: number;
}

/**
 * A registered call whose first packet (seq 100) went through JS on both
 * receivers, so the GRE numbering is started as on a running link.
 */
function openCall(fr: FastRx, o: { bits?: MppeBits; src?: number; callId?: number; fd?: number; rxMax?: number } = {}): Call {
  const bits = o.bits ?? 128;
  const sender = new MppeCodec({ sendKey: KEY_A, recvKey: KEY_B, bits, stateful: false });
  const rx = new JsReceiver(bits);
  const twin = new JsReceiver(bits);
  const src = o.src ?? CLIENT;
  const callId = o.callId ?? 7;
  const first = grePacket(src, callId, 100, mppeFrame(sender, innerIp(40, 1)));
  rx.input(first);
  twin.input(first);
  assert.equal(rx.out.length, 1, 'the priming packet decrypts in JS');
  assert.equal(twin.out.length, 1);
  rx.out.length = 0;
  twin.out.length = 0;
  const v = rx.codec.fastRxView();
  assert.ok(v, 'a stateless codec offers its state');
  const fd = o.fd ?? fifo();
  const entry: FastRxEntry = {
    src, callId, fd, gre: rx.gre.rxState, mppe: v.st, rxDir: v.rx, hist: v.hist, histSlots: v.histSlots, rxMax: o.rxMax ?? 1508,
  };
  const id = fr.add(entry);
  return { sender, rx, twin, entry, fd, seq: 101, id };
}

/** The next data packet of `c` (its GRE seq and MPPE count advance). */
function nextPacket(c: Call, inner: Uint8Array, o: FrameOpts & { ack?: number; seq?: number } = {}): Uint8Array {
  const seq = o.seq ?? c.seq++;
  return grePacket(c.entry.src, c.entry.callId, seq, mppeFrame(c.sender, inner, o), o.ack);
}

function snapshot(c: Call): { gre: number[]; st: number[] } {
  return { gre: [...c.entry.gre], st: [...c.entry.mppe] };
}

// ---- tests ----------------------------------------------------------------------

test('in-order stateless packets: the fd gets the IPv4 bytes and the state advances as the JS path would', { skip }, () => {
  for (const bits of [128, 56, 40] as const) {
    const fr = FastRx.open();
    const c = openCall(fr, { bits });
    const shapes: (FrameOpts & { ack?: number })[] = [
      {}, { acfc: true }, { pfc: true }, { acfc: true, pfc: true }, { innerPfc: true }, { ack: 5 }, { ack: 9, pfc: true },
    ];
    let sent = 0;
    for (let round = 0; round < 4; round++) {
      const slots: Slot[] = [];
      const inners: Uint8Array[] = [];
      for (let k = 0; k < 10; k++) {
        const inner = innerIp(20 + ((round * 10 + k) * 97) % 1400, sent);
        const pkt = nextPacket(c, inner, shapes[(round + k) % shapes.length]!);
        inners.push(inner);
        slots.push({ pkt, src: c.entry.src });
        c.twin.input(pkt);
        sent++;
      }
      load(slots);
      assert.equal(fr.run(slots.length), slots.length, `${bits}: every packet handled`);
      for (let i = 0; i < slots.length; i++) assert.equal(arena!.lengths[i], 0, 'handled packets are zeroed');
      const written = drain(c.fd);
      assert.deepEqual(written, Buffer.concat(inners), `${bits}: the decrypted IPv4 packets, in order`);
      assert.deepEqual(written, Buffer.concat(c.twin.out.splice(0)), `${bits}: the same bytes as the JS path`);
      assert.deepEqual([...c.entry.gre], [...c.twin.gre.rxState], `${bits}: GRE state as GreCall's`);
      assert.deepEqual([...c.entry.mppe], [...c.twin.codec.fastRxView()!.st], `${bits}: MPPE state (keys, count, history) as MppeCodec's`);
      const bytes = slots.reduce((s, x) => s + x.pkt.length - 20 - (x.pkt[21]! & 0x80 ? 16 : 12), 0);
      const ipBytes = inners.reduce((s, x) => s + x.length, 0);
      assert.deepEqual(records(fr), [[c.id, 10, bytes, 10, ipBytes, 0, 0, 0]]);
    }
    // The JS path carries on from the state the fast path left: the next packet decrypts there.
    const inner = innerIp(60, 77);
    c.rx.input(nextPacket(c, inner));
    assert.deepEqual(c.rx.out.at(-1), inner, `${bits}: JS continues where C stopped`);
    closeSync(c.fd);
  }
});

test('the JS path then the fast path then JS again stay in step (MPPE history is usable by JS)', { skip }, () => {
  const fr = FastRx.open();
  const c = openCall(fr);
  const p1 = nextPacket(c, innerIp(50, 1));
  const p2 = nextPacket(c, innerIp(50, 2)); // will arrive late
  const p3 = nextPacket(c, innerIp(50, 3));
  // p3 first through JS: a gap, held by GreCall; the fast path must decline while something is held.
  c.rx.input(p3);
  load([{ pkt: p1, src: CLIENT }]);
  const before = snapshot(c);
  assert.equal(fr.run(1), 0, 'held > 0: declined');
  assert.deepEqual(snapshot(c), before);
  c.rx.input(p1);
  c.rx.input(p2);
  assert.equal(c.rx.out.length, 3, 'JS delivered p1..p3 in order');
  // Now in step again: the fast path takes the next one.
  const inner = innerIp(70, 4);
  load([{ pkt: nextPacket(c, inner), src: CLIENT }]);
  assert.equal(fr.run(1), 1);
  assert.deepEqual(drain(c.fd), Buffer.from(inner));
  closeSync(c.fd);
});

test('a late packet after the fast path is decrypted by JS with the key the fast path remembered', { skip }, () => {
  const fr = FastRx.open();
  const c = openCall(fr);
  const inners = [innerIp(30, 1), innerIp(31, 2), innerIp(32, 3)];
  const pkts = inners.map((x) => nextPacket(c, x));
  load([{ pkt: pkts[0]!, src: CLIENT }]);
  assert.equal(fr.run(1), 1);
  // C remembered the key of the count before (the priming packet's, 0): used | seen.
  const v = c.rx.codec.fastRxView()!;
  const at = v.hist + (v.st[ST_HISTPOS]! - 1) * 20;
  assert.equal(v.st[at + 18], 3, 'used | seen');
  assert.equal((v.st[at + 16]! << 8) | v.st[at + 17]!, 0, 'count of the priming packet');
  assert.equal((v.st[ST_RXCOUNT]! << 8) | v.st[ST_RXCOUNT + 1]!, 1, 'rxCount = the packet count');
  // MPPE reordering in JS on top: p2 (count 3) skips count 2, p1 (count 2) then comes from history.
  const mppeOf = (p: Uint8Array) => p.subarray(20 + 12 + 4);
  const out = new Uint8Array(2048);
  let len = c.rx.codec.decrypt(mppeOf(pkts[2]!), out, 0);
  assert.deepEqual(out.subarray(2, len), inners[2]);
  len = c.rx.codec.decrypt(mppeOf(pkts[1]!), out, 0);
  assert.deepEqual(out.subarray(2, len), inners[1]);
  closeSync(c.fd);
});

test('every decline reason leaves the packet and touches no state', { skip }, () => {
  type Case = {
    what: string;
    /** Changes the packet (a copy of a good one) and/or the call's state; may return a new packet. */
    mutate: (pkt: Uint8Array, c: Call) => Uint8Array | void;
    src?: (c: Call) => number;
    /** Replaces the packet's arena length. */
    length?: (len: number) => number;
    offset?: (off: number) => number;
  };
  const u16 = (b: Uint8Array, at: number, v: number) => { b[at] = v >> 8; b[at + 1] = v & 0xff; };
  const cases: Case[] = [
    // outer IPv4
    { what: 'IP version 6', mutate: (b) => { b[0] = 0x65; } },
    { what: 'IHL 4 words', mutate: (b) => { b[0] = 0x44; } },
    { what: 'IHL past the GRE header', mutate: (b) => { b[0] = 0x4f; } },
    { what: 'total length over the packet', mutate: (b) => u16(b, 2, b.length + 1) },
    { what: 'total length under the header', mutate: (b) => u16(b, 2, 19) },
    { what: 'protocol UDP', mutate: (b) => { b[9] = 17; } },
    { what: 'shorter than an IPv4 header', mutate: () => {}, length: () => 19 },
    { what: 'outside the arena', mutate: () => {}, offset: () => arena!.data.length - 8 },
    { what: 'offset wraps', mutate: () => {}, offset: () => 0xffffffff },
    // GRE
    { what: 'GRE version 0', mutate: (b) => { b[21]! &= ~7; } },
    { what: 'GRE K clear', mutate: (b) => { b[20]! &= ~0x20; } },
    { what: 'GRE C set', mutate: (b) => { b[20]! |= 0x80; } },
    { what: 'GRE R set', mutate: (b) => { b[20]! |= 0x40; } },
    { what: 'GRE strict source route', mutate: (b) => { b[20]! |= 0x08; } },
    { what: 'GRE recursion', mutate: (b) => { b[20]! |= 0x01; } },
    { what: 'GRE reserved flags', mutate: (b) => { b[21]! |= 0x08; } },
    { what: 'GRE protocol 0x0800', mutate: (b) => u16(b, 22, 0x0800) },
    { what: 'GRE S clear with a payload', mutate: (b) => { b[20]! &= ~0x10; } },
    { what: 'GRE payload length over the packet', mutate: (b) => u16(b, 24, b.length - 32 + 1) },
    { what: 'GRE total length cuts the payload', mutate: (b) => u16(b, 2, b.length - 1) },
    { what: 'GRE shorter than its header', mutate: (b) => u16(b, 2, 20 + 10) },
    { what: 'empty GRE payload with S', mutate: (_b, c) => grePacket(CLIENT, c.entry.callId, c.seq, new Uint8Array(0)) },
    { what: 'ack-only packet', mutate: (_b, c) => grePacket(CLIENT, c.entry.callId, undefined, new Uint8Array(0), 3) },
    // who
    { what: 'wrong source', mutate: () => {}, src: () => CLIENT + 1 },
    { what: 'unknown call id', mutate: (b) => u16(b, 26, 8) },
    // GRE state
    { what: 'gap in seq', mutate: (b) => { b[31]! += 1; } },
    { what: 'duplicate seq', mutate: (b) => { b[31]! -= 1; } },
    { what: 'packets held', mutate: (_b, c) => { c.entry.gre[GRX_HELD] = 1; } },
    { what: 'far-jump candidate', mutate: (_b, c) => { c.entry.gre[GRX_FLAGS]! |= GRX_CANDIDATE; } },
    { what: 'not started', mutate: (_b, c) => { c.entry.gre[GRX_FLAGS]! &= ~GRX_STARTED; } },
    { what: 'payload over maxPayload', mutate: (b, c) => { c.entry.gre[GRX_MAX_PAYLOAD] = b.length - 32 - 1; } },
    // PPP
    { what: 'LCP frame', mutate: (b) => u16(b, 34, 0xc021) },
    { what: 'plain IP frame', mutate: (b) => u16(b, 34, 0x0021) },
    { what: '2-byte protocol with odd first byte', mutate: (b) => u16(b, 34, 0x01fd) },
    { what: 'PFC protocol other than FD', mutate: (_b, c) => grePacket(CLIENT, c.entry.callId, c.seq, Uint8Array.of(0xff, 0x03, 0x21, 0x90, 0, 1, 2)) },
    { what: 'only FF 03', mutate: (_b, c) => grePacket(CLIENT, c.entry.callId, c.seq, Uint8Array.of(0xff, 0x03)) },
    { what: 'protocol cut after one byte', mutate: (_b, c) => grePacket(CLIENT, c.entry.callId, c.seq, Uint8Array.of(0xff, 0x03, 0x00)) },
    // MPPE
    { what: 'MPPE shorter than 3 bytes', mutate: (_b, c) => grePacket(CLIENT, c.entry.callId, c.seq, Uint8Array.of(0xff, 0x03, 0x00, 0xfd, 0x90, 0x01)) },
    { what: 'not flushed (stateful-looking)', mutate: (b) => { b[36]! &= ~0x80; } },
    { what: 'not encrypted', mutate: (b) => { b[36]! &= ~0x10; } },
    { what: 'ahead 0 (duplicate count)', mutate: (_b, c) => { c.entry.mppe[ST_RXCOUNT + 1] = 1; } },
    { what: 'ahead 2', mutate: (_b, c) => { c.entry.mppe[ST_RXCOUNT + 1] = 0xff; c.entry.mppe[ST_RXCOUNT] = 0x0f; } },
    { what: 'state turned stateful', mutate: (_b, c) => { c.entry.mppe[ST_STREAM] = 1; } },
    { what: 'key length byte corrupted', mutate: (_b, c) => { c.entry.mppe[ST_KEYLEN] = 12; } },
    { what: 'salt byte corrupted', mutate: (_b, c) => { c.entry.mppe[ST_SALT] = 9; } },
    { what: 'history position past the slots', mutate: (_b, c) => { c.entry.mppe[ST_HISTPOS] = c.entry.histSlots; } },
  ];
  const controlFr = FastRx.open();
  for (const k of cases) {
    const fr = FastRx.open();
    const c = openCall(fr);
    const good = nextPacket(c, innerIp(64, 5));
    c.seq--; // the mutation may reuse the seq
    let pkt: Uint8Array = good.slice();
    const replaced = k.mutate(pkt, c);
    if (replaced) pkt = replaced;
    const src = k.src ? k.src(c) : CLIENT;
    load([{ pkt, src }]);
    if (k.length) arena!.lengths[0] = k.length(pkt.length);
    if (k.offset) arena!.offsets[0] = k.offset(0);
    const len0 = arena!.lengths[0];
    const before = snapshot(c);
    assert.equal(fr.run(1), 0, `${k.what}: declined`);
    assert.equal(arena!.lengths[0], len0, `${k.what}: length untouched`);
    assert.deepEqual(snapshot(c), before, `${k.what}: no state touched`);
    assert.equal(fr.report[0], 0, `${k.what}: no record`);
    assert.equal(drain(c.fd).length, 0, `${k.what}: nothing written`);
    closeSync(c.fd);
  }
  // Control: the unmutated packet is taken, so each case above declined for its own reason.
  const c = openCall(controlFr);
  load([{ pkt: nextPacket(c, innerIp(64, 5)), src: CLIENT }]);
  assert.equal(controlFr.run(1), 1);
  closeSync(c.fd);
});

test('rxMax boundary: a frame of exactly rxMax + 1 MPPE bytes is taken, one more declined', { skip }, () => {
  const fr = FastRx.open();
  const inner = innerIp(100, 1);
  const c = openCall(fr, { rxMax: 2 + 2 + inner.length - 1 }); // MPPE bytes m = 2 + 2 + 100; m - 1 = rxMax
  load([{ pkt: nextPacket(c, inner), src: CLIENT }]);
  assert.equal(fr.run(1), 1);
  load([{ pkt: nextPacket(c, innerIp(101, 2)), src: CLIENT }]);
  assert.equal(fr.run(1), 0);
  closeSync(c.fd);
});

test('a declined packet makes later packets of that entry decline in the same run, not other entries\'', { skip }, () => {
  const fr = FastRx.open();
  const a = openCall(fr, { callId: 7 });
  const b = openCall(fr, { callId: 8 });
  const a1 = nextPacket(a, innerIp(40, 1));
  const a2 = nextPacket(a, innerIp(40, 2));
  const a3 = nextPacket(a, innerIp(40, 3));
  const b1 = nextPacket(b, innerIp(44, 4));
  const b2 = nextPacket(b, innerIp(44, 5));
  // a1 ok, a3 is a gap (declined), a2 would be in order after a1 but must wait for JS; b is unaffected.
  load([{ pkt: a1, src: CLIENT }, { pkt: a3, src: CLIENT }, { pkt: b1, src: CLIENT }, { pkt: a2, src: CLIENT }, { pkt: b2, src: CLIENT }]);
  const lens = [...arena!.lengths.subarray(0, 5)];
  assert.equal(fr.run(5), 3);
  assert.deepEqual([...arena!.lengths.subarray(0, 5)], [0, lens[1], 0, lens[3], 0]);
  assert.deepEqual(records(fr).map((r) => [r[FASTRX_ID], r[FASTRX_FRAMES]]), [[a.id, 1], [b.id, 2]]);
  // JS then takes a3 and a2 in arrival order: a3 is held, a2 fills the gap: all of a arrives.
  a.rx.input(a3);
  a.rx.input(a2);
  assert.equal(a.rx.out.length, 2, 'a2 and a3 via JS');
  // The next run starts afresh for a.
  load([{ pkt: nextPacket(a, innerIp(40, 6)), src: CLIENT }]);
  assert.equal(fr.run(1), 1);
  closeSync(a.fd);
  closeSync(b.fd);
});

test('decrypted non-IPv4 (or empty IPv4) counts dropped; the state still advances', { skip }, () => {
  const fr = FastRx.open();
  const c = openCall(fr);
  const twin = c.twin;
  const mk = (plain: Uint8Array) => {
    const f = new Uint8Array(4 + 2 + plain.length);
    f.set([0xff, 0x03, 0x00, 0xfd]);
    c.sender.encrypt(plain, f, 4);
    return grePacket(CLIENT, c.entry.callId, c.seq++, f);
  };
  const pkts = [mk(Uint8Array.of(0x00, 0x57, 0x60, 0, 0, 0)), mk(Uint8Array.of(0x00, 0x21)), mk(Uint8Array.of(0x21)), mk(Uint8Array.of(0x00, 0x21, 0x45))];
  for (const p of pkts) twin.input(p);
  load(pkts.map((pkt) => ({ pkt, src: CLIENT })));
  assert.equal(fr.run(4), 4);
  const r = records(fr)[0]!;
  assert.equal(r[FASTRX_FRAMES], 4);
  assert.equal(r[FASTRX_DROPPED], 3, 'IPv6, empty IPv4 (2 and PFC-expanded 1 byte)');
  assert.equal(r[FASTRX_IP_PACKETS], 1);
  assert.equal(r[FASTRX_IP_BYTES], 1);
  assert.deepEqual(drain(c.fd), Buffer.of(0x45));
  assert.deepEqual(Buffer.concat(twin.out), Buffer.of(0x45), 'the JS path keeps the same one');
  assert.deepEqual(snapshot(c), { gre: [...twin.gre.rxState], st: [...twin.codec.fastRxView()!.st] });
  closeSync(c.fd);
});

test('piggy-backed acks update the newest ack wrap-aware, as GreCall.noteAck', { skip }, () => {
  const fr = FastRx.open();
  const c = openCall(fr);
  const acks = [0xfffffff0, 0xfffffff8, 0xfffffff0 /* older */, 5 /* newer across the wrap */, 5 /* same */, 0x80000005 /* half away: older */, 6];
  const seen: number[] = [];
  for (const ack of acks) {
    const pkt = nextPacket(c, innerIp(30, ack & 0xff), { ack });
    c.twin.input(pkt);
    load([{ pkt, src: CLIENT }]);
    assert.equal(fr.run(1), 1);
    assert.ok(c.entry.gre[GRX_FLAGS]! & 4, 'ack seen');
    assert.equal(c.entry.gre[GRX_ACK], c.twin.gre.rxState[GRX_ACK], `after ack ${ack.toString(16)}`);
    seen.push(c.entry.gre[GRX_ACK]!);
  }
  assert.deepEqual(seen, [0xfffffff0, 0xfffffff8, 0xfffffff8, 5, 5, 5, 6]);
  assert.equal(c.twin.gre.stats.lastAckReceived, 6);
  closeSync(c.fd);
});

test('report: one record per entry touched, accumulated, in first-touch order; reset per run', { skip }, () => {
  const fr = FastRx.open();
  const a = openCall(fr, { callId: 1 });
  const b = openCall(fr, { callId: 2, src: CLIENT + 1 });
  const c = openCall(fr, { callId: 1, src: CLIENT + 2 }); // same call id as a, another source
  const slots: Slot[] = [];
  const add = (x: Call, n: number) => slots.push({ pkt: nextPacket(x, innerIp(n, n)), src: x.entry.src });
  add(b, 30); add(a, 40); add(b, 50); add(c, 60); add(a, 70);
  load(slots);
  assert.equal(fr.run(slots.length), 5);
  const fb = (n: number) => 4 + 2 + 2 + n; // GRE payload: FF 03 00 FD, MPPE header, 00 21, inner
  assert.deepEqual(records(fr), [
    [b.id, 2, fb(30) + fb(50), 2, 80, 0, 0, 0],
    [a.id, 2, fb(40) + fb(70), 2, 110, 0, 0, 0],
    [c.id, 1, fb(60), 1, 60, 0, 0, 0],
  ]);
  assert.equal(drain(c.fd).length, 60, 'entries with the same call id stay apart by source');
  load([{ pkt: new Uint8Array(40), src: CLIENT }]);
  assert.equal(fr.run(1), 0);
  assert.equal(fr.report[0], 0, 'a run with nothing handled has no records');
  assert.equal(fr.run(0), 0);
  for (const x of [a, b, c]) closeSync(x.fd);
});

test('fd write failures count writeFailed (EBADF, EPIPE); nothing crashes and the state advances', { skip }, () => {
  const fr = FastRx.open();
  const bad = openCall(fr, { callId: 1, fd: 1_000_000 });
  const path = fifoPath();
  const rd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const wr = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  closeSync(rd); // no reader left: EPIPE (node ignores SIGPIPE)
  const pipe = openCall(fr, { callId: 2, fd: wr });
  const p1 = nextPacket(bad, innerIp(30, 1));
  const p2 = nextPacket(pipe, innerIp(31, 2));
  bad.twin.input(p1);
  load([{ pkt: p1, src: CLIENT }, { pkt: p2, src: CLIENT }]);
  assert.equal(fr.run(2), 2);
  assert.deepEqual(records(fr), [
    [bad.id, 1, p1.length - 32, 1, 30, 0, 1, 0],
    [pipe.id, 1, p2.length - 32, 1, 31, 0, 1, 0],
  ]);
  assert.deepEqual(snapshot(bad), { gre: [...bad.twin.gre.rxState], st: [...bad.twin.codec.fastRxView()!.st] });
  closeSync(wr);
});

test('add validates everything and stores nothing on failure', { skip }, () => {
  const fr = FastRx.open();
  const c = openCall(fr);
  const base = c.entry;
  fr.remove(c.id);
  const n = native!;
  type Ent = Omit<FastRxEntry, 'gre' | 'mppe'> & { gre: unknown; mppe: unknown };
  const stateful = base.mppe.slice();
  stateful[ST_STREAM] = 1;
  const badKey = base.mppe.slice();
  badKey[ST_KEYLEN] = 12;
  const badSalt = base.mppe.slice();
  badSalt[ST_SALT] = 0;
  const shared = new Uint8Array(new SharedArrayBuffer(base.mppe.length));
  shared.set(base.mppe);
  const resizable = new Uint32Array(new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(32, { maxByteLength: 64 }));
  const cases: [string, Partial<Ent>, typeof TypeError | typeof RangeError][] = [
    ['gre as Uint8Array', { gre: new Uint8Array(32) }, TypeError],
    ['gre as a plain array', { gre: [1, 0, 0, 0, 0, 0, 0, 0] }, TypeError],
    ['gre as Int32Array', { gre: new Int32Array(8) }, TypeError],
    ['gre too short', { gre: new Uint32Array(7) }, RangeError],
    ['gre resizable', { gre: resizable }, TypeError],
    ['mppe as Uint32Array', { mppe: new Uint32Array(64) }, TypeError],
    ['mppe a string', { mppe: 'state' }, TypeError],
    ['mppe on a SharedArrayBuffer', { mppe: shared }, TypeError],
    ['mppe shorter than its header', { mppe: new Uint8Array(7) }, RangeError],
    ['stateful state', { mppe: stateful }, RangeError],
    ['key length byte', { mppe: badKey }, RangeError],
    ['salt byte', { mppe: badSalt }, RangeError],
    ['rxDir in the header', { rxDir: 7 }, RangeError],
    ['rxDir past the end', { rxDir: base.mppe.length - 31 }, RangeError],
    ['rxDir huge', { rxDir: 2 ** 31 - 1 }, RangeError],
    ['rxDir fractional', { rxDir: base.rxDir + 0.5 }, RangeError],
    ['hist negative', { hist: -1 }, RangeError],
    ['hist in the header', { hist: 4 }, RangeError],
    ['history past the end', { hist: base.hist + 1 }, RangeError],
    ['histSlots 0', { histSlots: 0 }, RangeError],
    ['histSlots 65', { histSlots: 65 }, RangeError],
    ['histSlots past the end', { histSlots: base.histSlots + 1 }, RangeError],
    ['rxMax 0', { rxMax: 0 }, RangeError],
    ['rxMax 65536', { rxMax: 65536 }, RangeError],
    ['rxMax NaN', { rxMax: NaN }, RangeError],
    ['callId 65536', { callId: 65536 }, RangeError],
    ['callId -1', { callId: -1 }, RangeError],
    ['src -1', { src: -1 }, RangeError],
    ['src 2^32', { src: 2 ** 32 }, RangeError],
    ['src a string', { src: '10.0.0.1' as unknown as number }, TypeError],
    ['fd -1', { fd: -1 }, RangeError],
    ['fd 2^32 + 5', { fd: 2 ** 32 + 5 }, RangeError],
  ];
  for (const [what, change, err] of cases) {
    assert.throws(() => fr.add({ ...base, ...change } as FastRxEntry), err, what);
  }
  const raw = n.fastRxAdd as unknown as (...a: unknown[]) => number;
  assert.throws(() => raw({}, CLIENT, 1, 3, base.gre, base.mppe, base.rxDir, base.hist, base.histSlots, 1500), TypeError, 'not a table');
  const h = n.pollerStart(c.fd, 'tun', () => {});
  try {
    assert.throws(() => raw(h, CLIENT, 1, 3, base.gre, base.mppe, base.rxDir, base.hist, base.histSlots, 1500), TypeError, 'another external');
  } finally {
    n.pollerStop(h);
  }
  assert.throws(() => raw((fr as unknown as { table: unknown }).table, CLIENT, 1), TypeError, 'too few arguments');
  assert.throws(() => n.fastRxRun({} as never, 1), TypeError);
  // Nothing was stored: the next valid add takes id 0 again and works.
  assert.equal(fr.add(base), 0);
  assert.throws(() => fr.add(base), RangeError, 'a duplicate source + call id');
  assert.equal(fr.add({ ...base, callId: base.callId + 1 }), 1, 'same arrays, other call id: allowed');
  closeSync(c.fd);
});

test('ids are small and reused; remove twice, unknown or odd ids → false', { skip }, () => {
  const fr = FastRx.open();
  const calls = [openCall(fr, { callId: 1 }), openCall(fr, { callId: 2 }), openCall(fr, { callId: 3 })];
  assert.deepEqual(calls.map((c) => c.id), [0, 1, 2]);
  assert.equal(fr.remove(1), true);
  assert.equal(fr.remove(1), false, 'twice');
  for (const id of [3, 99, -1, 0.5, 2 ** 40, NaN]) assert.equal(fr.remove(id), false, `id ${id}`);
  assert.throws(() => fr.remove('0' as unknown as number), TypeError);
  // A removed entry's packets go to JS.
  const c1 = calls[1]!;
  load([{ pkt: nextPacket(c1, innerIp(30, 1)), src: CLIENT }]);
  assert.equal(fr.run(1), 0);
  assert.equal(fr.add({ ...c1.entry }), 1, 'the free id is reused');
  load([{ pkt: nextPacket(c1, innerIp(30, 1), { seq: c1.seq - 1 }), src: CLIENT }]);
  // The declined packet above was not consumed by anyone: the count moved on in the sender only.
  assert.equal(fr.run(1), 0, 'MPPE count 2 ahead: declined');
  const c3 = openCall(fr, { callId: 4 });
  assert.equal(c3.id, 3);
  // Removing the head, middle and tail of one call id's chain keeps the others reachable.
  const same = [openCall(fr, { callId: 9, src: 1 }), openCall(fr, { callId: 9, src: 2 }), openCall(fr, { callId: 9, src: 3 })];
  assert.equal(fr.remove(same[1]!.id), true);
  for (const x of [same[0]!, same[2]!]) {
    load([{ pkt: nextPacket(x, innerIp(20, 1)), src: x.entry.src }]);
    assert.equal(fr.run(1), 1, `source ${x.entry.src} still found`);
  }
  for (const c of [...calls, c3, ...same]) closeSync(c.fd);
});

test('run(count) is bounded by the arena; a detached state array is declined, never touched', { skip }, () => {
  const fr = FastRx.open();
  assert.throws(() => fr.run(arena!.slots + 1), RangeError);
  assert.throws(() => fr.run(-1), RangeError);
  assert.throws(() => fr.run(1.5), RangeError);
  assert.equal(fr.run(arena!.slots), 0, 'no entries: nothing handled');
  const c = openCall(fr);
  const pkt = nextPacket(c, innerIp(30, 1));
  // Transfer the GRE state's buffer away: the entry's pointer is no longer ours.
  const buf = c.entry.gre.buffer as ArrayBuffer;
  structuredClone(buf, { transfer: [buf] });
  assert.equal(c.entry.gre.length, 0, 'detached');
  const st = [...c.entry.mppe];
  load([{ pkt, src: CLIENT }]);
  assert.equal(fr.run(1), 0);
  assert.deepEqual([...c.entry.mppe], st);
  assert.equal(fr.remove(c.id), true);
  closeSync(c.fd);
});

test('the report array is the same object for the table\'s life', { skip }, () => {
  const fr = FastRx.open();
  const r = fr.report;
  assert.ok(r instanceof Uint32Array);
  assert.equal(r.length, 1 + 64 * 8);
  fr.run(0);
  assert.equal(fr.report, r);
});
