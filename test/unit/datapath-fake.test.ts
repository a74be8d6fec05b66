// The in-memory datapath the session tests rely on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDatapath, type FakeDatapathCall } from '../../src/datapath/fake/index.js';
import { PptpdError } from '../../src/util/errors.js';

const params = (id: string) => ({ sessionId: id, callId: 1, peerCallId: 2, clientAddress: '192.0.2.1', localAddress: '192.0.2.2' });
const tick = () => new Promise((r) => setImmediate(r));

test('frames cross in a later microtask, copied (senders may reuse their buffer)', async () => {
  const dp = new FakeDatapath();
  let opened: FakeDatapathCall | undefined;
  dp.onOpen = (c) => (opened = c);
  const call = dp.openCall(params('a')) as FakeDatapathCall;
  assert.equal(opened, call);
  const toClient: number[][] = [];
  const toServer: number[][] = [];
  call.toClient = (f) => toClient.push([...f]);
  call.onFrame = (f) => toServer.push([...f]);
  const buf = Uint8Array.from([1, 2, 3]);
  call.sendFrame(buf);
  call.fromClient(buf);
  buf[0] = 9;
  assert.equal(toClient.length, 0);
  await tick();
  assert.deepEqual(toClient, [[1, 2, 3]]);
  assert.deepEqual(toServer, [[1, 2, 3]]);
  const sync = new FakeDatapath({ delivery: 'sync' });
  const s = sync.openCall(params('b')) as FakeDatapathCall;
  let got = 0;
  s.onFrame = () => got++;
  s.fromClient(buf);
  assert.equal(got, 1);
});

test('interfaces fake0, fake1, … lowest free; IP both ways with counters; close removes', async () => {
  const dp = new FakeDatapath();
  const a = dp.openCall(params('a')) as FakeDatapathCall;
  const b = dp.openCall(params('b')) as FakeDatapathCall;
  assert.throws(() => dp.openCall(params('a')), PptpdError);
  const sent: number[][] = [];
  const link = { sendIp: (p: Uint8Array) => sent.push([...p]) };
  a.deliverIp(Uint8Array.from([1])); // before attach: dropped
  assert.equal((await a.attach({ local: '10.0.0.1', peer: '10.0.0.2', mtu: 1400, mru: 1400, mppe: null, link })).ifname, 'fake0');
  assert.equal((await b.attach({ local: '10.0.0.1', peer: '10.0.0.3', mtu: 1400, mru: 1400, mppe: null, link })).ifname, 'fake1');
  const atIf: number[][] = [];
  a.onInterfaceIp = (p) => atIf.push([...p]);
  a.deliverIp(Uint8Array.from([4, 5]));
  a.injectIp(Uint8Array.from([6, 7, 8]));
  assert.deepEqual(atIf, [[4, 5]]);
  assert.deepEqual(sent, [[6, 7, 8]]);
  assert.deepEqual(a.counters(), { rxPackets: 1, rxBytes: 2, txPackets: 1, txBytes: 3 });
  await a.close();
  await a.close();
  assert.deepEqual([...dp.interfaces], ['fake1']);
  const c = dp.openCall(params('c')) as FakeDatapathCall;
  assert.equal((await c.attach({ local: '10.0.0.1', peer: '10.0.0.4', mtu: 1400, mru: 1400, mppe: null, link })).ifname, 'fake0');
  await dp.close();
  assert.equal(dp.interfaces.size, 0);
  assert.equal(dp.calls.size, 0);
  assert.equal(dp.closedCalls, 3);
  await assert.rejects(c.attach({ local: '1', peer: '2', mtu: 1, mru: 1, mppe: null, link }), PptpdError);
});

test('failAttach makes attach reject', async () => {
  const dp = new FakeDatapath({ failAttach: 'no TUN' });
  const a = dp.openCall(params('a'));
  await assert.rejects(a.attach({ local: '1', peer: '2', mtu: 1, mru: 1, mppe: null, link: { sendIp() {} } }), /no TUN/);
  assert.equal(dp.interfaces.size, 0);
});
