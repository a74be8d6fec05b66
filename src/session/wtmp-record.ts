// One glibc `struct utmp` record as /var/log/wtmp holds it on x86_64 and
// aarch64 (Linux, glibc ≥ 2.x with __WORDSIZE_TIME64_COMPAT32: 32-bit time
// fields), so `last` and `utmpdump` read what poptop's pptpd-logwtmp plugin
// wrote through glibc logwtmp(). Pure: bytes in, bytes out.
//
// Layout (384 bytes, little-endian):
//   0 ut_type int16 (+2 pad) | 4 ut_pid int32 | 8 ut_line[32] | 40 ut_id[4]
//   44 ut_user[32] | 76 ut_host[256] | 332 ut_exit {int16 termination, int16 exit}
//   336 ut_session int32 | 340 ut_tv {int32 sec, int32 usec}
//   348 ut_addr_v6 int32[4] | 364 __glibc_reserved[20]

export const UTMP_RECORD_SIZE = 384;

/** ut_type values glibc logwtmp() writes. */
export const USER_PROCESS = 7;
export const DEAD_PROCESS = 8;

export const UT_LINESIZE = 32;
export const UT_NAMESIZE = 32;
export const UT_HOSTSIZE = 256;

const OFF_TYPE = 0;
const OFF_PID = 4;
const OFF_LINE = 8;
const OFF_USER = 44;
const OFF_HOST = 76;
const OFF_TV_SEC = 340;
const OFF_TV_USEC = 344;
const OFF_ADDR = 348;

export interface UtmpEntry {
  type: number;
  pid: number;
  /** ut_line: the interface name (pptpd-logwtmp passes ifname). */
  line: string;
  user: string;
  host: string;
  /** Wall-clock time, ms since the epoch. */
  timeMs: number;
  /** Dotted IPv4 for ut_addr_v6[0]; anything else leaves the field zero. */
  addr?: string;
}

const utf8 = new TextEncoder();

/**
 * strncpy semantics: at most `size` bytes, NUL-padded, not NUL-terminated
 * when full. Cut at a UTF-8 character boundary so a reader never sees half
 * a character.
 */
function putString(out: Uint8Array, off: number, size: number, s: string): void {
  const bytes = utf8.encode(s);
  let n = Math.min(bytes.length, size);
  // Step back over continuation bytes (10xxxxxx) when the cut falls inside a character.
  if (n < bytes.length) while (n > 0 && (bytes[n]! & 0xc0) === 0x80) n--;
  out.set(bytes.subarray(0, n), off);
}

/** Dotted quad → its 4 bytes in network order, or undefined when not one. */
export function ipv4Bytes(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

/** Encodes one record into `out` at `offset` (must hold 384 bytes); zeroes the rest of the record. */
export function encodeUtmp(e: UtmpEntry, out: Uint8Array = new Uint8Array(UTMP_RECORD_SIZE), offset = 0): Uint8Array {
  if (offset < 0 || out.length - offset < UTMP_RECORD_SIZE) throw new RangeError('utmp record does not fit the buffer');
  const rec = out.subarray(offset, offset + UTMP_RECORD_SIZE);
  rec.fill(0);
  const v = new DataView(rec.buffer, rec.byteOffset, UTMP_RECORD_SIZE);
  v.setInt16(OFF_TYPE, e.type, true);
  v.setInt32(OFF_PID, e.pid | 0, true);
  putString(rec, OFF_LINE, UT_LINESIZE, e.line);
  // ut_id stays zero: glibc logwtmp() never sets it.
  putString(rec, OFF_USER, UT_NAMESIZE, e.user);
  putString(rec, OFF_HOST, UT_HOSTSIZE, e.host);
  const ms = Math.max(0, Math.floor(e.timeMs));
  const sec = Math.floor(ms / 1000);
  // 32-bit seconds as glibc stores them (wraps in 2106 as an unsigned reader sees it).
  v.setUint32(OFF_TV_SEC, sec >>> 0, true);
  v.setInt32(OFF_TV_USEC, (ms - sec * 1000) * 1000, true);
  // ut_addr_v6[0] holds the IPv4 address as an in_addr: its bytes in network order.
  const a = e.addr !== undefined ? ipv4Bytes(e.addr) : undefined;
  if (a) rec.set(a, OFF_ADDR);
  return rec;
}
