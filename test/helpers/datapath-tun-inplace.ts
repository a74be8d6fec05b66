// A fake TUN host whose interfaces write in place like the addon's
// TunDevice: one shared real TxQueue (native/batch.ts, pure JS) for every
// interface; a flush of any interface writes the whole queue, recorded as
// { ifname, hex } so tests see exactly what reached "the kernel".
import { TxQueue } from '../../native/batch.js';
import { FakeTun } from './session-ports.js';

export interface Written {
  ifname: string;
  hex: string;
}

export class InPlaceTunHost {
  readonly open = new Map<string, InPlaceTun>();
  readonly written: Written[] = [];
  /** Flushes that wrote something (native calls). */
  writes = 0;
  private readonly names = new Map<number, string>();
  private readonly record = (q: TxQueue<Int32Array<ArrayBuffer>>): void => {
    if (q.count > 0) this.writes++;
    for (let i = 0; i < q.count; i++) {
      const off = q.offsets[i]!;
      this.written.push({ ifname: this.names.get(q.targets[i]!) ?? '?', hex: Buffer.from(q.data.subarray(off, off + q.lengths[i]!)).toString('hex') });
    }
    q.clear();
  };
  readonly queue = new TxQueue(new Int32Array(64), this.record);

  opener = (): InPlaceTun => {
    let n = 0;
    while (this.open.has(`ppp${n}`)) n++;
    const t = new InPlaceTun(`ppp${n}`, n + 100, this, (x) => this.open.delete(x.name));
    this.names.set(n + 100, t.name);
    this.open.set(t.name, t);
    return t;
  };

  flush(): void {
    this.record(this.queue);
  }
}

export class InPlaceTun extends FakeTun {
  begins = 0;
  constructor(name: string, readonly fd: number, private readonly host: InPlaceTunHost, onClose: (t: FakeTun) => void) {
    super(name, onClose);
  }

  get writeBuffer(): Uint8Array {
    return this.host.queue.data;
  }

  beginWrite(max: number): number {
    this.begins++;
    return this.closed ? -1 : this.host.queue.begin(max);
  }

  commitWrite(start: number, skip: number, len: number): boolean {
    return !this.closed && this.host.queue.commit(this.fd, start, skip, len);
  }

  override flush(): void {
    super.flush();
    this.host.flush();
  }
}
