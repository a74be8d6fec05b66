// Dotted IPv4 → host-order uint32 (10.0.0.1 → 0x0a000001), the form GRE
// demux and the raw socket use. undefined for anything that is not plain
// IPv4 (an IPv6 control connection cannot carry GRE on this datapath).
export function parseIpv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.startsWith('::ffff:') ? s.slice(7) : s);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) return undefined;
    n = n * 256 + o;
  }
  return n;
}
