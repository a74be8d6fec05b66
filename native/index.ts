// Loader of the N-API addon. Fails with a message that names the missing
// build instead of a bare MODULE_NOT_FOUND.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KpppNative } from './kppp.js';
import type { MppeCipher } from '../src/crypto/mppe-cipher.js';

/** Opaque handle of a running fd poller (an N-API external). */
export type PollerHandle = { readonly __brand: 'PollerHandle' };

/**
 * The process-wide receive arena shared by every poller (one per JS
 * environment, created once). A batch's packets are valid only during the
 * callback that announced them; the next batch overwrites them.
 */
export interface RxArena {
  readonly data: Uint8Array; // slots × slotSize bytes
  readonly offsets: Uint32Array; // per packet of the current batch
  readonly lengths: Uint32Array;
  readonly sources: Uint32Array; // IPv4 source as host-order uint32, 0 for TUN
  readonly slots: number; // 64: most packets in one batch
  readonly slotSize: number; // 2048: longer packets are dropped
}

/** Opaque handle of a receive fast-path table (an N-API external; native/fast-rx.ts wraps it). */
export type FastRxTable = { readonly __brand: 'FastRxTable' };

/** Link counters from rtnetlink (IFLA_STATS64). */
export interface NativeIfStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
}

/**
 * Functions the C addon exports; grows with native/src/*.c. Failing system
 * calls throw an Error with `code` = errno name (e.g. 'EBUSY'), `errno`,
 * and `syscall` naming the operation; bad arguments throw TypeError.
 */
export interface NativeAddon extends KpppNative {
  sdNotify(socketPath: string, message: string): boolean;

  // tun.c — `name` exact ("ppp3") or a kernel template ("ppp%d": lowest free
  // number, atomic). A taken exact name throws EBUSY. fd is O_NONBLOCK|O_CLOEXEC.
  tunOpen(name: string, mtu?: number): { fd: number; name: string };
  /** Closes a TUN/raw fd; stop its poller first. */
  closeFd(fd: number): void;
  /**
   * Closes the fd on libuv's thread pool: a TUN close unregisters the netdev
   * (10-30 ms under RTNL), which must not stall the event loop. Settles once
   * the fd (and its interface) is gone; the number is not reused before.
   */
  closeFdAsync(fd: number): Promise<void>;
  /**
   * tunOpen + ifSetMtu + ifSetAddrs (/32 point-to-point) + ifSetUp(true) as
   * one job on libuv's thread pool (~2 ms of RTNL work per interface off the
   * event loop). The fd and ioctl socket are made on the calling thread, so
   * the interface lands in its network namespace. Rejects with the errno
   * Error of the failing step, after removing the half-made interface.
   */
  tunOpenConfiguredAsync(name: string, mtu: number, local: string, peer: string): Promise<{ fd: number; name: string }>;
  /** tunOpen (no MTU) on the thread pool, same namespace rule. */
  tunOpenAsync(name: string): Promise<{ fd: number; name: string }>;
  /** ifSetMtu + ifSetAddrs + ifSetUp(true) on the thread pool; resolves { fd: -1, name }. */
  ifConfigureAsync(name: string, mtu: number, local: string, peer: string): Promise<{ fd: number; name: string }>;

  // ifconf.c — ioctls on a fresh AF_INET socket in the calling thread's netns.
  ifSetMtu(name: string, mtu: number): void;
  /** Point-to-point: local address, peer address, netmask /32. */
  ifSetAddrs(name: string, local: string, peer: string): void;
  ifSetUp(name: string, up: boolean): void;
  ifExists(name: string): boolean;
  ifStats(name: string): NativeIfStats;

  // raw.c — socket(AF_INET, SOCK_RAW, protocol), non-blocking, CLOEXEC, 4 MiB buffers.
  rawOpen(protocol: number, bindAddress?: string): number;

  // poll.c
  rxArena(): RxArena;
  /**
   * Polls `fd` for readability with uv_poll and drains it into the shared
   * arena, calling `callback(count)` once per batch (≤ slots packets), or
   * `callback(0, error)` on a receive error (the poller stops itself after
   * errors that mean the fd is dead, e.g. EBADFD). A throwing callback
   * surfaces as process 'uncaughtException'.
   */
  pollerStart(fd: number, kind: 'raw' | 'tun', callback: (count: number, error?: NodeJS.ErrnoException) => void): PollerHandle;
  /** Idempotent; the fd may be closed immediately after. */
  pollerStop(handle: PollerHandle): void;
  /**
   * Raw socket (dests = host-order IPv4, one sendmmsg per 64 packets) or TUN
   * (dests all 0, write() per packet). Returns how many packets from the
   * start went out; stops at EAGAIN/ENOBUFS; another error throws when it
   * hits the first packet, else the count before it is returned.
   */
  sendBatch(fd: number, arena: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, dests: Uint32Array, count: number): number;
  /** Writes each packet to its own TUN fd; failed packets are dropped. Returns packets written. */
  tunWriteBatch(arena: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, fds: Int32Array, count: number): number;

  // netns.c — tests/tools only: moves the CALLING THREAD (not libuv's pool).
  /** Enters the namespace at `path`; returns an fd of the previous one. */
  netnsEnter(path: string): number;
  /** Re-enters the namespace fd from netnsEnter and closes it. */
  netnsReturn(fd: number): void;

  // arp.c
  /** Adds (or removes) a published proxy-ARP entry for `address` on `ifname`. */
  arpProxy(ifname: string, address: string, add: boolean): void;

  // mppe.c — MppeCipher['crypt'] of src/crypto/mppe-cipher.ts (same contract;
  // RangeError for any offset/length/layout outside its array, TypeError for
  // a non-Uint8Array or non-int32 argument).
  mppeCrypt: MppeCipher['crypt'];
  /**
   * The same with the integers passed through mppeCryptArgs (dir, rekeys,
   * keyOff, inOff, len, outOff, flags), set just before the call: 3
   * arguments to convert instead of 10 (native/mppe.ts wraps it).
   */
  mppeCryptPacked(st: Uint8Array, input: Uint8Array, out: Uint8Array): number;
  /** The addon-owned argument block of mppeCryptPacked (8 int32). */
  mppeCryptArgs: Int32Array;
  /** Which SHA-1 compression the rekey uses; `true` forces the plain C one (tests). */
  mppeSha1Impl(builtin?: boolean): 'openssl' | 'builtin';

  // fastrx.c — the TUN datapath's receive fast path (native/fast-rx.ts has the details).
  /** A table and its report (1 + 64 × 8 words, addon memory kept alive by the table). */
  fastRxCreate(): { table: FastRxTable; report: Uint32Array };
  /**
   * Registers (source, call id) → TUN fd + shared GRE/MPPE state; returns the
   * entry id. TypeError for wrong types, RangeError for values/offsets out of
   * range, a stateful MPPE state, or a duplicate (source, call id).
   */
  fastRxAdd(
    table: FastRxTable, src: number, callId: number, fd: number, gre: Uint32Array, mppe: Uint8Array,
    rxDir: number, hist: number, histSlots: number, rxMax: number,
  ): number;
  /** False for an unknown or removed id. */
  fastRxRemove(table: FastRxTable, id: number): boolean;
  /** Handles what it can of arena packets [0, count) (count ≤ slots, else RangeError); returns how many. */
  fastRxRun(table: FastRxTable, count: number): number;
}

const here = dirname(fileURLToPath(import.meta.url));
// Compiled to dist/native/index.js; the addon sits in native/build/Release.
const candidates = [
  join(here, '..', '..', 'native', 'build', 'Release', 'pptpd_native.node'),
  join(here, 'build', 'Release', 'pptpd_native.node'),
];

// The addon's MPPE cipher (src/crypto/mppe-cipher.ts contract).
export { nativeMppeCipher } from './mppe.js';

let cached: NativeAddon | undefined;

export function addonPath(): string | undefined {
  return candidates.find((p) => existsSync(p));
}

export function loadNative(): NativeAddon {
  if (cached) return cached;
  const p = addonPath();
  if (!p) {
    throw new Error(
      `pptpd native addon is not built (looked for ${candidates[0]}); ` +
        'run `npm run build:native` (needs gcc, make, python3 and the Node headers)',
    );
  }
  const require = createRequire(import.meta.url);
  cached = require(p) as NativeAddon;
  return cached;
}
