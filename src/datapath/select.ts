// --datapath auto|kernel|tun: which datapath this host can run, and why.
//   auto   → kernel when /dev/ppp exists and the kernel creates an
//            AF_PPPOX/PX_PROTO_PPTP socket, else TUN; the log says which and why.
//   kernel → the kernel datapath or a start-up error saying what is missing.
//   tun    → userspace GRE and MPPE on TUN interfaces.
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import { PptpdError } from '../util/errors.js';
import type { Datapath } from './types.js';
import { openTunDatapath } from './tun/index.js';
import { openKernelDatapath, probeKernel, systemProbeChecks, type KernelProbe, type KernelProbeChecks } from './kernel/index.js';

export { probeKernel, type KernelProbe, type KernelProbeChecks };

export interface SelectOptions {
  clock: Clock;
  log: Logger;
  /** Tests: the probe's checks and the openers. */
  checks?: KernelProbeChecks;
  openKernel?: (o: { clock: Clock; log: Logger }) => Promise<Datapath>;
  openTun?: (o: { clock: Clock; log: Logger }) => Promise<Datapath>;
}

/** The decision alone (no datapath opened): which kind, and why. */
export function decideDatapath(kind: 'auto' | 'kernel' | 'tun', probe: () => KernelProbe): { kind: 'kernel' | 'tun'; why: string } {
  if (kind === 'tun') return { kind: 'tun', why: '--datapath tun' };
  const k = probe();
  if (kind === 'kernel') {
    if (!k.ok) {
      throw new PptpdError('ERR_DATAPATH_UNAVAILABLE', `--datapath kernel: this host cannot run the kernel PPTP datapath: ${k.why}`);
    }
    return { kind: 'kernel', why: k.why };
  }
  return k.ok ? { kind: 'kernel', why: k.why } : { kind: 'tun', why: k.why };
}

export async function selectDatapath(kind: 'auto' | 'kernel' | 'tun', o: SelectOptions): Promise<Datapath> {
  const log = o.log.child({ component: 'datapath' });
  const checks = kind === 'tun' ? undefined : (o.checks ?? (await systemProbeChecks()));
  const d = decideDatapath(kind, () => probeKernel(checks!));
  const how = kind === 'auto' ? 'datapath auto' : 'datapath';
  if (d.kind === 'kernel') {
    log.info({ datapath: 'kernel', requested: kind, why: d.why }, `${how}: using the kernel datapath (${d.why})`);
    return (o.openKernel ?? openKernelDatapath)({ clock: o.clock, log: o.log });
  }
  if (kind === 'auto') log.info({ datapath: 'tun', requested: kind, why: d.why }, `${how}: using TUN (${d.why})`);
  else log.info({ datapath: 'tun', requested: kind }, 'datapath: TUN (userspace GRE and MPPE)');
  return (o.openTun ?? openTunDatapath)({ clock: o.clock, log: o.log });
}
