// Server-wide allocator of our PPTP call ids (1..65535).
//
// The kernel PPTP module and our GRE demultiplexer key calls by our call id,
// so an id must be unique across every control connection of the process. A
// just-released id is not handed out again until every other free id has
// been: late GRE packets of a dead call then cannot land in a new one. A FIFO
// ring of free ids gives that order with O(1) allocate and release.

const MAX_ID = 0xffff;

export class CallIdAllocator {
  /** Free ids in the order they will be handed out. */
  private readonly ring = new Uint16Array(MAX_ID);
  private head = 0;
  private free = MAX_ID;
  private readonly used = new Uint8Array(MAX_ID + 1);
  private count = 0;

  /** @param first the first id handed out (ids then rotate upwards from it). */
  constructor(first = 1) {
    const start = Number.isInteger(first) && first >= 1 && first <= MAX_ID ? first : 1;
    for (let i = 0; i < MAX_ID; i++) this.ring[i] = ((start - 1 + i) % MAX_ID) + 1;
  }

  /** A free id, or undefined when all 65535 are in use. */
  allocate(): number | undefined {
    if (this.free === 0) return undefined;
    const id = this.ring[this.head]!;
    this.head = (this.head + 1) % MAX_ID;
    this.free--;
    this.used[id] = 1;
    this.count++;
    return id;
  }

  /** Returns an id to the pool; false if it was not allocated. */
  release(id: number): boolean {
    if (!this.inUse(id)) return false;
    this.used[id] = 0;
    this.count--;
    this.ring[(this.head + this.free) % MAX_ID] = id;
    this.free++;
    return true;
  }

  inUse(id: number): boolean {
    return Number.isInteger(id) && id >= 1 && id <= MAX_ID && this.used[id] === 1;
  }

  /** Number of ids in use. */
  get size(): number {
    return this.count;
  }
}
