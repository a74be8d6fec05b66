// What the TUN datapath needs from the native addon (native/raw-gre.ts and
// native/tun.ts satisfy these structurally). Kept as small interfaces so the
// datapath can be unit-tested with in-memory fakes, without root.

/** One receive batch: packets are views into `data` at offsets[i], lengths[i]. Valid only during the callback. */
export interface PacketBatchView {
  count: number;
  data: Uint8Array;
  offsets: Uint32Array;
  lengths: Uint32Array;
}

/** The server's one raw IP-protocol-47 socket. Received packets include the IPv4 header. */
export interface RawGrePort {
  onPackets(cb: (batch: PacketBatchView) => void): void;
  /** Queues a GRE packet (copied) for `dst` (IPv4 as host-order uint32); the kernel adds the IP header. */
  send(dst: number, pkt: Uint8Array): boolean;
  flush(): void;
  close(): void;
}

/**
 * The addon's receive fast path (native/fast-rx.ts): decrypts the common
 * in-order stateless MPPE data packets of registered calls straight to
 * their TUN fds, before JS sees the batch.
 */
export interface FastRxPort {
  /** Registers a call's shared receive state; returns its id. */
  add(e: FastRxEntry): number;
  remove(id: number): boolean;
  /** Handles what it can of the batch; handled packets get lengths[i] = 0. Returns how many. */
  run(batch: PacketBatchView): number;
  /** After run(): report[0] records of FASTRX_RECORD_WORDS words (FASTRX_*) from report[1]. */
  readonly report: Uint32Array;
}

/** One call's registration: who it is, where its packets go, and its shared state. */
export interface FastRxEntry {
  /** Outer IPv4 source, host-order uint32 (as rxArena().sources). */
  src: number;
  /** Our call id (the low half of the GRE key). */
  callId: number;
  /** The call's TUN fd (one write per IPv4 packet). Remove the entry before closing it. */
  fd: number;
  /** GreCall.rxState (8+ words, GRX_* layout of src/gre/engine.ts). */
  gre: Uint32Array;
  /** The stateless MppeCodec's state array (src/crypto/mppe-cipher.ts layout). */
  mppe: Uint8Array;
  /** Offset of the receive direction record in `mppe` (≥ 8). */
  rxDir: number;
  /** Offset of the receive history in `mppe` (≥ 8), histSlots × 20 bytes. */
  hist: number;
  histSlots: number;
  /** PppLink's rxMax: longest MPPE payload accepted (1..65535). */
  rxMax: number;
}

/** Words of one report record: [id, frames, frameBytes, ipPackets, ipBytes, dropped, writeFailed, 0]. */
export const FASTRX_RECORD_WORDS = 8;
export const FASTRX_ID = 0;
export const FASTRX_FRAMES = 1;
export const FASTRX_FRAME_BYTES = 2;
export const FASTRX_IP_PACKETS = 3;
export const FASTRX_IP_BYTES = 4;
export const FASTRX_DROPPED = 5;
export const FASTRX_WRITE_FAILED = 6;

/** One TUN interface (pppN). Closing it removes the interface. */
export interface TunPort {
  readonly name: string;
  /** The device's fd, for a FastRxPort to write to (absent: no fast path for it). */
  readonly fd?: number;
  configure(o: { mtu: number; local: string; peer: string; up: boolean }): void;
  /** As configure({ ..., up: true }) off the event loop; preferred when present. */
  configureAsync?(o: { mtu: number; local: string; peer: string }): Promise<void>;
  onPackets(cb: (batch: PacketBatchView) => void): void;
  /** Queues one IP packet (copied) for the kernel. */
  write(pkt: Uint8Array): boolean;
  /**
   * Optional in-place writing (saves the copy of write()): the queue's
   * arena, room for up to `max` bytes at the offset beginWrite returns
   * (-1: none), and commitWrite queuing writeBuffer[start + skip, + len).
   * Not committing is the abort. All three or none.
   */
  readonly writeBuffer?: Uint8Array;
  beginWrite?(max: number): number;
  commitWrite?(start: number, skip: number, len: number): boolean;
  flush(): void;
  /** Removes the interface; may settle later (the kernel unregisters it off the event loop). */
  close(): void | Promise<void>;
}

/** Opens the lowest free pppN whose name is not in `taken` (our own interfaces). */
export type TunOpener = (taken: Set<string>) => TunPort;

/**
 * Opens the TUN interface `name` exactly, without blocking the event loop
 * (TUNSETIFF runs on a worker thread); rejects with `code` 'EBUSY' when the
 * name exists. When the datapath has one, it picks the lowest pppN number it
 * does not hold itself, opens each call's interface as soon as the call
 * exists (as pppd creates its unit before LCP), and attach() only configures it.
 */
export type TunAsyncOpener = (name: string) => Promise<TunPort>;
