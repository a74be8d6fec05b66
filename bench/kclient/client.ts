// runKClient(): N kernel-mode client sessions against one PPTP server, each
// on its own TCP control connection by default (poptop takes one call per
// connection, as Windows places them), call ids from one allocator (pptp.ko
// demultiplexes GRE by our call id alone). Used by main.ts (the CLI).
import { connect as netConnect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { CallIdAllocator } from '../../src/control/call-ids.js';
import { ClientConnection } from '../../src/control/client-connection.js';
import { DEFAULT_PPP_POLICY, type PppPolicy } from '../../src/ppp/types.js';
import { systemClock } from '../../src/util/clock.js';
import { systemRandom } from '../../src/util/random.js';
import { closeControlConns } from '../common/control-conns.js';
import { KClientSession, type KClientLink, type KClientNative } from './session.js';

export interface KClientOptions {
  native: KClientNative;
  log: Logger;
  server: string;
  port?: number;
  /** Our outer address (TCP and AF_PPPOX); default the TCP socket's local address. */
  bind?: string;
  user: string;
  password: string;
  sessions: number;
  /** Calls per control connection; default 1. */
  perConnection?: number;
  /** Our MRU and the most we send; default 1500 (pppd's default). */
  mtu?: number;
  mppe?: 'required' | 'optional' | 'none';
  stateful?: boolean;
  setupTimeoutMs?: number;
  /** Each link, when it is up. */
  onLinkUp?(i: number, link: KClientLink): void;
  /** A link that was up ended without being asked to. */
  onDropped?(i: number, reason: string): void;
}

export interface KClientRun {
  links: KClientLink[];
  /** First OCRQ (TCP connect, in fact) → last link up, ms. */
  allUpMs: number;
  /** LCP Terminate + CCRQ + StopCCRQ for every session and connection. */
  close(timeoutMs?: number): Promise<void>;
}

interface Conn {
  socket: Socket;
  cc: ClientConnection;
  ready: Promise<string>;
}

export function clientPolicy(o: Pick<KClientOptions, 'mtu' | 'mppe' | 'stateful'>): PppPolicy {
  const mtu = o.mtu ?? 1500;
  const mode = o.mppe ?? 'required';
  return {
    ...DEFAULT_PPP_POLICY,
    name: 'kclient',
    auth: ['mschapv2'],
    mppe: mode === 'none'
      ? null
      : { required: mode === 'required', allow40: false, allow56: false, allow128: true, stateful: o.stateful ?? false },
    mru: mtu,
    mtu,
    dns: [],
    wins: [],
  };
}

/** Brings every session up or fails (closing what came up). */
export async function runKClient(o: KClientOptions): Promise<KClientRun> {
  if (!Number.isInteger(o.sessions) || o.sessions < 1 || o.sessions > 1000) throw new RangeError('sessions must be 1..1000');
  const mtu = o.mtu ?? 1500;
  if (!Number.isInteger(mtu) || mtu < 576 || mtu > 1500) throw new RangeError('mtu must be 576..1500');
  const clock = systemClock;
  const perConnection = o.perConnection ?? 1;
  const timeoutMs = o.setupTimeoutMs ?? 30_000;
  const policy = clientPolicy(o);
  const callIds = new CallIdAllocator(1 + Math.floor(Math.random() * 4000));
  const conns: Conn[] = [];
  const sessions: KClientSession[] = [];

  const openConn = (): Conn => {
    const socket = netConnect({ host: o.server, port: o.port ?? 1723, ...(o.bind ? { localAddress: o.bind } : {}) });
    socket.setNoDelay(true);
    const cc = new ClientConnection({
      clock,
      log: o.log,
      callIds,
      hostName: 'kclient',
      connectTimeoutMs: timeoutMs,
      send: (b) => void socket.write(b),
      close: () => void socket.end(),
    });
    let lastError = '';
    socket.on('data', (d: Buffer) => cc.input(d));
    socket.on('error', (e: NodeJS.ErrnoException) => (lastError = e.code ?? e.message));
    const ready = new Promise<string>((resolve, reject) => {
      socket.once('connect', () => {
        cc.start().then(() => resolve(socket.localAddress!.replace(/^::ffff:/, '')), reject);
      });
      socket.once('close', () => {
        cc.closed(`tcp closed${lastError ? ` (${lastError})` : ''}`);
        reject(new Error(`tcp: ${lastError || 'closed'}`));
      });
    });
    ready.catch(() => {});
    const c = { socket, cc, ready };
    conns.push(c);
    return c;
  };

  const closeAll = async (timeout = 5000): Promise<void> => {
    await Promise.all(sessions.map((s) => s.close(timeout)));
    await closeControlConns(conns, timeout);
  };

  const t0 = clock.now();
  const links: KClientLink[] = new Array(o.sessions);
  try {
    await Promise.all(Array.from({ length: o.sessions }, async (_, i) => {
      const c = conns[Math.floor(i / perConnection)] ?? openConn();
      const localIp = o.bind ?? (await c.ready);
      await c.ready;
      const s = new KClientSession(i, {
        native: o.native, clock, random: systemRandom, log: o.log, policy, localIp, serverIp: o.server,
      }, { user: o.user, password: o.password });
      sessions.push(s);
      s.onDropped = (r) => o.onDropped?.(i, r);
      links[i] = await s.open(c.cc, timeoutMs);
      o.onLinkUp?.(i, links[i]!);
    }));
  } catch (e) {
    await closeAll(2000).catch(() => {});
    throw e;
  }
  return { links, allUpMs: clock.now() - t0, close: closeAll };
}
