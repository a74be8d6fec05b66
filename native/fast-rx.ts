// The addon's receive fast path for the TUN datapath (native/src/fastrx.c):
// in-order GRE data packets carrying stateless MPPE one count ahead, with
// IPv4 inside, are decrypted and written to their TUN fd in C, straight from
// the shared receive arena (rxArena()), without reaching JavaScript. The
// datapath registers each running call's shared state arrays here and calls
// run() on every raw batch before its own loop; packets the fast path took
// have their arena length set to 0.
import { loadNative, type FastRxTable, type NativeAddon } from './index.js';

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

export class FastRx {
  /**
   * After each run(): report[0] = number of records; record r at words
   * 1 + r * 8 (FASTRX_*), one per entry that had packets handled in that
   * run. Memory owned by the addon, valid as long as this object.
   */
  readonly report: Uint32Array;

  private constructor(
    private readonly n: NativeAddon,
    private readonly table: FastRxTable,
    report: Uint32Array,
  ) {
    this.report = report;
  }

  /** Throws naming the missing (or outdated) build when the addon lacks the fast path. */
  static open(): FastRx {
    const n = loadNative();
    if (typeof n.fastRxCreate !== 'function') {
      throw new Error('pptpd native addon predates the receive fast path (no fastRxCreate); run `npm run build:native`');
    }
    const { table, report } = n.fastRxCreate();
    return new FastRx(n, table, report);
  }

  /**
   * Registers a call; returns its id (small, reused after remove). Throws
   * TypeError/RangeError for anything invalid (stateful MPPE state, offsets
   * outside the arrays, a duplicate source + call id), storing nothing.
   */
  add(e: FastRxEntry): number {
    return this.n.fastRxAdd(this.table, e.src, e.callId, e.fd, e.gre, e.mppe, e.rxDir, e.hist, e.histSlots, e.rxMax);
  }

  /** False for an unknown or already removed id. */
  remove(id: number): boolean {
    return this.n.fastRxRemove(this.table, id);
  }

  /** Runs the fast path over packets [0, count) of the current arena batch; returns how many it handled. */
  run(count: number): number {
    return this.n.fastRxRun(this.table, count);
  }
}
