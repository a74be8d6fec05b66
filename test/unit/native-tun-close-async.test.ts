// TunDevice.closeAsync / closeFdAsync (root only): the interface removal runs
// on the thread pool, the promise settles only once the interface is gone,
// the event loop keeps turning while many removals are in progress, and the
// fd number is not handed out again before that.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestNetns, rootSkipReason } from '../helpers/netns.js';
import { TunDevice } from '../../native/tun.js';
import { loadNative } from '../../native/index.js';

const skip = rootSkipReason();
if (skip) console.error(`\n*** native-tun-close-async: ${skip} ***\n`);

let ns: TestNetns | undefined;
before(() => {
  if (skip) return;
  ns = TestNetns.create();
  ns.enter();
});
after(() => ns?.destroy());

const pppLinks = (): string[] =>
  ns!.ipJson<Array<{ ifname: string }>>('link', 'show').map((l) => l.ifname).filter((n) => n.startsWith('ppp'));

test('closeAsync removes the interface by the time it resolves; a second close is a no-op', { skip }, async () => {
  const dev = TunDevice.openLowestFree('ppp');
  dev.configure({ mtu: 1400, local: '10.90.0.1', peer: '10.90.0.2', up: true });
  assert.deepEqual(pppLinks(), [dev.name]);
  const p = dev.closeAsync();
  assert.ok(p instanceof Promise);
  await p;
  assert.deepEqual(pppLinks(), []);
  await dev.closeAsync(); // already closed: resolves, closes nothing
  assert.equal(dev.write(new Uint8Array(20)), false, 'a closed device accepts no writes');
});

test('40 interfaces removed concurrently: all gone, and timers keep firing meanwhile', { skip }, async () => {
  const devs = Array.from({ length: 40 }, () => TunDevice.openLowestFree('ppp'));
  for (const [i, d] of devs.entries()) d.configure({ mtu: 1400, local: '10.91.0.1', peer: `10.91.1.${i + 1}`, up: true });
  assert.equal(pppLinks().length, 40);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const t0 = performance.now();
  // All calls return at once: none of the unregistrations runs on this thread.
  const pending = devs.map((d) => d.closeAsync());
  const callMs = performance.now() - t0;
  await Promise.all(pending);
  const totalMs = performance.now() - t0;
  clearInterval(timer);
  assert.deepEqual(pppLinks(), []);
  assert.ok(callMs < totalMs, `queueing (${callMs.toFixed(1)} ms) is cheaper than the removals (${totalMs.toFixed(1)} ms)`);
  assert.ok(ticks > 0, 'the event loop ran timers while interfaces were being removed');
});

test('closeFdAsync rejects a bad fd with an errno error, and validates its argument', { skip }, async () => {
  const n = loadNative();
  await assert.rejects(n.closeFdAsync(987_654), (e: NodeJS.ErrnoException) => e.code === 'EBADF' && e.syscall === 'close');
  assert.throws(() => n.closeFdAsync(-1), TypeError);
  assert.throws(() => n.closeFdAsync('3' as unknown as number), TypeError);
});
