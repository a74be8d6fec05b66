import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEAD_PROCESS,
  encodeUtmp,
  ipv4Bytes,
  USER_PROCESS,
  UTMP_RECORD_SIZE,
} from '../../src/session/wtmp-record.js';
import { hex } from '../helpers/pptp-hex.js';

// logwtmp("ppp0", "alice", "203.0.113.5") at 2023-11-14T22:13:20.123Z by pid 12345,
// as glibc x86_64 lays out struct utmp (plus ut_addr_v6 = the client's IPv4).
const LOGIN_FIXTURE = hex(`
  07 00 00 00                     # 0   ut_type USER_PROCESS (int16) + 2 pad
  39 30 00 00                     # 4   ut_pid 12345
  70 70 70 30 00 00 00 00         # 8   ut_line[32] "ppp0"
  00 00 00 00 00 00 00 00
  00 00 00 00 00 00 00 00
  00 00 00 00 00 00 00 00
  00 00 00 00                     # 40  ut_id[4]: zero, as glibc logwtmp leaves it
  61 6c 69 63 65 00 00 00         # 44  ut_user[32] "alice"
  00 00 00 00 00 00 00 00
  00 00 00 00 00 00 00 00
  00 00 00 00 00 00 00 00
  32 30 33 2e 30 2e 31 31         # 76  ut_host[256] "203.0.113.5"
  33 2e 35 00 00 00 00 00
  ${'00 '.repeat(256 - 16)}
  00 00 00 00                     # 332 ut_exit {termination, exit}
  00 00 00 00                     # 336 ut_session
  00 f1 53 65                     # 340 ut_tv.tv_sec  1700000000 (0x6553f100)
  78 e0 01 00                     # 344 ut_tv.tv_usec 123000 (0x0001e078)
  cb 00 71 05                     # 348 ut_addr_v6[0] 203.0.113.5, network order
  00 00 00 00 00 00 00 00 00 00 00 00  #   ut_addr_v6[1..3]
  ${'00 '.repeat(20)}             # 364 __glibc_reserved[20]
`);

const LOGIN = {
  type: USER_PROCESS,
  pid: 12345,
  line: 'ppp0',
  user: 'alice',
  host: '203.0.113.5',
  timeMs: 1_700_000_000_123,
  addr: '203.0.113.5',
};

test('wtmp record: login encodes byte-exact to the glibc struct utmp fixture', () => {
  assert.equal(LOGIN_FIXTURE.length, UTMP_RECORD_SIZE);
  const rec = encodeUtmp(LOGIN);
  assert.equal(rec.length, 384);
  assert.deepEqual(Buffer.from(rec), LOGIN_FIXTURE);
});

test('wtmp record: logout (DEAD_PROCESS, empty user/host, no addr) touches only type, pid, line, time', () => {
  const rec = Buffer.from(encodeUtmp({ type: DEAD_PROCESS, pid: 12345, line: 'ppp0', user: '', host: '', timeMs: 1_700_000_060_000 }));
  const want = Buffer.alloc(384);
  want.writeInt16LE(8, 0);
  want.writeInt32LE(12345, 4);
  want.write('ppp0', 8, 'latin1');
  want.writeUInt32LE(1_700_000_060, 340);
  want.writeInt32LE(0, 344);
  assert.deepEqual(rec, want);
});

test('wtmp record: strings are cut to the field like strncpy (no NUL when full), never overflow', () => {
  const rec = Buffer.from(encodeUtmp({ ...LOGIN, line: 'L'.repeat(40), user: 'U'.repeat(33), host: 'H'.repeat(300) }));
  assert.equal(rec.length, 384);
  assert.equal(rec.subarray(8, 40).toString('latin1'), 'L'.repeat(32));
  assert.deepEqual([...rec.subarray(40, 44)], [0, 0, 0, 0]); // ut_id not overrun
  assert.equal(rec.subarray(44, 76).toString('latin1'), 'U'.repeat(32));
  assert.equal(rec.subarray(76, 332).toString('latin1'), 'H'.repeat(256));
  assert.deepEqual([...rec.subarray(332, 340)], [0, 0, 0, 0, 0, 0, 0, 0]); // ut_exit/ut_session untouched
});

test('wtmp record: a cut never splits a UTF-8 character', () => {
  // 31 ASCII bytes + 'é' (2 bytes) = 33: the 'é' does not fit whole and is left out.
  const rec = Buffer.from(encodeUtmp({ ...LOGIN, user: `${'a'.repeat(31)}é` }));
  assert.equal(rec.subarray(44, 76).toString('utf8'), `${'a'.repeat(31)}\0`);
  // 30 ASCII + 'é' = 32 bytes: fits exactly.
  const fit = Buffer.from(encodeUtmp({ ...LOGIN, user: `${'a'.repeat(30)}é` }));
  assert.equal(fit.subarray(44, 76).toString('utf8'), `${'a'.repeat(30)}é`);
});

test('wtmp record: encodes into a caller buffer at an offset and clears stale bytes', () => {
  const buf = new Uint8Array(384 * 2).fill(0xee);
  const rec = encodeUtmp(LOGIN, buf, 384);
  assert.deepEqual(Buffer.from(rec), LOGIN_FIXTURE);
  assert.ok(buf.subarray(0, 384).every((b) => b === 0xee));
  assert.throws(() => encodeUtmp(LOGIN, new Uint8Array(383)), RangeError);
  assert.throws(() => encodeUtmp(LOGIN, buf, 385), RangeError);
});

test('wtmp record: addr accepts only a dotted IPv4; anything else leaves ut_addr_v6 zero', () => {
  assert.deepEqual(ipv4Bytes('10.0.0.255'), Uint8Array.of(10, 0, 0, 255));
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1.2.3.x', '::1', ' 1.2.3.4']) {
    assert.equal(ipv4Bytes(bad), undefined, bad);
    const rec = Buffer.from(encodeUtmp({ ...LOGIN, addr: bad }));
    assert.deepEqual([...rec.subarray(348, 364)], new Array(16).fill(0), bad);
  }
});

/** One utmpdump line: [type] [pid] [id] [user] [line] [host] [addr] [time]. */
function parseUtmpdump(out: string): string[][] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('['))
    .map((l) => [...l.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]!.trim()))
    .map((f) => (f.length > 1 ? [f[0]!, String(Number(f[1])), ...f.slice(2)] : f)); // pid is zero-padded
}

test('wtmp record: the real utmpdump reads our login and logout records', (t) => {
  const bin = '/usr/bin/utmpdump';
  if (!existsSync(bin)) {
    t.skip('utmpdump not installed (util-linux): cannot cross-check the record layout');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'wtmp-record-'));
  try {
    const file = join(dir, 'wtmp');
    const login = encodeUtmp({ type: USER_PROCESS, pid: 4242, line: 'ppp0', user: 'bob', host: '198.51.100.7', addr: '198.51.100.7', timeMs: 1_700_000_000_500 });
    const logout = encodeUtmp({ type: DEAD_PROCESS, pid: 4242, line: 'ppp0', user: '', host: '', timeMs: 1_700_003_600_000 });
    writeFileSync(file, Buffer.concat([login, logout]));
    const r = spawnSync(bin, [file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' } });
    assert.equal(r.status, 0, r.stderr);
    const rows = parseUtmpdump(r.stdout);
    assert.equal(rows.length, 2, r.stdout);
    assert.deepEqual(rows[0], ['7', '4242', '', 'bob', 'ppp0', '198.51.100.7', '198.51.100.7', '2023-11-14T22:13:20,500000+00:00']);
    assert.deepEqual(rows[1], ['8', '4242', '', '', 'ppp0', '', '0.0.0.0', '2023-11-14T23:13:20,000000+00:00']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
