// The wtmp writer against a real temporary file: records appended in order,
// one whole record each, the file never created, errors logged once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WTMP_FILE_ENV, WTMP_PATH, WtmpWriter, wtmpPath } from '../../src/scripts/wtmp.js';
import { encodeUtmp } from '../../src/session/wtmp-record.js';
import { captureLog } from '../helpers/session-harness.js';

function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'wtmp-writer-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function fields(rec: Buffer) {
  const str = (a: number, b: number) => rec.subarray(a, b).toString('utf8').replace(/\0+$/, '');
  return {
    type: rec.readInt16LE(0),
    pid: rec.readInt32LE(4),
    line: str(8, 40),
    user: str(44, 76),
    host: str(76, 332),
    sec: rec.readUInt32LE(340),
    usec: rec.readInt32LE(344),
    addr: [...rec.subarray(348, 352)].join('.'),
  };
}

test('wtmp writer: login and logout appended in order after existing content, one 384-byte record each', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'wtmp');
    const old = encodeUtmp({ type: 2, pid: 1, line: '~', user: 'reboot', host: '6.1.0', timeMs: 1_600_000_000_000 });
    writeFileSync(path, old);
    let now = 1_700_000_000_250;
    const { log, lines } = captureLog();
    const w = new WtmpWriter({ log, path, pid: 4321, now: () => now });
    w.login('ppp0', 'alice', '203.0.113.7');
    now += 61_000;
    w.logout('ppp0');
    await w.flush();
    const data = readFileSync(path);
    assert.equal(data.length, 3 * 384);
    assert.deepEqual(data.subarray(0, 384), Buffer.from(old), 'existing records untouched');
    assert.deepEqual(fields(data.subarray(384, 768)), {
      type: 7, pid: 4321, line: 'ppp0', user: 'alice', host: '203.0.113.7', sec: 1_700_000_000, usec: 250_000, addr: '203.0.113.7',
    });
    assert.deepEqual(fields(data.subarray(768)), {
      type: 8, pid: 4321, line: 'ppp0', user: '', host: '', sec: 1_700_000_061, usec: 250_000, addr: '0.0.0.0',
    });
    assert.deepEqual(w.stats, { written: 2, dropped: 0 });
    assert.equal(lines.filter((l) => l.level >= 40).length, 0);
  } finally {
    t.remove();
  }
});

test('wtmp writer: logwtmp() follows glibc — empty name means DEAD_PROCESS', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'wtmp');
    writeFileSync(path, '');
    const w = new WtmpWriter({ log: captureLog().log, path, pid: 1, now: () => 0 });
    w.logwtmp('ppp3', '', '198.51.100.2');
    w.logwtmp('ppp3', 'bob', '');
    await w.flush();
    const data = readFileSync(path);
    assert.equal(fields(data.subarray(0, 384)).type, 8);
    assert.equal(fields(data.subarray(0, 384)).host, '198.51.100.2');
    assert.equal(fields(data.subarray(384)).type, 7);
  } finally {
    t.remove();
  }
});

test('wtmp writer: a missing file is never created; said once at warn; records are dropped, nothing thrown', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'wtmp');
    const { log, lines } = captureLog();
    const w = new WtmpWriter({ log, path });
    w.login('ppp0', 'alice', '203.0.113.7');
    await w.flush();
    w.logout('ppp0');
    w.login('ppp1', 'bob', '203.0.113.8');
    await w.flush();
    assert.equal(existsSync(path), false);
    assert.deepEqual(w.stats, { written: 0, dropped: 3 });
    const warns = lines.filter((l) => l.level >= 40);
    assert.equal(warns.length, 1);
    assert.equal(warns[0]!.level, 40);
    assert.match(warns[0]!.msg, /does not exist/);
    assert.equal(warns[0]!.component, 'wtmp');
    // Created later (e.g. by logrotate): records resume, no restart needed.
    writeFileSync(path, '');
    w.logout('ppp0');
    await w.flush();
    assert.equal(readFileSync(path).length, 384);
  } finally {
    t.remove();
  }
});

test('wtmp writer: many records queued at once land whole and in call order', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'wtmp');
    writeFileSync(path, '');
    const w = new WtmpWriter({ log: captureLog().log, path, pid: 7, now: () => 1_700_000_000_000 });
    for (let i = 0; i < 200; i++) {
      w.login(`ppp${i}`, `user${i}`, '10.0.0.1');
      if (i % 50 === 0) await new Promise((r) => setImmediate(r)); // some arrive while a batch is being written
    }
    await w.flush();
    const data = readFileSync(path);
    assert.equal(data.length, 200 * 384);
    for (let i = 0; i < 200; i++) assert.equal(fields(data.subarray(i * 384, (i + 1) * 384)).line, `ppp${i}`);
  } finally {
    t.remove();
  }
});

test('wtmp writer: a file ending in a partial record is cut back to a record boundary first', async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'wtmp');
    const whole = encodeUtmp({ type: 8, pid: 1, line: 'ppp9', user: '', host: '', timeMs: 0 });
    writeFileSync(path, Buffer.concat([whole, Buffer.alloc(100, 0xaa)]));
    const { log, lines } = captureLog();
    const w = new WtmpWriter({ log, path, pid: 2, now: () => 0 });
    w.logout('ppp0');
    await w.flush();
    const data = readFileSync(path);
    assert.equal(data.length, 768);
    assert.equal(fields(data.subarray(384)).line, 'ppp0');
    assert.equal(lines.filter((l) => /partial record/.test(l.msg)).length, 1);
  } finally {
    t.remove();
  }
});

test('wtmp writer: an unwritable path is logged once at error; a full queue drops records instead of growing', async () => {
  const t = tempDir();
  try {
    // A directory in place of the file: open(O_WRONLY) fails with EISDIR (for root too, unlike a chmod).
    const path = join(t.dir, 'wtmp');
    mkdirSync(path);
    const { log, lines } = captureLog();
    const w = new WtmpWriter({ log, path, maxPending: 3 });
    // The first record goes straight to the drain; the next 3 wait; 2 more do not fit.
    for (let i = 0; i < 6; i++) w.login('ppp0', 'alice', '203.0.113.7');
    await w.flush();
    w.logout('ppp0');
    await w.flush();
    assert.deepEqual(w.stats, { written: 0, dropped: 7 });
    assert.equal(lines.filter((l) => /too many waiting/.test(l.msg)).length, 1, 'queue bound hit, logged once');
    const errs = lines.filter((l) => l.level === 50 && /cannot write/.test(l.msg));
    assert.equal(errs.length, 1, 'EISDIR logged once');
    assert.equal(errs[0]!.path, path);
  } finally {
    t.remove();
  }
});

test('wtmp path: /var/log/wtmp unless the test hook variable names another file', () => {
  assert.equal(WTMP_PATH, '/var/log/wtmp');
  assert.equal(wtmpPath({}), '/var/log/wtmp');
  assert.equal(wtmpPath({ [WTMP_FILE_ENV]: '' }), '/var/log/wtmp');
  assert.equal(wtmpPath({ [WTMP_FILE_ENV]: '/tmp/x/wtmp' }), '/tmp/x/wtmp');
  assert.equal(WTMP_FILE_ENV, 'PPTPD_WTMP_FILE');
});
