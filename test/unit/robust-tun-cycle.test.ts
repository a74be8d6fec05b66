// Resource limits on the real TUN datapath (issue 8 part 6; root only, skipped
// loudly otherwise), inside a network namespace this file creates: 300
// connect/disconnect cycles of an in-process client (raw GRE socket on
// 127.0.0.2, GRE engine, client PppLink with MS-CHAPv2/MPPE-128) against the
// session manager with the TUN datapath on 127.0.0.1. Counted before and
// after: pppN interfaces (`ip -j link`), open fds (/proc/self/fd), pool
// addresses, sessions, call ids, datapath calls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
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
import { POLICY, TestConnection, captureLog, tableBackend, type SessionHarness } from '../helpers/session-harness.js';

const skip = rootSkipReason();
if (skip) console.error(`\n*** robust-tun-cycle: ${skip} ***\n`);
const CYCLES = Number(process.env.PPTPD_ROBUST_TUN_CYCLES ?? 300);

let ns: TestNetns | undefined;
before(() => {
  if (skip) return;
  ns = TestNetns.create();
  ns.enter();
  ns.ip('addr', 'add', '127.0.0.2/8', 'dev', 'lo');
});
after(() => ns?.destroy());

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

function echoRequest(seq: number): Uint8Array {
  // 10.0.1.1 → 10.0.0.1, ICMP echo; checksums filled in below.
  const p = Buffer.from(`4500001c00004000400100000a0001010a000001080000004242${seq.toString(16).padStart(4, '0')}`, 'hex');
  const sum = (off: number, len: number) => {
    let s = 0;
    for (let i = 0; i < len; i += 2) s += (p[off + i]! << 8) | p[off + i + 1]!;
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    return ~s & 0xffff;
  };
  p.writeUInt16BE(sum(0, 20), 10);
  p.writeUInt16BE(sum(20, 8), 22);
  return p;
}

test(`${CYCLES} connect/disconnect cycles on the TUN datapath leak no interface, fd, address or call id`, { skip }, async (t) => {
  const { log, lines } = captureLog();
  let ipUps = 0;
  let ipDowns = 0;
  const dp: TunDatapath = await openTunDatapath({ clock: systemClock, log: silentLogger, bindAddress: '127.0.0.1' });
  const pool = new AddressPool([0x0a000001], [0x0a000101]);
  const manager = new SessionManager({
    config: { policy: POLICY, connections: 10, killGraceMs: 2000 },
    pool,
    backend: tableBackend({ user2: '123' }),
    datapath: dp,
    clock: systemClock,
    random: seededRandom(3),
    log,
    scripts: { ipUp: () => void ipUps++, ipDown: () => void ipDowns++ },
  });
  const h = { clock: systemClock, log: silentLogger, manager } as unknown as SessionHarness;
  const clientSock = RawGreSocket.open('127.0.0.2');
  const serverAddr = ipv4ToUint32('127.0.0.1');
  const demux = new GreDemux();
  const view = createIpv4GreView();
  clientSock.onPackets((b) => {
    for (let i = 0; i < b.count; i++) {
      if (tryStripIpv4(b.data, b.offsets[i]!, b.lengths[i]!, view) === null) demux.dispatch(view.src, b.data, view.greOff, view.greLen);
    }
    clientSock.flush();
  });

  const pppIfs = () => ns!.ipJson<Array<{ ifname: string }>>('link', 'show').filter((l) => /^ppp\d+$/.test(l.ifname)).length;
  const fds = () => readdirSync('/proc/self/fd').length;
  const count = () => ({
    interfaces: pppIfs(),
    fds: fds(),
    poolFree: pool.free,
    sessions: manager.size,
    callIds: manager.callIds.size,
    dpCalls: dp.callCount,
  });

  // One warm-up cycle first: lazily created things (the /dev/net/tun path,
  // the addon's pollers) are not leaks.
  const cycle = async (i: number): Promise<void> => {
    const conn = new TestConnection(h, '127.0.0.2', '127.0.0.1');
    const peerCallId = 1 + (i % 60000);
    const r = conn.call(peerCallId);
    assert.equal(r.resultCode, 1, `cycle ${i}: call accepted`);
    let up: LinkUpInfo | undefined;
    const replies: Uint8Array[] = [];
    let link: PppClientLink | undefined;
    const gre = new GreCall({
      peerCallId: r.callId,
      clock: systemClock,
      sendPacket: (p) => clientSock.send(serverAddr, p),
      deliver: (f) => link?.input(f),
    });
    demux.register(serverAddr, peerCallId, gre);
    link = new PppClientLink({
      policy: { ...POLICY, dns: [] },
      credentials: { user: 'user2', password: '123' },
      clock: systemClock,
      random: seededRandom(100 + i),
      log: silentLogger,
      dataMode: 'userspace',
      hooks: {
        send: (f) => {
          gre.send(f);
          clientSock.flush();
        },
        onUp: (x) => (up = x),
        onDown: () => {},
        onIp: (p) => replies.push(Uint8Array.from(p)),
      },
    });
    try {
      link.start();
      await until(() => up !== undefined && manager.list()[0]?.state === 'up', `cycle ${i}: link up`);
      if (i % 25 === 0) {
        link.sendIp(echoRequest(i));
        clientSock.flush();
        await until(() => replies.some((p) => p[9] === 1 && p[20] === 0), `cycle ${i}: echo reply through pppN`);
      }
      // Alternate exit paths: the client clears the call / the TCP connection is gone / admin kill.
      if (i % 3 === 0) conn.feed({ type: 'CCRQ', callId: peerCallId });
      else if (i % 3 === 1) conn.conn.closed();
      else manager.kill('user2');
      await until(() => manager.size === 0, `cycle ${i}: session gone`);
      await manager.settled();
    } finally {
      demux.unregister(serverAddr, peerCallId);
      gre.close();
      link.lowerDown('cycle over');
    }
  };

  try {
    await cycle(0);
    const before = count();
    assert.equal(before.interfaces, 0);
    const t0 = Date.now();
    for (let i = 1; i <= CYCLES; i++) {
      await cycle(i);
      if (lines.length > 2000) lines.length = 0;
    }
    // Interface removal and fd closes are synchronous in the addon; give libuv a tick anyway.
    await new Promise((r) => setTimeout(r, 20));
    const after = count();
    t.diagnostic(`${CYCLES} TUN cycles in ${Date.now() - t0} ms; before ${JSON.stringify(before)} after ${JSON.stringify(after)}`);
    assert.deepEqual(after, before);
    assert.equal(manager.stats.up, CYCLES + 1);
    assert.equal(manager.stats.down, CYCLES + 1);
    assert.equal(ipUps, CYCLES + 1);
    assert.equal(ipDowns, CYCLES + 1, 'ip-down ran once per session');
  } finally {
    clientSock.close();
    await manager.shutdown();
    await dp.close();
  }
});
