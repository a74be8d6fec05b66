// In-memory stand-ins for the native raw GRE socket and TUN devices, so the
// TUN datapath can be unit-tested without root.
import type { PacketBatchView, RawGrePort, TunPort } from '../../src/datapath/tun/ports.js';

function batchOf(packets: Uint8Array[]): PacketBatchView {
  const total = packets.reduce((n, p) => n + p.length, 0);
  // Packets at odd offsets inside one arena, as the native poller hands them.
  const data = new Uint8Array(total + packets.length * 3 + 1);
  const offsets = new Uint32Array(packets.length);
  const lengths = new Uint32Array(packets.length);
  let off = 1;
  packets.forEach((p, i) => {
    data.set(p, off);
    offsets[i] = off;
    lengths[i] = p.length;
    off += p.length + 3;
  });
  return { count: packets.length, data, offsets, lengths };
}

export class FakeRawGre implements RawGrePort {
  private cb: ((b: PacketBatchView) => void) | undefined;
  readonly sent: Array<{ dst: number; pkt: Uint8Array }> = [];
  flushes = 0;
  closed = false;

  onPackets(cb: (b: PacketBatchView) => void): void {
    this.cb = cb;
  }
  send(dst: number, pkt: Uint8Array): boolean {
    this.sent.push({ dst, pkt: Uint8Array.from(pkt) });
    return true;
  }
  flush(): void {
    this.flushes++;
  }
  close(): void {
    this.closed = true;
  }
  /** Packets arriving from the network (IPv4 header included), in one batch. */
  receive(...packets: Uint8Array[]): void {
    const b = batchOf(packets);
    this.cb?.(b);
    b.data.fill(0xee); // the arena is reused: a consumer that kept a view would see junk
  }
}

export class FakeTun implements TunPort {
  private cb: ((b: PacketBatchView) => void) | undefined;
  configured: { mtu: number; local: string; peer: string; up: boolean } | undefined;
  readonly written: Uint8Array[] = [];
  flushes = 0;
  closed = false;
  constructor(readonly name: string, private readonly onClose: (t: FakeTun) => void) {}

  configure(o: { mtu: number; local: string; peer: string; up: boolean }): void {
    this.configured = { ...o };
  }
  onPackets(cb: (b: PacketBatchView) => void): void {
    this.cb = cb;
  }
  write(pkt: Uint8Array): boolean {
    this.written.push(Uint8Array.from(pkt));
    return true;
  }
  flush(): void {
    this.flushes++;
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
  }
  /** IP packets the kernel routes into the interface, in one batch. */
  emit(...packets: Uint8Array[]): void {
    const b = batchOf(packets);
    this.cb?.(b);
    b.data.fill(0xee);
  }
}

/** A host whose interface names are taken by others (`system`) and by open fakes. */
export class FakeTunHost {
  readonly system = new Set<string>();
  readonly open = new Map<string, FakeTun>();
  opened = 0;

  opener = (taken: Set<string>): FakeTun => {
    for (let n = 0; ; n++) {
      const name = `ppp${n}`;
      if (this.system.has(name) || taken.has(name) || this.open.has(name)) continue;
      const t = new FakeTun(name, (x) => this.open.delete(x.name));
      this.open.set(name, t);
      this.opened++;
      return t;
    }
  };
}
