// KernelPppCall (native/kppp.ts) against a recording fake of the addon: the
// order of system calls on open, unwinding after a failure, teardown order,
// the unit flags word, MPPE set-up and control-frame routing. The real
// kernel behaviour is covered by test/interop/kppp-wired.test.ts (UML).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelPppCall, NPMODE, PPP_IP, PPP_IPV6, SC, fdKindForProtocol, pppUnitName, type KpppNative } from '../../native/kppp.js';

type Call = [string, ...unknown[]];

function errno(code: string, syscall: string): Error {
  return Object.assign(new Error(`${syscall} failed (${code})`), { code, syscall });
}

/** fds: socket 10, channel 11, unit 12; channel index 7; unit 3. */
function fake(failAt?: string): { native: KpppNative; calls: Call[] } {
  const calls: Call[] = [];
  const rec = <T>(name: string, args: unknown[], ret: T): T => {
    calls.push([name, ...args]);
    if (name === failAt) throw errno('EIO', name);
    return ret;
  };
  const native: KpppNative = {
    pptpChannelOpen: (...a) => rec('pptpChannelOpen', a, 10),
    pptpChannelIndex: (...a) => rec('pptpChannelIndex', a, 7),
    pppOpenChannel: (...a) => rec('pppOpenChannel', a, 11),
    pppNewUnit: (...a) => rec('pppNewUnit', a, { fd: 12, unit: 3 }),
    pppConnect: (...a) => rec('pppConnect', a, undefined),
    pppDisconnect: (...a) => rec('pppDisconnect', a, undefined),
    pppSetMru: (...a) => rec('pppSetMru', a, undefined),
    // The kernel ORs state bits into what it reports.
    pppGetFlags: (...a) => rec('pppGetFlags', a, a[0] === 12 ? SC.COMP_RUN | SC.DECOMP_RUN | 0x400000 : 0x3),
    pppSetFlags: (...a) => rec('pppSetFlags', a, undefined),
    pppSetNpMode: (...a) => rec('pppSetNpMode', a, undefined),
    pppSetCompress: (fd, o) => rec('pppSetCompress', [fd, { ...o, key: Buffer.from(o.key).toString('hex') }], undefined),
    pppGetIdle: (...a) => rec('pppGetIdle', a, { xmit: 5, recv: 9 }),
    pppRead: (...a) => rec('pppRead', [a[0]], -1),
    pppWrite: (fd, f) => rec('pppWrite', [fd, Buffer.from(f).toString('hex')], f.length),
    pppCompStats: (...a) => rec('pppCompStats', a, {
      compress: { uncBytes: 0, uncPackets: 0, compBytes: 0, compPackets: 0, incBytes: 0, incPackets: 0 },
      decompress: { uncBytes: 0, uncPackets: 0, compBytes: 0, compPackets: 0, incBytes: 0, incPackets: 0 },
    }),
    closeFd: (...a) => rec('closeFd', a, undefined),
  };
  return { native, calls };
}

const OPTS = { localIp: '192.0.2.1', localCallId: 17, peerIp: '198.51.100.9', peerCallId: 0x1234, mru: 1400 };

test('open: socket, channel, unit, connect, MRU, data blocked until setUp', () => {
  const { native, calls } = fake();
  const c = KernelPppCall.open(native, OPTS);
  assert.deepEqual(calls, [
    ['pptpChannelOpen', '192.0.2.1', 17, '198.51.100.9', 0x1234],
    ['pptpChannelIndex', 10],
    ['pppOpenChannel', 7],
    ['pppNewUnit', -1],
    ['pppConnect', 11, 3],
    ['pppSetMru', 12, 1400],
    ['pppSetNpMode', 12, PPP_IP, NPMODE.DROP],
    ['pppSetNpMode', 12, PPP_IPV6, NPMODE.DROP],
  ]);
  assert.equal(c.socketFd, 10);
  assert.equal(c.channelFd, 11);
  assert.equal(c.unitFd, 12);
  assert.equal(c.unit, 3);
  assert.equal(c.ifname, 'ppp3');
  calls.length = 0;
  c.setUp();
  assert.deepEqual(calls, [['pppSetNpMode', 12, 0x21, NPMODE.PASS]]);
});

test('open: a requested unit number is passed through', () => {
  const { native, calls } = fake();
  KernelPppCall.open(native, { ...OPTS, unit: 5, mru: undefined });
  assert.deepEqual(calls[3], ['pppNewUnit', 5]);
  assert.ok(!calls.some((c) => c[0] === 'pppSetMru'));
});

for (const [failAt, undo] of [
  ['pptpChannelOpen', []],
  ['pptpChannelIndex', [['closeFd', 10]]],
  ['pppOpenChannel', [['closeFd', 10]]],
  ['pppNewUnit', [['closeFd', 11], ['closeFd', 10]]],
  ['pppConnect', [['closeFd', 12], ['closeFd', 11], ['closeFd', 10]]],
  ['pppSetMru', [['pppDisconnect', 11], ['closeFd', 12], ['closeFd', 11], ['closeFd', 10]]],
] as Array<[string, Call[]]>) {
  test(`open: failure in ${failAt} closes what was opened, newest first, and rethrows it`, () => {
    const { native, calls } = fake(failAt);
    assert.throws(() => KernelPppCall.open(native, OPTS), (e: NodeJS.ErrnoException) => e.code === 'EIO' && e.syscall === failAt);
    const i = calls.findIndex((c) => c[0] === failAt);
    assert.deepEqual(calls.slice(i + 1), undo);
  });
}

test('close: disconnect, unit fd, channel fd, socket — once', () => {
  const { native, calls } = fake();
  const c = KernelPppCall.open(native, OPTS);
  calls.length = 0;
  c.close();
  assert.deepEqual(calls, [['pppDisconnect', 11], ['closeFd', 12], ['closeFd', 11], ['closeFd', 10]]);
  assert.equal(c.isClosed, true);
  c.close();
  assert.equal(calls.length, 4, 'second close is a no-op');
});

test('close: a dead channel (disconnect fails) still closes every fd without throwing', () => {
  const { native, calls } = fake('pppDisconnect');
  const c = KernelPppCall.open(native, OPTS);
  calls.length = 0;
  c.close();
  assert.deepEqual(calls.map((x) => x.join(' ')), ['pppDisconnect 11', 'closeFd 12', 'closeFd 11', 'closeFd 10']);
});

test('close: a failing close still runs the later steps, then throws the first error', () => {
  const { native, calls } = fake();
  const c = KernelPppCall.open(native, OPTS);
  calls.length = 0;
  let n = 0;
  native.closeFd = (fd: number) => {
    calls.push(['closeFd', fd]);
    if (n++ === 0) throw errno('EBADF', 'close');
  };
  assert.throws(() => c.close(), (e: NodeJS.ErrnoException) => e.code === 'EBADF');
  assert.deepEqual(calls, [['pppDisconnect', 11], ['closeFd', 12], ['closeFd', 11], ['closeFd', 10]]);
});

test('armMppe: both keys installed, CCP open but not up; mppeUp/mppeDown flip only our bits', () => {
  const { native, calls } = fake();
  const c = KernelPppCall.open(native, OPTS);
  calls.length = 0;
  const sendKey = Buffer.from('8b7cdc149b993a1ba118cb153f56dccb', 'hex');
  const recvKey = Buffer.from('d5f0e9521e3ea9589645e86051c82226', 'hex');
  c.armMppe({ sendKey, recvKey, bits: 128, stateless: true });
  assert.deepEqual(calls, [
    ['pppSetFlags', 12, 0],
    ['pppSetCompress', 12, { transmit: true, key: '8b7cdc149b993a1ba118cb153f56dccb', bits: 128, stateless: true }],
    ['pppSetCompress', 12, { transmit: false, key: 'd5f0e9521e3ea9589645e86051c82226', bits: 128, stateless: true }],
    ['pppSetFlags', 12, SC.CCP_OPEN | SC.MUST_COMP],
  ]);
  calls.length = 0;
  c.mppeUp();
  // Written from our own copy: the state bits the kernel reports
  // (COMP_RUN, DECOMP_RUN, DC_ERROR) are never written back.
  assert.deepEqual(calls, [['pppSetFlags', 12, SC.CCP_OPEN | SC.CCP_UP | SC.MUST_COMP]]);
  calls.length = 0;
  c.mppeDown();
  assert.deepEqual(calls, [['pppSetFlags', 12, 0]]);
});

test('armMppe: optional SC_MUST_COMP, 40-bit, and key length checked before any ioctl', () => {
  const { native, calls } = fake();
  const c = KernelPppCall.open(native, OPTS);
  calls.length = 0;
  const k = new Uint8Array(16);
  c.armMppe({ sendKey: k, recvKey: k, bits: 40, stateless: false }, false);
  assert.deepEqual(calls.at(-1), ['pppSetFlags', 12, SC.CCP_OPEN]);
  assert.equal((calls[1][2] as { bits: number }).bits, 40);
  calls.length = 0;
  assert.throws(() => c.armMppe({ sendKey: new Uint8Array(8), recvKey: k, bits: 128, stateless: true }), RangeError);
  assert.deepEqual(calls, []);
});

test('mppeRunning reads the kernel state bits of the unit', () => {
  const { native } = fake();
  const c = KernelPppCall.open(native, OPTS);
  assert.deepEqual(c.mppeRunning(), { transmit: true, receive: true });
  native.pppGetFlags = () => SC.COMP_RUN;
  assert.deepEqual(c.mppeRunning(), { transmit: true, receive: false });
});

test('writeControl routes LCP/auth to the channel fd and NCPs (CCP, IPCP) to the unit fd', () => {
  const { native, calls } = fake();
  const c = KernelPppCall.open(native, OPTS);
  calls.length = 0;
  const frames = {
    lcp: 'c02109010008deadbeef', // LCP Echo-Request
    pap: 'c023010100050161',
    chap: 'c22301010005ff',
    eap: 'c22701010004',
    ccp: '80fd0201000a120601000040', // CCP Configure-Ack MPPE-128 stateless
    ipcp: '80210101000a0306c0a80001',
    ipv6cp: '805701010004',
    ccpFrag: '80fb00',
  };
  for (const h of Object.values(frames)) assert.equal(c.writeControl(Buffer.from(h, 'hex')), h.length / 2);
  assert.deepEqual(calls, [
    ['pppWrite', 11, frames.lcp],
    ['pppWrite', 11, frames.pap],
    ['pppWrite', 11, frames.chap],
    ['pppWrite', 11, frames.eap],
    ['pppWrite', 12, frames.ccp],
    ['pppWrite', 12, frames.ipcp],
    ['pppWrite', 12, frames.ipv6cp],
    ['pppWrite', 11, frames.ccpFrag],
  ]);
  assert.throws(() => c.writeControl(Uint8Array.of(0xc0)), RangeError);
});

test('channel compression flags keep the driver bits we do not own', () => {
  const { native, calls } = fake();
  const c = KernelPppCall.open(native, OPTS);
  native.pppGetFlags = () => 0x10 | SC.COMP_PROT | SC.COMP_AC;
  calls.length = 0;
  c.setChannelCompression(false, true);
  assert.deepEqual(calls, [['pppSetFlags', 11, 0x10 | SC.COMP_AC]]);
});

test('reads, idle, stats and names go to the right fd', () => {
  const { native, calls } = fake();
  const c = KernelPppCall.open(native, OPTS);
  calls.length = 0;
  const buf = new Uint8Array(64);
  assert.equal(c.readChannel(buf), -1);
  assert.equal(c.readUnit(buf), -1);
  assert.deepEqual(c.idle(), { xmit: 5, recv: 9 });
  c.compStats();
  c.setDown(PPP_IPV6);
  assert.deepEqual(calls, [['pppRead', 11], ['pppRead', 12], ['pppGetIdle', 12], ['pppCompStats', 'ppp3'], ['pppSetNpMode', 12, 0x57, NPMODE.DROP]]);
  assert.equal(pppUnitName(0), 'ppp0');
  assert.throws(() => pppUnitName(-1), RangeError);
  assert.throws(() => pppUnitName(1.5), RangeError);
  assert.equal(fdKindForProtocol(0xc021), 'channel');
  assert.equal(fdKindForProtocol(0x80fd), 'unit');
  assert.equal(fdKindForProtocol(0x0021), 'unit');
});
