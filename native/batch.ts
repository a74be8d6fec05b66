// Batches handed to onPackets callbacks, and the transmit queue behind
// TunDevice.write / RawGreSocket.send.
import { loadNative, type PollerHandle } from './index.js';

/**
 * Packets received in one wakeup. `data` is the process-wide receive arena:
 * packet i is data[offsets[i] .. offsets[i] + lengths[i]), valid only until
 * the callback returns (copy what must outlive it). `sources` holds the
 * IPv4 source (host-order uint32) for raw sockets, 0 for TUN.
 */
export interface PacketBatch {
  count: number;
  data: Uint8Array;
  offsets: Uint32Array;
  lengths: Uint32Array;
  sources: Uint32Array;
}

let shared: PacketBatch | undefined;

/** The single batch object every poller callback fills in (count varies). */
export function sharedBatch(): PacketBatch {
  if (!shared) {
    const a = loadNative().rxArena();
    shared = { count: 0, data: a.data, offsets: a.offsets, lengths: a.lengths, sources: a.sources };
  }
  return shared;
}

/** What a poller reports receive errors into (TunDevice, RawGreSocket). */
export interface RxErrorSink {
  rxErrors: number;
  lastError: Error | undefined;
}

/**
 * Polls `fd` and hands every wakeup's packets to `cb` as the shared batch;
 * receive errors are counted on `sink` and passed to `onError`.
 */
export function pollBatches(
  fd: number,
  kind: 'raw' | 'tun',
  sink: RxErrorSink,
  cb: (batch: PacketBatch) => void,
  onError?: (err: Error) => void,
): PollerHandle {
  const batch = sharedBatch();
  return loadNative().pollerStart(fd, kind, (count, err) => {
    if (err) {
      sink.rxErrors++;
      sink.lastError = err;
      onError?.(err);
      return;
    }
    batch.count = count;
    cb(batch);
  });
}

/** Largest packet the receive arena holds; longer ones are dropped. */
export function rxSlotSize(): number {
  return loadNative().rxArena().slotSize;
}

export const TX_SLOTS = 64;
export const TX_SLOT_SIZE = 2048;

/**
 * Packets waiting to be sent: one arena, packed back to back, with their
 * targets (IPv4 uint32 for raw sockets, fds for TUN). Flushed by `flushFn`
 * when full and once per event-loop turn (setImmediate), so a burst costs
 * one native call, not one per packet.
 */
export class TxQueue<T extends Uint32Array<ArrayBuffer> | Int32Array<ArrayBuffer>> {
  readonly data = new Uint8Array(TX_SLOTS * TX_SLOT_SIZE);
  readonly offsets = new Uint32Array(TX_SLOTS);
  readonly lengths = new Uint32Array(TX_SLOTS);
  count = 0;
  private used = 0;
  /** The pending end-of-turn flush, if any. */
  private immediate: NodeJS.Immediate | undefined;
  private readonly runFlush = (): void => {
    this.immediate = undefined;
    this.flushFn(this);
  };

  constructor(
    readonly targets: T,
    private readonly flushFn: (q: TxQueue<T>) => void,
  ) {}

  /**
   * Reserves `len` bytes for a packet to `target` and returns its offset in
   * `data` (the caller fills it in place), or -1 if len is 0 or > a slot.
   */
  reserve(target: number, len: number): number {
    const off = this.begin(len);
    if (off < 0) return -1;
    this.commit(target, off, 0, len);
    return off;
  }

  /**
   * In-place writing of a packet whose final size is not known yet (a
   * decryption): room for up to `max` bytes at the returned offset of
   * `data`, or -1 (0 or more than a slot). Nothing is held until commit():
   * not committing is the abort.
   */
  begin(max: number): number {
    if (!(max > 0 && max <= TX_SLOT_SIZE)) return -1;
    if (this.count === TX_SLOTS || this.used + max > this.data.length) this.flushFn(this);
    return this.used;
  }

  /**
   * Queues data[start + skip, + len) for `target`, written there since
   * begin() returned `start`. False (nothing queued) when anything was queued
   * or flushed in between, or the packet is empty or out of the arena.
   */
  commit(target: number, start: number, skip: number, len: number): boolean {
    const off = start + skip;
    if (start !== this.used || this.count === TX_SLOTS || !(skip >= 0 && len > 0 && len <= TX_SLOT_SIZE) || off + len > this.data.length) {
      return false;
    }
    const i = this.count++;
    this.offsets[i] = off;
    this.lengths[i] = len;
    this.targets[i] = target;
    this.used = off + len;
    this.immediate ??= setImmediate(this.runFlush);
    return true;
  }

  /** Copies `pkt` in; false when it cannot be queued (empty or too big). */
  push(target: number, pkt: Uint8Array): boolean {
    const off = this.reserve(target, pkt.length);
    if (off < 0) return false;
    this.data.set(pkt, off);
    return true;
  }

  /**
   * Forgets every queued packet (after a flush), and the end-of-turn flush
   * with them: a pending immediate makes libuv poll without blocking once
   * more (an extra epoll_wait per receive batch when the owner already
   * flushed explicitly at the end of the batch).
   */
  clear(): void {
    this.count = 0;
    this.used = 0;
    if (this.immediate !== undefined) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
  }
}
