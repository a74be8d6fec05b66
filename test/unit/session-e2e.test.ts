// Full sessions with the real engines: a PPTP client (encoded SCCRQ/OCRQ into
// a real ControlConnection) and a client-side PppLink with real MS-CHAPv2 and
// MPPE-128, through the session manager and the fake datapath.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FakeDatapathCall } from '../../src/datapath/fake/index.js';
import { PppClientLink } from '../../src/ppp/link.js';
import type { LinkUpInfo } from '../../src/ppp/types.js';
import type { PptpMessageOf } from '../../src/protocol/pptp/messages.js';
import { seededRandom } from '../../src/util/random.js';
import { silentLogger } from '../../src/util/log.js';
import { POLICY, SessionHarness, tableBackend, type HarnessOptions } from '../helpers/session-harness.js';

interface Client {
  link: PppClientLink;
  call: FakeDatapathCall;
  up?: LinkUpInfo;
  down?: string;
  ip: string[];
}

/** Every new datapath call gets a client PppLink wired to it (credentials by order of calls). */
function withClients(o: HarnessOptions & { creds?: Array<[string, string]> } = {}) {
  const h = new SessionHarness({
    backend: tableBackend({ user2: '123', alice: 'alicePass' }),
    ...o,
  });
  const clients: Client[] = [];
  let n = 0;
  h.datapath.onOpen = (call) => {
    const [user, password] = o.creds?.[n] ?? o.creds?.at(-1) ?? ['user2', '123'];
    n++;
    const c: Client = { call, ip: [], link: undefined as unknown as PppClientLink };
    c.link = new PppClientLink({
      policy: { ...POLICY, dns: [] },
      credentials: { user, password },
      clock: h.clock,
      random: seededRandom(1000 + n),
      log: silentLogger,
      dataMode: 'userspace',
      hooks: {
        send: (f) => call.fromClient(f),
        onUp: (info) => (c.up = info),
        onDown: (r) => (c.down = r),
        onIp: (p) => c.ip.push(Buffer.from(p).toString('hex')),
      },
    });
    call.toClient = (f) => c.link.input(f);
    clients.push(c);
  };
  return { h, clients };
}

/** Runs microtasks/promises until cond holds (the two PPP engines talk in microtasks). */
async function until(h: SessionHarness, cond: () => boolean, what: string, rounds = 200): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (cond()) return;
    await h.settle(1);
  }
  assert.fail(`never happened: ${what}`);
}

/** OCRP accepted → the client's PPP starts (as pptp-linux starts pppd on OCRP). */
async function dial(h: SessionHarness, clients: Client[], conn: ReturnType<SessionHarness['connect']>, peerCallId: number): Promise<Client> {
  const r = conn.call(peerCallId);
  assert.equal(r.resultCode, 1, 'OCRP connected');
  const c = clients.at(-1)!;
  c.link.start();
  return c;
}

const ICMP = '4500001c00004000400100000a0001010a000001080000000000000000000000';

test('a full session: LCP, MS-CHAPv2, MPPE-128, IPCP with a pool address; IP both ways; kill tears it all down', async () => {
  const { h, clients } = withClients();
  const conn = h.connect('203.0.113.7');
  const c = await dial(h, clients, conn, 0x4001);
  await until(h, () => c.up !== undefined && h.manager.list()[0]?.state === 'up', 'link up on both sides');

  // Client side view.
  // (from the client's side, local is its own address)
  assert.equal(c.up!.local, '10.0.1.1', 'client got the first pool address');
  assert.equal(c.up!.peer, '10.0.0.1');
  assert.deepEqual(c.up!.dns, ['8.8.8.8', '8.8.4.4']);
  assert.equal(c.up!.mppe?.bits, 128);
  assert.equal(c.up!.mppe?.stateful, false);
  // Server side view.
  const [info] = h.manager.list();
  assert.equal(info!.user, 'user2');
  assert.equal(info!.peer, '10.0.1.1');
  assert.equal(info!.ifname, 'fake0');
  assert.equal(info!.mppe, '128-bit stateless');
  const up = h.logged('session up');
  assert.equal(up.length, 1);
  assert.equal(up[0]!.auth, 'mschapv2');
  assert.equal(h.pool.free, 3);
  assert.equal(h.ipUp.length, 1);

  // IP from the client, encrypted by its MPPE, decrypted by ours, out of the interface.
  const atIf: string[] = [];
  c.call.onInterfaceIp = (p) => atIf.push(Buffer.from(p).toString('hex'));
  c.link.sendIp(Buffer.from(ICMP, 'hex'));
  await until(h, () => atIf.length === 1, 'packet at the interface');
  assert.deepEqual(atIf, [ICMP]);
  // And the other way.
  c.call.injectIp(Buffer.from(ICMP.replace('0a0001010a000001', '0a0000010a000101'), 'hex'));
  await until(h, () => c.ip.length === 1, 'packet at the client');
  assert.equal(c.ip[0], ICMP.replace('0a0001010a000001', '0a0000010a000101'));
  const counters = h.manager.list()[0]!;
  assert.equal(counters.rxBytes, 32);
  assert.equal(counters.txBytes, 32);

  // Admin kill: LCP Terminate reaches the client, its TermAck ends the link, then CDN.
  conn.take();
  assert.equal(h.manager.kill('user2'), 1);
  await until(h, () => h.manager.size === 0, 'session gone');
  assert.ok(c.down, 'the client saw its link end');
  const cdn = conn.take().filter((m) => m.type === 'CDN') as PptpMessageOf<'CDN'>[];
  assert.equal(cdn.length, 1);
  assert.equal(cdn[0]!.resultCode, 3);
  await h.manager.settled();
  const down = h.logged('session down');
  assert.equal(down.length, 1);
  assert.equal(down[0]!.reason, 'killed by administrator');
  assert.equal(down[0]!.rxBytes, 32);
  assert.equal(down[0]!.txBytes, 32);
  assert.equal(h.ipDown.length, 1);
  assert.equal(h.ipDown[0]!.bytesReceived, 32);
  assert.equal(h.pool.free, 4);
  assert.equal(h.datapath.interfaces.size, 0);
  assert.equal(h.manager.callIds.size, 0);
});

test('wrong password: refused, the reason is logged without the password, CDN sent; a right one works after', async () => {
  const { h, clients } = withClients({ creds: [['user2', 'wrong-pw'], ['user2', '123']] });
  const conn = h.connect();
  const bad = await dial(h, clients, conn, 1);
  await until(h, () => h.manager.size === 0, 'failed session gone');
  assert.equal(bad.up, undefined);
  await h.manager.settled();
  const down = h.logged('session down');
  assert.equal(down.length, 1);
  assert.match(String(down[0]!.reason), /auth/i);
  assert.ok(!JSON.stringify(h.lines).includes('wrong-pw'), 'password never logged');
  assert.ok(conn.take().some((m) => m.type === 'CDN'));
  assert.equal(h.pool.free, 4);
  assert.equal(h.ipUp.length, 0);
  assert.equal(h.ipDown.length, 0);

  const good = await dial(h, clients, conn, 2);
  await until(h, () => good.up !== undefined, 'second attempt up');
  assert.equal(h.manager.list()[0]!.user, 'user2');
});

test('several calls on one connection (pptp-linux) and on separate connections, each with its own address and interface', async () => {
  const { h, clients } = withClients({ creds: [['user2', '123'], ['alice', 'alicePass'], ['user2', '123']] });
  const one = h.connect('203.0.113.7');
  const other = h.connect('203.0.113.8');
  const a = await dial(h, clients, one, 1);
  const b = await dial(h, clients, one, 2);
  const c = await dial(h, clients, other, 1);
  await until(h, () => [a, b, c].every((x) => x.up) && h.manager.list().every((s) => s.state === 'up'), 'all up');
  const list = h.manager.list();
  assert.equal(new Set(list.map((s) => s.peer)).size, 3);
  assert.equal(new Set(list.map((s) => s.ifname)).size, 3);
  assert.equal(new Set(list.map((s) => s.callId)).size, 3);
  assert.deepEqual(list.map((s) => s.user).sort(), ['alice', 'user2', 'user2']);

  // The shared connection closes without StopCCRQ: its two sessions end, the other stays.
  one.conn.closed();
  assert.equal(h.manager.size, 1);
  assert.equal(h.manager.list()[0]!.client, '203.0.113.8');
  await h.manager.settled();
  assert.deepEqual(h.logged('session down').map((l) => l.reason), ['control connection closed', 'control connection closed']);
  assert.equal(h.pool.free, 3);
  assert.equal(h.datapath.interfaces.size, 1);
});

test('pool exhausted: OCRP refused with busy (4), the server keeps serving', async () => {
  const { h, clients } = withClients({ poolSize: 1 });
  const conn = h.connect();
  const a = await dial(h, clients, conn, 1);
  await until(h, () => a.up !== undefined, 'first up');
  const r = conn.call(2);
  assert.equal(r.resultCode, 4);
  assert.equal(h.logged('call refused: address pool exhausted').length, 1);
  conn.feed({ type: 'CCRQ', callId: 1 });
  await h.manager.settled();
  const b = await dial(h, clients, conn, 3);
  await until(h, () => b.up !== undefined, 'next one up after the address came back');
  assert.equal(b.up!.local, '10.0.1.1');
});

test('LCP echo timeout ends the session with that reason (GRE gone, TCP still up)', async () => {
  const { h, clients } = withClients();
  h.manager.reload({ policy: { ...POLICY, lcpEchoInterval: 10, lcpEchoFailure: 3 } });
  const conn = h.connect();
  const c = await dial(h, clients, conn, 1);
  await until(h, () => c.up !== undefined && h.manager.list()[0]?.state === 'up', 'up');
  c.call.toClient = () => {}; // GRE to the client blackholed
  for (let i = 0; i < 6 && h.manager.size > 0; i++) {
    h.clock.advance(10_000);
    await h.settle(2);
  }
  assert.equal(h.manager.size, 0);
  await h.manager.settled();
  assert.match(String(h.logged('session down')[0]!.reason), /echo/i);
  assert.equal((conn.take().filter((m) => m.type === 'CDN') as PptpMessageOf<'CDN'>[]).at(-1)!.resultCode, 1);
  assert.equal(h.pool.free, 4);
});

test('1,000 full connect/disconnect cycles with the real engines leak nothing (pool, sessions, call ids, interfaces, timers)', async () => {
  const { h, clients } = withClients({ poolSize: 4 });
  for (let i = 0; i < 1000; i++) {
    const conn = h.connect(`203.0.113.${(i % 100) + 1}`);
    const c = await dial(h, clients, conn, (i % 65000) + 1);
    await until(h, () => c.up !== undefined && h.manager.list()[0]?.state === 'up', `cycle ${i} up`);
    switch (i % 3) {
      case 0: conn.conn.closed(); break; // pptp-linux: TCP closed, no StopCCRQ
      case 1: conn.feed({ type: 'StopCCRQ', reason: 1 }); break; // Windows
      case 2: h.manager.kill('user2'); break;
    }
    await until(h, () => h.manager.size === 0, `cycle ${i} down`);
    await h.manager.settled();
    // The client's own link is done with too (it would retransmit otherwise).
    c.link.lowerDown('test cycle done');
    h.clock.advance(0); // fires nothing due; prunes cancelled timers
  }
  assert.equal(h.manager.size, 0);
  assert.equal(h.manager.callIds.size, 0);
  assert.equal(h.pool.free, 4);
  assert.equal(h.pool.inUse, 0);
  assert.equal(h.datapath.interfaces.size, 0);
  assert.equal(h.datapath.calls.size, 0);
  assert.equal(h.manager.pendingTeardowns, 0);
  assert.equal(h.clock.pending, 0);
  assert.equal(h.logged('session up').length, 1000);
  assert.equal(h.logged('session down').length, 1000);
  assert.equal(h.ipDown.length, 1000);
});
