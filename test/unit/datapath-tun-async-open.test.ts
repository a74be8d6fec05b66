// TunDatapath with an asynchronous opener (the set-up path that runs
// TUNSETIFF and the ioctls on the thread pool): each call's interface is
// opened at openCall, as pppd creates its unit before LCP, and attach() only
// configures it (configureAsync when the port has it). Names go into `taken`,
// failures leave nothing behind, and a call closed while its interface is
// still being opened or configured removes that interface exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TunDatapath } from '../../src/datapath/tun/tun-datapath.js';
import type { TunAsyncOpener, TunPort } from '../../src/datapath/tun/ports.js';
import { PptpdError } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/log.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeRawGre, FakeTun, FakeTunHost } from '../helpers/session-ports.js';
import { UnitNumbers } from '../../src/datapath/tun/tun-datapath.js';

const params = (sessionId: string, callId: number) => ({
  sessionId, callId, peerCallId: callId + 100, clientAddress: '203.0.113.7', localAddress: '198.51.100.1',
});
const attachInfo = (peer: string) => ({ local: '10.0.0.1', peer, mtu: 1396, mru: 1400, mppe: null, link: { sendIp() {} } });
const tick = () => new Promise((r) => setImmediate(r));

type Cfg = { mtu: number; local: string; peer: string };

/**
 * Opens (and, with `asyncConfigure`, configures) settle only when the test
 * releases them; every port counts its closes.
 */
function harness(o: { asyncConfigure?: boolean } = {}) {
  const host = new FakeTunHost();
  const opens: Array<{ name: string; release: (err?: Error) => void }> = [];
  const configs: Array<{ name: string; cfg: Cfg; release: (err?: Error) => void }> = [];
  const closes = new Map<string, number>();
  // Exact names, as TUNSETIFF: an existing one (someone else's, or open) is EBUSY.
  const open: TunAsyncOpener = (name) =>
    new Promise<TunPort>((resolve, reject) => {
      opens.push({
        name,
        release: (err) => {
          if (err) return reject(err);
          if (host.system.has(name) || host.open.has(name)) return reject(Object.assign(new Error(`${name} exists`), { code: 'EBUSY' }));
          const t = new FakeTun(name, (x) => host.open.delete(x.name));
          host.open.set(name, t);
          const close = t.close.bind(t);
          t.close = () => {
            closes.set(t.name, (closes.get(t.name) ?? 0) + 1);
            return close();
          };
          if (o.asyncConfigure) {
            (t as TunPort).configureAsync = (cfg: Cfg) =>
              new Promise<void>((res, rej) => {
                configs.push({ name: t.name, cfg, release: (e) => (e ? rej(e) : (t.configure({ ...cfg, up: true }), res())) });
              });
          }
          resolve(t);
        },
      });
    });
  let syncOpens = 0;
  const dp = new TunDatapath({
    clock: new FakeClock(),
    log: silentLogger,
    raw: new FakeRawGre(),
    openTun: (taken) => {
      syncOpens++;
      return host.opener(taken);
    },
    openTunAsync: open,
  });
  return { host, dp, opens, configs, closes, syncOpens: () => syncOpens };
}

test('the interface is opened at openCall (before attach) and configured by attach; the sync opener is unused', async () => {
  const h = harness();
  const c1 = h.dp.openCall(params('s1', 1));
  assert.equal(h.opens.length, 1, 'opened as soon as the call exists');
  h.opens[0]!.release();
  await tick();
  assert.deepEqual([...h.host.open.keys()], ['ppp0']);
  assert.equal(h.host.open.get('ppp0')!.configured, undefined, 'not configured before IPCP');
  assert.deepEqual([...h.dp.interfaceNames], ['ppp0']);
  const c2 = h.dp.openCall(params('s2', 2));
  assert.equal(h.opens[1]!.name, 'ppp1', 'the second call gets the next number');
  assert.deepEqual(await c1.attach(attachInfo('10.0.0.2')), { ifname: 'ppp0' });
  assert.deepEqual(h.host.open.get('ppp0')!.configured, { mtu: 1396, local: '10.0.0.1', peer: '10.0.0.2', up: true });
  // attach waits for an open still in flight.
  const a2 = c2.attach(attachInfo('10.0.0.3'));
  await tick();
  await assert.rejects(c2.attach(attachInfo('10.0.0.3')), (e: unknown) => e instanceof PptpdError && e.code === 'ERR_DATAPATH_ATTACH');
  h.opens[1]!.release();
  assert.deepEqual(await a2, { ifname: 'ppp1' });
  assert.equal(h.syncOpens(), 0);
  await h.dp.close();
  assert.equal(h.host.open.size, 0);
  assert.deepEqual(Object.fromEntries(h.closes), { ppp0: 1, ppp1: 1 });
});

test('configureAsync is used when the port has it; closing during it removes the interface once, after it', async () => {
  const h = harness({ asyncConfigure: true });
  const c = h.dp.openCall(params('s1', 1));
  h.opens[0]!.release();
  const a = c.attach(attachInfo('10.0.0.2'));
  await tick();
  assert.equal(h.configs.length, 1);
  assert.deepEqual(h.configs[0]!.cfg, { mtu: 1396, local: '10.0.0.1', peer: '10.0.0.2' });
  const closing = c.close();
  await tick();
  assert.equal(h.closes.get('ppp0'), undefined, 'not removed while its configuration is in flight');
  h.configs[0]!.release();
  await assert.rejects(a, (e: unknown) => e instanceof PptpdError && e.code === 'ERR_DATAPATH_CLOSED');
  await closing;
  assert.equal(h.closes.get('ppp0'), 1);
  assert.equal(h.host.open.size, 0);
  assert.equal(h.dp.interfaceNames.size, 0);
});

test('a call closed before its interface finished opening removes it when it arrives, never attaches it', async () => {
  const h = harness();
  const c = h.dp.openCall(params('s1', 1));
  const a = c.attach(attachInfo('10.0.0.2'));
  const closing = c.close();
  h.opens[0]!.release();
  await assert.rejects(a, (e: unknown) => e instanceof PptpdError && e.code === 'ERR_DATAPATH_CLOSED');
  await closing;
  assert.equal(h.closes.get('ppp0'), 1);
  assert.equal(h.host.open.size, 0);
  assert.equal(h.dp.callCount, 0);
  // Never attached at all: closed before attach was called.
  const c2 = h.dp.openCall(params('s2', 2));
  h.opens[1]!.release();
  await tick();
  assert.equal(h.host.open.size, 1);
  await c2.close();
  assert.equal(h.host.open.size, 0);
});

test('a failed open or configure rejects attach and leaves no interface or name behind', async () => {
  const h = harness({ asyncConfigure: true });
  const c1 = h.dp.openCall(params('s1', 1));
  h.opens[0]!.release(Object.assign(new Error('open(/dev/net/tun) failed'), { code: 'EMFILE' }));
  await assert.rejects(c1.attach(attachInfo('10.0.0.2')), /EMFILE|open\(\/dev\/net\/tun\)/);
  await c1.close();
  const c2 = h.dp.openCall(params('s2', 2));
  h.opens[1]!.release();
  const a2 = c2.attach(attachInfo('224.0.0.1'));
  await tick();
  h.configs[0]!.release(new Error('ioctl(SIOCSIFADDR) failed: EINVAL'));
  await assert.rejects(a2, /SIOCSIFADDR/);
  await tick();
  assert.equal(h.closes.get('ppp0'), 1);
  await c2.close();
  assert.equal(h.closes.get('ppp0'), 1, 'closed once, not again by close()');
  assert.equal(h.host.open.size, 0);
  assert.equal(h.dp.interfaceNames.size, 0);
});

test("names: lowest number not ours; someone else's pppN (EBUSY) is skipped; numbers are reused after close", async () => {
  const h = harness();
  h.host.system.add('ppp1'); // not ours
  const c0 = h.dp.openCall(params('s0', 10));
  h.opens.at(-1)!.release();
  const c1 = h.dp.openCall(params('s1', 11));
  h.opens.at(-1)!.release(); // tries ppp1: EBUSY
  await tick();
  assert.deepEqual(h.opens.map((o) => o.name), ['ppp0', 'ppp1', 'ppp2']);
  h.opens.at(-1)!.release();
  assert.deepEqual(await c1.attach(attachInfo('10.0.0.3')), { ifname: 'ppp2' });
  await c0.close();
  // ppp0 is free again once removed; ppp1 stays skipped.
  h.dp.openCall(params('s2', 12));
  assert.equal(h.opens.at(-1)!.name, 'ppp0');
  h.opens.at(-1)!.release();
  h.dp.openCall(params('s3', 13));
  assert.equal(h.opens.at(-1)!.name, 'ppp3');
  h.opens.at(-1)!.release();
  await h.dp.close();
  assert.equal(h.host.open.size, 0);
});

test('UnitNumbers: lowest free first, frees lower the cursor, exhaustion is -1, bad frees ignored', () => {
  const u = new UnitNumbers(4);
  assert.deepEqual([u.alloc(), u.alloc(), u.alloc()], [0, 1, 2]);
  u.free(1);
  u.free(1); // twice: no effect
  u.free(-1);
  u.free(99);
  assert.equal(u.alloc(), 1);
  assert.equal(u.alloc(), 3);
  assert.equal(u.alloc(), -1);
  u.free(0);
  assert.equal(u.alloc(), 0);
});
