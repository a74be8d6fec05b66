// SessionManager with real ControlConnections, the fake datapath, the real
// address pool and a hand-steered PPP link: every exit path ends in exactly
// one teardown (CDN when PPP ended first, ip-down only after ip-up, interface
// removed, address back, one "session down" line).
import type { LinkTuning } from '../../src/ppp/link.js';
import type { LinkOptions } from '../../src/ppp/types.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PptpMessageOf } from '../../src/protocol/pptp/messages.js';
import { NO_GRE_HINT } from '../../src/session/manager.js';
import { POLICY, SessionHarness, type HarnessOptions } from '../helpers/session-harness.js';
import { LCP_CONFREQ, LCP_TERMREQ, scriptedLinks } from '../helpers/session-scripted-link.js';

function setup(o: HarnessOptions = {}) {
  const s = scriptedLinks();
  const h = new SessionHarness({ ...o, createLink: s.createLink });
  return { h, links: s.links };
}

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('accepted call: datapath call opened, LCP starts only after the OCRP went out', async () => {
  const { h, links } = setup();
  const c = h.connect();
  const r = c.call(0x1234);
  assert.equal(r.resultCode, 1);
  assert.equal(h.manager.size, 1);
  const dpCall = [...h.datapath.calls.values()][0]!;
  assert.equal(dpCall.params.callId, r.callId);
  assert.equal(dpCall.params.peerCallId, 0x1234);
  assert.equal(dpCall.params.clientAddress, '203.0.113.7');
  assert.equal(dpCall.params.localAddress, '198.51.100.1');
  assert.equal(links[0]!.o.dataMode, 'userspace');
  assert.equal(links[0]!.phase, 'dead', 'not started inside onCall');
  let sawOcrp = false;
  links[0]!.onStart = () => (sawOcrp = c.sent.some((m) => m.type === 'OCRP'));
  const toClient: string[] = [];
  dpCall.toClient = (f) => toClient.push(toHex(f));
  await h.settle();
  assert.equal(links[0]!.phase, 'establish');
  assert.ok(sawOcrp);
  assert.deepEqual(toClient, [toHex(LCP_CONFREQ)]);
  // Frames from the client reach the link.
  dpCall.fromClient(Uint8Array.from([0xff, 0x03, 0xc0, 0x21, 0x02, 0x01, 0x00, 0x04]));
  await h.settle();
  assert.equal(links[0]!.inputFrames.length, 1);
});

test('session up: pool address, interface, ip-up with pppd arguments, one "session up" line, list()', async () => {
  const { h, links } = setup();
  const c = h.connect();
  const r = c.call(7);
  await h.settle();
  links[0]!.up('alice');
  await h.settle();
  const [up] = h.logged('session up');
  assert.ok(up);
  assert.equal(h.logged('session up').length, 1);
  assert.equal(up.user, 'alice');
  assert.equal(up.client, '203.0.113.7');
  assert.equal(up.ifname, 'fake0');
  assert.equal(up.peer, '10.0.1.1');
  assert.equal(up.local, '10.0.0.1');
  assert.equal(up.mppe, '128-bit stateless');
  assert.equal(up.mtu, 1400);
  assert.equal(typeof up.sessionId, 'string');
  assert.equal(h.pool.free, 3);
  assert.deepEqual(h.ipUp, [{
    sessionId: up.sessionId, ifname: 'fake0', local: '10.0.0.1', peer: '10.0.1.1', user: 'alice',
    ipparam: '203.0.113.7', dns: ['8.8.8.8'],
  }]);
  const [info] = h.manager.list();
  assert.deepEqual(info, {
    id: up.sessionId, ifname: 'fake0', user: 'alice', peer: '10.0.1.1', client: '203.0.113.7',
    callId: r.callId, peerCallId: 7, startedAt: 1_700_000_000_000, rxBytes: 0, txBytes: 0,
    mppe: '128-bit stateless', state: 'up',
  });
  // The interface passes IP to and from the link; counters show it.
  const dpCall = h.datapath.calls.get(up.sessionId as string)!;
  const atIf: string[] = [];
  dpCall.onInterfaceIp = (p) => atIf.push(toHex(p));
  links[0]!.o.hooks.onIp!(Uint8Array.from([0x45, 0, 0, 20, 1]));
  dpCall.injectIp(Uint8Array.from([0x45, 0, 0, 20, 2, 3]));
  assert.deepEqual(atIf, ['4500001401']);
  assert.equal(h.manager.list()[0]!.rxBytes, 5);
  assert.equal(h.manager.list()[0]!.txBytes, 6);
});

test('noipparam: ip-up gets an empty ipparam', async () => {
  const { h, links } = setup({ noipparam: true });
  h.connect().call(1);
  await h.settle();
  links[0]!.up();
  await h.settle();
  assert.equal(h.ipUp[0]!.ipparam, '');
});

test('admin kill by ifname: LCP Terminate, then CDN (admin shutdown), ip-down, interface and address back, one down line', async () => {
  const { h, links } = setup();
  const c = h.connect();
  const r = c.call(7);
  await h.settle();
  links[0]!.up('alice');
  await h.settle();
  c.take();
  const dpCall = [...h.datapath.calls.values()][0]!;
  const toClient: string[] = [];
  dpCall.toClient = (f) => toClient.push(toHex(f));

  assert.equal(h.manager.kill('nobody'), 0);
  assert.equal(h.manager.kill('fake0'), 1);
  assert.equal(h.manager.kill('fake0'), 0, 'already closing');
  assert.deepEqual(links[0]!.closeCalls, ['killed by administrator']);
  await h.settle();
  assert.deepEqual(toClient, [toHex(LCP_TERMREQ)]);
  assert.equal(c.take().length, 0, 'no CDN before PPP has terminated');
  assert.equal(h.manager.list()[0]!.state, 'closing');

  links[0]!.finishClose(); // TermAck arrived
  const cdn = c.take();
  assert.equal(cdn.length, 1);
  assert.equal(cdn[0]!.type, 'CDN');
  assert.equal((cdn[0] as PptpMessageOf<'CDN'>).callId, r.callId);
  assert.equal((cdn[0] as PptpMessageOf<'CDN'>).resultCode, 3);
  assert.equal(h.manager.size, 0);
  await h.manager.settled();
  assert.equal(h.ipDown.length, 1);
  assert.equal(h.ipDown[0]!.ifname, 'fake0');
  assert.equal(h.datapath.interfaces.size, 0);
  assert.equal(h.datapath.calls.size, 0);
  assert.equal(h.pool.free, 4);
  assert.equal(h.manager.callIds.size, 0);
  const down = h.logged('session down');
  assert.equal(down.length, 1);
  assert.equal(down[0]!.reason, 'killed by administrator');
  assert.equal(down[0]!.user, 'alice');
  assert.equal(down[0]!.ifname, 'fake0');
  assert.equal(typeof down[0]!.durationSec, 'number');
  assert.equal(down[0]!.rxBytes, 0);
  assert.equal(h.clock.pending, 0, 'kill guard timer cancelled');
});

test('kill selectors: user, tunnel address, outer address; a link that never terminates is forced after the grace time', async () => {
  const { h, links } = setup({ killGraceMs: 5000 });
  const c1 = h.connect('203.0.113.7');
  const c2 = h.connect('203.0.113.8');
  c1.call(1);
  c2.call(2);
  c2.call(3);
  await h.settle();
  links[0]!.up('alice');
  links[1]!.up('bob');
  links[2]!.up('bob');
  await h.settle();
  assert.equal(h.manager.kill('10.0.1.1'), 1); // alice by tunnel address
  assert.equal(h.manager.kill('bob'), 2);
  assert.equal(h.manager.kill('203.0.113.8'), 0, 'bob already closing');
  h.clock.advance(4999);
  assert.equal(h.manager.size, 3);
  h.clock.advance(1);
  assert.equal(h.manager.size, 0);
  for (const l of links) assert.deepEqual(l.lowerDownCalls, ['killed by administrator']);
  await h.manager.settled();
  assert.equal(h.logged('session down').length, 3);
  assert.equal(h.pool.free, 4);
  assert.equal(h.datapath.interfaces.size, 0);
});

test('kill by outer address and by session id before the link is up', async () => {
  const { h, links } = setup();
  const c = h.connect('203.0.113.9');
  c.call(1);
  c.call(2);
  // Link not started yet (phase dead): no LCP to send, straight teardown.
  assert.equal(h.manager.kill('203.0.113.9'), 2);
  assert.equal(h.manager.size, 0);
  await h.settle();
  assert.equal(links[0]!.phase, 'dead', 'never started after the kill');
  assert.equal(c.take().filter((m) => m.type === 'CDN').length, 2);
  await h.manager.settled();
  assert.equal(h.ipDown.length, 0, 'ip-down only after ip-up');
  assert.equal(h.logged('session down').length, 2);
});

test('PPP ends first (auth failure, LCP terminate from peer, echo timeout): CDN lost carrier, address back', async () => {
  const { h, links } = setup();
  const c = h.connect();
  c.call(1);
  c.call(2);
  c.call(3);
  await h.settle();
  c.take();
  // 1: authenticated and got an address, then the link fails before IPCP up.
  links[0]!.authenticate('alice');
  assert.equal(h.pool.free, 3);
  links[0]!.down('authentication failed (MS-CHAPv2, user alice)');
  // 2: up, then the peer terminates LCP.
  links[1]!.up('bob');
  await h.settle();
  links[1]!.down('peer requested termination');
  // 3: echo timeout.
  links[2]!.down('peer not responding to LCP echo');
  const cdns = c.take().filter((m) => m.type === 'CDN') as PptpMessageOf<'CDN'>[];
  assert.deepEqual(cdns.map((m) => m.resultCode), [1, 1, 1]);
  assert.equal(h.manager.size, 0);
  await h.manager.settled();
  // (the session that was up logs last: its ip-down runs first)
  assert.deepEqual(h.logged('session down').map((l) => l.reason).sort(), [
    'authentication failed (MS-CHAPv2, user alice)',
    'peer not responding to LCP echo',
    'peer requested termination',
  ]);
  assert.equal(h.ipDown.length, 1);
  assert.equal(h.ipDown[0]!.user, 'bob');
  assert.equal(h.pool.free, 4);
  for (const l of links) assert.equal(l.downCount, 1);
  assert.equal(h.manager.callIds.size, 0);
});

test('CCRQ from the client ends only that call; connection closed without StopCCRQ ends the rest', async () => {
  const { h, links } = setup();
  const c = h.connect();
  const r1 = c.call(0x11);
  c.call(0x22);
  c.call(0x33);
  await h.settle();
  for (const l of links) l.up('alice');
  await h.settle();
  assert.deepEqual(h.manager.list().map((s) => s.peer).sort(), ['10.0.1.1', '10.0.1.2', '10.0.1.3']);
  c.take();
  c.feed({ type: 'CCRQ', callId: 0x11 });
  const cdn = c.take();
  assert.equal(cdn.length, 1);
  assert.equal((cdn[0] as PptpMessageOf<'CDN'>).callId, r1.callId);
  assert.equal((cdn[0] as PptpMessageOf<'CDN'>).resultCode, 4);
  assert.equal(h.manager.size, 2);
  assert.deepEqual(links[0]!.lowerDownCalls, ['call-clear-request from peer']);
  assert.equal(links[1]!.lowerDownCalls.length, 0);

  c.conn.closed(); // TCP reset
  assert.equal(h.manager.size, 0);
  assert.equal(c.take().length, 0, 'nothing sent on a dead socket');
  await h.manager.settled();
  assert.deepEqual(h.logged('session down').map((l) => l.reason), [
    'call-clear-request from peer', 'control connection closed', 'control connection closed',
  ]);
  assert.equal(h.ipDown.length, 3);
  assert.equal(h.datapath.interfaces.size, 0);
  assert.equal(h.pool.free, 4);
  assert.equal(h.manager.callIds.size, 0);
});

test('StopCCRQ from the client ends all its calls', async () => {
  const { h, links } = setup();
  const c = h.connect();
  c.call(1);
  c.call(2);
  await h.settle();
  links[0]!.up();
  await h.settle();
  c.feed({ type: 'StopCCRQ', reason: 1 });
  assert.equal(h.manager.size, 0);
  await h.manager.settled();
  assert.equal(h.logged('session down').length, 2);
  assert.equal(h.pool.free, 4);
});

test('pool exhausted → OCRP busy with a log line; connection limit → busy', async () => {
  const { h, links } = setup({ poolSize: 1 });
  const c = h.connect();
  assert.equal(c.call(1).resultCode, 1);
  await h.settle();
  links[0]!.up();
  await h.settle();
  const refused = c.call(2);
  assert.equal(refused.resultCode, 4);
  assert.equal(refused.callId, 0);
  assert.equal(h.logged('call refused: address pool exhausted').length, 1);
  assert.equal(h.manager.size, 1);
  assert.equal(h.manager.callIds.size, 1);
  assert.equal(h.datapath.opened, 1);

  const { h: h2 } = setup({ connections: 2 });
  const c2 = h2.connect();
  assert.equal(c2.call(1).resultCode, 1);
  assert.equal(c2.call(2).resultCode, 1);
  assert.equal(c2.call(3).resultCode, 4);
  assert.equal(h2.logged('call refused: connection limit reached').length, 1);
});

test('a client the datapath cannot carry is refused with general error', async () => {
  const { h } = setup();
  h.datapath.openCall = () => {
    throw new Error('the TUN datapath carries GRE over IPv4 only');
  };
  const r = h.connect('2001:db8::7').call(1);
  assert.equal(r.resultCode, 2);
  assert.equal(h.manager.size, 0);
  assert.equal(h.manager.callIds.size, 0);
});

test('pinned address (chap-secrets), requested address, address rules, and a switch on request', async () => {
  const { h, links } = setup({ poolSize: 4 });
  const c = h.connect();
  for (let i = 1; i <= 5; i++) c.call(i);
  await h.settle();
  const entry = (o: object) => ({ client: 'u', server: 'pptpd', secret: 'x', addresses: [], source: 't:1', ...o });
  // Pinned outside the pool: honoured.
  assert.deepEqual(links[0]!.authenticate('u', entry({ pinnedAddress: '10.9.9.9', addresses: [{ kind: 'address', address: '10.9.9.9', negate: false }] })),
    { local: '10.0.0.1', peer: '10.9.9.9' });
  // The same pin for another session: refused.
  assert.deepEqual(links[1]!.authenticate('u', entry({ pinnedAddress: '10.9.9.9', addresses: [{ kind: 'address', address: '10.9.9.9', negate: false }] })),
    { error: 'pinned address 10.9.9.9 is in use' });
  // A requested pool address, when free.
  assert.deepEqual(links[2]!.authenticate('alice', undefined, '10.0.1.3'), { local: '10.0.0.1', peer: '10.0.1.3' });
  // Rules excluding the first two addresses.
  const rules = [{ kind: 'address', address: '10.0.1.1', negate: true }, { kind: 'address', address: '10.0.1.2', negate: true }, { kind: 'any' }];
  assert.deepEqual(links[3]!.authenticate('v', entry({ addresses: rules })), { local: '10.0.0.1', peer: '10.0.1.4' });
  // Nothing left that the rules allow.
  assert.deepEqual(links[4]!.authenticate('v', entry({ addresses: rules })), { error: 'no free address allowed for this user by chap-secrets' });
  // Asked again with a specific free address: switches, the old one goes back.
  assert.deepEqual(links[3]!.o.hooks.assignAddress({ user: 'v', requested: '10.0.1.1' }), { local: '10.0.0.1', peer: '10.0.1.1' });
  assert.ok(h.pool.isFree('10.0.1.4'));
  // Asked for one that is taken: keeps its own.
  assert.deepEqual(links[3]!.o.hooks.assignAddress({ user: 'v', requested: '10.0.1.3' }), { local: '10.0.0.1', peer: '10.0.1.1' });
  c.conn.closed();
  await h.manager.settled();
  assert.equal(h.pool.free, 4);
  assert.ok(h.pool.isFree('10.9.9.9'));
});

test('interface setup failure ends the session with that reason', async () => {
  const { h, links } = setup();
  h.datapath.failAttach = 'TUNSETIFF: EPERM';
  const c = h.connect();
  c.call(1);
  await h.settle();
  links[0]!.closeMode = 'sync';
  links[0]!.up();
  await h.settle();
  await h.manager.settled();
  assert.equal(h.manager.size, 0);
  assert.deepEqual(links[0]!.closeCalls, ['interface setup failed: TUNSETIFF: EPERM']);
  const down = h.logged('session down');
  assert.equal(down.length, 1);
  assert.equal(down[0]!.reason, 'interface setup failed: TUNSETIFF: EPERM');
  assert.equal(h.ipUp.length, 0);
  assert.equal(h.ipDown.length, 0);
  assert.equal(h.pool.free, 4);
});

test('teardown while the interface is being attached: no ip-up, interface still removed', async () => {
  const { h, links } = setup();
  const c = h.connect();
  c.call(1);
  await h.settle();
  links[0]!.up(); // attach() is in flight (resolves in a microtask)
  c.conn.closed();
  await h.settle();
  await h.manager.settled();
  assert.equal(h.ipUp.length, 0);
  assert.equal(h.datapath.interfaces.size, 0);
  assert.equal(h.logged('session down').length, 1);
  assert.equal(h.logged('session up').length, 0);
});

test('shutdown: LCP Terminate to every client, CDN + StopCCRQ per connection, ip-down, interfaces removed; later calls refused', async () => {
  const { h, links } = setup();
  const a = h.connect('203.0.113.7');
  const b = h.connect('203.0.113.8');
  a.call(1);
  a.call(2);
  b.call(3);
  await h.settle();
  links[0]!.up();
  links[2]!.up('bob');
  await h.settle();
  const term: number[] = [];
  for (const [i, call] of [...h.datapath.calls.values()].entries()) call.toClient = () => term.push(i);
  a.take();
  b.take();
  await h.manager.shutdown();
  assert.equal(h.manager.size, 0);
  assert.deepEqual(links.map((l) => l.closeCalls), [['server shutdown'], ['server shutdown'], ['server shutdown']]);
  const sentA = a.take().map((m) => m.type);
  assert.deepEqual(sentA, ['CDN', 'CDN', 'StopCCRQ']);
  assert.deepEqual(b.take().map((m) => m.type), ['CDN', 'StopCCRQ']);
  assert.equal(h.ipDown.length, 2);
  assert.equal(h.datapath.interfaces.size, 0);
  assert.equal(h.datapath.calls.size, 0);
  assert.equal(h.pool.free, 4);
  const downs = h.logged('session down');
  assert.equal(downs.length, 3);
  assert.ok(downs.every((l) => l.reason === 'server shutdown'));
  // After shutdown: refused, "do not accept".
  const c = h.connect('203.0.113.9');
  assert.equal(c.call(9).resultCode, 7);
});

test('reload: new policy and back-end for new sessions only', async () => {
  const { h, links } = setup();
  const c = h.connect();
  c.call(1);
  const newPolicy = { ...POLICY, mtu: 1300, dns: ['1.1.1.1'] };
  const backend = { lookup: async () => undefined };
  h.manager.reload({ policy: newPolicy, backend });
  c.call(2);
  assert.equal(links[0]!.o.policy, POLICY);
  assert.equal(links[1]!.o.policy, newPolicy);
  assert.equal(links[1]!.o.backend, backend);
  assert.notEqual(links[0]!.o.backend, backend);
});

test('teardown is idempotent: every exit path at once still gives one down line and one CDN', async () => {
  const { h, links } = setup();
  const c = h.connect();
  c.call(1);
  await h.settle();
  links[0]!.up();
  await h.settle();
  c.take();
  h.manager.kill('alice');
  links[0]!.down('peer requested termination');
  links[0]!.down('again');
  c.feed({ type: 'CCRQ', callId: 1 });
  c.conn.closed();
  h.manager.kill('alice');
  await h.manager.shutdown();
  assert.equal(c.take().filter((m) => m.type === 'CDN').length, 1);
  assert.equal(h.logged('session down').length, 1);
  assert.equal(h.logged('session down')[0]!.reason, 'killed by administrator');
  assert.equal(h.ipDown.length, 1);
  assert.equal(h.pool.free, 4);
});

test('1,000 connect/disconnect cycles leak nothing (sessions, call ids, pool, interfaces, timers)', async () => {
  const { h, links } = setup({ poolSize: 8 });
  for (let i = 0; i < 1000; i++) {
    const c = h.connect(`203.0.113.${(i % 200) + 1}`);
    c.call(1);
    c.call(2);
    await h.settle(1);
    links[links.length - 2]!.up('alice');
    links[links.length - 1]!.authenticate('bob');
    await h.settle(1);
    switch (i % 4) {
      case 0: c.conn.closed(); break;
      case 1: c.feed({ type: 'StopCCRQ', reason: 1 }); break;
      case 2: h.manager.kill('203.0.113.' + ((i % 200) + 1)); links[links.length - 2]!.finishClose(); c.conn.closed(); break;
      case 3: links[links.length - 2]!.down('peer requested termination'); c.feed({ type: 'CCRQ', callId: 2 }); break;
    }
    await h.manager.settled();
  }
  assert.equal(h.manager.size, 0);
  assert.equal(h.manager.callIds.size, 0);
  assert.equal(h.pool.free, 8);
  assert.equal(h.pool.inUse, 0);
  assert.equal(h.datapath.interfaces.size, 0);
  assert.equal(h.datapath.calls.size, 0);
  assert.equal(h.manager.pendingTeardowns, 0);
  assert.equal(h.clock.pending, 0);
  assert.equal(h.logged('session down').length, 2000);
  assert.equal(h.ipUp.length, 1000);
  assert.equal(h.ipDown.length, 1000);
});

test('a call whose client never sent a GRE frame says so in its down line (firewall/NAT hint)', async () => {
  const { h, links } = setup();
  const c = h.connect();
  c.call(1);
  c.call(2);
  await h.settle();
  // Call 2 gets a frame from its client; call 1 never does.
  const calls = [...h.datapath.calls.values()];
  calls[1]!.fromClient(Uint8Array.from([0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x04]));
  await h.settle();
  h.clock.advance(30_000);
  links[0]!.down('LCP: timeout sending Config-Requests');
  links[1]!.down('LCP: timeout sending Config-Requests');
  await h.manager.settled();
  const reasons = h.logged('session down').map((l) => l.reason);
  assert.deepEqual(reasons, ['LCP: timeout sending Config-Requests' + NO_GRE_HINT, 'LCP: timeout sending Config-Requests']);
  // A quick end (kill right after the call) gets no hint.
  c.call(3);
  h.manager.kill('203.0.113.7');
  await h.manager.settled();
  assert.equal(h.logged('session down').at(-1)!.reason, 'killed by administrator');
});

test('lcpStartWaitMs: LCP starts when the client speaks first, or after the wait; no timer left behind', async () => {
  const { h, links } = setup({ lcpStartWaitMs: 1000 });
  const c = h.connect();
  c.call(0x2001);
  c.call(0x2002);
  await h.settle();
  const [first] = [...h.datapath.calls.values()];
  assert.equal(links[0]!.phase, 'dead', 'waits for the client');
  assert.equal(links[1]!.phase, 'dead');
  // The first client speaks: our LCP starts at once and sees its frame.
  first!.fromClient(Uint8Array.from([0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x04]));
  await h.settle();
  assert.equal(links[0]!.phase, 'establish');
  assert.equal(links[0]!.inputFrames.length, 1);
  // The second stays silent: we start on our own after the wait.
  h.clock.advance(999);
  await h.settle();
  assert.equal(links[1]!.phase, 'dead');
  h.clock.advance(1);
  await h.settle();
  assert.equal(links[1]!.phase, 'establish');
});

test('lcpStartWaitMs: a call cleared during the wait leaves no pending start', async () => {
  const { h, links } = setup({ lcpStartWaitMs: 1000 });
  const c = h.connect();
  c.call(0x2003);
  await h.settle();
  const before = h.clock.pending;
  c.feed({ type: 'CCRQ', callId: 0x2003 });
  await h.settle();
  await h.manager.settled();
  assert.ok(h.clock.pending < before, 'the start timer was cancelled');
  h.clock.advance(2000);
  await h.settle();
  assert.equal(links[0]!.phase, 'dead', 'never started');
});

test('pppd lcp-* timers reach every new link (and a reload changes them for new sessions)', async () => {
  const { h, links } = setup();
  h.manager.reload({ fsm: { restartMs: 1000, maxConfigure: 4 } });
  h.connect().call(0x3001);
  await h.settle();
  assert.deepEqual((links[0]!.o as LinkOptions & LinkTuning).fsm, { restartMs: 1000, maxConfigure: 4 });
});

test('pppd idle: one sweep ends a session that moved no IP packet for the idle time; traffic keeps one up', async () => {
  const { h, links } = setup();
  h.manager.reload({ policy: { ...POLICY, idleSeconds: 30 } });
  const c = h.connect();
  c.call(0x4001);
  c.call(0x4002);
  await h.settle();
  links[0]!.up('alice');
  links[1]!.up('bob');
  await h.settle();
  const [, busy] = [...h.datapath.calls.values()];
  const timersWithTwo = h.clock.pending;
  // Idle after 30 s, then LCP Terminate; the scripted link never answers, so
  // the kill grace (7 s) forces the end.
  for (let t = 0; t < 50; t++) {
    busy!.injectIp(Uint8Array.from([0x45, 0, 0, 20]));
    h.clock.advance(1000);
    await h.settle();
  }
  const down = h.logged('session down');
  assert.equal(down.length, 1, JSON.stringify(down));
  assert.equal(down[0]!.user, 'alice');
  assert.match(String(down[0]!.reason), /^idle for 3\d s \(pppd idle 30\)$/);
  assert.deepEqual(h.manager.list().map((s) => s.user), ['bob']);
  assert.ok(h.clock.pending <= timersWithTwo, 'one sweep timer, not one per session');
});
