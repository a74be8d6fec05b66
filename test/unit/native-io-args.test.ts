// Unprivileged checks of the native I/O surface: exports, argument
// validation (TypeError, nothing reaches a system call), errno-bearing
// errors, the shared receive arena and the IPv4 helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNative, type NativeAddon } from '../../native/index.js';
import { ipv4ToUint32, uint32ToIpv4 } from '../../native/raw-gre.js';
import { TunDevice } from '../../native/tun.js';

const native = loadNative();
// Calls with deliberately wrong types.
const loose = native as unknown as Record<keyof NativeAddon, (...a: unknown[]) => unknown>;

test('the addon exports every declared function', () => {
  for (const name of [
    'sdNotify', 'tunOpen', 'closeFd', 'ifSetMtu', 'ifSetAddrs', 'ifSetUp', 'ifExists', 'ifStats',
    'rawOpen', 'rxArena', 'pollerStart', 'pollerStop', 'sendBatch', 'tunWriteBatch', 'netnsEnter', 'netnsReturn',
  ] as const) {
    assert.equal(typeof native[name], 'function', name);
  }
});

test('rxArena is one preallocated arena shared by all callers', () => {
  const a = native.rxArena();
  assert.equal(a, native.rxArena());
  assert.equal(a.slots, 64);
  assert.equal(a.slotSize, 2048);
  assert.equal(a.data.length, 64 * 2048);
  assert.ok(a.offsets instanceof Uint32Array && a.offsets.length === 64);
  assert.ok(a.lengths instanceof Uint32Array && a.lengths.length === 64);
  assert.ok(a.sources instanceof Uint32Array && a.sources.length === 64);
  // Three views of one metadata buffer, not overlapping.
  a.offsets[63] = 1; a.lengths[0] = 2; a.sources[0] = 3;
  assert.deepEqual([a.offsets[63], a.lengths[0], a.sources[0]], [1, 2, 3]);
});

test('interface functions reject bad names and values with TypeError', () => {
  assert.throws(() => loose.tunOpen(), TypeError);
  assert.throws(() => loose.tunOpen(5), TypeError);
  assert.throws(() => native.tunOpen(''), TypeError);
  assert.throws(() => native.tunOpen('a-name-longer-than-15'), TypeError);
  assert.throws(() => native.tunOpen('ppp0', 20), TypeError);
  assert.throws(() => loose.tunOpen('ppp0', 'big'), TypeError);
  assert.throws(() => native.ifSetMtu('ppp0', 70000), TypeError);
  assert.throws(() => native.ifSetAddrs('ppp0', '10.0.0.1', '10.0.0.256'), TypeError);
  assert.throws(() => native.ifSetAddrs('ppp0', 'localhost', '10.0.0.2'), TypeError);
  assert.throws(() => loose.ifSetUp('ppp0', 'yes'), TypeError);
  assert.throws(() => native.ifExists('../x'), TypeError);
  assert.throws(() => loose.ifStats(), TypeError);
  assert.throws(() => native.rawOpen(0), TypeError);
  assert.throws(() => native.rawOpen(47, '1.2.3'), TypeError);
  assert.throws(() => loose.closeFd(-1), TypeError);
  assert.throws(() => loose.netnsReturn(-1), TypeError);
});

test('a missing interface is reported with its errno name and operation', () => {
  assert.equal(native.ifExists('nosuchif0'), false);
  assert.throws(
    () => native.ifStats('nosuchif0'),
    (e: NodeJS.ErrnoException) => e.code === 'ENODEV' && e.errno === 19 && /SIOCGIFINDEX|RTM_GETLINK/.test(e.message + e.syscall),
  );
  assert.throws(
    () => native.ifSetMtu('nosuchif0', 1400),
    // Unprivileged, the kernel checks CAP_NET_ADMIN before the name.
    (e: NodeJS.ErrnoException) =>
      (e.code === (process.getuid?.() === 0 ? 'ENODEV' : 'EPERM')) && e.syscall === 'ioctl(SIOCSIFMTU)' &&
      e.message.startsWith('ioctl(SIOCSIFMTU) failed: '),
  );
  assert.equal(native.ifExists('lo'), true);
});

test('pollerStart and pollerStop validate their arguments', () => {
  assert.throws(() => loose.pollerStart(0, 'udp', () => {}), TypeError);
  assert.throws(() => loose.pollerStart(0, 'raw', 'notfn'), TypeError);
  assert.throws(() => loose.pollerStart(-1, 'raw', () => {}), TypeError);
  assert.throws(() => loose.pollerStop({}), TypeError);
  assert.throws(() => loose.pollerStop(undefined), TypeError);
});

test('sendBatch and tunWriteBatch bound every packet by the arena', () => {
  const arena = new Uint8Array(100);
  const off = new Uint32Array([0, 90]);
  const len = new Uint32Array([10, 20]); // second packet ends at 110 > 100
  const dst = new Uint32Array([0x7f000001, 0x7f000001]);
  assert.throws(() => native.sendBatch(1, arena, off, len, dst, 2), /outside the arena/);
  assert.throws(() => native.sendBatch(1, arena, off, len, dst, 3), /count exceeds/);
  assert.throws(() => loose.sendBatch(1, arena, [0], len, dst, 1), TypeError);
  assert.throws(() => loose.sendBatch(1, 'x', off, len, dst, 1), TypeError);
  assert.throws(() => native.sendBatch(1, arena, off, new Uint32Array([1, 1]), new Uint32Array([0, 5]), 2), /all 0/);
  assert.throws(() => native.tunWriteBatch(arena, off, len, new Int32Array([1, 1]), 2), /outside the arena/);
  assert.throws(() => loose.tunWriteBatch(arena, off, len, dst, 1), /Int32Array/);
  assert.throws(() => native.tunWriteBatch(arena, off, new Uint32Array([1, 1]), new Int32Array([-1, 1]), 2), TypeError);
  // Nothing to send is not an error, whatever the fd.
  assert.equal(native.sendBatch(1, arena, off, len, dst, 0), 0);
});

test('ipv4ToUint32 / uint32ToIpv4 round-trip and reject junk', () => {
  assert.equal(ipv4ToUint32('1.2.3.4'), 0x01020304);
  assert.equal(ipv4ToUint32('255.255.255.255'), 0xffffffff);
  assert.equal(ipv4ToUint32('0.0.0.0'), 0);
  assert.equal(ipv4ToUint32('192.168.0.234'), 0xc0a800ea);
  assert.equal(uint32ToIpv4(0xc0a800ea), '192.168.0.234');
  assert.equal(uint32ToIpv4(0xffffffff), '255.255.255.255');
  for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', ' 1.2.3.4', '1.2.3.4 ', 'a.b.c.d', '']) {
    assert.throws(() => ipv4ToUint32(bad), TypeError, bad);
  }
  for (const bad of [-1, 2 ** 32, 1.5, NaN]) assert.throws(() => uint32ToIpv4(bad), TypeError);
});

test('TunDevice.open refuses templates and openLowestFree odd prefixes', () => {
  assert.throws(() => TunDevice.open('ppp%d'), TypeError);
  assert.throws(() => TunDevice.openLowestFree('PPP' as 'ppp'), TypeError);
  assert.throws(() => TunDevice.openLowestFree('ppp0' as 'ppp'), TypeError);
});
