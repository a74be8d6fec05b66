// The TUN datapath for real (root only; skipped loudly otherwise), inside a
// network namespace this file creates: the server's raw GRE socket on
// 127.0.0.1, an in-process PPTP client (our own GRE engine + client PppLink
// with MS-CHAPv2/MPPE-128) on 127.0.0.2. The client pings the server's
// tunnel address; the kernel answers through the pppN TUN interface.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestNetns, rootSkipReason } from '../helpers/netns.js';
import { RawGreSocket, ipv4ToUint32 } from '../../native/raw-gre.js';
import { openTunDatapath } from '../../src/datapath/tun/index.js';
import type { TunDatapath } from '../../src/datapath/tun/tun-datapath.js';
import { GreCall } from '../../src/gre/engine.js';
import { GreDemux } from '../../src/gre/demux.js';
import { AddressPool } from '../../src/ippool/pool.js';
import { PppClientLink } from '../../src/ppp/link.js';
import type { LinkUpInfo } from '../../src/ppp/types.js';
import { createIpv4GreView, tryStripIpv4 } from '../../src/protocol/gre/codec.js';
import { SessionManager } from '../../src/session/manager.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { seededRandom } from '../../src/util/random.js';
import { POLICY, TestConnection, captureLog, tableBackend } from '../helpers/session-harness.js';
import type { SessionHarness } from '../helpers/session-harness.js';

const skip = rootSkipReason();
if (skip) console.error(`\n*** datapath-tun-native: ${skip} ***\n`);

let ns: TestNetns | undefined;
before(() => {
  if (skip) return;
  ns = TestNetns.create();
  ns.enter();
});
after(() => ns?.destroy());

function checksum(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i]! << 8) | (b[off + i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** ICMP echo request src → dst with valid IPv4 and ICMP checksums. */
function echoRequest(src: number, dst: number, seq: number): Uint8Array {
  const p = Buffer.from(
    '4500001c' + '00004000' + '40010000' + src.toString(16).padStart(8, '0') + dst.toString(16).padStart(8, '0') +
      '08000000' + '4242' + seq.toString(16).padStart(4, '0'),
    'hex',
  );
  p.writeUInt16BE(checksum(p, 0, 20), 10);
  p.writeUInt16BE(checksum(p, 20, 8), 22);
  return p;
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a client pings the server through GRE, MPPE and a real pppN TUN interface; kill removes it', { skip }, async () => {
  const { log, lines } = captureLog();
  const dp: TunDatapath = await openTunDatapath({ clock: systemClock, log: silentLogger, bindAddress: '127.0.0.1' });
  const pool = new AddressPool([0x0a000001], [0x0a000101]);
  const manager = new SessionManager({
    config: { policy: POLICY, connections: 10 },
    pool,
    backend: tableBackend({ user2: '123' }),
    datapath: dp,
    clock: systemClock,
    random: seededRandom(3),
    log,
  });
  const fakeHarness = { clock: systemClock, log: silentLogger, manager } as unknown as SessionHarness;
  const conn = new TestConnection(fakeHarness, '127.0.0.2', '127.0.0.1');

  // The client: its own raw socket, GRE engine and PPP link.
  const clientSock = RawGreSocket.open('127.0.0.2');
  const serverAddr = ipv4ToUint32('127.0.0.1');
  const r = conn.call(0x9c40);
  assert.equal(r.resultCode, 1);
  let up: LinkUpInfo | undefined;
  const replies: Uint8Array[] = [];
  let link: PppClientLink | undefined;
  const gre = new GreCall({
    peerCallId: r.callId,
    clock: systemClock,
    sendPacket: (p) => clientSock.send(serverAddr, p),
    deliver: (f) => link?.input(f),
  });
  link = new PppClientLink({
    policy: { ...POLICY, dns: [] },
    credentials: { user: 'user2', password: '123' },
    clock: systemClock,
    random: seededRandom(4),
    log: silentLogger,
    dataMode: 'userspace',
    hooks: {
      send: (f) => {
        gre.send(f);
        clientSock.flush();
      },
      onUp: (i) => (up = i),
      onDown: () => {},
      onIp: (p) => replies.push(Uint8Array.from(p)),
    },
  });
  const demux = new GreDemux();
  // The OCRP carried 0x9c40 as the client's call id.
  assert.equal(r.peerCallId, 0x9c40);
  demux.register(serverAddr, 0x9c40, gre);
  const view = createIpv4GreView();
  clientSock.onPackets((b) => {
    for (let i = 0; i < b.count; i++) {
      if (tryStripIpv4(b.data, b.offsets[i]!, b.lengths[i]!, view) === null) demux.dispatch(view.src, b.data, view.greOff, view.greLen);
    }
    clientSock.flush();
  });

  try {
    link.start();
    await until(() => up !== undefined && manager.list()[0]?.state === 'up', 'link up');
    const [s] = manager.list();
    assert.match(s!.ifname, /^ppp\d+$/);
    assert.equal(s!.peer, '10.0.1.1');
    assert.equal(s!.mppe, '128-bit stateless');
    const ifs = ns!.ipJson<Array<{ ifname: string; mtu: number; flags: string[]; addr_info: Array<{ local: string; address?: string }> }>>('addr', 'show', 'dev', s!.ifname);
    assert.equal(ifs[0]!.mtu, 1400);
    assert.ok(ifs[0]!.flags.includes('UP'));
    assert.ok(ifs[0]!.flags.includes('POINTOPOINT'));
    assert.equal(ifs[0]!.addr_info[0]!.local, '10.0.0.1');

    // Ping the server's tunnel address from the client's.
    for (let seq = 1; seq <= 3; seq++) link.sendIp(echoRequest(0x0a000101, 0x0a000001, seq));
    clientSock.flush();
    const icmp = () => replies.filter((p) => p[0] === 0x45 && p[9] === 1);
    await until(() => icmp().length >= 3, 'three echo replies');
    assert.ok(replies.every((p) => p[0]! >> 4 === 4), 'nothing but IPv4 reaches the client');
    for (const rep of icmp()) {
      assert.equal(rep[9], 1, 'ICMP');
      assert.equal(rep[20], 0, 'echo reply');
      assert.equal(Buffer.from(rep.subarray(12, 20)).toString('hex'), '0a0000010a000101');
    }
    const counters = manager.list()[0]!;
    assert.equal(counters.rxBytes, 3 * 28);
    assert.ok(counters.txBytes >= 3 * 28);

    assert.equal(manager.kill(s!.ifname), 1);
    await until(() => manager.size === 0, 'session gone');
    await manager.settled();
    const links = ns!.ipJson<Array<{ ifname: string }>>('link', 'show');
    assert.ok(!links.some((l) => l.ifname === s!.ifname), 'interface removed');
  } catch (e) {
    throw new Error(`${(e as Error).message}\nlog:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
  } finally {
    gre.close();
    link.lowerDown('test over');
    clientSock.close();
    await manager.shutdown();
    await dp.close();
  }
  assert.equal(pool.free, 1);
  assert.equal(lines.filter((l) => l.msg === 'session down').length, 1);
});
