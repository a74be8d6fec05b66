// The kernel datapath (src/datapath/kernel) driven by the real session
// manager, control connection and PPP engines (server link in kernel data
// mode, client link with real MS-CHAPv2 and MPPE), over an in-memory model of
// ppp_generic (test/helpers/datapath-kernel-fake.ts). What it pins down:
// which fd each control frame takes, that the MPPE keys reach the kernel
// before either CCP Configure-Ack passes the unit, interface set-up, the
// refusal to go up without kernel MPPE, counters from the interface, and the
// teardown order on every exit path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlConnection } from '../../src/control/connection.js';
import { KernelDatapath } from '../../src/datapath/kernel/index.js';
import { AddressPool } from '../../src/ippool/pool.js';
import { PppClientLink } from '../../src/ppp/link.js';
import type { LinkUpInfo, PppPolicy } from '../../src/ppp/types.js';
import { decode, encode } from '../../src/protocol/pptp/codec.js';
import type { PptpMessage, PptpMessageOf } from '../../src/protocol/pptp/messages.js';
import type { ScriptSession } from '../../src/scripts/ppp-scripts.js';
import { SessionManager } from '../../src/session/manager.js';
import { silentLogger } from '../../src/util/log.js';
import { seededRandom } from '../../src/util/random.js';
import { NPMODE, PPP_IP, SC } from '../../native/kppp.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeKernel, type FakeUnit } from '../helpers/datapath-kernel-fake.js';
import { POLICY, SCCRQ, captureLog, ocrq, tableBackend } from '../helpers/session-harness.js';

const SERVER_OUTER = '198.51.100.1';
const CLIENT_OUTER = '203.0.113.7';

interface Client {
  link: PppClientLink;
  unit: FakeUnit;
  up?: LinkUpInfo;
  down?: string;
}

function setup(o: { policy?: PppPolicy; clientPolicy?: PppPolicy } = {}) {
  const clock = new FakeClock(1_000);
  const { log, lines } = captureLog();
  const kernel = new FakeKernel();
  const datapath = new KernelDatapath({ clock, log: silentLogger, native: kernel.native });
  const ipUp: ScriptSession[] = [];
  const ipDown: ScriptSession[] = [];
  const manager = new SessionManager({
    config: { policy: o.policy ?? POLICY, connections: 10 },
    pool: new AddressPool([0x0a000001, 0x0a000001], [0x0a000101, 0x0a000102]),
    backend: tableBackend({ user2: '123' }),
    datapath,
    clock,
    random: seededRandom(7),
    log,
    scripts: { ipUp: async (s) => void ipUp.push(s), ipDown: async (s) => void ipDown.push(s) },
  });
  const sent: PptpMessage[] = [];
  const conn: ControlConnection = new ControlConnection({
    clock, log, peer: `${CLIENT_OUTER}:40000`, hostName: 'pptpd', vendor: 'test', stimeoutMs: 10_000, echoIntervalMs: 0,
    callIds: manager.callIds,
    send: (b) => void sent.push(decode(b)),
    close: () => {},
    onCall: (call) => manager.onCall(conn, call, CLIENT_OUTER, SERVER_OUTER),
    onCallCleared: (id, r) => manager.onCallCleared(conn, id, r),
  });
  const clients: Client[] = [];
  // The "network": frames the server writes reach the client's link in a
  // later macrotask, the client's frames reach the kernel model likewise.
  kernel.onWrite = (u, _fd, frame) => {
    const c = clients.find((x) => x.unit === u);
    setImmediate(() => c?.link.input(frame));
  };
  const dial = (peerCallId: number): Client => {
    if (conn.state === 'idle') conn.input(encode(SCCRQ));
    conn.input(encode(ocrq(peerCallId)));
    const ocrp = sent.filter((m) => m.type === 'OCRP').at(-1) as PptpMessageOf<'OCRP'>;
    assert.equal(ocrp.resultCode, 1, 'OCRP connected');
    const unit = [...kernel.units.values()].find((u) => u.open.peerCallId === peerCallId)!;
    const c: Client = { unit, link: undefined as unknown as PppClientLink };
    c.link = new PppClientLink({
      policy: { ...(o.clientPolicy ?? POLICY), dns: [] },
      credentials: { user: 'user2', password: '123' },
      clock, random: seededRandom(99), log: silentLogger, dataMode: 'userspace',
      hooks: {
        send: (f) => {
          const copy = Uint8Array.from(f);
          setImmediate(() => kernel.fromPeer(unit, copy));
        },
        onUp: (info) => (c.up = info),
        onDown: (r) => (c.down = r),
      },
    });
    clients.push(c);
    c.link.start();
    return c;
  };
  const settle = async (cond: () => boolean, what: string): Promise<void> => {
    for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setImmediate(r));
    assert.ok(cond(), `never happened: ${what}`);
  };
  return { clock, lines, kernel, datapath, manager, conn, sent, dial, settle, ipUp, ipDown };
}

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

test('a session on the kernel datapath: fds by protocol, MPPE keys before the CCP Configure-Acks, pppN configured, counters, clean teardown', async () => {
  const t = setup();
  const c = t.dial(0x4001);
  await t.settle(() => t.manager.list()[0]?.state === 'up' && c.up !== undefined, 'session up');
  const u = c.unit;
  const k = t.kernel;

  // The channel is bound to (our address, our call id), connected to the client's.
  const s = t.manager.list()[0]!;
  assert.ok(k.ops.includes(`pptpChannelOpen ${SERVER_OUTER} ${u.open.localCallId} ${CLIENT_OUTER} ${0x4001}`));
  assert.equal(s.ifname, 'ppp0');

  // Control frames: protocol first, never FF 03; LCP/CHAP on the channel,
  // CCP/IPCP on the unit (ppp_generic delivers and expects them there).
  assert.ok(u.written.length > 0);
  for (const w of u.written) {
    const proto = (w.frame[0]! << 8) | w.frame[1]!;
    assert.notEqual(w.frame[0], 0xff, 'no FF 03 on kernel fds');
    assert.equal(w.fd, proto >= 0xc000 ? 'channel' : 'unit', `protocol ${proto.toString(16)} on the ${w.fd} fd`);
  }
  assert.ok(u.written.some((w) => w.frame[0] === 0xc2 && w.frame[1] === 0x23), 'CHAP went out');
  assert.ok(u.written.some((w) => w.frame[0] === 0x80 && w.frame[1] === 0xfd), 'CCP went out');
  assert.ok(u.written.some((w) => w.frame[0] === 0x80 && w.frame[1] === 0x21), 'IPCP went out');

  // Keys: both installed before the first CCP frame of ours and before either
  // Configure-Ack passed; they are the client's keys seen from the other end.
  const ops = k.ops;
  const firstCcp = ops.findIndex((x) => x.startsWith('write unit 80fd'));
  const tx = ops.indexOf('pppSetCompress transmit');
  const rx = ops.indexOf('pppSetCompress receive');
  assert.ok(tx >= 0 && rx >= 0 && tx < firstCcp && rx < firstCcp, ops.join('\n'));
  assert.ok(rx < ops.indexOf('ccp-confack-in') && tx < ops.indexOf('ccp-confack-out'));
  assert.equal(hex(u.xkey), hex(c.up!.mppe!.recvKey), 'we encrypt with what the client decrypts with');
  assert.equal(hex(u.rkey), hex(c.up!.mppe!.sendKey));
  assert.equal(c.up!.mppe!.bits, 128);
  // Armed with SC_CCP_OPEN (+ SC_MUST_COMP: require-mppe-128), UP once the link runs.
  const armed = ops.find((x) => x.startsWith('pppSetFlags unit'));
  assert.equal(armed, `pppSetFlags unit 0x0`); // first: clear any earlier state
  assert.equal(u.flags & (SC.CCP_OPEN | SC.CCP_UP | SC.MUST_COMP), SC.CCP_OPEN | SC.CCP_UP | SC.MUST_COMP);
  assert.ok(u.compRun && u.decompRun, 'the kernel runs MPPE both ways');

  // The interface: MTU, point-to-point addresses, up, then IP passes.
  assert.deepEqual(k.ifaces.get('ppp0'), { up: true, mtu: 1400, local: '10.0.0.1', peer: '10.0.1.1' });
  assert.equal(u.npmode.get(PPP_IP), NPMODE.PASS);
  assert.ok(ops.indexOf('ifSetUp ppp0 true') < ops.indexOf(`pppSetNpMode 0x21 ${NPMODE.PASS}`));
  assert.ok(ops.indexOf('pppSetFlags unit 0x4000c0') < ops.indexOf(`pppSetNpMode 0x21 ${NPMODE.PASS}`), 'CCP up before data passes');
  // SC_CCP_UP when CCP opens, before IPCP's first frame (else the kernel drops it).
  assert.ok(ops.indexOf('pppSetFlags unit 0x4000c0') < ops.findIndex((x) => x.startsWith('write unit 8021')), ops.join('\n'));
  assert.ok(!ops.some((x) => x.startsWith('dropped')), 'nothing dropped by the kernel');
  assert.ok((u.mru ?? 0) >= 1500);
  assert.equal(t.ipUp.length, 1);
  assert.equal(t.ipUp[0]!.ifname, 'ppp0');

  // Counters come from the interface (netlink) for pptpctl and ip-down.
  k.stats.set('ppp0', { rxPackets: 10, rxBytes: 1000, txPackets: 20, txBytes: 3000 });
  assert.deepEqual(t.datapath.callCount, 1);

  // Admin kill: LCP Terminate to the client, then the teardown.
  assert.equal(t.manager.kill('ppp0'), 1);
  await t.settle(() => c.down !== undefined && t.manager.size === 0 && t.manager.pendingTeardowns === 0, 'teardown');
  assert.equal(t.ipDown.length, 1);
  assert.equal(t.ipDown[0]!.bytesReceived, 1000);
  assert.equal(t.ipDown[0]!.bytesSent, 3000);
  const down = t.lines.find((l) => l.msg === 'session down')!;
  assert.equal(down.rxBytes, 1000);
  assert.equal(down.txPackets, 20);
  // Pollers stopped before any fd closes; then disconnect, unit (pppN goes), channel, socket.
  const tail = ops.slice(ops.findIndex((x) => x.startsWith('pollerStop')));
  assert.deepEqual(tail, [
    `pollerStop ${u.chanFd}`, `pollerStop ${u.unitFd}`,
    `pppDisconnect ${u.chanFd}`, `closeFd ${u.unitFd}`, `closeFd ${u.chanFd}`, `closeFd ${u.sockFd}`,
  ]);
  assert.equal(k.ifaces.size, 0);
  assert.equal(k.activePollers(), 0);
  assert.equal(t.datapath.callCount, 0);
  assert.equal(t.datapath.stats.errors, 0);
});

test('no interface goes up without kernel MPPE: a kernel that never starts the compressor ends the session, leaving nothing', async () => {
  const t = setup();
  t.kernel.brokenMppe = true;
  const c = t.dial(0x4002);
  await t.settle(() => t.manager.size === 0 && t.manager.pendingTeardowns === 0 && c.down !== undefined, 'session ended');
  const down = t.lines.find((l) => l.msg === 'session down')!;
  assert.match(String(down.reason), /kernel MPPE did not start/);
  assert.ok(!t.kernel.ops.includes(`pppSetNpMode 0x21 ${NPMODE.PASS}`), 'IP never passed');
  assert.ok(!t.kernel.ops.some((x) => x.startsWith('ifSetUp')), 'interface never up');
  assert.equal(t.ipUp.length, 0);
  assert.equal(t.kernel.ifaces.size, 0);
  assert.equal(t.kernel.activePollers(), 0);
  const u = t.kernel.retired[0]!;
  assert.deepEqual([...u.closed].sort(), [u.sockFd, u.chanFd, u.unitFd].sort());
});

test('a call the kernel cannot take is refused with a typed error and leaves nothing open', async () => {
  const t = setup();
  t.kernel.failChannelOpen = Object.assign(new Error('bind(pptp): Device or resource busy'), { code: 'EBUSY', syscall: 'bind(pptp)' });
  assert.throws(
    () => t.datapath.openCall({ sessionId: 'x', callId: 5, peerCallId: 6, clientAddress: CLIENT_OUTER, localAddress: SERVER_OUTER }),
    (e: Error & { code?: string }) => e.code === 'ERR_DATAPATH_KERNEL' && /Device or resource busy/.test(e.message),
  );
  assert.throws(
    () => t.datapath.openCall({ sessionId: 'y', callId: 5, peerCallId: 6, clientAddress: '2001:db8::1', localAddress: '2001:db8::2' }),
    (e: Error & { code?: string }) => e.code === 'ERR_DATAPATH_ADDRESS',
  );
  // Through the manager: OCRP general error, no session.
  t.conn.input(encode(SCCRQ));
  t.conn.input(encode(ocrq(0x4003)));
  const ocrp = t.sent.filter((m) => m.type === 'OCRP').at(-1) as PptpMessageOf<'OCRP'>;
  assert.equal(ocrp.resultCode, 2);
  assert.equal(t.manager.size, 0);
  assert.equal(t.kernel.activePollers(), 0);
});

test('sendFrame strips FF 03 and routes by protocol; data or malformed frames are never written', async () => {
  const t = setup();
  const call = t.datapath.openCall({ sessionId: 'z', callId: 9, peerCallId: 10, clientAddress: CLIENT_OUTER, localAddress: SERVER_OUTER });
  const u = [...t.kernel.units.values()][0]!;
  call.sendFrame(Uint8Array.from([0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 0, 0, 0, 0])); // LCP Echo-Request
  call.sendFrame(Uint8Array.from([0xff, 0x03, 0x80, 0x21, 0x01, 0x01, 0x00, 0x04])); // IPCP Configure-Request
  call.sendFrame(Uint8Array.from([0x80, 0xfd, 0x0e, 0x02, 0x00, 0x04])); // CCP Reset-Request, no FF 03
  call.sendFrame(Uint8Array.from([0xff, 0x03, 0x00, 0xfd, 0x90, 0x00, 0x11])); // MPPE data: never
  call.sendFrame(Uint8Array.from([0xff, 0x03, 0x21, 0x45])); // PFC IP: never
  call.sendFrame(Uint8Array.from([0xff, 0x03, 0xc0])); // truncated
  assert.deepEqual(u.written.map((w) => `${w.fd} ${hex(w.frame)}`), [
    'channel c0210901000800000000', // c021 LCP | 09 Echo-Request id 01 len 0008 | magic 00000000
    'unit 802101010004', // 8021 IPCP | 01 Configure-Request id 01 len 0004
    'unit 80fd0e020004', // 80fd CCP | 0e Reset-Request id 02 len 0004
  ]);
  assert.equal(t.datapath.stats.framesDropped, 3);
  // Frames from the kernel reach the session as they are (protocol first).
  const got: string[] = [];
  call.onFrame = (f) => void got.push(hex(f));
  t.kernel.fromPeer(u, Uint8Array.from([0xc0, 0x21, 0x0a, 0x01, 0x00, 0x08, 1, 2, 3, 4]));
  t.kernel.fromPeer(u, Uint8Array.from([0x80, 0x21, 0x02, 0x01, 0x00, 0x04]));
  assert.deepEqual(got, ['c0210a010008' + '01020304', '802102010004']);
  await call.close();
  await call.close(); // idempotent
  assert.equal(u.closed.size, 3);
  assert.equal(t.kernel.activePollers(), 0);
});

test('stateful MPPE: an MPPE frame the kernel could not decrypt makes the link send a CCP Reset-Request on the unit fd', async () => {
  const stateful = { ...POLICY, mppe: { ...POLICY.mppe!, stateful: true } };
  const t = setup({ policy: stateful, clientPolicy: stateful });
  const c = t.dial(0x4004);
  await t.settle(() => t.manager.list()[0]?.state === 'up' && c.up !== undefined, 'session up');
  assert.equal(c.up!.mppe!.stateful, true);
  const before = c.unit.written.length;
  // ppp_generic passes a compressed frame up only when its decompressor is in error.
  t.kernel.deliver(c.unit.unitFd, Uint8Array.from([0x00, 0xfd, 0x10, 0x05, 0xaa, 0xbb]));
  const reset = c.unit.written.slice(before).find((w) => w.frame[0] === 0x80 && w.frame[1] === 0xfd && w.frame[2] === 14);
  assert.ok(reset, 'Reset-Request written');
  assert.equal(reset.fd, 'unit');
  t.manager.kill('ppp0');
  await t.settle(() => t.manager.size === 0 && t.manager.pendingTeardowns === 0, 'teardown');
});
