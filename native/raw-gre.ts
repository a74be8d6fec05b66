// Raw IP-protocol-47 socket for the userspace GRE engine: batched receive
// (packets include the IPv4 header) and batched send (the kernel adds it).
import { loadNative, type PollerHandle } from './index.js';
import { pollBatches, TxQueue, type PacketBatch } from './batch.js';

export type { PacketBatch } from './batch.js';
export { ipv4ToUint32, uint32ToIpv4 } from './ipv4.js';

export const IPPROTO_GRE = 47;

export class RawGreSocket {
  /** Packets handed to the kernel. */
  txPackets = 0;
  /** Packets not sent: socket buffer full (EAGAIN/ENOBUFS) or a send error. */
  txDropped = 0;
  /** Send errors other than a full buffer (each also counted in txDropped). */
  txErrors = 0;
  /** Receive errors reported by the poller. */
  rxErrors = 0;
  lastError: Error | undefined;

  private poller: PollerHandle | undefined;
  private closed = false;
  private readonly queue: TxQueue<Uint32Array<ArrayBuffer>>;

  private constructor(readonly fd: number) {
    this.queue = new TxQueue(new Uint32Array(64), (q) => this.sendQueued(q));
  }

  /** socket(AF_INET, SOCK_RAW, 47), bound to `bindAddress` when given. */
  static open(bindAddress?: string): RawGreSocket {
    return new RawGreSocket(loadNative().rawOpen(IPPROTO_GRE, bindAddress));
  }

  /**
   * Starts polling; `cb` gets each batch (IPv4 header included, sources
   * set). `onError` gets receive errors; the socket keeps polling unless the
   * error means the fd is dead.
   */
  onPackets(cb: (batch: PacketBatch) => void, onError?: (err: Error) => void): void {
    if (this.closed) throw new Error('RawGreSocket is closed');
    if (this.poller) throw new Error('RawGreSocket is already polling');
    this.poller = pollBatches(this.fd, 'raw', this, cb, onError);
  }

  /** The send arena; with reserve(), callers may build packets in place. */
  get txData(): Uint8Array {
    return this.queue.data;
  }

  /**
   * Reserves `len` bytes of the send arena for a GRE packet to `dst` and
   * returns the offset to write it at, or -1 (closed, or len out of 1..2048).
   * The packet goes out at the next flush.
   */
  reserve(dst: number, len: number): number {
    if (this.closed || dst === 0) return -1;
    return this.queue.reserve(dst >>> 0, len);
  }

  /** Queues a copy of `pkt` (a GRE packet, no IPv4 header) to `dst`. */
  send(dst: number, pkt: Uint8Array): boolean {
    if (this.closed || dst === 0) return false;
    return this.queue.push(dst >>> 0, pkt);
  }

  /** Sends everything queued now. */
  flush(): void {
    this.sendQueued(this.queue);
  }

  private sendQueued(q: TxQueue<Uint32Array<ArrayBuffer>>): void {
    const total = q.count;
    if (total === 0 || this.closed) {
      q.clear();
      return;
    }
    const native = loadNative();
    let start = 0;
    while (start < total) {
      let n: number;
      try {
        n =
          start === 0
            ? native.sendBatch(this.fd, q.data, q.offsets, q.lengths, q.targets, total)
            : native.sendBatch(this.fd, q.data, q.offsets.subarray(start), q.lengths.subarray(start),
                q.targets.subarray(start), total - start);
      } catch (e) {
        // The packet at `start` failed on its own (unreachable, EMSGSIZE, …): drop it.
        this.txErrors++;
        this.txDropped++;
        this.lastError = e as Error;
        start++;
        continue;
      }
      this.txPackets += n;
      start += n;
      if (n === 0) {
        // Socket buffer full: datagram semantics, drop the rest.
        this.txDropped += total - start;
        break;
      }
    }
    q.clear();
  }

  /** Sends what is queued, stops polling and closes the socket. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    const native = loadNative();
    if (this.poller) native.pollerStop(this.poller);
    this.poller = undefined;
    native.closeFd(this.fd);
  }
}
