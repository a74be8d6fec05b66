// TunDevice.openConfiguredAsync / tunOpenConfiguredAsync (root only): open +
// MTU + /32 addresses + up as one job on the thread pool. The interface lands
// in the CALLING thread's namespace (the test enters its own with setns on the
// main thread only), failures remove the half-made interface and reject with
// the failing step's errno, the `taken` set is honoured, and the event loop
// keeps turning while many interfaces are being made.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestNetns, rootSkipReason } from '../helpers/netns.js';
import { TunDevice } from '../../native/tun.js';
import { loadNative } from '../../native/index.js';

const skip = rootSkipReason();
if (skip) console.error(`\n*** native-tun-open-async: ${skip} ***\n`);

let ns: TestNetns | undefined;
before(() => {
  if (skip) return;
  ns = TestNetns.create();
  ns.enter();
});
after(() => ns?.destroy());

interface IpLink { ifname: string; mtu: number; flags: string[] }
interface IpAddr { ifname: string; addr_info: { family: string; local: string; address?: string; prefixlen: number }[] }

const pppLinks = (): string[] =>
  ns!.ipJson<IpLink[]>('link', 'show').map((l) => l.ifname).filter((n) => n.startsWith('ppp')).sort();

test('opens the lowest free pppN in the caller\'s namespace with MTU, /32 peer address and up', { skip }, async () => {
  const dev = await TunDevice.openConfiguredAsync({ mtu: 1396, local: '192.168.7.1', peer: '192.168.7.20' });
  try {
    assert.equal(dev.name, 'ppp0');
    // Seen by `ip -n <our ns>`: the pool thread did not create it in the root namespace.
    const [link] = ns!.ipJson<IpLink[]>('link', 'show', 'dev', dev.name);
    assert.equal(link!.mtu, 1396);
    assert.ok(link!.flags.includes('UP') && link!.flags.includes('POINTOPOINT'), link!.flags.join());
    const [addr] = ns!.ipJson<IpAddr[]>('addr', 'show', 'dev', dev.name);
    const v4 = addr!.addr_info.filter((a) => a.family === 'inet');
    assert.deepEqual(v4.map((a) => [a.local, a.address, a.prefixlen]), [['192.168.7.1', '192.168.7.20', 32]]);
    assert.equal(loadNative().ifExists(dev.name), true);
  } finally {
    await dev.closeAsync();
  }
  assert.deepEqual(pppLinks(), []);
});

test('names in `taken` are skipped; the skipped interfaces are removed again', { skip }, async () => {
  const dev = await TunDevice.openConfiguredAsync({ mtu: 1400, local: '10.92.0.1', peer: '10.92.0.2' }, 'ppp', new Set(['ppp0', 'ppp1']));
  try {
    assert.equal(dev.name, 'ppp2');
    // The held ppp0/ppp1 close on the pool; wait for them to go.
    for (let i = 0; i < 200 && pppLinks().length > 1; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(pppLinks(), ['ppp2']);
  } finally {
    await dev.closeAsync();
  }
});

test('a failing step rejects with its errno and leaves no interface behind', { skip }, async () => {
  const n = loadNative();
  // An exact name held by a non-TUN device fails TUNSETIFF (EBUSY, as tunOpen).
  ns!.ip('link', 'add', 'ppp9', 'type', 'veth', 'peer', 'name', 'vx9');
  try {
    await assert.rejects(n.tunOpenConfiguredAsync('ppp9', 1400, '10.93.0.1', '10.93.0.2'), (e: NodeJS.ErrnoException) => {
      return e.code === 'EBUSY' && e.syscall === 'ioctl(TUNSETIFF)';
    });
  } finally {
    ns!.ip('link', 'del', 'ppp9');
  }
  // A persistent TUN someone left is never hijacked.
  ns!.ip('tuntap', 'add', 'dev', 'ppp8', 'mode', 'tun');
  try {
    await assert.rejects(n.tunOpenConfiguredAsync('ppp8', 1400, '10.93.0.1', '10.93.0.2'), (e: NodeJS.ErrnoException) => {
      return e.code === 'EBUSY' && /persistent/.test(e.syscall ?? '');
    });
  } finally {
    ns!.ip('tuntap', 'del', 'dev', 'ppp8', 'mode', 'tun');
  }
  // A multicast local address passes the argument check, but the kernel refuses
  // it (SIOCSIFADDR: EINVAL) after the interface exists: it must be removed again.
  await assert.rejects(n.tunOpenConfiguredAsync('ppp%d', 1400, '224.0.0.1', '10.93.0.2'), (e: NodeJS.ErrnoException) => {
    return e.code === 'EINVAL' && e.syscall === 'ioctl(SIOCSIFADDR)';
  });
  assert.deepEqual(pppLinks(), []);
});

test('arguments are validated before anything is opened', { skip }, () => {
  const n = loadNative();
  assert.throws(() => n.tunOpenConfiguredAsync('ppp%d', 10, '10.0.0.1', '10.0.0.2'), TypeError);
  assert.throws(() => n.tunOpenConfiguredAsync('ppp%d', 1400, 'not-an-ip', '10.0.0.2'), TypeError);
  assert.throws(() => n.tunOpenConfiguredAsync('x'.repeat(20), 1400, '10.0.0.1', '10.0.0.2'), TypeError);
  assert.throws(() => (n.tunOpenConfiguredAsync as unknown as (a: string) => unknown)('ppp%d'), TypeError);
  return assert.rejects(TunDevice.openConfiguredAsync({ mtu: 9000, local: '10.0.0.1', peer: '10.0.0.2' }), RangeError);
});

test('60 interfaces made concurrently: distinct names, all configured, timers fire meanwhile', { skip }, async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const t0 = performance.now();
  const pending = Array.from({ length: 60 }, (_, i) =>
    TunDevice.openConfiguredAsync({ mtu: 1400, local: '10.94.0.1', peer: `10.94.1.${i + 1}` }),
  );
  const callMs = performance.now() - t0;
  const devs = await Promise.all(pending);
  const totalMs = performance.now() - t0;
  clearInterval(timer);
  try {
    assert.equal(new Set(devs.map((d) => d.name)).size, 60);
    const links = ns!.ipJson<IpLink[]>('link', 'show').filter((l) => l.ifname.startsWith('ppp'));
    assert.equal(links.length, 60);
    assert.ok(links.every((l) => l.mtu === 1400 && l.flags.includes('UP')));
    assert.ok(callMs < totalMs, `queueing (${callMs.toFixed(1)} ms) is cheaper than the set-ups (${totalMs.toFixed(1)} ms)`);
    assert.ok(ticks > 0, 'the event loop ran timers while interfaces were being made');
  } finally {
    await Promise.all(devs.map((d) => d.closeAsync()));
  }
  assert.deepEqual(pppLinks(), []);
});

test('openLowestFreeAsync makes a bare interface (down, no address); configureAsync then configures it', { skip }, async () => {
  const dev = await TunDevice.openLowestFreeAsync('ppp');
  try {
    assert.equal(dev.name, 'ppp0');
    const [link] = ns!.ipJson<IpLink[]>('link', 'show', 'dev', dev.name);
    assert.ok(!link!.flags.includes('UP'), link!.flags.join());
    const [bare] = ns!.ipJson<IpAddr[]>('addr', 'show', 'dev', dev.name);
    assert.deepEqual(bare!.addr_info.filter((a) => a.family === 'inet'), []);
    await dev.configureAsync({ mtu: 1400, local: '10.95.0.1', peer: '10.95.0.9' });
    const [up] = ns!.ipJson<IpLink[]>('link', 'show', 'dev', dev.name);
    assert.equal(up!.mtu, 1400);
    assert.ok(up!.flags.includes('UP'));
    const [addr] = ns!.ipJson<IpAddr[]>('addr', 'show', 'dev', dev.name);
    const v4 = addr!.addr_info.filter((a) => a.family === 'inet');
    assert.deepEqual(v4.map((a) => [a.local, a.address, a.prefixlen]), [['10.95.0.1', '10.95.0.9', 32]]);
    await assert.rejects(dev.configureAsync({ mtu: 20, local: '10.95.0.1', peer: '10.95.0.9' }), RangeError);
  } finally {
    await dev.closeAsync();
  }
  await assert.rejects(dev.configureAsync({ mtu: 1400, local: '10.95.0.1', peer: '10.95.0.9' }), /closed/);
  // Configuring a name that does not exist (in this namespace) fails with ENODEV at the first ioctl.
  await assert.rejects(loadNative().ifConfigureAsync('ppp77', 1400, '10.95.0.1', '10.95.0.9'), (e: NodeJS.ErrnoException) => {
    return e.code === 'ENODEV' && e.syscall === 'ioctl(SIOCSIFMTU)';
  });
  assert.deepEqual(pppLinks(), []);
});

test('openAsync opens an exact name; an existing name rejects with EBUSY', { skip }, async () => {
  const a = await TunDevice.openAsync('ppp41');
  try {
    assert.equal(a.name, 'ppp41');
    await assert.rejects(TunDevice.openAsync('ppp41'), (e: NodeJS.ErrnoException) => e.code === 'EBUSY');
    await assert.rejects(TunDevice.openAsync('ppp%d'), TypeError);
  } finally {
    await a.closeAsync();
  }
  assert.deepEqual(pppLinks(), []);
});
