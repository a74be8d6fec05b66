// Dotted-quad IPv4 addresses as uint32 numbers. Strict: four decimal octets,
// no leading zeros beyond "0" (inet_aton would read "010" as octal, which
// surprises everyone), no hostnames (config parsing does no I/O).

/** Parses "a.b.c.d" to a uint32, or undefined when it is not exactly that. */
export function parseIPv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    const o = parseOctet(p);
    if (o === undefined) return undefined;
    n = n * 256 + o;
  }
  return n;
}

/** One decimal octet 0..255, or undefined. */
export function parseOctet(p: string): number | undefined {
  if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
  const v = Number(p);
  return v <= 255 ? v : undefined;
}

export function formatIPv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Network mask for a prefix length 0..32, as uint32. */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** True when `addr` lies in base/prefix. */
export function inSubnet(addr: number, base: number, prefix: number): boolean {
  const m = prefixMask(prefix);
  return ((addr & m) >>> 0) === ((base & m) >>> 0);
}
