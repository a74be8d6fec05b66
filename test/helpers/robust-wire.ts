// The daemon's host side in one process, for hostile-input tests: the real
// ControlServer on 127.0.0.1 (real TCP), the real SessionManager, the TUN
// datapath with its real GRE demux/engine on in-memory raw-socket and TUN
// fakes, and a fake clock. A legitimate client speaks PPTP over TCP and PPP
// (real MS-CHAPv2 + MPPE-128) over enhanced GRE injected as raw IPv4 packets.
import { AddressPool } from '../../src/ippool/pool.js';
import { ControlServer } from '../../src/control/server.js';
import { TunDatapath } from '../../src/datapath/tun/tun-datapath.js';
import { parseIpv4 } from '../../src/datapath/tun/ipv4.js';
import { PppClientLink } from '../../src/ppp/link.js';
import type { LinkUpInfo } from '../../src/ppp/types.js';
import { createGreHeader, decodeGre, encodeGreHeader, greHeaderLength } from '../../src/protocol/gre/codec.js';
import { SessionManager } from '../../src/session/manager.js';
import { silentLogger } from '../../src/util/log.js';
import { seededRandom } from '../../src/util/random.js';
import { FakeClock } from './fake-clock.js';
import { POLICY, SCCRQ, captureLog, ocrq, tableBackend, type LogLine } from './session-harness.js';
import { FakeRawGre, FakeTunHost } from './session-ports.js';
import { TcpPptpClient } from './session-tcp-client.js';

export const SERVER_IP = '127.0.0.1';

/** An IPv4 header (protocol 47) from `src` to 127.0.0.1 around a GRE packet. */
export function ipv4Gre(src: string, gre: Uint8Array): Uint8Array {
  const out = new Uint8Array(20 + gre.length);
  const s = parseIpv4(src)!;
  out.set([0x45, 0, (out.length >> 8) & 0xff, out.length & 0xff, 0, 0, 0x40, 0, 64, 47, 0, 0]);
  out.set([s >>> 24, (s >>> 16) & 0xff, (s >>> 8) & 0xff, s & 0xff, 127, 0, 0, 1], 12);
  out.set(gre, 20);
  return out;
}

/** An enhanced GRE packet (K, S; A when ack is given) carrying payload for callId. */
export function grePacket(callId: number, seq: number, payload: Uint8Array, ack?: number): Uint8Array {
  const hl = greHeaderLength(true, ack !== undefined);
  const out = new Uint8Array(hl + payload.length);
  encodeGreHeader(out, 0, { callId, payloadLen: payload.length, seq, ack });
  out.set(payload, hl);
  return out;
}

/** The raw socket fake, with server → client packets handed to the client that owns the GRE call id. */
class RoutedRawGre extends FakeRawGre {
  readonly routes = new Map<number, (payload: Uint8Array) => void>();
  private readonly h = createGreHeader();
  override send(dst: number, pkt: Uint8Array): boolean {
    const copy = Uint8Array.from(pkt);
    const h = this.h;
    decodeGre(copy, 0, copy.length, h);
    const route = this.routes.get(h.callId);
    const payload = copy.subarray(h.headerLen, h.headerLen + h.payloadLen);
    if (route && payload.length > 0) queueMicrotask(() => route(payload));
    return true;
  }
}

export class WireClient {
  link!: PppClientLink;
  up: LinkUpInfo | undefined;
  down: string | undefined;
  /** Our call id (the server's GRE goes to it) and the server's (ours goes to it). */
  serverCallId = 0;
  seq = 0;
  readonly ip: Uint8Array[] = [];
  constructor(readonly stack: WireStack, readonly tcp: TcpPptpClient, readonly callId: number, readonly src = '127.0.0.1') {}

  /** One GRE packet from this client (next sequence number). */
  sendPpp(frame: Uint8Array): void {
    const pkt = ipv4Gre(this.src, grePacket(this.serverCallId, this.seq++, frame));
    queueMicrotask(() => this.stack.raw.receive(pkt));
  }
}

export class WireStack {
  readonly clock = new FakeClock(1_000);
  readonly raw = new RoutedRawGre();
  readonly host = new FakeTunHost();
  readonly dp: TunDatapath;
  readonly pool: AddressPool;
  readonly manager: SessionManager;
  readonly server: ControlServer;
  readonly lines: LogLine[];
  port = 0;
  private n = 0;

  constructor(o: { perSourcePending?: number; stimeoutMs?: number; maxConnections?: number } = {}) {
    const { log, lines } = captureLog();
    this.lines = lines;
    this.dp = new TunDatapath({ clock: this.clock, log, raw: this.raw, openTun: this.host.opener });
    this.pool = new AddressPool([0x0a000001, 0x0a000001, 0x0a000001, 0x0a000001], [0x0a000101, 0x0a000102, 0x0a000103, 0x0a000104]);
    this.manager = new SessionManager({
      config: { policy: POLICY, connections: 4 },
      pool: this.pool,
      backend: tableBackend({ alice: 'alicePass' }),
      datapath: this.dp,
      clock: this.clock,
      random: seededRandom(3),
      log,
    });
    this.server = new ControlServer({
      listen: [SERVER_IP], port: 0, hostName: 'pptpd', vendor: 'test',
      stimeoutMs: o.stimeoutMs ?? 10_000,
      echoIntervalMs: 0,
      ...(o.perSourcePending !== undefined ? { perSourcePending: o.perSourcePending } : {}),
      ...(o.maxConnections !== undefined ? { maxConnections: o.maxConnections } : {}),
      handler: this.manager,
      clock: this.clock,
      log,
    });
  }

  async start(): Promise<void> {
    await this.server.start();
    this.port = this.server.addresses()[0]!.port;
  }

  readonly clients: WireClient[] = [];

  /** Ends everything; the server's flush timers run on the fake clock, so advance it while waiting. */
  async stop(): Promise<void> {
    await this.manager.shutdown();
    const stopped = this.server.stop();
    for (const c of this.clients) c.tcp.destroy();
    let done = false;
    void stopped.finally(() => (done = true));
    for (let i = 0; i < 100 && !done; i++) {
      this.clock.advance(1000);
      await new Promise((r) => setTimeout(r, 5));
    }
    await stopped;
  }

  /** A legitimate client: TCP control connection, call, PPP over GRE; resolves when its link is up. */
  async dial(user = 'alice', password = 'alicePass'): Promise<WireClient> {
    const tcp = await TcpPptpClient.open(this.port);
    tcp.send(SCCRQ);
    await tcp.next('SCCRP');
    const callId = 0x7000 + ++this.n;
    const c = new WireClient(this, tcp, callId);
    this.clients.push(c);
    // pptp-linux starts pppd on the OCRP; GRE that overtakes it waits here (a
    // real client's kernel would queue it in the GRE socket the same way).
    const early: Uint8Array[] = [];
    let started = false;
    this.raw.routes.set(callId, (payload) => (started ? c.link.input(payload) : early.push(payload)));
    c.link = new PppClientLink({
      policy: { ...POLICY, dns: [] },
      credentials: { user, password },
      clock: this.clock,
      random: seededRandom(500 + this.n),
      log: silentLogger,
      dataMode: 'userspace',
      hooks: {
        send: (f) => c.sendPpp(Uint8Array.from(f)),
        onUp: (info) => (c.up = info),
        onDown: (r) => (c.down = r),
        onIp: (p) => void c.ip.push(Uint8Array.from(p)),
      },
    });
    tcp.send(ocrq(callId));
    const r = await tcp.next('OCRP');
    if (r.resultCode !== 1) throw new Error(`call refused: ${r.resultCode}`);
    c.serverCallId = r.callId;
    c.link.start();
    started = true;
    for (const p of early.splice(0)) c.link.input(p);
    await this.until(() => c.up !== undefined && this.manager.list().some((s) => s.callId === r.callId && s.state === 'up'), 'link up');
    return c;
  }

  /** Lets I/O and promise chains run until cond holds (real time, bounded). */
  async until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`never happened: ${what}`);
      await new Promise((r) => setImmediate(r));
    }
  }
}
