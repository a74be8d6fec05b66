// The kernel datapath on the real native addon, and the probe that says
// whether this host can run it. The addon is loaded lazily so the datapath
// logic (kernel-datapath.ts) is testable without a built addon or root.
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from '../../util/clock.js';
import { KernelDatapath } from './kernel-datapath.js';
import type { KernelNative } from './ports.js';

export { KernelDatapath, type KernelDatapathOptions, type KernelDatapathStats } from './kernel-datapath.js';
export type { KernelMppeKeys, KernelNative, KernelRxArena } from './ports.js';

/** What the probe looks at; injected in tests. */
export interface KernelProbeChecks {
  devPppExists(): boolean;
  /** Opens and closes one AF_PPPOX/PX_PROTO_PPTP socket; throws when the kernel cannot. */
  openPptpSocket(): void;
}

export type KernelProbe = { ok: true; why: string } | { ok: false; why: string };

/** Whether the kernel PPTP datapath can run here; `why` says what was found or is missing. */
export function probeKernel(checks: KernelProbeChecks): KernelProbe {
  if (!checks.devPppExists()) return { ok: false, why: '/dev/ppp does not exist (no ppp_generic in this kernel)' };
  try {
    checks.openPptpSocket();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const code = err.code ? ` (${err.code})` : '';
    return { ok: false, why: `cannot create an AF_PPPOX/PX_PROTO_PPTP socket${code}: ${err.message} (is the pptp module loaded?)` };
  }
  return { ok: true, why: '/dev/ppp exists and the kernel creates AF_PPPOX/PX_PROTO_PPTP sockets' };
}

/** Call ids for the probe socket: a high pair, released at once. */
const PROBE_CALL_ID = 65535;

/** The real checks, on the native addon (imported here, loaded only when the probe runs). */
export async function systemProbeChecks(): Promise<KernelProbeChecks> {
  const { loadNative } = await import('../../../native/index.js');
  return {
    devPppExists: () => existsSync('/dev/ppp'),
    openPptpSocket: () => {
      const native = loadNative(); // throws a clear error when the addon is not built
      let fd: number;
      try {
        fd = native.pptpChannelOpen('127.0.0.1', PROBE_CALL_ID, '127.0.0.1', PROBE_CALL_ID);
      } catch (e) {
        // Only socket() failing means "no PPTP in this kernel"; a bind or
        // connect refusal (e.g. the call id is taken) proves the socket exists.
        const err = e as NodeJS.ErrnoException;
        if (String(err.syscall ?? err.message).startsWith('socket(')) throw e;
        return;
      }
      native.closeFd(fd);
    },
  };
}

export interface OpenKernelDatapathOptions {
  clock: Clock;
  log: Logger;
  /** Tests substitute a fake addon. */
  native?: KernelNative;
}

export async function openKernelDatapath(o: OpenKernelDatapathOptions): Promise<KernelDatapath> {
  let native = o.native;
  if (!native) {
    const { loadNative } = await import('../../../native/index.js');
    native = loadNative() as KernelNative;
  }
  const log = o.log.child({ component: 'datapath-kernel' });
  log.info('kernel datapath ready (AF_PPPOX PPTP channels, ppp units, kernel MPPE)');
  return new KernelDatapath({ clock: o.clock, log, native });
}
