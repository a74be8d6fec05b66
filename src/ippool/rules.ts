// chap-secrets address rules compiled for fast checks (pool scans call this
// once per candidate address). pppd semantics: the first rule that matches
// decides; no match = refused. An empty rule list means "no restriction"
// (a back-end without an address column, see auth/types.ts).
import type { AddressRule } from '../auth/types.js';
import { parseIPv4, prefixMask } from '../config/ipv4.js';

export interface CompiledRules {
  /** Triples base, mask, permit(1|0), flattened. */
  readonly table: Uint32Array;
  readonly unrestricted: boolean;
}

export const UNRESTRICTED: CompiledRules = { table: new Uint32Array(0), unrestricted: true };

export function compileRules(rules: readonly AddressRule[] | undefined): CompiledRules {
  if (!rules || rules.length === 0) return UNRESTRICTED;
  const t: number[] = [];
  for (const r of rules) {
    switch (r.kind) {
      case 'any': t.push(0, 0, 1); break;
      case 'none': t.push(0, 0, 0); break;
      case 'address': {
        const a = parseIPv4(r.address);
        if (a !== undefined) t.push(a, 0xffffffff, r.negate ? 0 : 1);
        break;
      }
      case 'subnet': {
        const a = parseIPv4(r.address);
        const m = prefixMask(r.prefix);
        if (a !== undefined) t.push((a & m) >>> 0, m, r.negate ? 0 : 1);
        break;
      }
    }
  }
  return { table: Uint32Array.from(t), unrestricted: false };
}

/** True when the rules let the peer use `addr` (uint32). */
export function ruleAllows(c: CompiledRules, addr: number): boolean {
  if (c.unrestricted) return true;
  const t = c.table;
  for (let i = 0; i < t.length; i += 3) {
    if (((addr & t[i + 1]) >>> 0) === t[i]) return t[i + 2] === 1;
  }
  return false;
}

/** Convenience for callers holding string addresses. */
export function addressAllowed(rules: readonly AddressRule[] | undefined, addr: string): boolean {
  const a = parseIPv4(addr);
  return a !== undefined && ruleAllows(compileRules(rules), a);
}
