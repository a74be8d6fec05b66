// Commented hex for byte-exact fixtures: `#` starts a comment to end of line,
// whitespace is ignored, everything else must be hex digit pairs.

export function hex(text: string): Buffer {
  const digits = text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('')
    .replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`bad fixture hex: ${digits}`);
  return Buffer.from(digits, 'hex');
}

/** Hex of a latin1 string NUL-padded to a fixed field size (for fixture templates). */
export function text(s: string, size: number): string {
  const b = Buffer.alloc(size);
  b.write(s, 0, size, 'latin1');
  return b.toString('hex');
}

/** Hex of n zero bytes. */
export function zeros(n: number): string {
  return '00'.repeat(n);
}
