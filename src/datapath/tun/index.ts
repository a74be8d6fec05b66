// The TUN datapath on the real native addon: one raw GRE socket for the whole
// server, TUN interfaces named lowest-free pppN. The addon is imported here
// only, lazily, so the datapath logic itself (tun-datapath.ts) loads and is
// testable without a built addon or root.
import type { Logger } from 'pino';
import type { Clock } from '../../util/clock.js';
import { TunDatapath, type TunDatapathOptions } from './tun-datapath.js';
import type { FastRxPort, PacketBatchView, RawGrePort, TunPort } from './ports.js';
import type { TunDevice as TunDeviceT } from '../../../native/tun.js';
import type { FastRx as FastRxT } from '../../../native/fast-rx.js';

export { TunDatapath, type TunDatapathOptions, type TunDatapathStats } from './tun-datapath.js';
export type { FastRxPort, PacketBatchView, RawGrePort, TunAsyncOpener, TunOpener, TunPort } from './ports.js';

export interface OpenTunDatapathOptions {
  clock: Clock;
  log: Logger;
  /** Bind the raw socket to this local IPv4 address (default: any). */
  bindAddress?: string;
  gre?: TunDatapathOptions['gre'];
}

/**
 * A TunDevice as the datapath's TunPort. A class, not an object of closures:
 * one of these lives per session, and six closures plus their context cost
 * ~450 bytes more each.
 */
class TunDevicePort implements TunPort {
  constructor(
    private readonly dev: TunDeviceT,
    private readonly log: Logger,
  ) {}

  get name(): string {
    return this.dev.name;
  }

  get fd(): number {
    return this.dev.fd;
  }

  configure(c: { mtu: number; local: string; peer: string; up: boolean }): void {
    this.dev.configure(c);
  }

  onPackets(cb: (batch: PacketBatchView) => void): void {
    this.dev.onPackets(cb, (err) => this.log.warn({ ifname: this.dev.name, err: err.message }, 'TUN receive error'));
  }

  write(p: Uint8Array): boolean {
    return this.dev.write(p);
  }

  get writeBuffer(): Uint8Array {
    return this.dev.writeBuffer;
  }

  beginWrite(max: number): number {
    return this.dev.beginWrite(max);
  }

  commitWrite(start: number, skip: number, len: number): boolean {
    return this.dev.commitWrite(start, skip, len);
  }

  flush(): void {
    this.dev.flush();
  }

  configureAsync(c: { mtu: number; local: string; peer: string }): Promise<void> {
    return this.dev.configureAsync(c);
  }

  close(): Promise<void> {
    return this.dev.closeAsync();
  }
}

/** The addon's fast path as the datapath's port: it reads the receive arena the raw socket's batches live in. */
function fastRxPort(fr: FastRxT): FastRxPort {
  return {
    add: (e) => fr.add(e),
    remove: (id) => fr.remove(id),
    run: (b) => fr.run(b.count),
    report: fr.report,
  };
}

/** Opens the raw GRE socket (needs CAP_NET_RAW) and returns the datapath. */
export async function openTunDatapath(o: OpenTunDatapathOptions): Promise<TunDatapath> {
  const { RawGreSocket } = await import('../../../native/raw-gre.js');
  const { TunDevice } = await import('../../../native/tun.js');
  const { nativeMppeCipher } = await import('../../../native/mppe.js');
  const { FastRx } = await import('../../../native/fast-rx.js');
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
  const port = (dev: TunDeviceT): TunPort => new TunDevicePort(dev, log);
  const openTun = (taken: Set<string>): TunPort => port(TunDevice.openLowestFree('ppp', taken));
  // Set-up path: TUNSETIFF at openCall, MTU + addresses + up at attach, both on the thread pool.
  const openTunAsync = async (name: string): Promise<TunPort> => port(await TunDevice.openAsync(name));
  log.info({ bind: o.bindAddress ?? '0.0.0.0' }, 'TUN datapath ready (userspace GRE, MPPE in the addon)');
  // MPPE's per-packet SHA-1/RC4 in C (the addon is loaded already: the raw socket is open).
  const mppeCipher = nativeMppeCipher();
  const fastRx = fastRxPort(FastRx.open());
  return new TunDatapath({ clock: o.clock, log, raw, openTun, openTunAsync, mppeCipher, fastRx, ...(o.gre ? { gre: o.gre } : {}) });
}
