// The uv_poll machinery without privileges: a FIFO opened read-write stands
// in for a TUN fd (kind 'tun' = read()/write() per packet), which exercises
// batching, the shared arena, stopping from inside a callback, EAGAIN on
// send, errno errors and exceptions thrown by callbacks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNative } from '../../native/index.js';

const native = loadNative();
const dir = mkdtempSync(join(tmpdir(), 'pptpd-poller-'));
let fifoN = 0;

function fifo(): number {
  const p = join(dir, `f${fifoN++}`);
  assert.equal(spawnSync('mkfifo', [p]).status, 0, 'mkfifo');
  // O_RDWR on a FIFO never blocks on Linux: one fd to write and to read.
  return openSync(p, constants.O_RDWR | constants.O_NONBLOCK);
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

test('a readable fd is drained in one batch, slot by slot, into the shared arena', async () => {
  const fd = fifo();
  const bytes = Buffer.alloc(5000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 255;
  writeSync(fd, bytes);
  const arena = native.rxArena();
  const calls: { count: number; lengths: number[]; offsets: number[]; data: Buffer }[] = [];
  await new Promise<void>((resolve) => {
    const h = native.pollerStart(fd, 'tun', (count, err) => {
      assert.equal(err, undefined);
      const lengths = [...arena.lengths.subarray(0, count)];
      const offsets = [...arena.offsets.subarray(0, count)];
      const data = Buffer.concat(offsets.map((o, i) => arena.data.subarray(o, o + lengths[i])));
      calls.push({ count, lengths, offsets, data });
      native.pollerStop(h);
      resolve();
    });
  });
  closeSync(fd);
  assert.equal(calls.length, 1, 'one callback for the whole burst');
  assert.equal(calls[0].count, 3);
  assert.deepEqual(calls[0].lengths, [2048, 2048, 904]);
  assert.deepEqual(calls[0].offsets, [0, 2048, 4096]);
  assert.ok(calls[0].data.equals(bytes));
});

test('pollerStop inside the callback ends delivery; a second stop is harmless', async () => {
  const fd = fifo();
  let calls = 0;
  const h = native.pollerStart(fd, 'tun', () => {
    calls++;
    native.pollerStop(h);
  });
  writeSync(fd, Buffer.from('first'));
  while (calls === 0) await nextTurn();
  writeSync(fd, Buffer.from('second'));
  for (let i = 0; i < 5; i++) await nextTurn();
  assert.equal(calls, 1);
  native.pollerStop(h);
  // The data is still there, unread: the fd was not polled any more.
  const buf = Buffer.alloc(16);
  assert.equal(readSync(fd, buf), 6);
  assert.equal(buf.subarray(0, 6).toString(), 'second');
  closeSync(fd);
});

test('sendBatch writes each packet and stops at EAGAIN with the count so far', () => {
  const fd = fifo();
  const arena = new Uint8Array(2048 * 3);
  arena.fill(1, 0, 100).fill(2, 2048, 2048 + 200).fill(3, 4096, 4096 + 300);
  const offsets = new Uint32Array([0, 2048, 4096]);
  const lengths = new Uint32Array([100, 200, 300]);
  const dests = new Uint32Array(3);
  assert.equal(native.sendBatch(fd, arena, offsets, lengths, dests, 3), 3);
  const out = Buffer.alloc(1000);
  assert.equal(readSync(fd, out), 600);
  assert.ok(out.subarray(0, 100).every((b) => b === 1));
  assert.ok(out.subarray(100, 300).every((b) => b === 2));
  assert.ok(out.subarray(300, 600).every((b) => b === 3));

  // A pipe holds 64 KiB: 64 packets of 2048 bytes cannot all go in.
  const big = new Uint8Array(2048);
  const n = 64;
  const o = new Uint32Array(n), l = new Uint32Array(n).fill(2048), d = new Uint32Array(n);
  const sent = native.sendBatch(fd, big, o, l, d, n);
  assert.ok(sent > 0 && sent < n, `sent ${sent} of ${n}`);
  // Full now: the first packet would block, which is not an error.
  assert.equal(native.sendBatch(fd, big, o, l, d, 1), 0);
  closeSync(fd);
});

test('tunWriteBatch writes to many fds and drops what fails', () => {
  const a = fifo(), b = fifo();
  const arena = Buffer.from('aaaabbbbbcc');
  const written = native.tunWriteBatch(arena, new Uint32Array([0, 4, 9, 0]), new Uint32Array([4, 5, 2, 1]),
    new Int32Array([a, b, 999_999, a]), 4);
  assert.equal(written, 3, 'the packet for a bad fd is dropped, the rest written');
  const buf = Buffer.alloc(16);
  assert.equal(buf.subarray(0, readSync(a, buf)).toString(), 'aaaaa');
  assert.equal(buf.subarray(0, readSync(b, buf)).toString(), 'bbbbb');
  closeSync(a); closeSync(b);
});

test('a failing first write throws with errno name and operation', () => {
  const fd = fifo();
  closeSync(fd);
  assert.throws(
    () => native.sendBatch(fd, new Uint8Array(4), new Uint32Array(1), new Uint32Array([4]), new Uint32Array(1), 1),
    (e: NodeJS.ErrnoException) => e.code === 'EBADF' && e.syscall === 'write(tun)' && /write\(tun\) failed/.test(e.message),
  );
  assert.throws(() => native.pollerStart(fd, 'tun', () => {}), (e: NodeJS.ErrnoException) => e.code === 'EBADF');
});

test('an exception thrown by a batch callback surfaces as uncaughtException', () => {
  // In a child: node:test's own uncaughtException handler would claim it here.
  const script = join(dir, import.meta.url.endsWith('.js') ? 'throwing.mjs' : 'throwing.mts');
  const fifoPath = join(dir, 'child-fifo');
  // Run as TypeScript through tsx, or compiled (dist/) as plain JS.
  const compiled = import.meta.url.endsWith('.js');
  const indexUrl = new URL(`../../native/index.${compiled ? 'js' : 'ts'}`, import.meta.url).href;
  writeFileSync(script, `
    import { openSync, writeSync, closeSync, constants } from 'node:fs';
    import { execFileSync } from 'node:child_process';
    import { loadNative } from ${JSON.stringify(indexUrl)};
    const native = loadNative();
    execFileSync('mkfifo', [${JSON.stringify(fifoPath)}]);
    const fd = openSync(${JSON.stringify(fifoPath)}, constants.O_RDWR | constants.O_NONBLOCK);
    let calls = 0;
    process.on('uncaughtException', (e) => {
      console.log('caught:' + e.message);
      if (calls === 2) { native.pollerStop(h); closeSync(fd); }
      else setTimeout(() => writeSync(fd, 'again'), 5);
    });
    const h = native.pollerStart(fd, 'tun', (count) => { calls++; throw new Error('boom' + calls); });
    writeSync(fd, 'x');
  `);
  const r = spawnSync(process.execPath, compiled ? [script] : ['--import', 'tsx', script], {
    encoding: 'utf8',
    timeout: 20_000,
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
  });
  assert.equal(r.status, 0, r.stderr);
  // The poller kept working after the first exception.
  assert.equal(r.stdout.trim(), 'caught:boom1\ncaught:boom2');
});
