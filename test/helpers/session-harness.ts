// Drives a SessionManager like the control server would: real
// ControlConnections fed with encoded PPTP messages, the fake datapath, the
// real address pool, a fake clock, and a log that is captured line by line.
import { pino, type Logger } from 'pino';
import type { AuthBackend, SecretEntry } from '../../src/auth/types.js';
import { ControlConnection } from '../../src/control/connection.js';
import { FakeDatapath } from '../../src/datapath/fake/fake-datapath.js';
import { AddressPool } from '../../src/ippool/pool.js';
import { decode, encode } from '../../src/protocol/pptp/codec.js';
import type { PptpMessage, PptpMessageOf } from '../../src/protocol/pptp/messages.js';
import { SessionManager, type SessionManagerOptions } from '../../src/session/manager.js';
import type { ScriptSession } from '../../src/scripts/ppp-scripts.js';
import type { LinkOptions, PppPolicy } from '../../src/ppp/types.js';
import { seededRandom } from '../../src/util/random.js';
import { FakeClock } from './fake-clock.js';

export const POLICY: PppPolicy = {
  name: 'pptpd',
  auth: ['mschapv2'],
  mppe: { required: true, allow40: false, allow56: false, allow128: true, stateful: false },
  mru: 1400,
  mtu: 1400,
  lcpEchoInterval: 0,
  lcpEchoFailure: 3,
  dns: ['8.8.8.8', '8.8.4.4'],
  wins: [],
  maxAuthRetries: 2,
  authTimeoutMs: 30_000,
  idleSeconds: 0,
};

export const SCCRQ: PptpMessage = {
  type: 'SCCRQ', protocolVersion: 0x0100, framingCapabilities: 1, bearerCapabilities: 1,
  maxChannels: 0, firmwareRevision: 1, hostName: 'client', vendor: 'test',
};

export function ocrq(peerCallId: number): PptpMessageOf<'OCRQ'> {
  return {
    type: 'OCRQ', callId: peerCallId, callSerial: peerCallId & 0xff, minBps: 300, maxBps: 100_000_000,
    bearerType: 3, framingType: 3, recvWindow: 64, processingDelay: 0, phoneNumberLength: 0,
    phoneNumber: '', subaddress: '',
  };
}

export type LogLine = Record<string, unknown> & { msg: string; level: number };

/** A pino logger whose lines land in an array (parsed). */
export function captureLog(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

/** A secrets back-end from a plain table (client → secret entry). */
export function tableBackend(users: Record<string, string | Partial<SecretEntry>>): AuthBackend {
  return {
    async lookup(client, server) {
      const v = users[client];
      if (v === undefined) return undefined;
      const e = typeof v === 'string' ? { secret: v } : v;
      return { client, server, secret: e.secret ?? '', addresses: e.addresses ?? [], source: 'test:1', ...(e.pinnedAddress ? { pinnedAddress: e.pinnedAddress } : {}) };
    },
  };
}

/** A client's control connection, as the server side sees it. */
export class TestConnection {
  readonly conn: ControlConnection;
  readonly sent: PptpMessage[] = [];
  closes: string[] = [];
  private cursor = 0;

  constructor(readonly h: SessionHarness, readonly client: string, readonly local = '198.51.100.1') {
    this.conn = new ControlConnection({
      clock: h.clock,
      log: h.log,
      peer: `${client}:40000`,
      hostName: 'pptpd',
      vendor: 'test',
      stimeoutMs: 10_000,
      echoIntervalMs: 0,
      callIds: h.manager.callIds,
      send: (b) => void this.sent.push(decode(b)),
      close: (r) => void this.closes.push(r),
      onCall: (call) => h.manager.onCall(this.conn, call, client, local),
      onCallCleared: (id, r) => h.manager.onCallCleared(this.conn, id, r),
    });
  }

  feed(...msgs: PptpMessage[]): void {
    this.conn.input(Buffer.concat(msgs.map((m) => encode(m))));
  }

  /** Messages sent since the last take(). */
  take(): PptpMessage[] {
    const out = this.sent.slice(this.cursor);
    this.cursor = this.sent.length;
    return out;
  }

  /** SCCRQ + OCRQ(peerCallId) → the OCRP. */
  call(peerCallId: number): PptpMessageOf<'OCRP'> {
    if (this.conn.state === 'idle') this.feed(SCCRQ);
    this.feed(ocrq(peerCallId));
    const r = this.sent.filter((m) => m.type === 'OCRP').at(-1) as PptpMessageOf<'OCRP'>;
    return r;
  }
}

export interface HarnessOptions {
  poolSize?: number;
  connections?: number;
  createLink?: (o: LinkOptions) => import('../../src/session/types.js').SessionLink;
  backend?: AuthBackend;
  delivery?: 'sync' | 'microtask';
  killGraceMs?: number;
  noipparam?: boolean;
  lcpStartWaitMs?: number;
}

export class SessionHarness {
  readonly clock = new FakeClock(1_000);
  readonly datapath: FakeDatapath;
  readonly pool: AddressPool;
  readonly manager: SessionManager;
  readonly log: Logger;
  readonly lines: LogLine[];
  readonly ipUp: ScriptSession[] = [];
  readonly ipDown: ScriptSession[] = [];

  constructor(o: HarnessOptions = {}) {
    const c = captureLog();
    this.log = c.log;
    this.lines = c.lines;
    this.datapath = new FakeDatapath({ delivery: o.delivery ?? 'microtask' });
    const n = o.poolSize ?? 4;
    // localip 10.0.0.1 shared, remoteip 10.0.1.1 … 10.0.1.n
    this.pool = new AddressPool(
      Array.from({ length: n }, () => 0x0a000001),
      Array.from({ length: n }, (_, i) => 0x0a000101 + i),
    );
    const opts: SessionManagerOptions = {
      config: {
        policy: POLICY,
        connections: o.connections ?? 100,
        ...(o.killGraceMs !== undefined ? { killGraceMs: o.killGraceMs } : {}),
        ...(o.noipparam !== undefined ? { noipparam: o.noipparam } : {}),
        ...(o.lcpStartWaitMs !== undefined ? { lcpStartWaitMs: o.lcpStartWaitMs } : {}),
      },
      pool: this.pool,
      backend: o.backend ?? tableBackend({ alice: 'alicePass', bob: 'bobPass' }),
      datapath: this.datapath,
      clock: this.clock,
      random: seededRandom(7),
      log: this.log,
      wallClock: () => 1_700_000_000_000,
      scripts: {
        ipUp: async (s) => void this.ipUp.push(s),
        ipDown: async (s) => void this.ipDown.push(s),
      },
      ...(o.createLink ? { createLink: o.createLink } : {}),
    };
    this.manager = new SessionManager(opts);
  }

  connect(client = '203.0.113.7', local?: string): TestConnection {
    return new TestConnection(this, client, local);
  }

  /** Lets microtasks and promise chains run (frames, attach, scripts). */
  async settle(rounds = 5): Promise<void> {
    for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
  }

  logged(msg: string): LogLine[] {
    return this.lines.filter((l) => l.msg === msg);
  }
}
