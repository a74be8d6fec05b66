// Root tests of the real TUN datapath (datapath-tun-native, robust-tun-cycle):
// a network namespace of the test file's own, the server's SessionManager on
// the TUN datapath at 127.0.0.1, and an in-process PPTP client at 127.0.0.2
// (a raw GRE socket, our GRE engine, a client PppLink with MS-CHAPv2/MPPE-128).
import { before, after } from 'node:test';
import { RawGreSocket, ipv4ToUint32 } from '../../native/raw-gre.js';
import { openTunDatapath } from '../../src/datapath/tun/index.js';
import type { TunDatapath } from '../../src/datapath/tun/tun-datapath.js';
import { GreCall } from '../../src/gre/engine.js';
import { GreDemux } from '../../src/gre/demux.js';
import { AddressPool } from '../../src/ippool/pool.js';
import { PppClientLink } from '../../src/ppp/link.js';
import type { LinkUpInfo } from '../../src/ppp/types.js';
import { createIpv4GreView, tryStripIpv4 } from '../../src/protocol/gre/codec.js';
import { SessionManager, type SessionManagerOptions } from '../../src/session/manager.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { seededRandom } from '../../src/util/random.js';
import { TestNetns } from './netns.js';
import { POLICY, captureLog, tableBackend, type SessionHarness } from './session-harness.js';

/**
 * A namespace for this test file, entered before its tests and deleted after
 * (nothing when `skip`). `addrs` go on lo (CIDR). The getter is valid in tests.
 */
export function useTestNetns(skip: string | undefined, addrs: string[] = []): () => TestNetns {
  let ns: TestNetns | undefined;
  before(() => {
    if (skip) return;
    ns = TestNetns.create();
    ns.enter();
    for (const a of addrs) ns.ip('addr', 'add', a, 'dev', 'lo');
  });
  after(() => ns?.destroy());
  return () => {
    if (!ns) throw new Error('no test namespace (skipped, or outside a test)');
    return ns;
  };
}

/** Polls `cond` every millisecond until it holds; throws after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

function checksum(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i]! << 8) | (b[off + i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** ICMP echo request src → dst (ident 0x4242, no payload) with valid IPv4 and ICMP checksums. */
export function echoRequest(src: number, dst: number, seq: number): Uint8Array {
  const p = Buffer.from(
    '4500001c' + '00004000' + '40010000' + src.toString(16).padStart(8, '0') + dst.toString(16).padStart(8, '0') +
      '08000000' + '4242' + seq.toString(16).padStart(4, '0'),
    'hex',
  );
  p.writeUInt16BE(checksum(p, 0, 20), 10);
  p.writeUInt16BE(checksum(p, 20, 8), 22);
  return p;
}

export interface TunServer {
  dp: TunDatapath;
  pool: AddressPool;
  manager: SessionManager;
  /** For TestConnection: only clock, log and manager are used. */
  harness: SessionHarness;
  log: ReturnType<typeof captureLog>['log'];
  lines: ReturnType<typeof captureLog>['lines'];
  close(): Promise<void>;
}

/**
 * The server: TUN datapath bound to 127.0.0.1, one pool address pair
 * (10.0.0.1 local, 10.0.1.1 peer), user2/123, up to 10 connections.
 */
export async function openTunServer(extra: Partial<Pick<SessionManagerOptions, 'scripts'>> & { killGraceMs?: number } = {}): Promise<TunServer> {
  const { log, lines } = captureLog();
  const dp = await openTunDatapath({ clock: systemClock, log: silentLogger, bindAddress: '127.0.0.1' });
  const pool = new AddressPool([0x0a000001], [0x0a000101]);
  const manager = new SessionManager({
    config: { policy: POLICY, connections: 10, ...(extra.killGraceMs !== undefined ? { killGraceMs: extra.killGraceMs } : {}) },
    pool,
    backend: tableBackend({ user2: '123' }),
    datapath: dp,
    clock: systemClock,
    random: seededRandom(3),
    log,
    ...(extra.scripts ? { scripts: extra.scripts } : {}),
  });
  const harness = { clock: systemClock, log: silentLogger, manager } as unknown as SessionHarness;
  return {
    dp, pool, manager, harness, log, lines,
    close: async () => {
      await manager.shutdown();
      await dp.close();
    },
  };
}

/** One client call: its GRE engine and PPP link (not started), what came up and the IP it received. */
export interface TunClientCall {
  link: PppClientLink;
  gre: GreCall;
  up(): LinkUpInfo | undefined;
  replies: Uint8Array[];
  /** Out of the demux, GRE closed, link down. */
  end(reason: string): void;
}

/** The client side: one raw GRE socket at 127.0.0.2 and a demux by our call id. */
export class TunTestClient {
  readonly sock = RawGreSocket.open('127.0.0.2');
  readonly serverAddr = ipv4ToUint32('127.0.0.1');
  private readonly demux = new GreDemux();

  constructor() {
    const view = createIpv4GreView();
    this.sock.onPackets((b) => {
      for (let i = 0; i < b.count; i++) {
        if (tryStripIpv4(b.data, b.offsets[i]!, b.lengths[i]!, view) === null) this.demux.dispatch(view.src, b.data, view.greOff, view.greLen);
      }
      this.sock.flush();
    });
  }

  /** A call the server accepted: `callId` ours, `peerCallId` the server's; user2/123. */
  attach(callId: number, peerCallId: number, randomSeed: number): TunClientCall {
    let up: LinkUpInfo | undefined;
    const replies: Uint8Array[] = [];
    const sock = this.sock;
    const gre = new GreCall({
      peerCallId,
      clock: systemClock,
      sendPacket: (p) => sock.send(this.serverAddr, p),
      deliver: (f) => link.input(f),
    });
    const link: PppClientLink = new PppClientLink({
      policy: { ...POLICY, dns: [] },
      credentials: { user: 'user2', password: '123' },
      clock: systemClock,
      random: seededRandom(randomSeed),
      log: silentLogger,
      dataMode: 'userspace',
      hooks: {
        send: (f) => {
          gre.send(f);
          sock.flush();
        },
        onUp: (x) => (up = x),
        onDown: () => {},
        onIp: (p) => replies.push(Uint8Array.from(p)),
      },
    });
    this.demux.register(this.serverAddr, callId, gre);
    return {
      link, gre, replies,
      up: () => up,
      end: (reason) => {
        this.demux.unregister(this.serverAddr, callId);
        gre.close();
        link.lowerDown(reason);
      },
    };
  }

  close(): void {
    this.sock.close();
  }
}
