// The address pool from pptpd.conf's (localip, remoteip) pairs.
// A bitmap (one bit per pair, 1 = in use) with a rotating cursor: allocation
// scans from where the last one stopped (next-fit), so a just-released address
// is not handed out again at once (stale ARP/conntrack entries), and a full
// word is skipped with one comparison — amortised O(1) without address rules.
// chap-secrets rules (allowed subnets, `!addr`) make the scan test each free
// candidate; that happens once per session set-up, never per packet.
// Addresses pinned by chap-secrets may lie outside the pool: they are not in
// the bitmap but kept in a Set so they are never given to two sessions.
import type { AddressRule } from '../auth/types.js';
import { formatIPv4, parseIPv4 } from '../config/ipv4.js';
import { compileRules, ruleAllows, type CompiledRules } from './rules.js';

export interface Lease {
  /** Pool index, or -1 for an address outside the pool. */
  readonly index: number;
  readonly local: string;
  readonly remote: string;
  readonly localInt: number;
  readonly remoteInt: number;
}

export class AddressPool {
  readonly size: number;
  private readonly local: Uint32Array;
  private readonly remote: Uint32Array;
  private readonly used: Uint32Array;
  private readonly indexOf = new Map<number, number>();
  private readonly outside = new Set<number>();
  private readonly outsideLocal: number;
  private cursor = 0;
  private count = 0;

  /**
   * local[i]/remote[i] are the two ends of pair i (the same local address may
   * repeat: a shared localip). `outsideLocal` is our end for pinned addresses
   * outside the pool (default: the first local address).
   */
  constructor(local: ArrayLike<number>, remote: ArrayLike<number>, outsideLocal?: number) {
    if (local.length !== remote.length) throw new RangeError('local and remote lists differ in length');
    this.size = remote.length;
    this.local = Uint32Array.from(local);
    this.remote = Uint32Array.from(remote);
    this.used = new Uint32Array((this.size + 31) >>> 5);
    for (let i = 0; i < this.size; i++) {
      if (this.indexOf.has(this.remote[i])) throw new RangeError(`remote address ${formatIPv4(this.remote[i])} is in the pool twice`);
      this.indexOf.set(this.remote[i], i);
    }
    this.outsideLocal = outsideLocal ?? (this.size > 0 ? this.local[0] : 0);
  }

  /** Sessions holding an address (pool and outside-pool pins). */
  get inUse(): number {
    return this.count + this.outside.size;
  }

  /** Free pool addresses. */
  get free(): number {
    return this.size - this.count;
  }

  /**
   * The next free pair whose remote address the rules allow; undefined when
   * none is left. `rules` empty/undefined = no restriction.
   */
  allocate(rules?: readonly AddressRule[] | CompiledRules): Lease | undefined {
    if (this.count >= this.size) return undefined;
    const c = isCompiled(rules) ? rules : compileRules(rules);
    const words = this.used.length;
    const startWord = this.cursor >>> 5;
    for (let step = 0; step <= words; step++) {
      const wi = (startWord + step) % words;
      let w = this.used[wi];
      if (w === 0xffffffff) continue;
      // On the first word start at the cursor's bit, so the scan really rotates.
      const bitFloor = step === 0 ? this.cursor & 31 : 0;
      while (w !== 0xffffffff) {
        const free = ~w & (w + 1); // lowest zero bit, as a single bit
        const bit = 31 - Math.clz32(free);
        w = (w | free) >>> 0; // visited (kept unsigned: 0xffffffff ends the loop)
        if (bit < bitFloor) continue;
        const i = (wi << 5) + bit;
        if (i >= this.size) break;
        if (!c.unrestricted && !ruleAllows(c, this.remote[i])) continue;
        this.mark(i);
        this.cursor = i + 1 >= this.size ? 0 : i + 1;
        return this.lease(i);
      }
    }
    // Bits of the first word below the cursor, skipped at step 0, were
    // revisited by the last step (step === words wraps to the same word).
    return undefined;
  }

  /**
   * Takes a specific remote address (a chap-secrets pin or the address the
   * client asked for). In the pool: only when free. Outside the pool: only when
   * no other session holds it. Rules, if given, must allow it.
   */
  take(remote: string | number, rules?: readonly AddressRule[] | CompiledRules): Lease | undefined {
    const a = typeof remote === 'number' ? remote >>> 0 : parseIPv4(remote);
    if (a === undefined) return undefined;
    if (rules !== undefined) {
      const c = isCompiled(rules) ? rules : compileRules(rules);
      if (!ruleAllows(c, a)) return undefined;
    }
    const i = this.indexOf.get(a);
    if (i !== undefined) {
      if (this.isUsed(i)) return undefined;
      this.mark(i);
      return this.lease(i);
    }
    if (this.outside.has(a)) return undefined;
    this.outside.add(a);
    return { index: -1, local: formatIPv4(this.outsideLocal), remote: formatIPv4(a), localInt: this.outsideLocal, remoteInt: a };
  }

  /** What a session gets for a secrets entry: its pinned address, else a pool address its rules allow. */
  allocateFor(entry: { addresses?: readonly AddressRule[]; pinnedAddress?: string }): Lease | undefined {
    if (entry.pinnedAddress !== undefined) return this.take(entry.pinnedAddress);
    return this.allocate(entry.addresses);
  }

  /** Gives an address back. False (and nothing changes) when it was not held. */
  release(lease: Lease | string | number): boolean {
    const a = typeof lease === 'object' ? lease.remoteInt : typeof lease === 'number' ? lease >>> 0 : parseIPv4(lease);
    if (a === undefined) return false;
    const i = this.indexOf.get(a);
    if (i === undefined) return this.outside.delete(a);
    if (!this.isUsed(i)) return false;
    this.used[i >>> 5] &= ~(1 << (i & 31));
    this.count--;
    return true;
  }

  /** True when no session holds this remote address (pool or not). */
  isFree(remote: string | number): boolean {
    const a = typeof remote === 'number' ? remote >>> 0 : parseIPv4(remote);
    if (a === undefined) return false;
    const i = this.indexOf.get(a);
    return i === undefined ? !this.outside.has(a) : !this.isUsed(i);
  }

  /** True when the address is one of the pool's remote addresses. */
  contains(remote: string | number): boolean {
    const a = typeof remote === 'number' ? remote >>> 0 : parseIPv4(remote);
    return a !== undefined && this.indexOf.has(a);
  }

  private isUsed(i: number): boolean {
    return (this.used[i >>> 5] & (1 << (i & 31))) !== 0;
  }

  private mark(i: number): void {
    this.used[i >>> 5] |= 1 << (i & 31);
    this.count++;
  }

  private lease(i: number): Lease {
    const l = this.local[i], r = this.remote[i];
    return { index: i, local: formatIPv4(l), remote: formatIPv4(r), localInt: l, remoteInt: r };
  }
}

function isCompiled(r: unknown): r is CompiledRules {
  return typeof r === 'object' && r !== null && 'table' in r && 'unrestricted' in r;
}
