// poptop's localip/remoteip syntax (pptpd.c processIPStr):
//   item[,item...]   no spaces anywhere
//   item = a.b.c.d          one address
//        | a.b.c.L-U        a dash in the last octet: L..U
//        | a.L-U.c.d        a dash in ONE earlier octet: that octet runs L..U,
//                           the others stay fixed (192.168.0-255.2 = 256 addresses)
// poptop allows exactly one dash per item ("multiple hyphens" is an error there
// too) and resolves hostnames; we reject hostnames because config parsing does
// no I/O. Order is kept: poptop hands addresses out in list order.
import { ConfigError } from '../util/errors.js';
import { parseIPv4, parseOctet } from './ipv4.js';

/** Upper bound on addresses one range list may expand to (memory bound). */
export const MAX_RANGE_ADDRESSES = 262_144;

/**
 * Expands a range specification to uint32 addresses in list order.
 * Throws ConfigError(file, line, problem) on the first malformed item.
 */
export function parseRanges(spec: string, file: string, line: number, what = 'address range'): number[] {
  if (spec.length === 0) throw new ConfigError(file, line, `${what}: empty`);
  if (/\s/.test(spec)) throw new ConfigError(file, line, `${what} "${spec}": no spaces are allowed inside a range list`);
  const out: number[] = [];
  const items = spec.split(',');
  // Sizes are checked before expanding so a hostile range cannot allocate.
  let total = 0;
  const parsed: { octets: number[]; dash: number; lo: number; hi: number }[] = [];
  for (const item of items) {
    const p = parseItem(item, file, line, what);
    total += p.hi - p.lo + 1;
    if (total > MAX_RANGE_ADDRESSES) {
      throw new ConfigError(file, line, `${what} "${spec}": more than ${MAX_RANGE_ADDRESSES} addresses`);
    }
    parsed.push(p);
  }
  for (const p of parsed) {
    const shift = 8 * (3 - p.dash);
    const base = p.octets.reduce((n, o, i) => (i === p.dash ? n * 256 : n * 256 + o), 0);
    for (let v = p.lo; v <= p.hi; v++) out.push(base + v * 2 ** shift);
  }
  return out;
}

function parseItem(item: string, file: string, line: number, what: string) {
  if (item === '') throw new ConfigError(file, line, `${what}: empty item (stray comma)`);
  const dashes = item.split('-').length - 1;
  if (dashes === 0) {
    const a = parseIPv4(item);
    if (a === undefined) {
      const parts = item.split('.');
      const bad = parts.length === 4 && !/[a-zA-Z]/.test(item) ? parts.find((p) => parseOctet(p) === undefined) : undefined;
      throw new ConfigError(file, line, bad !== undefined ? `${what} "${item}": ${octetProblem(bad)}` : badAddress(item, what));
    }
    return { octets: [(a >>> 24) & 255, (a >>> 16) & 255, (a >>> 8) & 255, a & 255], dash: 3, lo: a & 255, hi: a & 255 };
  }
  if (dashes > 1) throw new ConfigError(file, line, `${what} "${item}": only one dash per item is allowed (poptop)`);
  const parts = item.split('.');
  if (parts.length !== 4) throw new ConfigError(file, line, badAddress(item, what));
  const octets = [0, 0, 0, 0];
  let dash = -1, lo = 0, hi = 0;
  for (let i = 0; i < 4; i++) {
    const part = parts[i];
    if (part.includes('-')) {
      const [l, u] = part.split('-');
      const lv = parseOctet(l), uv = parseOctet(u);
      if (lv === undefined || uv === undefined) {
        throw new ConfigError(file, line, `${what} "${item}": ${octetProblem(lv === undefined ? l : u)}`);
      }
      if (uv < lv) throw new ConfigError(file, line, `${what} "${item}": reversed range ${lv}-${uv}`);
      dash = i; lo = lv; hi = uv;
    } else {
      const v = parseOctet(part);
      if (v === undefined) throw new ConfigError(file, line, `${what} "${item}": ${octetProblem(part)}`);
      octets[i] = v;
    }
  }
  return { octets, dash, lo, hi };
}

function octetProblem(p: string): string {
  if (/^[0-9]+$/.test(p)) return Number(p) > 255 ? `octet ${p} is greater than 255` : `octet "${p}" has a leading zero`;
  return p === '' ? 'empty octet' : `octet "${p}" is not a number 0-255`;
}

function badAddress(item: string, what: string): string {
  return /[a-zA-Z]/.test(item)
    ? `${what} "${item}": not an IPv4 address (host names are not resolved in range lists)`
    : `${what} "${item}": not an IPv4 address`;
}
