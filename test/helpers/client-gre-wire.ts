// An in-memory "network" between the load generator's GRE port and the
// server's TUN datapath raw port: each send() becomes an IPv4/GRE packet from
// the sender's address, delivered to the other end in a batch on a later
// macrotask (as a raw socket would), so the two engines never re-enter.
import type { PacketBatchView, RawGrePort } from '../../src/datapath/tun/ports.js';

function ipv4Header(out: Uint8Array, src: number, dst: number, total: number): void {
  out[0] = 0x45; out[1] = 0;
  out[2] = total >>> 8; out[3] = total & 0xff;
  out[4] = 0; out[5] = 0; out[6] = 0x40; out[7] = 0;
  out[8] = 64; out[9] = 47; out[10] = 0; out[11] = 0; // checksum: not checked by the receivers
  out[12] = src >>> 24; out[13] = (src >>> 16) & 0xff; out[14] = (src >>> 8) & 0xff; out[15] = src & 0xff;
  out[16] = dst >>> 24; out[17] = (dst >>> 16) & 0xff; out[18] = (dst >>> 8) & 0xff; out[19] = dst & 0xff;
}

class WireEnd implements RawGrePort {
  cb: ((b: PacketBatchView) => void) | undefined;
  peer!: WireEnd;
  closed = false;
  sent = 0;
  /** Drop every packet this end sends while true (GRE blocked). */
  blackhole = false;
  private queue: Uint8Array[] = [];
  private scheduled = false;

  constructor(readonly addr: number) {}

  onPackets(cb: (b: PacketBatchView) => void): void {
    this.cb = cb;
  }

  send(dst: number, pkt: Uint8Array): boolean {
    if (this.closed || this.blackhole) return false;
    const p = new Uint8Array(20 + pkt.length);
    ipv4Header(p, this.addr, dst, p.length);
    p.set(pkt, 20);
    this.sent++;
    this.peer.enqueue(p);
    return true;
  }

  flush(): void {}

  close(): void {
    this.closed = true;
  }

  private enqueue(p: Uint8Array): void {
    if (this.closed) return;
    this.queue.push(p);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const pkts = this.queue;
      this.queue = [];
      // In batches of 64, packed into one arena, like the native poller.
      for (let i = 0; i < pkts.length && !this.closed; i += 64) {
        const part = pkts.slice(i, i + 64);
        const total = part.reduce((n, x) => n + x.length, 0);
        const data = new Uint8Array(total);
        const offsets = new Uint32Array(part.length);
        const lengths = new Uint32Array(part.length);
        let off = 0;
        part.forEach((x, j) => {
          data.set(x, off);
          offsets[j] = off;
          lengths[j] = x.length;
          off += x.length;
        });
        this.cb?.({ count: part.length, data, offsets, lengths });
        data.fill(0xee); // a consumer that kept a view would see junk
      }
    });
  }
}

export class GreWire {
  readonly server: WireEnd;
  readonly client: WireEnd;

  /** Addresses as host-order uint32 (what the other side sees as source). */
  constructor(serverAddr: number, clientAddr: number) {
    this.server = new WireEnd(serverAddr);
    this.client = new WireEnd(clientAddr);
    this.server.peer = this.client;
    this.client.peer = this.server;
  }
}
