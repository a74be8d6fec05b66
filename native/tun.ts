// TUN interfaces named like pppd's (pppN), configured by ioctl, with
// batched reads (one callback per wakeup) and writes (one native call per
// event-loop turn for all devices).
import { loadNative, type PollerHandle } from './index.js';
import { pollBatches, rxSlotSize, TxQueue, type PacketBatch } from './batch.js';

export type { PacketBatch } from './batch.js';
export { ipv4ToUint32, uint32ToIpv4 } from './ipv4.js';

/** Packets the shared TUN write queue could not write (device gone/down). */
export const tunTxCounters = { written: 0, dropped: 0 };

function writeQueued(q: TxQueue<Int32Array<ArrayBuffer>>): void {
  if (q.count > 0) {
    const n = loadNative().tunWriteBatch(q.data, q.offsets, q.lengths, q.targets, q.count);
    tunTxCounters.written += n;
    tunTxCounters.dropped += q.count - n;
  }
  q.clear();
}

// One queue for every device: per-device arenas would cost 128 KiB a session.
let tunQueue: TxQueue<Int32Array<ArrayBuffer>> | undefined;
function queue(): TxQueue<Int32Array<ArrayBuffer>> {
  tunQueue ??= new TxQueue(new Int32Array(64), writeQueued);
  return tunQueue;
}

const MAX_UNIT = 1 << 16;

// Reads land in fixed arena slots; a bigger MTU would only produce drops.
function checkMtu(mtu: number): void {
  const slot = rxSlotSize();
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > slot) throw new RangeError(`mtu must be an integer in 68..${slot}`);
}

export class TunDevice {
  /** Receive errors reported by the poller. */
  rxErrors = 0;
  lastError: Error | undefined;
  private poller: PollerHandle | undefined;
  private closed = false;

  private constructor(
    readonly fd: number,
    readonly name: string,
  ) {}

  /** Opens the TUN interface `name` exactly; throws EBUSY if the name is taken. */
  static open(name: string, mtu?: number): TunDevice {
    if (typeof name !== 'string' || name.includes('%')) throw new TypeError('name must be an exact interface name');
    if (mtu !== undefined) checkMtu(mtu);
    const r = loadNative().tunOpen(name, mtu);
    return new TunDevice(r.fd, r.name);
  }

  /**
   * Opens the lowest free `${prefix}N`, as pppd names its units. The kernel
   * picks the number atomically (`ppp%d` template, under RTNL), so concurrent
   * openers and kernel ppp units never collide. Names in `taken` (reserved by
   * the caller but not yet created) are skipped.
   */
  static openLowestFree(prefix: 'ppp' = 'ppp', taken?: ReadonlySet<string>): TunDevice {
    if (!/^[a-z]{1,8}$/.test(prefix)) throw new TypeError('prefix must be 1-8 lowercase letters');
    const native = loadNative();
    const held: TunDevice[] = [];
    try {
      for (let i = 0; i <= (taken?.size ?? 0) && i < MAX_UNIT; i++) {
        const r = native.tunOpen(`${prefix}%d`);
        const dev = new TunDevice(r.fd, r.name);
        if (!taken?.has(dev.name)) return dev;
        held.push(dev); // keep it so the kernel moves on to the next number
      }
      throw new Error(`no free ${prefix}N interface outside the taken set`);
    } finally {
      for (const d of held) d.close();
    }
  }

  /**
   * As openLowestFree + configure({ ..., up: true }), but the kernel work
   * (TUNSETIFF and the ioctls, ~2 ms under RTNL) runs on libuv's thread pool
   * so the event loop keeps serving other sessions meanwhile.
   */
  static async openConfiguredAsync(
    o: { mtu: number; local: string; peer: string },
    prefix: 'ppp' = 'ppp',
    taken?: ReadonlySet<string>,
  ): Promise<TunDevice> {
    checkMtu(o.mtu); // rejects, as every failure of a promise-returning call
    return TunDevice.openAsyncWith((name) => loadNative().tunOpenConfiguredAsync(name, o.mtu, o.local, o.peer), prefix, taken);
  }

  /**
   * Opens exactly `name` with TUNSETIFF on libuv's thread pool; rejects with
   * code EBUSY when the name is taken. Cheaper than a `ppp%d` template with
   * many interfaces: the kernel resolves a template by scanning every netdev
   * (0.8 ms per open with 5,000 of them, against 0.1 ms for an exact name).
   */
  static async openAsync(name: string): Promise<TunDevice> {
    if (typeof name !== 'string' || name.includes('%')) throw new TypeError('name must be an exact interface name');
    const r = await loadNative().tunOpenAsync(name);
    return new TunDevice(r.fd, r.name);
  }

  /** As openLowestFree, with TUNSETIFF on libuv's thread pool. */
  static openLowestFreeAsync(prefix: 'ppp' = 'ppp', taken?: ReadonlySet<string>): Promise<TunDevice> {
    return TunDevice.openAsyncWith((name) => loadNative().tunOpenAsync(name), prefix, taken);
  }

  private static async openAsyncWith(
    open: (template: string) => Promise<{ fd: number; name: string }>,
    prefix: string,
    taken?: ReadonlySet<string>,
  ): Promise<TunDevice> {
    if (!/^[a-z]{1,8}$/.test(prefix)) throw new TypeError('prefix must be 1-8 lowercase letters');
    const held: TunDevice[] = [];
    try {
      for (let i = 0; i <= (taken?.size ?? 0) && i < MAX_UNIT; i++) {
        const r = await open(`${prefix}%d`);
        const dev = new TunDevice(r.fd, r.name);
        if (!taken?.has(dev.name)) return dev;
        held.push(dev); // keep it so the kernel moves on to the next number
      }
      throw new Error(`no free ${prefix}N interface outside the taken set`);
    } finally {
      for (const d of held) void d.closeAsync().catch(() => {});
    }
  }

  /** As configure({ ..., up: true }), with the ioctls on libuv's thread pool. */
  async configureAsync(o: { mtu: number; local: string; peer: string }): Promise<void> {
    if (this.closed) throw new Error(`${this.name} is closed`);
    checkMtu(o.mtu);
    await loadNative().ifConfigureAsync(this.name, o.mtu, o.local, o.peer);
  }

  /** MTU, point-to-point addresses (/32) and up/down, by ioctl. */
  configure(o: { mtu: number; local: string; peer: string; up: boolean }): void {
    if (this.closed) throw new Error(`${this.name} is closed`);
    checkMtu(o.mtu);
    const native = loadNative();
    native.ifSetMtu(this.name, o.mtu);
    native.ifSetAddrs(this.name, o.local, o.peer);
    native.ifSetUp(this.name, o.up);
  }

  /**
   * Starts polling: `cb` gets each batch of IP packets the kernel routed to
   * this interface. `onError` gets read errors (EBADFD when the interface was
   * deleted under us; the poller then stops).
   */
  onPackets(cb: (batch: PacketBatch) => void, onError?: (err: Error) => void): void {
    if (this.closed) throw new Error(`${this.name} is closed`);
    if (this.poller) throw new Error(`${this.name} is already polling`);
    this.poller = pollBatches(this.fd, 'tun', this, cb, onError);
  }

  /** Queues one IP packet for the kernel; written on the next flush. */
  write(pkt: Uint8Array): boolean {
    if (this.closed) return false;
    return queue().push(this.fd, pkt);
  }

  /** The arena beginWrite() offsets point into (one for all devices, fixed). */
  get writeBuffer(): Uint8Array {
    return queue().data;
  }

  /**
   * In-place write (a decryption straight into the write queue): room for
   * up to `max` bytes at the returned offset of writeBuffer, or -1. Not
   * calling commitWrite is the abort.
   */
  beginWrite(max: number): number {
    return this.closed ? -1 : queue().begin(max);
  }

  /** Queues writeBuffer[start + skip, + len) for this interface; false when it cannot (see TxQueue.commit). */
  commitWrite(start: number, skip: number, len: number): boolean {
    return !this.closed && queue().commit(this.fd, start, skip, len);
  }

  /** Writes every queued TUN packet (of all devices) now. */
  flush(): void {
    if (tunQueue) writeQueued(tunQueue);
  }

  /** Flushes, stops polling and closes the fd, which removes the interface. */
  close(): void {
    if (this.detach()) loadNative().closeFd(this.fd);
  }

  /**
   * As close(), but the close (the kernel's netdev unregistration, 10-30 ms
   * under RTNL) runs off the event loop; resolves when the interface is gone.
   */
  closeAsync(): Promise<void> {
    return this.detach() ? loadNative().closeFdAsync(this.fd) : Promise.resolve();
  }

  /** Stops all use of the fd; true when the caller must now close it. */
  private detach(): boolean {
    if (this.closed) return false;
    // Queued packets name this fd; write them before the number can be reused.
    this.flush();
    this.closed = true;
    if (this.poller) loadNative().pollerStop(this.poller);
    this.poller = undefined;
    return true;
  }
}
