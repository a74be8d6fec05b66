// pppd's `proxyarp`: while a client is up, the server answers ARP for the
// client's address on the LAN interface whose subnet contains it, so LAN
// hosts reach the client without routes. Like pppd, a missing LAN interface
// is a warning, not a failure of the session.
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { Logger } from 'pino';

function ipv4ToInt(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
}

/**
 * The interface with an IPv4 subnet containing `peer` and a real hardware
 * address (not loopback, not a ppp/tun interface). Undefined when none.
 */
export function findLanInterface(
  peer: string,
  ifaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string | undefined {
  const p = ipv4ToInt(peer);
  if (p === undefined) return undefined;
  for (const [name, infos] of Object.entries(ifaces)) {
    if (!infos || /^(ppp|tun)\d*/.test(name)) continue;
    for (const i of infos) {
      if (i.family !== 'IPv4' || i.internal || i.mac === '00:00:00:00:00:00') continue;
      const a = ipv4ToInt(i.address);
      const m = ipv4ToInt(i.netmask);
      if (a === undefined || m === undefined || m === 0xffffffff) continue;
      if (((a & m) >>> 0) === ((p & m) >>> 0)) return name;
    }
  }
  return undefined;
}

export interface ArpNative {
  arpProxy(ifname: string, address: string, add: boolean): void;
}

export class ProxyArp {
  /** peer address → interface holding its entry. */
  private readonly entries = new Map<string, string>();

  constructor(
    private readonly native: ArpNative,
    private readonly log: Logger,
    private readonly find: (peer: string) => string | undefined = (p) => findLanInterface(p),
  ) {}

  /** Publishes `peer`; returns the LAN interface used, or undefined (logged). */
  add(peer: string, ctx: Record<string, unknown> = {}): string | undefined {
    const ifname = this.find(peer);
    if (!ifname) {
      this.log.warn({ ...ctx, peer }, 'proxyarp: no LAN interface has a subnet containing the client address; no proxy ARP entry');
      return undefined;
    }
    try {
      this.native.arpProxy(ifname, peer, true);
      this.entries.set(peer, ifname);
      this.log.info({ ...ctx, peer, lan: ifname }, 'proxyarp: published the client address');
      return ifname;
    } catch (e) {
      this.log.warn({ ...ctx, peer, lan: ifname, err: (e as Error).message }, 'proxyarp: could not add the entry');
      return undefined;
    }
  }

  remove(peer: string, ctx: Record<string, unknown> = {}): void {
    const ifname = this.entries.get(peer);
    if (!ifname) return;
    this.entries.delete(peer);
    try {
      this.native.arpProxy(ifname, peer, false);
    } catch (e) {
      this.log.warn({ ...ctx, peer, lan: ifname, err: (e as Error).message }, 'proxyarp: could not remove the entry');
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
