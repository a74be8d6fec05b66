// The TUN datapath on the real native addon: one raw GRE socket for the whole
// server, TUN interfaces named lowest-free pppN. The addon is imported here
// only, lazily, so the datapath logic itself (tun-datapath.ts) loads and is
// testable without a built addon or root.
import type { Logger } from 'pino';
import type { Clock } from '../../util/clock.js';
import { TunDatapath, type TunDatapathOptions } from './tun-datapath.js';
import type { RawGrePort, TunPort } from './ports.js';

export { TunDatapath, type TunDatapathOptions, type TunDatapathStats } from './tun-datapath.js';
export type { PacketBatchView, RawGrePort, TunOpener, TunPort } from './ports.js';

export interface OpenTunDatapathOptions {
  clock: Clock;
  log: Logger;
  /** Bind the raw socket to this local IPv4 address (default: any). */
  bindAddress?: string;
  gre?: TunDatapathOptions['gre'];
}

/** Opens the raw GRE socket (needs CAP_NET_RAW) and returns the datapath. */
export async function openTunDatapath(o: OpenTunDatapathOptions): Promise<TunDatapath> {
  const { RawGreSocket } = await import('../../../native/raw-gre.js');
  const { TunDevice } = await import('../../../native/tun.js');
  const log = o.log.child({ component: 'datapath-tun' });
  const sock = RawGreSocket.open(o.bindAddress);
  let lastErr = -Infinity;
  const raw: RawGrePort = {
    onPackets: (cb) =>
      sock.onPackets(cb, (err) => {
        // Receive errors are rare and repetitive: one line a second at most.
        const now = o.clock.now();
        if (now - lastErr >= 1000) {
          lastErr = now;
          log.warn({ err: err.message, rxErrors: sock.rxErrors }, 'raw GRE socket receive error');
        }
      }),
    send: (dst, pkt) => sock.send(dst, pkt),
    flush: () => sock.flush(),
    close: () => sock.close(),
  };
  const openTun = (taken: Set<string>): TunPort => {
    const dev = TunDevice.openLowestFree('ppp', taken);
    return {
      name: dev.name,
      configure: (c) => dev.configure(c),
      onPackets: (cb) =>
        dev.onPackets(cb, (err) => log.warn({ ifname: dev.name, err: err.message }, 'TUN receive error')),
      write: (p) => dev.write(p),
      flush: () => dev.flush(),
      close: () => dev.closeAsync(),
    };
  };
  log.info({ bind: o.bindAddress ?? '0.0.0.0' }, 'TUN datapath ready (userspace GRE and MPPE)');
  return new TunDatapath({ clock: o.clock, log, raw, openTun, ...(o.gre ? { gre: o.gre } : {}) });
}
