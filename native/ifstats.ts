// Interface counters for pptpctl and ip-down. Read over rtnetlink by the
// addon rather than from /sys/class/net: sysfs shows the network namespace
// it was mounted in, netlink the caller's.
import { loadNative, type NativeIfStats } from './index.js';

export type IfStats = NativeIfStats;

/** rx/tx packets, bytes, errors and drops of `name`; throws ENODEV if absent. */
export function ifStats(name: string): IfStats {
  return loadNative().ifStats(name);
}
