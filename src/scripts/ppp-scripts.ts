// Runs /etc/ppp/ip-up and ip-down the way pppd does, so Debian's
// /etc/ppp/ip-up.d scripts keep working: same arguments, same environment.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { Logger } from 'pino';

export interface ScriptSession {
  sessionId: string;
  ifname: string;
  local: string;
  peer: string;
  user: string;
  /** pppd's 6th argument: the client's outer address unless noipparam. */
  ipparam: string;
  /** pppd passes the tty; we have none and pass this placeholder. */
  tty?: string;
  dns?: string[];
  /** ip-down only. */
  connectTimeSec?: number;
  bytesSent?: number;
  bytesReceived?: number;
}

export interface ScriptResult {
  ran: boolean;
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
}

export interface PppScriptsOptions {
  ipUp: string;
  ipDown: string;
  speed: number;
  log: Logger;
  /** A script still running after this is killed (its process group). */
  timeoutMs?: number;
}

export const DEFAULT_TTY = 'pptp';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export class PppScripts {
  private readonly timeoutMs: number;
  constructor(private readonly o: PppScriptsOptions) {
    this.timeoutMs = o.timeoutMs ?? 30_000;
  }

  /** Arguments pppd gives both scripts: ifname tty speed local remote ipparam. */
  args(s: ScriptSession): string[] {
    return [s.ifname, s.tty ?? DEFAULT_TTY, String(this.o.speed), s.local, s.peer, s.ipparam];
  }

  env(s: ScriptSession, down: boolean): NodeJS.ProcessEnv {
    const e: NodeJS.ProcessEnv = {
      PATH: '/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin',
      PPPD_PID: String(process.pid),
      PPPLOGNAME: process.env.USER ?? 'root',
      ORIG_UID: String(process.getuid?.() ?? 0),
      DEVICE: s.tty ?? DEFAULT_TTY,
      IFNAME: s.ifname,
      IPLOCAL: s.local,
      IPREMOTE: s.peer,
      PEERNAME: s.user,
      SPEED: String(this.o.speed),
      LINKNAME: s.ifname,
      CALL_FILE: '',
    };
    if (s.dns?.[0]) e.DNS1 = s.dns[0];
    if (s.dns?.[1]) e.DNS2 = s.dns[1];
    if (down) {
      e.CONNECT_TIME = String(s.connectTimeSec ?? 0);
      e.BYTES_SENT = String(s.bytesSent ?? 0);
      e.BYTES_RCVD = String(s.bytesReceived ?? 0);
    }
    return e;
  }

  ipUp(s: ScriptSession): Promise<ScriptResult> {
    return this.run('ip-up', this.o.ipUp, s, false);
  }

  ipDown(s: ScriptSession): Promise<ScriptResult> {
    return this.run('ip-down', this.o.ipDown, s, true);
  }

  private run(kind: string, path: string, s: ScriptSession, down: boolean): Promise<ScriptResult> {
    const started = Date.now();
    const log = this.o.log.child({ component: 'scripts', sessionId: s.sessionId, ifname: s.ifname, user: s.user });
    // pppd silently skips a missing or non-executable script.
    if (!path || !executable(path)) {
      return Promise.resolve({ ran: false, code: null, signal: null, timedOut: false, durationMs: 0 });
    }
    return new Promise((resolve) => {
      let timedOut = false;
      const child = spawn(path, this.args(s), {
        env: this.env(s, down),
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true, // own process group, so a timeout kills what it started too
      });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        if (stderr.length < 2048) stderr += d.toString('utf8');
      });
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch { /* already gone */ }
      }, this.timeoutMs);
      const finish = (code: number | null, signal: string | null, err?: Error) => {
        clearTimeout(timer);
        const r: ScriptResult = { ran: !err, code, signal, timedOut, durationMs: Date.now() - started };
        if (err) log.warn({ script: path, err: err.message }, `${kind} could not be started`);
        else if (timedOut) log.warn({ script: path, timeoutMs: this.timeoutMs }, `${kind} timed out and was killed`);
        else if (code !== 0) log.warn({ script: path, code, signal, stderr: stderr.trim().slice(0, 500) }, `${kind} failed`);
        else log.debug({ script: path, durationMs: r.durationMs }, `${kind} done`);
        resolve(r);
      };
      child.once('error', (e) => finish(null, null, e));
      child.once('exit', (code, signal) => finish(code, signal));
    });
  }
}
