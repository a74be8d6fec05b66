// The daemon side of the control socket (pptpctl).
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { chmodSync, unlinkSync, existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { MAX_LINE, parseRequest, type MgmtReply, type SessionView } from './protocol.js';

export interface MgmtHandlers {
  sessions(): SessionView[];
  kill(target: string): number;
  reload(): Promise<{ ok: boolean; error?: string }>;
  stats(): Record<string, unknown>;
}

/** True when something answers on the socket path (another daemon runs). */
function inUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

export class MgmtServer {
  private server?: Server;
  constructor(private readonly path: string, private readonly h: MgmtHandlers, private readonly log: Logger) {}

  async start(): Promise<void> {
    if (existsSync(this.path)) {
      if (await inUse(this.path)) throw new Error(`control socket ${this.path} is in use: is another pptpd running?`);
      unlinkSync(this.path); // stale, from a daemon that died
    }
    const server = createServer((sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // umask-independent: restrict before anyone can connect.
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.path, 0o600);
    this.server = server;
  }

  private serve(sock: Socket): void {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_LINE) {
        this.reply(sock, { ok: false, error: 'request too long' });
        return;
      }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = '';
      sock.pause();
      this.handle(line).then((r) => this.reply(sock, r), (e: Error) => this.reply(sock, { ok: false, error: e.message }));
    });
  }

  private reply(sock: Socket, r: MgmtReply): void {
    sock.end(JSON.stringify(r) + '\n');
  }

  private async handle(line: string): Promise<MgmtReply> {
    let req;
    try {
      req = parseRequest(line);
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
    this.log.debug({ component: 'mgmt', cmd: req.cmd }, 'control request');
    switch (req.cmd) {
      case 'sessions':
        return { ok: true, sessions: this.h.sessions() };
      case 'kill': {
        const killed = this.h.kill(req.target);
        this.log.info({ component: 'mgmt', target: req.target, killed }, 'kill requested');
        return killed > 0 ? { ok: true, killed } : { ok: false, error: `no session matches ${req.target}` };
      }
      case 'reload': {
        const r = await this.h.reload();
        return r.ok ? { ok: true, message: 'reloaded' } : { ok: false, error: r.error ?? 'reload failed' };
      }
      case 'stats':
        return { ok: true, stats: this.h.stats() };
    }
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    try { unlinkSync(this.path); } catch { /* gone */ }
  }
}

/** Client side: one request, one reply. */
export function mgmtRequest(path: string, req: object, timeoutMs = 10_000): Promise<MgmtReply> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => { c.destroy(); reject(new Error(`no answer from ${path} within ${timeoutMs} ms`)); }, timeoutMs);
    c.setEncoding('utf8');
    c.once('connect', () => c.write(JSON.stringify(req) + '\n'));
    c.on('data', (d: string) => { buf += d; });
    c.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
        ? `cannot reach pptpd at ${path} (${e.code}): is it running? (--control-socket)`
        : `${path}: ${e.message}`));
    });
    c.once('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as MgmtReply);
      } catch {
        reject(new Error(`malformed answer from ${path}`));
      }
    });
  });
}
