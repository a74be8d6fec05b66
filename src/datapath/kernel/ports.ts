// What the kernel datapath needs from the native addon: the kernel-PPP
// primitives (native/kppp.ts), the fd poller and the interface ioctls. One
// structural interface, so the datapath is unit-tested with an in-memory fake.
import type { KpppNative } from '../../../native/kppp.js';

export interface KernelRxArena {
  readonly data: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
}

export interface KernelNative extends KpppNative {
  rxArena(): KernelRxArena;
  /** 'tun' kind = read() per frame, which is what /dev/ppp channel and unit fds want. */
  pollerStart(fd: number, kind: 'tun', callback: (count: number, error?: NodeJS.ErrnoException) => void): unknown;
  pollerStop(handle: unknown): void;
  ifSetMtu(name: string, mtu: number): void;
  ifSetAddrs(name: string, local: string, peer: string): void;
  ifSetUp(name: string, up: boolean): void;
  ifStats(name: string): { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number };
}

/** Start keys for kernel MPPE (16 bytes each; the kernel truncates for 40-bit). */
export interface KernelMppeKeys {
  sendKey: Uint8Array;
  recvKey: Uint8Array;
  /** require-mppe: SC_MUST_COMP, never plaintext data once the compressor runs. */
  required: boolean;
}
