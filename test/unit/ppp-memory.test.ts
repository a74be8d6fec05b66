// What a running session holds (issue 9, ≤ 20 KB per session): the PPP link
// lets go of negotiation-only state once it runs — and behaves exactly as
// before. Log lines keep their `component: "ppp"` binding in the same place
// without a child logger; key material is dropped after the codec took it;
// an FSM forgets its acked request; CHAP repeats its verdict from the text;
// IPCP servers share one DNS/WINS pair; a session drops settled promises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { PppClientLink, PppLink, type LinkUpInfo } from '../../src/ppp/link.js';
import { Fsm, type FsmProtocol } from '../../src/ppp/fsm.js';
import { CONFACK, CONFREQ } from '../../src/ppp/constants.js';
import type { PacketWriter } from '../../src/ppp/options.js';
import { Ipcp } from '../../src/ppp/ipcp.js';
import { Session } from '../../src/session/session.js';
import { createLogger, silentLogger } from '../../src/util/log.js';
import { seededRandom } from '../../src/util/random.js';
import { backend, makePair, policy } from '../helpers/ppp-harness.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { settle } from '../helpers/auth-fake.js';
import { pipe } from '../helpers/auth-pipe.js';

function jsonLogger(): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(c: Buffer, _e, cb) {
      for (const l of c.toString().split('\n')) if (l) lines.push(l);
      cb();
    },
  });
  return { log: createLogger({ format: 'json', destination, level: 'debug' }), lines };
}

const noTime = (l: string) => l.replace(/"time":\d+,/, '');

test('link log lines: component "ppp" in the same place a child logger put it (same JSON bytes)', async () => {
  const got = jsonLogger();
  // As the session manager builds it: component "session", then the session's bindings.
  const sessionLog = got.log.child({ component: 'session' }).child({ sessionId: 's-1', client: '192.0.2.9' });
  const clock = new FakeClock();
  const queue: Array<{ to: PppLink; f: Uint8Array }> = [];
  const ups: LinkUpInfo[] = [];
  const server: PppLink = new PppLink({
    policy: policy(), backend: backend({ alice: 'secret-pw' }), clock, random: seededRandom(1), log: sessionLog,
    dataMode: 'userspace',
    hooks: {
      send: (f) => queue.push({ to: client, f: f.slice() }),
      assignAddress: () => ({ local: '10.0.0.1', peer: '10.0.0.2' }),
      onUp: (i) => ups.push(i),
      onDown: () => {},
    },
  });
  const client: PppLink = new PppClientLink({
    policy: policy({ name: 'client' }), clock, random: seededRandom(2), log: silentLogger, dataMode: 'userspace',
    credentials: { user: 'alice', password: 'secret-pw' },
    hooks: { send: (f) => queue.push({ to: server, f: f.slice() }), onUp: () => {}, onDown: () => {} },
  });
  const pump = async () => {
    for (let i = 0; i < 50; i++) {
      while (queue.length) {
        const { to, f } = queue.shift()!;
        to.input(f);
      }
      await new Promise((r) => setImmediate(r));
    }
  };
  server.start();
  client.start();
  await pump();
  assert.equal(server.phase, 'running');
  server.close('admin says bye');
  await pump();

  // The reference: the same calls on a pino child logger with { component: 'ppp' }.
  const ref = jsonLogger();
  const refLog = ref.log.child({ component: 'session' }).child({ sessionId: 's-1', client: '192.0.2.9' }).child({ component: 'ppp' });
  // debug on the server: the session's 'session up' line is the info one.
  refLog.debug({ user: 'alice', local: '10.0.0.1', peer: '10.0.0.2', mtu: 1400, mru: 1400, mppe: '128 stateless', auth: 'mschapv2' }, 'PPP link up');
  refLog.info({ user: 'alice', reason: 'admin says bye', mppe: { mode: 'stateless', decryptErrors: 0, resetRequestsSent: 0, resetRequestsReceived: 0 } }, 'PPP link down');

  const linkLines = got.lines.filter((l) => l.includes('"msg":"PPP link'));
  assert.equal(linkLines.length, 2);
  assert.deepEqual(linkLines.map(noTime), ref.lines.map(noTime));
  assert.ok(linkLines[0]!.includes('"component":"session","sessionId":"s-1","client":"192.0.2.9","component":"ppp","user":"alice"'));
  assert.equal(ups.length, 1);
});

test('a running link keeps no key material; onUp got the keys; MPPE data still flows both ways', async () => {
  const p = makePair();
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  assert.equal(p.server.link.phase, 'running');
  const info = p.server.ups[0]!;
  assert.equal(info.mppe?.sendKey.length, 16, 'the consumer of onUp keeps real keys');
  assert.ok(info.mppe!.sendKey.some((b) => b !== 0));
  const inner = p.server.link as unknown as { keys: unknown; mppe: { bits: number; stateful: boolean; sendKey: Uint8Array; recvKey: Uint8Array } };
  assert.equal(inner.keys, undefined, 'master key released');
  assert.deepEqual([inner.mppe.bits, inner.mppe.stateful, inner.mppe.sendKey.length, inner.mppe.recvKey.length], [128, false, 0, 0]);
  // Two links in the same mode share the mode object (nothing per session).
  const q = makePair();
  q.server.link.start();
  q.client.link.start();
  await q.settle();
  assert.equal((q.server.link as unknown as typeof inner).mppe, inner.mppe);

  const ip = Uint8Array.from([0x45, 0, 0, 24, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1, 1, 2, 3, 4]);
  p.client.link.sendIp(ip);
  p.server.link.sendIp(ip);
  await p.settle();
  assert.deepEqual([p.server.ips.length, p.client.ips.length], [1, 1]);
  assert.deepEqual(p.server.ips[0], ip);
  assert.equal(p.server.link.stats.mppeErrors, 0);
});

class OneOption implements FsmProtocol {
  readonly name = 'TEST';
  ups = 0;
  downs = 0;
  mru = 1500;
  resetci() {}
  addci(w: PacketWriter) { w.opt16(1, this.mru); }
  nakci() { return true; }
  rejci() { return true; }
  reqci() { return CONFACK; }
  up() { this.ups++; }
  down() { this.downs++; }
  starting() {}
  finished() {}
}

test('FSM: the acked request is released in Opened; a late duplicate Ack is dropped; renegotiation matches the new request', () => {
  const clock = new FakeClock();
  const proto = new OneOption();
  const sent: Uint8Array[] = [];
  const fsm = new Fsm(0xc021, proto, { send: (p) => sent.push(p) }, clock);
  const lastReq = () => (fsm as unknown as { lastReq: Uint8Array }).lastReq;
  fsm.up();
  fsm.open();
  const req = sent[0]!;
  assert.equal(req[0], CONFREQ);
  assert.equal(lastReq().length, 4, 'held while waiting for the Ack');
  const ack = Uint8Array.from(req);
  ack[0] = CONFACK;
  fsm.input(ack);
  fsm.input(Uint8Array.from([CONFREQ, 9, 0, 4]));
  assert.equal(fsm.state, 'opened');
  assert.equal(proto.ups, 1);
  assert.equal(lastReq().length, 0, 'released once Opened');
  assert.equal(clock.pending, 0, 'no timer in Opened');

  const dropped = fsm.stats.dropped;
  fsm.input(ack); // the same Ack again
  assert.equal(fsm.state, 'opened');
  assert.equal(fsm.stats.dropped, dropped + 1);

  // The peer renegotiates: tld, a new request (different value), our Ack of theirs.
  proto.mru = 1400;
  const n = sent.length;
  fsm.input(Uint8Array.from([CONFREQ, 10, 0, 4]));
  assert.equal(proto.downs, 1);
  const req2 = sent.slice(n).find((p) => p[0] === CONFREQ)!;
  assert.deepEqual([...req2.subarray(4)], [1, 4, 0x05, 0x78]);
  const staleAck = Uint8Array.from(ack);
  staleAck[1] = req2[1]!; // right id, old contents: must not match
  fsm.input(staleAck);
  assert.equal(fsm.state, 'acksent');
  const ack2 = Uint8Array.from(req2);
  ack2[0] = CONFACK;
  fsm.input(ack2);
  assert.equal(fsm.state, 'opened');
  assert.equal(proto.ups, 2);
  assert.equal(lastReq().length, 0);
});

test('FSM: a plain send function still works (tests and simple hosts)', () => {
  const sent: Uint8Array[] = [];
  const fsm = new Fsm(0xc021, new OneOption(), (p) => sent.push(p), new FakeClock());
  fsm.up();
  fsm.open();
  assert.equal(sent.length, 1);
});

test('CHAP: a repeated Response after the final Failure gets the same Failure bytes again', async () => {
  const p = pipe('mschapv2', { password: 'wrong', maxRetries: 0 });
  await settle(10);
  const failure = p.fromServer[p.fromServer.length - 1]!;
  assert.equal(failure[0], 4);
  assert.match(Buffer.from(failure.subarray(4)).toString(), /^E=691 R=0 C=[0-9A-F]{32} V=3 M=Authentication failed$/);
  const n = p.fromServer.length;
  p.server.input(p.fromPeer[0]!);
  assert.equal(p.fromServer.length, n + 1);
  assert.deepEqual(p.fromServer[n], failure);
  assert.equal(p.serverDone.length, 1);
  assert.equal(p.serverDone[0]!.ok, false);
});

test('IPCP server: links of one policy share a frozen DNS/WINS pair; a client still keeps what it is given', () => {
  const clock = new FakeClock();
  const host = { send() {}, up() {}, down() {}, finished() {}, fail() {} };
  const dns = [0x08080808];
  const wins: number[] = [];
  const a = new Ipcp({ role: 'server', local: 1, peer: 2, dns, wins, clock }, host);
  const b = new Ipcp({ role: 'server', local: 1, peer: 3, dns, wins, clock }, host);
  assert.equal(a.dns, b.dns);
  assert.deepEqual([...a.dns], [0x08080808, 0]);
  assert.deepEqual([...a.wins], [0, 0]);
  assert.ok(Object.isFrozen(a.dns));
  const c1 = new Ipcp({ role: 'client', local: 0, peer: 0, dns: [], wins: [], clock }, host);
  const c2 = new Ipcp({ role: 'client', local: 0, peer: 0, dns: [], wins: [], clock }, host);
  assert.notEqual(c1.dns, c2.dns, 'each client its own');
  assert.ok(!Object.isFrozen(c1.dns));
});

test('Session: settled set-up promises are let go; a pending one is still there to wait for', async () => {
  const s = new Session({
    id: 'x', conn: { disconnectCall() {}, stop() {}, state: 'established' }, callId: 1, peerCallId: 2,
    clientAddress: '192.0.2.1', localAddress: '192.0.2.2', startedAt: 0, startMono: 0, log: silentLogger,
  });
  let resolve!: () => void;
  const pending = new Promise<void>((r) => { resolve = r; });
  s.attaching = pending;
  await settle();
  assert.equal(s.attaching, pending, 'held while pending');
  resolve();
  await settle();
  assert.equal(s.attaching, undefined, 'released once settled');

  // A rejected one is released too and raises no unhandled rejection (the manager handles it).
  const failing = Promise.reject(new Error('no interface'));
  failing.catch(() => {});
  s.attaching = failing;
  await settle();
  assert.equal(s.attaching, undefined);

  // Replaced while pending: the old one settling does not clear the new one.
  let r1!: () => void;
  const first = new Promise<void>((r) => { r1 = r; });
  const second = new Promise<void>(() => {});
  s.ipUp = first;
  s.ipUp = second;
  r1();
  await settle();
  assert.equal(s.ipUp, second);
});
