// A minimal PPTP client over a real TCP socket (loopback tests of the control
// server): sends encoded messages, queues decoded replies, awaits them.
import { connect, type Socket } from 'node:net';
import { decode, encode } from '../../src/protocol/pptp/codec.js';
import { PptpFramer } from '../../src/protocol/pptp/framer.js';
import type { PptpMessage, PptpMessageOf } from '../../src/protocol/pptp/messages.js';

export class TcpPptpClient {
  readonly received: PptpMessage[] = [];
  ended = false;
  closed = false;
  private readonly framer = new PptpFramer();
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.framer.push(d, (m) => this.received.push(decode(m)));
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static open(port: number, host = '127.0.0.1'): Promise<TcpPptpClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host }, () => {
        s.off('error', reject);
        resolve(new TcpPptpClient(s));
      });
      s.once('error', reject);
    });
  }

  send(...msgs: PptpMessage[]): void {
    this.socket.write(Buffer.concat(msgs.map((m) => encode(m))));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async until(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** The next received message of this type (earlier ones of other types are skipped). */
  async next<T extends PptpMessage['type']>(type: T, timeoutMs = 2000): Promise<PptpMessageOf<T>> {
    let found: PptpMessage | undefined;
    await this.until(
      () => {
        const i = this.received.findIndex((m) => m.type === type);
        if (i < 0) return false;
        found = this.received.splice(0, i + 1)[i];
        return true;
      },
      type,
      timeoutMs,
    );
    return found as PptpMessageOf<T>;
  }

  /** Resolves when the server has closed the connection. */
  async closedByServer(timeoutMs = 2000): Promise<void> {
    await this.until(() => this.ended || this.closed, 'the server to close', timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
