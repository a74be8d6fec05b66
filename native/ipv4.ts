// IPv4 addresses as host-order uint32 (1.2.3.4 → 0x01020304), the form the
// addon's batch arrays use for sources and destinations.

/** Strict dotted quad → uint32; throws TypeError on anything else. */
export function ipv4ToUint32(s: string): number {
  const parts = typeof s === 'string' ? s.split('.') : [];
  if (parts.length !== 4) throw new TypeError(`not an IPv4 address: ${String(s)}`);
  let n = 0;
  for (const p of parts) {
    // Digits only, no leading zeros (which some parsers read as octal).
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) throw new TypeError(`not an IPv4 address: ${s}`);
    const v = Number(p);
    if (v > 255) throw new TypeError(`not an IPv4 address: ${s}`);
    n = n * 256 + v;
  }
  return n >>> 0;
}

/** uint32 → dotted quad; throws TypeError unless 0 ≤ n ≤ 2^32-1 integer. */
export function uint32ToIpv4(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new TypeError(`not a uint32: ${n}`);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
