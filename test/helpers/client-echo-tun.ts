// TUN interfaces for the TUN datapath that behave like the kernel for one
// thing: an ICMP echo request to the interface's local address is answered
// with an echo reply (routed back into the same interface).
import type { PacketBatchView, TunPort } from '../../src/datapath/tun/ports.js';
import { internetChecksum, parseIcmpEcho, ICMP_ECHO_REQUEST } from '../../bench/loadgen/icmp.js';

function u32(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

export class EchoTun implements TunPort {
  configured: { mtu: number; local: string; peer: string; up: boolean } | undefined;
  closed = false;
  received = 0;
  answered = 0;
  private cb: ((b: PacketBatchView) => void) | undefined;
  private replies: Uint8Array[] = [];

  constructor(readonly name: string, private readonly host: EchoTunHost) {}

  configure(o: { mtu: number; local: string; peer: string; up: boolean }): void {
    this.configured = { ...o };
  }

  onPackets(cb: (b: PacketBatchView) => void): void {
    this.cb = cb;
  }

  write(pkt: Uint8Array): boolean {
    if (this.closed) return false;
    this.received++;
    const e = parseIcmpEcho(pkt);
    if (e && e.type === ICMP_ECHO_REQUEST && this.configured && e.dst === u32(this.configured.local)) {
      const r = Uint8Array.from(pkt);
      const ihl = (r[0]! & 0x0f) * 4;
      r.set(pkt.subarray(16, 20), 12); // swap addresses
      r.set(pkt.subarray(12, 16), 16);
      r[ihl] = 0; // echo reply
      r[ihl + 2] = 0;
      r[ihl + 3] = 0;
      const total = (r[2]! << 8) | r[3]!;
      const sum = internetChecksum(r, ihl, total - ihl);
      r[ihl + 2] = sum >>> 8;
      r[ihl + 3] = sum & 0xff;
      this.replies.push(r);
    }
    return true;
  }

  flush(): void {
    if (this.replies.length === 0) return;
    const rs = this.replies;
    this.replies = [];
    setImmediate(() => {
      if (this.closed) return;
      for (const r of rs) {
        this.answered++;
        this.cb?.({ count: 1, data: r, offsets: Uint32Array.of(0), lengths: Uint32Array.of(r.length) });
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.open.delete(this.name);
  }
}

export class EchoTunHost {
  readonly open = new Map<string, EchoTun>();
  opened = 0;

  opener = (taken: Set<string>): EchoTun => {
    for (let n = 0; ; n++) {
      const name = `ppp${n}`;
      if (taken.has(name) || this.open.has(name)) continue;
      const t = new EchoTun(name, this);
      this.open.set(name, t);
      this.opened++;
      return t;
    }
  };
}
