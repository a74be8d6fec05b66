// The userspace datapath: GRE and MPPE in this process, one TUN interface
// (pppN) per session. One raw GRE socket serves the whole server:
//   raw batch → strip IPv4 → demux (source, our call id) → GreCall → PPP
//   frame → session.onFrame; TUN batch → link.sendIp (MPPE) → sendFrame →
//   GreCall.send → raw socket.
// With the addon's fast path (FastRxPort), each raw batch goes to C first:
// in-order stateless MPPE data of running links is decrypted there straight
// to the TUN fds, on the calls' own (shared) GRE and MPPE state; the rest
// takes the path above.
// Hot path: no allocation beyond payload views, no promise, no log call per
// packet; the reusable header/IPv4 views live once per datapath.
import type { Logger } from 'pino';
import { GreCall } from '../../gre/engine.js';
import { GreDemux } from '../../gre/demux.js';
import { MppeCodec, type MppeParams } from '../../crypto/mppe.js';
import type { MppeCipher } from '../../crypto/mppe-cipher.js';
import { createIpv4GreView, tryStripIpv4 } from '../../protocol/gre/codec.js';
import type { Clock } from '../../util/clock.js';
import { PptpdError } from '../../util/errors.js';
import type {
  Datapath,
  DatapathAttachInfo,
  DatapathCall,
  DatapathCallParams,
  DatapathCounters,
} from '../types.js';
import type { FastRxLink, IpSink } from '../../ppp/types.js';
import { parseIpv4 } from './ipv4.js';
import {
  FASTRX_DROPPED, FASTRX_FRAME_BYTES, FASTRX_FRAMES, FASTRX_ID, FASTRX_IP_BYTES, FASTRX_IP_PACKETS, FASTRX_RECORD_WORDS,
  FASTRX_WRITE_FAILED, type FastRxPort, type PacketBatchView, type RawGrePort, type TunAsyncOpener, type TunOpener, type TunPort,
} from './ports.js';

export interface TunDatapathOptions {
  clock: Clock;
  log: Logger;
  raw: RawGrePort;
  openTun: TunOpener;
  /** Preferred when given: each call's interface is opened off the event loop at openCall, configured at attach. */
  openTunAsync?: TunAsyncOpener;
  gre?: { reorderTimeoutMs?: number; reorderWindow?: number; ackDelayMs?: number };
  /** MPPE crypto for the links of this datapath (the addon's); default the TypeScript one. */
  mppeCipher?: MppeCipher;
  /** The addon's receive fast path; without it every packet goes through JS. */
  fastRx?: FastRxPort;
}

export interface TunDatapathStats {
  rawPackets: number;
  /** Receive wakeups of the raw socket (rawPackets / rawBatches = the batch size the costs per wakeup spread over). */
  rawBatches: number;
  /** Raw packets whose IPv4 header was unusable. */
  badIpv4: number;
  /** Packets from a TUN interface that were not IPv4 (dropped: only IPCP is negotiated). */
  nonIpv4: number;
  /** Packets decrypted in place whose commit to the TUN write queue failed (a bug if non-zero). */
  sinkDropped: number;
  /** Exceptions caught on the packet path (a bug if non-zero). */
  errors: number;
  /** Raw packets the native fast path decrypted to a TUN interface (included in rawPackets). */
  fastPackets: number;
  /** Of those, TUN writes that failed (interface going away). */
  fastWriteFailed: number;
}

/**
 * GRE reorder hold on a stateful MPPE link, in ms (instead of poptop's 300).
 * A stateful receiver cannot use what follows a gap until the peer flushes
 * on our CCP Reset-Request, and that request only goes out once MPPE sees
 * the gap: a long hold adds itself to every loss's recovery (measured:
 * ~300 ms of discarded traffic per lost packet). A few ms still absorb
 * the reordering of back-to-back packets.
 */
export const STATEFUL_REORDER_MS = 10;

/** Consecutive existing names tolerated before an open gives up. */
const MAX_BUSY_TRIES = 64;

/**
 * Lowest-free pppN numbers, O(1) amortised: a bitmap and the lowest number
 * that may be free. Replaces the kernel's `ppp%d` template, which scans
 * every netdev per open (O(n): 0.8 ms at 5,000 interfaces).
 */
export class UnitNumbers {
  private readonly used: Uint8Array;
  private low = 0;

  constructor(readonly max = 1 << 16) {
    this.used = new Uint8Array(max);
  }

  /** The lowest free number, now marked used; -1 when all are. */
  alloc(): number {
    const used = this.used;
    let k = this.low;
    while (k < this.max && used[k] !== 0) k++;
    if (k >= this.max) return -1;
    used[k] = 1;
    this.low = k + 1;
    return k;
  }

  free(k: number): void {
    if (!Number.isInteger(k) || k < 0 || k >= this.max || this.used[k] === 0) return;
    this.used[k] = 0;
    if (k < this.low) this.low = k;
  }
}

const NO_BUFFER = new Uint8Array(0);

/**
 * One call. As the link's IpSink (when the interface can write in place),
 * received packets are decrypted straight into the TUN write queue.
 */
class TunCall implements DatapathCall, IpSink {
  onFrame: (frame: Uint8Array) => void = () => {};
  readonly gre: GreCall;
  tun: TunPort | undefined;
  link: DatapathAttachInfo['link'] | undefined;
  /** The TUN write arena (IpSink), once attached to an interface that writes in place. */
  buffer: Uint8Array = NO_BUFFER;
  closed = false;
  attaching = false;
  /** The interface opened for this call ahead of attach (async opener only); owned by close() until attach takes it. */
  early: Promise<TunPort | Error> | undefined;
  /** attach()'s configuration in flight: close() waits for it before removing the interface. */
  configuring: Promise<void> | undefined;
  /** Queued TUN writes since the last flush (flushed once per raw batch). */
  dirty = false;
  /** Registered with the fast path: its id (-1: not) and the link's offer behind it. */
  fastId = -1;
  fastLink: FastRxLink | null = null;
  readonly c: DatapathCounters = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 };

  constructor(readonly dp: TunDatapath, readonly p: DatapathCallParams, readonly src: number) {
    const raw = dp.raw;
    const g = dp.greOptions;
    this.gre = new GreCall({
      peerCallId: p.peerCallId,
      clock: dp.clock,
      sendPacket: (pkt) => raw.send(src, pkt),
      deliver: (payload) => this.onFrame(payload),
      ...(g.reorderTimeoutMs !== undefined ? { reorderTimeoutMs: g.reorderTimeoutMs } : {}),
      ...(g.reorderWindow !== undefined ? { reorderWindow: g.reorderWindow } : {}),
      ...(g.ackDelayMs !== undefined ? { ackDelayMs: g.ackDelayMs } : {}),
    });
  }

  sendFrame(frame: Uint8Array): void {
    if (!this.closed) this.gre.send(frame);
  }

  async attach(info: DatapathAttachInfo): Promise<{ ifname: string }> {
    if (this.closed) throw new PptpdError('ERR_DATAPATH_CLOSED', 'call already closed');
    if (this.tun || this.attaching) throw new PptpdError('ERR_DATAPATH_ATTACH', `already attached to ${this.tun?.name ?? 'an interface'}`);
    this.attaching = true;
    let tun: TunPort;
    try {
      tun = this.early ? await this.configureEarly(info, this.early) : await this.dp.openTun(info);
    } finally {
      this.attaching = false;
    }
    if (this.closed) {
      // Hung up while the interface was being made: remove it again.
      void this.dp.closeTun(tun);
      throw new PptpdError('ERR_DATAPATH_CLOSED', 'call closed while its interface was opened');
    }
    this.tun = tun;
    this.link = info.link;
    if (info.mppe?.stateful) {
      const hold = this.dp.greOptions.reorderTimeoutMs ?? 300;
      this.gre.setReorderTimeout(Math.min(hold, STATEFUL_REORDER_MS));
    }
    if (tun.writeBuffer && tun.beginWrite && tun.commitWrite) {
      this.buffer = tun.writeBuffer;
      info.link.setIpSink?.(this);
    }
    tun.onPackets((b) => this.fromInterface(b));
    return { ifname: tun.name };
  }

  /** Waits for the early-opened interface and configures it; close() keeps ownership until this returns. */
  private async configureEarly(info: DatapathAttachInfo, early: Promise<TunPort | Error>): Promise<TunPort> {
    const r = await early;
    if (r instanceof Error) {
      this.early = undefined;
      throw r;
    }
    const closedErr = () => new PptpdError('ERR_DATAPATH_CLOSED', 'call closed while its interface was configured');
    if (this.closed) throw closedErr(); // close() removes r
    const cfg = { mtu: info.mtu, local: info.local, peer: info.peer };
    const conf = r.configureAsync ? r.configureAsync(cfg) : Promise.resolve().then(() => r.configure({ ...cfg, up: true }));
    this.configuring = conf;
    try {
      await conf;
    } catch (e) {
      if (!this.closed) {
        this.early = undefined;
        void this.dp.closeTun(r);
      }
      throw e;
    } finally {
      this.configuring = undefined;
    }
    if (this.closed) throw closedErr();
    this.early = undefined; // ours now
    return r;
  }

  /** Packets the kernel routed to pppN → the link encrypts and sends them to the client. */
  private fromInterface(b: PacketBatchView): void {
    const link = this.link;
    if (this.closed || !link) return;
    const c = this.c;
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i]!;
      const len = b.lengths[i]!;
      // Only IPv4 is negotiated (IPCP); the kernel also routes IPv6 (router
      // solicitations, MLD) into the interface: drop those here.
      if (len < 20 || b.data[off]! >> 4 !== 4) {
        this.dp.stats.nonIpv4++;
        continue;
      }
      c.txPackets++;
      c.txBytes += len;
      try {
        link.sendIp(b.data.subarray(off, off + len));
      } catch (e) {
        this.dp.packetError(e);
      }
    }
    this.dp.raw.flush();
  }

  /** IpSink: room in the TUN write queue for a packet being decrypted. */
  begin(max: number): number {
    const tun = this.tun;
    if (this.closed || !tun) return -1;
    return tun.beginWrite!(max);
  }

  /** IpSink: the decrypted packet is in place; queue it for the interface. */
  commit(start: number, skip: number, len: number): void {
    const tun = this.tun;
    if (this.closed || !tun) return;
    if (!tun.commitWrite!(start, skip, len)) {
      this.dp.stats.sinkDropped++;
      return;
    }
    this.c.rxPackets++;
    this.c.rxBytes += len;
    if (!this.dirty) {
      this.dirty = true;
      this.dp.markDirty(this);
    }
  }

  /** IpSink: the link offers (or withdraws) its receive state to the native fast path. */
  fastRx(link: FastRxLink | null): void {
    this.dp.fastRxOffer(this, link);
  }

  /** What the fast path did for this call in one batch: count it where the JS path would have. */
  fastCounted(frames: number, frameBytes: number, ipPackets: number, ipBytes: number, dropped: number): void {
    this.gre.fastDelivered(frames, frameBytes);
    this.fastLink?.counted(frames, frameBytes, ipPackets, dropped);
    this.c.rxPackets += ipPackets;
    this.c.rxBytes += ipBytes;
  }

  deliverIp(packet: Uint8Array): void {
    const tun = this.tun;
    if (this.closed || !tun) return;
    this.c.rxPackets++;
    this.c.rxBytes += packet.length;
    tun.write(packet);
    if (!this.dirty) {
      this.dirty = true;
      this.dp.markDirty(this);
    }
  }

  counters(): DatapathCounters {
    return { ...this.c };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.gre.close();
    this.dp.forget(this);
    this.link?.setIpSink?.(null);
    this.link = undefined;
    const tun = this.tun;
    this.tun = undefined;
    // Resolves once the interface is gone; the event loop keeps running meanwhile.
    if (tun) return this.dp.closeTun(tun);
    const early = this.early;
    this.early = undefined;
    if (early) {
      // Not attached: the interface opened ahead is still ours to remove,
      // after any configuration in flight (it acts on the name).
      await this.configuring?.catch(() => {});
      const r = await early;
      if (!(r instanceof Error)) await this.dp.closeTun(r);
    }
  }
}

export class TunDatapath implements Datapath {
  readonly kind = 'tun' as const;
  readonly clock: Clock;
  readonly raw: RawGrePort;
  readonly greOptions: NonNullable<TunDatapathOptions['gre']>;
  readonly demux = new GreDemux();
  readonly stats: TunDatapathStats = {
    rawPackets: 0, rawBatches: 0, badIpv4: 0, nonIpv4: 0, sinkDropped: 0, errors: 0, fastPackets: 0, fastWriteFailed: 0,
  };
  private readonly fast: FastRxPort | undefined;
  /** Calls registered with the fast path, by its id. */
  private readonly fastCalls: (TunCall | undefined)[] = [];
  private fastRegistered = 0;
  private readonly log: Logger;
  private readonly opener: TunOpener;
  private readonly asyncOpener: TunAsyncOpener | undefined;
  private readonly calls = new Set<TunCall>();
  /** Names of our own pppN interfaces, so lowest-free naming skips them. */
  private readonly taken = new Set<string>();
  private readonly dirty: TunCall[] = [];
  /** pppN numbers in use by us (async opener only). */
  private readonly units = new UnitNumbers();
  private readonly view = createIpv4GreView();
  private lastErrorLog = -Infinity;
  private closed = false;
  /** Links of this datapath build their MPPE codec here (with its cipher). */
  readonly createMppeCodec: (p: MppeParams) => MppeCodec;

  constructor(o: TunDatapathOptions) {
    const cipher = o.mppeCipher;
    this.createMppeCodec = cipher ? (p) => new MppeCodec(p, cipher) : (p) => new MppeCodec(p);
    this.clock = o.clock;
    this.log = o.log;
    this.raw = o.raw;
    this.opener = o.openTun;
    this.asyncOpener = o.openTunAsync;
    this.greOptions = o.gre ?? {};
    this.fast = o.fastRx;
    this.raw.onPackets((b) => this.fromNetwork(b));
  }

  get callCount(): number {
    return this.calls.size;
  }

  get interfaceNames(): ReadonlySet<string> {
    return this.taken;
  }

  openCall(p: DatapathCallParams): DatapathCall {
    if (this.closed) throw new PptpdError('ERR_DATAPATH_CLOSED', 'datapath is closed');
    const src = parseIpv4(p.clientAddress);
    if (src === undefined) {
      throw new PptpdError('ERR_DATAPATH_ADDRESS', `the TUN datapath carries GRE over IPv4 only (client ${p.clientAddress})`);
    }
    const call = new TunCall(this, p, src);
    if (this.asyncOpener) call.early = this.openEarly(this.asyncOpener);
    this.demux.register(src, p.callId, call.gre);
    this.calls.add(call);
    return call;
  }

  /** GRE packets from every client, in one batch. */
  private fromNetwork(b: PacketBatchView): void {
    const v = this.view;
    const data = b.data;
    this.stats.rawBatches++;
    // In-order data of running stateless links: decrypted natively, straight to
    // their interfaces (lengths set to 0). The rest, in order, below. Packets
    // queued since the last batch (a reorder timeout delivered them) go out
    // first: the fast path writes at once, and must not overtake them.
    if (this.fast !== undefined && this.fastRegistered > 0) {
      if (this.dirty.length > 0) this.flushDirty();
      this.runFast(this.fast, b);
    }
    for (let i = 0; i < b.count; i++) {
      this.stats.rawPackets++;
      const len = b.lengths[i]!;
      if (len === 0) continue; // the fast path's
      if (tryStripIpv4(data, b.offsets[i]!, len, v) !== null) {
        this.stats.badIpv4++;
        continue;
      }
      try {
        this.demux.dispatch(v.src, data, v.greOff, v.greLen);
      } catch (e) {
        this.packetError(e);
      }
    }
    // One TUN write flush per interface per batch, and our acks/replies out at once.
    this.flushDirty();
    this.raw.flush();
  }

  private flushDirty(): void {
    const d = this.dirty;
    for (let i = 0; i < d.length; i++) {
      const c = d[i]!;
      c.dirty = false;
      c.tun?.flush();
    }
    d.length = 0;
  }

  private runFast(fast: FastRxPort, b: PacketBatchView): void {
    let handled: number;
    try {
      handled = fast.run(b);
    } catch (e) {
      this.packetError(e);
      return;
    }
    if (handled === 0) return;
    this.stats.fastPackets += handled;
    this.demux.stats.dispatched += handled;
    const r = fast.report;
    const n = r[0]!;
    for (let k = 0, o = 1; k < n; k++, o += FASTRX_RECORD_WORDS) {
      this.stats.fastWriteFailed += r[o + FASTRX_WRITE_FAILED]!;
      try {
        this.fastCalls[r[o + FASTRX_ID]!]?.fastCounted(
          r[o + FASTRX_FRAMES]!, r[o + FASTRX_FRAME_BYTES]!, r[o + FASTRX_IP_PACKETS]!, r[o + FASTRX_IP_BYTES]!, r[o + FASTRX_DROPPED]!,
        );
      } catch (e) {
        this.packetError(e); // a bug: never out of the poller's callback
      }
    }
  }

  /** @internal A call's link offers its receive state (null: withdraws it). */
  fastRxOffer(c: TunCall, link: FastRxLink | null): void {
    const fast = this.fast;
    if (fast === undefined) return;
    this.fastRemove(c);
    const fd = c.tun?.fd;
    if (link === null || c.closed || fd === undefined) return;
    const m = link.mppe;
    try {
      c.fastId = fast.add({
        src: c.src, callId: c.p.callId, fd, gre: c.gre.rxState, mppe: m.st,
        rxDir: m.rx, hist: m.hist, histSlots: m.histSlots, rxMax: link.rxMax,
      });
    } catch (e) {
      this.packetError(e); // a bug; the call stays on the JS path
      return;
    }
    c.fastLink = link;
    this.fastCalls[c.fastId] = c;
    this.fastRegistered++;
  }

  private fastRemove(c: TunCall): void {
    if (c.fastId < 0) return;
    this.fast?.remove(c.fastId);
    this.fastCalls[c.fastId] = undefined;
    this.fastRegistered--;
    c.fastId = -1;
    c.fastLink = null;
  }

  /** @internal */
  markDirty(c: TunCall): void {
    this.dirty.push(c);
  }

  /** @internal An open, configured, up interface from the synchronous opener. */
  async openTun(info: DatapathAttachInfo): Promise<TunPort> {
    const tun = this.opener(this.taken);
    this.taken.add(tun.name);
    try {
      tun.configure({ mtu: info.mtu, local: info.local, peer: info.peer, up: true });
    } catch (e) {
      void this.closeTun(tun);
      throw e;
    }
    return tun;
  }

  /**
   * Opens `ppp<lowest number not ours>` by exact name. Never rejects: a
   * failure is the resolved Error (attach rethrows it). A name that turns
   * out to exist (someone else's interface) stays marked and the next
   * number is tried.
   */
  private async openEarly(open: TunAsyncOpener): Promise<TunPort | Error> {
    for (let tries = 0; tries < MAX_BUSY_TRIES; tries++) {
      const unit = this.units.alloc();
      if (unit < 0) return new PptpdError('ERR_DATAPATH_UNITS', 'no free pppN interface number');
      try {
        const tun = await open(`ppp${unit}`);
        this.taken.add(tun.name);
        return tun;
      } catch (e) {
        if ((e as NodeJS.ErrnoException)?.code === 'EBUSY') continue; // not ours: keep it marked
        this.units.free(unit);
        return e instanceof Error ? e : new Error(String(e));
      }
    }
    return new PptpdError('ERR_DATAPATH_UNITS', `${MAX_BUSY_TRIES} pppN names in a row exist already`);
  }

  /** @internal Never rejects: a failed close is logged. */
  async closeTun(tun: TunPort): Promise<void> {
    try {
      await tun.close();
    } catch (e) {
      this.log.warn({ ifname: tun.name, err: (e as Error).message }, 'closing the interface failed');
    } finally {
      // Only now: until the kernel has removed pppN, its name is not free.
      this.taken.delete(tun.name);
      const m = /^ppp(\d+)$/.exec(tun.name);
      if (m) this.units.free(Number(m[1]));
    }
  }

  /** @internal */
  forget(c: TunCall): void {
    // Before the fd can close: the fast path writes to it.
    this.fastRemove(c);
    if (this.calls.delete(c)) this.demux.unregister(c.src, c.p.callId);
  }

  /** @internal A bug on the packet path: count it, log at most once a second. */
  packetError(e: unknown): void {
    this.stats.errors++;
    const now = this.clock.now();
    if (now - this.lastErrorLog >= 1000) {
      this.lastErrorLog = now;
      this.log.error({ err: (e as Error)?.message, errors: this.stats.errors }, 'error on the packet path');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Concurrently: the interface removals queue up in the thread pool.
    await Promise.all([...this.calls].map((c) => c.close()));
    this.raw.close();
  }
}
