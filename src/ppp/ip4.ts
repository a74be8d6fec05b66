// Dotted-quad <-> 32-bit conversions for IPCP option values (no allocation of
// intermediate arrays; invalid text yields null, never throws).

export function parseIp4(s: string): number | null {
  let value = 0;
  let part = -1;
  let parts = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (part < 0 || parts === 4) return null;
      value = value * 256 + part;
      parts++;
      part = -1;
    } else if (c >= 48 && c <= 57) {
      part = part < 0 ? c - 48 : part * 10 + (c - 48);
      if (part > 255) return null;
    } else {
      return null;
    }
  }
  return parts === 4 ? value >>> 0 : null;
}

export function formatIp4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export function readU32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}
