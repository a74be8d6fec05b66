// native/src/kppp.c on the host (no root or PPP needed): arguments are
// checked before any system call, and failing system calls throw errors that
// carry the errno name and the operation. Kernel behaviour itself is tested
// in UML (test/interop/kppp-wired.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { addonPath } from '../../native/index.js';
import type { KpppNative } from '../../native/kppp.js';

function load(): KpppNative | undefined {
  const p = process.env.PPTPD_NATIVE_PATH ?? addonPath();
  if (!p) return undefined;
  const a = createRequire(import.meta.url)(p) as Partial<KpppNative>;
  return typeof a.pptpChannelOpen === 'function' ? (a as KpppNative) : undefined;
}
const native = load();
const skip = native ? false : 'native addon not built with native/src/kppp.c';
if (!native) console.log(`\n#### SKIPPING native kppp argument tests: ${skip} ####\n`);

const typeErr = (msg: RegExp) => (e: Error) => e instanceof TypeError && msg.test(e.message);

test('pptpChannelOpen validates addresses and call ids before socket()', { skip }, () => {
  const n = native!;
  assert.throws(() => n.pptpChannelOpen('10.0.0.300', 1, '10.0.0.2', 2), typeErr(/localIp must be a dotted-quad/));
  assert.throws(() => n.pptpChannelOpen('10.0.0.1', 1, 'peer', 2), typeErr(/peerIp must be a dotted-quad/));
  assert.throws(() => n.pptpChannelOpen('10.0.0.1', 0, '10.0.0.2', 2), typeErr(/localCallId must be 1\.\.65535/));
  assert.throws(() => n.pptpChannelOpen('10.0.0.1', 65536, '10.0.0.2', 2), typeErr(/localCallId must be 1\.\.65535/));
  assert.throws(() => n.pptpChannelOpen('10.0.0.1', '1' as never, '10.0.0.2', 2), typeErr(/localCallId must be a number/));
  assert.throws(() => n.pptpChannelOpen('10.0.0.1', 1, '10.0.0.2', 70000), typeErr(/peerCallId must be 0\.\.65535/));
  assert.throws(() => n.pptpChannelOpen('10.0.0.1', -1, '10.0.0.2', 2), typeErr(/localCallId must be 1\.\.65535/));
  assert.throws(() => n.pptpChannelOpen('0.0.0.0', 1, '10.0.0.2', 2), typeErr(/must not be 0\.0\.0\.0/));
  assert.throws(() => (n.pptpChannelOpen as (...a: unknown[]) => number)('10.0.0.1', 1), typeErr(/expected 4 arguments/));
});

test('/dev/ppp ioctl wrappers validate numbers and fds', { skip }, () => {
  const n = native!;
  assert.throws(() => n.pppNewUnit(-2), typeErr(/unit must be -1/));
  assert.throws(() => n.pppOpenChannel(-1), typeErr(/chanIndex must be >= 0/));
  assert.throws(() => n.pppConnect(-1, 0), typeErr(/fd must be >= 0/));
  assert.throws(() => n.pppConnect(3, -1), typeErr(/unit must be >= 0/));
  assert.throws(() => n.pppSetMru(3, 63), typeErr(/mru must be 64\.\.65535/));
  assert.throws(() => n.pppSetMru(3, 65536), typeErr(/mru must be 64\.\.65535/));
  assert.throws(() => n.pppSetNpMode(3, 0x10000, 0), typeErr(/protocol must be/));
  assert.throws(() => n.pppSetNpMode(3, 0x21, 4), typeErr(/mode must be 0\.\.3/));
  assert.throws(() => n.pppWrite(3, Uint8Array.of(0xc0)), typeErr(/frame must be 2\.\.65535 bytes/));
  assert.throws(() => n.pppRead(3, 'x' as unknown as Uint8Array), typeErr(/buf must be a Buffer or Uint8Array/));
  assert.throws(() => n.pppCompStats('a/b'), typeErr(/non-empty interface name/));
});

test('pppSetCompress validates its options and never echoes the key', { skip }, () => {
  const n = native!;
  const key = Buffer.from('8b7cdc149b993a1ba118cb153f56dccb', 'hex');
  const ok = { transmit: true, key, bits: 128 as const, stateless: true };
  assert.throws(() => n.pppSetCompress(3, null as never), typeErr(/options must be an object/));
  assert.throws(() => n.pppSetCompress(3, { ...ok, key: key.subarray(0, 15) }), typeErr(/options.key must be 16 bytes/));
  assert.throws(() => n.pppSetCompress(3, { ...ok, bits: 56 as never }), typeErr(/options.bits must be 40 or 128/));
  assert.throws(() => n.pppSetCompress(3, { ...ok, transmit: 1 as never }), typeErr(/options.transmit must be a boolean/));
  const { stateless: _s, ...noStateless } = ok;
  assert.throws(() => n.pppSetCompress(3, noStateless as never), typeErr(/options.stateless is required/));
  // A real ioctl on a non-ppp fd (stdin): errno error naming the operation, no key bytes.
  assert.throws(
    () => n.pppSetCompress(0, ok),
    (e: NodeJS.ErrnoException) => {
      assert.equal(e.syscall, 'ioctl(PPPIOCSCOMPRESS, transmit)');
      assert.ok(e.code === 'ENOTTY' || e.code === 'EINVAL' || e.code === 'EBADF', e.code);
      assert.doesNotMatch(e.message, /8b7c|dccb/i);
      return true;
    },
  );
});

test('system-call failures carry errno name and operation (host without PPP)', { skip: skip || (existsSync('/dev/ppp') ? 'this host has /dev/ppp' : false) }, () => {
  const n = native!;
  assert.throws(() => n.pptpChannelOpen('10.0.0.1', 1, '10.0.0.2', 2), (e: NodeJS.ErrnoException) => {
    // No pptp module: the address family is unknown.
    assert.ok(e.code === 'EAFNOSUPPORT' || e.code === 'EPROTONOSUPPORT', e.code);
    assert.equal(e.syscall, 'socket(AF_PPPOX, PX_PROTO_PPTP)');
    return true;
  });
  assert.throws(() => n.pppNewUnit(-1), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && e.syscall === 'open(/dev/ppp)');
  assert.throws(() => n.pppOpenChannel(1), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && e.syscall === 'open(/dev/ppp)');
  // ppp ioctls on a non-ppp fd.
  assert.throws(() => n.pptpChannelIndex(0), (e: NodeJS.ErrnoException) => e.syscall === 'ioctl(PPPIOCGCHAN)');
  assert.throws(() => n.pppCompStats('lo'), (e: NodeJS.ErrnoException) => e.syscall === 'ioctl(SIOCGPPPCSTATS)');
});
