// --datapath auto|kernel|tun: which datapath this host can run, and why.
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import type { Datapath } from './types.js';
import { openTunDatapath } from './tun/index.js';

export interface SelectOptions {
  clock: Clock;
  log: Logger;
}

/** Whether the kernel PPTP datapath can run here; `why` says what is missing. */
export function probeKernel(): { ok: boolean; why: string } {
  if (!existsSync('/dev/ppp')) return { ok: false, why: '/dev/ppp does not exist (no ppp_generic in this kernel)' };
  return { ok: false, why: 'the kernel datapath is not implemented yet' };
}

export async function selectDatapath(kind: 'auto' | 'kernel' | 'tun', o: SelectOptions): Promise<Datapath> {
  const log = o.log.child({ component: 'datapath' });
  if (kind === 'kernel') {
    const k = probeKernel();
    if (!k.ok) throw new Error(`--datapath kernel: cannot use the kernel PPTP datapath: ${k.why}`);
  }
  if (kind === 'auto') {
    const k = probeKernel();
    log.info({ datapath: 'tun', why: k.why }, `datapath auto: using TUN (${k.why})`);
  } else {
    log.info({ datapath: 'tun' }, 'datapath: TUN (userspace GRE and MPPE)');
  }
  return openTunDatapath({ clock: o.clock, log: o.log });
}
