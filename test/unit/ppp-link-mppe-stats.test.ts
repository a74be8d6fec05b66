// The link's MPPE health counters (issue 8 part 3: prove stateful MPPE
// resynchronised): decrypt errors and CCP Reset-Requests sent/received, on
// both ends of a back-to-back stateful link that loses one data packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipPacket, makePair } from '../helpers/ppp-harness.js';
import { startStatefulLossyPair } from '../helpers/ppp-lossy-pair.js';

test('stateful MPPE loss: the receiver counts each discarded packet and one Reset-Request sent, the sender one received', async () => {
  const { p, dropNextC2sData } = await startStatefulLossyPair();
  const zero = { mppeErrors: 0, ccpResetsSent: 0, ccpResetsReceived: 0 };
  const pick = (s: typeof p.server.link.stats) => ({ mppeErrors: s.mppeErrors, ccpResetsSent: s.ccpResetsSent, ccpResetsReceived: s.ccpResetsReceived });
  assert.deepEqual(pick(p.server.link.stats), zero);
  const pkt = (n: number) => ipPacket('10.0.0.2', '10.0.0.1', `packet ${n}`);
  p.client.link.sendIp(pkt(1));
  dropNextC2sData();
  p.client.link.sendIp(pkt(2)); // lost
  await p.settle();
  p.client.link.sendIp(pkt(3)); // out of sync: discarded, Reset-Request
  p.client.link.sendIp(pkt(4)); // still before the flush: discarded, no second request (one pending)
  await p.settle();
  p.client.link.sendIp(pkt(5)); // flushed after the Reset-Ack
  await p.settle();
  assert.deepEqual(p.server.ips.map((x) => Buffer.from(x.subarray(20)).toString()), ['packet 1', 'packet 5']);
  assert.deepEqual(pick(p.server.link.stats), { mppeErrors: 2, ccpResetsSent: 1, ccpResetsReceived: 0 });
  assert.deepEqual(pick(p.client.link.stats), { mppeErrors: 0, ccpResetsSent: 0, ccpResetsReceived: 1 });
});

test('stateless MPPE: no loss, no counters', async () => {
  const p = makePair();
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  p.client.link.sendIp(ipPacket('10.0.0.2', '10.0.0.1', 'x'));
  await p.settle();
  assert.equal(p.server.ips.length, 1);
  for (const s of [p.server.link.stats, p.client.link.stats]) {
    assert.deepEqual([s.mppeErrors, s.ccpResetsSent, s.ccpResetsReceived], [0, 0, 0]);
  }
});
