// TCP side of PPTP: one net.Server per listen address on port 1723, one
// ControlConnection per accepted socket, calls handed to the session layer.
// Limits against floods: a global cap on control connections, and per source
// address a cap on connections still waiting for their SCCRQ (the cheap
// attack), on all control connections, and on calls (sessions) across them.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Clock, Timer } from '../util/clock.js';
import { PptpdError } from '../util/errors.js';
import type { CallIdAllocator } from './call-ids.js';
import { ControlConnection, type CallDecision, type IncomingCall } from './connection.js';

/** What the server needs of the session layer (session/manager.ts SessionManager fits). */
export interface CallHandler {
  readonly callIds: CallIdAllocator;
  onCall(conn: ControlConnection, call: IncomingCall, clientAddress: string, localAddress: string): CallDecision;
  onCallCleared(conn: ControlConnection, callId: number, reason: string): void;
}

export interface ControlServerOptions {
  /** Addresses to listen on; default ['0.0.0.0', '::'] ('::' only when the host has IPv6). */
  listen?: string[];
  /** Default 1723; 0 = ephemeral (tests). */
  port?: number;
  hostName: string;
  vendor: string;
  /** poptop stimeout: no SCCRQ within this → close. */
  stimeoutMs: number;
  /** Global cap on control connections (default 4096). */
  maxConnections?: number;
  /** Per source address: connections that have not sent SCCRQ yet (default 8). */
  perSourcePending?: number;
  /** Per source address: all control connections (default 64). */
  perSourceTotal?: number;
  /** Per source address: calls at once over all its connections (default 64); beyond → OCRP busy. */
  perSourceCalls?: number;
  /** After close(), how long queued bytes may take to flush before the socket is destroyed (default 2000). */
  flushTimeoutMs?: number;
  /** A peer that does not read: destroy when this much is queued for it (default 64 KiB). */
  maxQueuedBytes?: number;
  echoIntervalMs?: number;
  echoTimeoutMs?: number;
  maxCallsPerConnection?: number;
  handler: CallHandler;
  clock: Clock;
  log: Logger;
}

export interface ControlServerStats {
  accepted: number;
  /** Refused at accept by a limit. */
  rejected: { global: number; perSourcePending: number; perSourceTotal: number };
  /** Outgoing calls refused because the source address has perSourceCalls calls already. */
  callsRefusedPerSource: number;
  open: number;
}

interface SourceCount {
  pending: number;
  total: number;
  calls: number;
}

/** OCRP result "busy" (RFC 2637 §2.8): transient, the client may retry. */
const OCRP_BUSY = 4;

class Client {
  conn!: ControlConnection;
  pending = true;
  flushTimer: Timer | undefined;
  gone = false;
  /** The socket's error code, if it ended with one (ECONNRESET, ETIMEDOUT…). */
  error: string | undefined;
  constructor(readonly socket: Socket, readonly source: string) {}
}

/** v4-mapped IPv6 (::ffff:1.2.3.4) → 1.2.3.4: the GRE side is IPv4. */
export function normalizeAddress(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

function bindError(e: NodeJS.ErrnoException, host: string, port: number): PptpdError {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (e.code) {
    case 'EADDRINUSE':
      return new PptpdError('ERR_LISTEN', `cannot listen on ${where}: address already in use (is another pptpd running?)`);
    case 'EACCES':
    case 'EPERM':
      return new PptpdError('ERR_LISTEN', `cannot listen on ${where}: permission denied (port ${port} needs root or CAP_NET_BIND_SERVICE)`);
    case 'EADDRNOTAVAIL':
      return new PptpdError('ERR_LISTEN', `cannot listen on ${where}: no such address on this host`);
    default:
      return new PptpdError('ERR_LISTEN', `cannot listen on ${where}: ${e.code ?? ''} ${e.message}`.trim());
  }
}

export class ControlServer {
  readonly stats: ControlServerStats = {
    accepted: 0,
    rejected: { global: 0, perSourcePending: 0, perSourceTotal: 0 },
    callsRefusedPerSource: 0,
    open: 0,
  };
  private readonly o: ControlServerOptions;
  private readonly log: Logger;
  private readonly servers: Server[] = [];
  private readonly clients = new Set<Client>();
  private readonly perSource = new Map<string, SourceCount>();
  private lastRejectLog = -Infinity;
  private lastCallRefusalLog = -Infinity;
  private stopping = false;

  constructor(o: ControlServerOptions) {
    this.o = o;
    this.log = o.log.child({ component: 'pptp-server' });
  }

  /** The bound addresses (after start), e.g. for an ephemeral port. */
  addresses(): AddressInfo[] {
    return this.servers.map((s) => s.address() as AddressInfo);
  }

  get connections(): number {
    return this.clients.size;
  }

  /** Resolves when every listen address is bound; rejects (and unbinds) on the first failure. */
  async start(): Promise<void> {
    const port = this.o.port ?? 1723;
    const explicit = this.o.listen !== undefined && this.o.listen.length > 0;
    const hosts = explicit ? this.o.listen! : ['0.0.0.0', '::'];
    try {
      for (const host of hosts) {
        try {
          this.servers.push(await this.listenOne(host, port));
        } catch (e) {
          const err = e as NodeJS.ErrnoException;
          // Default '::' on a host without IPv6 is not an error.
          if (!explicit && host === '::' && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL')) {
            this.log.info('IPv6 not available, listening on IPv4 only');
            continue;
          }
          throw bindError(err, host, port);
        }
      }
    } catch (e) {
      await this.closeListeners();
      throw e;
    }
    for (const a of this.addresses()) this.log.info({ address: a.address, port: a.port }, 'listening for PPTP');
  }

  private listenOne(host: string, port: number): Promise<Server> {
    return new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true, keepAlive: false }, (s) => this.accept(s));
      server.once('error', reject);
      // ipv6Only: '::' next to '0.0.0.0' must not also claim IPv4.
      server.listen({ host, port, ipv6Only: host.includes(':'), exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (e) => this.log.error({ err: e.message }, 'listener error'));
        resolve(server);
      });
    });
  }

  private sourceCount(source: string): SourceCount {
    let c = this.perSource.get(source);
    if (!c) {
      c = { pending: 0, total: 0, calls: 0 };
      this.perSource.set(source, c);
    }
    return c;
  }

  private reject(socket: Socket, source: string, why: keyof ControlServerStats['rejected']): void {
    this.stats.rejected[why]++;
    socket.destroy();
    // A flood must not flood the log: one line a second at most.
    const now = this.o.clock.now();
    if (now - this.lastRejectLog >= 1000) {
      this.lastRejectLog = now;
      this.log.warn({ source, limit: why, rejected: this.stats.rejected }, 'control connection refused: limit reached');
    }
  }

  private accept(socket: Socket): void {
    const source = normalizeAddress(socket.remoteAddress);
    if (this.stopping || !source) {
      socket.destroy();
      return;
    }
    if (this.clients.size >= (this.o.maxConnections ?? 4096)) return this.reject(socket, source, 'global');
    const count = this.sourceCount(source);
    if (count.pending >= (this.o.perSourcePending ?? 8)) return this.reject(socket, source, 'perSourcePending');
    if (count.total >= (this.o.perSourceTotal ?? 64)) return this.reject(socket, source, 'perSourceTotal');
    count.pending++;
    count.total++;
    this.stats.accepted++;
    this.stats.open++;

    socket.setNoDelay(true);
    socket.setKeepAlive(false); // PPTP has its own echo
    const local = normalizeAddress(socket.localAddress);
    const peer = `${source.includes(':') ? `[${source}]` : source}:${socket.remotePort}`;
    const c = new Client(socket, source);
    this.clients.add(c);
    const maxQueued = this.o.maxQueuedBytes ?? 64 * 1024;

    const conn: ControlConnection = new ControlConnection({
      clock: this.o.clock,
      log: this.o.log,
      peer,
      hostName: this.o.hostName,
      vendor: this.o.vendor,
      stimeoutMs: this.o.stimeoutMs,
      ...(this.o.echoIntervalMs !== undefined ? { echoIntervalMs: this.o.echoIntervalMs } : {}),
      ...(this.o.echoTimeoutMs !== undefined ? { echoTimeoutMs: this.o.echoTimeoutMs } : {}),
      ...(this.o.maxCallsPerConnection !== undefined ? { maxCallsPerConnection: this.o.maxCallsPerConnection } : {}),
      callIds: this.o.handler.callIds,
      send: (bytes) => {
        if (c.gone || socket.destroyed) return;
        socket.write(bytes);
        if (socket.writableLength > maxQueued) {
          this.log.warn({ peer, queued: socket.writableLength }, 'peer does not read, dropping connection');
          socket.destroy();
        }
      },
      close: () => this.closeSocket(c),
      onCall: (call) => {
        const limit = this.o.perSourceCalls ?? 64;
        if (count.calls >= limit) {
          this.stats.callsRefusedPerSource++;
          const now = this.o.clock.now();
          if (now - this.lastCallRefusalLog >= 1000) {
            // One line a second at most, with the running total.
            this.lastCallRefusalLog = now;
            this.log.warn({ peer, calls: count.calls, limit, refused: this.stats.callsRefusedPerSource }, 'call refused: too many calls from this address');
          }
          return { accept: false, result: OCRP_BUSY, reason: `too many calls from ${source} (${limit})` };
        }
        const d = this.o.handler.onCall(conn, call, source, local);
        if (d.accept) count.calls++;
        return d;
      },
      onCallCleared: (callId, reason) => {
        count.calls--; // exactly once per accepted call (connection.ts contract)
        this.o.handler.onCallCleared(conn, callId, reason);
      },
    });
    c.conn = conn;

    socket.on('data', (d: Buffer) => {
      conn.input(d);
      this.checkPending(c);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.log.debug({ peer, err: e.code ?? e.message }, 'control socket error');
      c.error ??= e.code ?? e.message; // said in the calls' down reason
    });
    socket.on('close', () => this.gone(c));
  }

  /** SCCRQ arrived (or the connection ended): no longer counts as in progress. */
  private checkPending(c: Client): void {
    if (c.pending && c.conn.state !== 'idle') {
      c.pending = false;
      const count = this.perSource.get(c.source);
      if (count) count.pending--;
    }
  }

  /** The connection asked to close: end (flush), destroy if the flush takes too long. */
  private closeSocket(c: Client): void {
    if (c.gone || c.flushTimer) return;
    c.socket.end();
    c.flushTimer = this.o.clock.setTimer(this.o.flushTimeoutMs ?? 2000, () => c.socket.destroy());
  }

  private gone(c: Client): void {
    if (c.gone) return;
    c.gone = true;
    c.flushTimer?.cancel();
    c.flushTimer = undefined;
    c.conn.closed(c.error === 'ECONNRESET' ? 'control connection reset by the client (TCP RST)'
      : c.error ? `control connection lost (${c.error})` : undefined);
    const count = this.perSource.get(c.source);
    if (count) {
      if (c.pending) count.pending--;
      count.total--;
      if (count.total <= 0) this.perSource.delete(c.source);
    }
    c.pending = false;
    this.clients.delete(c);
    this.stats.open--;
  }

  private async closeListeners(): Promise<void> {
    const servers = this.servers.splice(0);
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  /**
   * Stops listening, sends StopCCRQ on every remaining connection (the
   * session manager's shutdown has already ended the calls), and resolves
   * when every socket is closed (destroyed after the flush timeout).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const closing = this.closeListeners();
    const waits: Promise<void>[] = [];
    for (const c of [...this.clients]) {
      waits.push(new Promise<void>((r) => (c.gone ? r() : c.socket.once('close', () => r()))));
      if (c.conn.state === 'idle' || c.conn.state === 'established') c.conn.stop(3);
      else if (c.conn.state === 'closed') this.closeSocket(c);
    }
    // Bounded: whatever has not closed after the flush timeout is destroyed.
    const timer = this.o.clock.setTimer((this.o.flushTimeoutMs ?? 2000) + 1000, () => {
      for (const c of this.clients) c.socket.destroy();
    });
    await Promise.all(waits);
    timer.cancel();
    await closing;
  }
}
