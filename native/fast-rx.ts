// The addon's receive fast path for the TUN datapath (native/src/fastrx.c):
// in-order GRE data packets carrying stateless MPPE one count ahead, with
// IPv4 inside, are decrypted and written to their TUN fd in C, straight from
// the shared receive arena (rxArena()), without reaching JavaScript. The
// datapath registers each running call's shared state arrays here and calls
// run() on every raw batch before its own loop; packets the fast path took
// have their arena length set to 0.
import { loadNative, type FastRxTable, type NativeAddon } from './index.js';
import type { FastRxEntry } from '../src/datapath/tun/ports.js';

// The entry and the report layout are the datapath's port contract (ports.ts): one definition.
export {
  FASTRX_DROPPED, FASTRX_FRAME_BYTES, FASTRX_FRAMES, FASTRX_ID, FASTRX_IP_BYTES, FASTRX_IP_PACKETS,
  FASTRX_RECORD_WORDS, FASTRX_WRITE_FAILED, type FastRxEntry,
} from '../src/datapath/tun/ports.js';

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
