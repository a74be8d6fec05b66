// The link's offer to a datapath's native receive fast path (IpSink.fastRx):
// made only while the link runs a stateless userspace codec with a sink, and
// withdrawn the moment any of that stops (close, peer terminate, sink
// replaced); frames the fast path counted show in the link's and the
// codec's counters as if input() had taken them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastRxLink, IpSink } from '../../src/ppp/types.js';
import { startStatefulLossyPair } from '../helpers/ppp-lossy-pair.js';
import { makePair, type Pair } from '../helpers/ppp-harness.js';

/** A sink that records what the link offers (and never takes a packet). */
function recordingSink(): IpSink & { offers: Array<FastRxLink | null> } {
  const buffer = new Uint8Array(2048);
  return {
    offers: [],
    buffer,
    begin: () => 0,
    commit: () => {},
    fastRx(link) {
      this.offers.push(link);
    },
  };
}

async function running(o: Parameters<typeof makePair>[0] = {}): Promise<Pair> {
  const p = makePair(o);
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  assert.equal(p.server.link.phase, 'running');
  return p;
}

test('offered once a running stateless link gets a sink; the view is the codec\'s receive state; counted() adds to link and codec stats', async () => {
  const p = await running();
  const sink = recordingSink();
  p.server.link.setIpSink(sink);
  assert.equal(sink.offers.length, 1);
  const offer = sink.offers[0]!;
  assert.ok(offer, 'an offer, not a withdrawal');
  assert.ok(offer.mppe.st instanceof Uint8Array);
  assert.equal(offer.mppe.histSlots, 8);
  assert.ok(offer.mppe.rx >= 8 && offer.mppe.hist > offer.mppe.rx, JSON.stringify({ rx: offer.mppe.rx, hist: offer.mppe.hist }));
  assert.equal(offer.rxMax, p.server.ups[0]!.mru + 8, 'the link\'s own limit: MRU + 8');
  // The state is the live codec's: the receive count sits at 4095 before any packet.
  assert.equal((offer.mppe.st[4]! << 8) | offer.mppe.st[5]!, 4095);

  const s = p.server.link.stats;
  const before = { ...s };
  offer.counted(3, 300, 2, 1);
  assert.equal(s.rxFrames - before.rxFrames, 3);
  assert.equal(s.rxBytes - before.rxBytes, 300);
  assert.equal(s.rxIp - before.rxIp, 2);
  assert.equal(s.dropped - before.dropped, 1);

  // Setting the same sink again offers nothing new.
  p.server.link.setIpSink(sink);
  assert.equal(sink.offers.length, 1);
});

test('withdrawn when the sink is replaced (the old sink hears it) and when the link closes', async () => {
  const p = await running();
  const a = recordingSink();
  const b = recordingSink();
  p.server.link.setIpSink(a);
  p.server.link.setIpSink(b);
  assert.deepEqual(a.offers.map((x) => x !== null), [true, false]);
  assert.deepEqual(b.offers.map((x) => x !== null), [true]);
  p.server.link.close('admin');
  assert.deepEqual(b.offers.map((x) => x !== null), [true, false], 'withdrawn as soon as the link terminates');
  await p.settle();
  assert.equal(b.offers.length, 2, 'once');
  p.server.link.setIpSink(null);
  assert.equal(b.offers.length, 2);
});

test('withdrawn when the peer terminates the link; never offered before the link runs', async () => {
  const p = makePair();
  const sink = recordingSink();
  p.server.link.setIpSink(sink);
  assert.equal(sink.offers.length, 0, 'not running yet');
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  assert.deepEqual(sink.offers.map((x) => x !== null), [true], 'offered when the link came up with the sink already set');
  p.client.link.close('bye');
  await p.settle();
  assert.deepEqual(sink.offers.map((x) => x !== null), [true, false]);
});

test('never offered for stateful MPPE, nor without MPPE', async () => {
  const { p } = await startStatefulLossyPair();
  const sink = recordingSink();
  p.server.link.setIpSink(sink);
  assert.equal(sink.offers.length, 0, 'stateful: the fast path is stateless only');

  const plain = await running({
    server: { mppe: { required: false, allow40: false, allow56: false, allow128: true, stateful: false } },
    client: { mppe: null },
  });
  const s2 = recordingSink();
  plain.server.link.setIpSink(s2);
  assert.equal(s2.offers.length, 0, 'no codec: nothing to offer');
});
