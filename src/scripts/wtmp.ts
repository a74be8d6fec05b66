// poptop's `logwtmp`: what pppd's pptpd-logwtmp plugin does through glibc
// logwtmp()/updwtmp() — one utmp record appended to /var/log/wtmp when a
// session's interface comes up (USER_PROCESS) and one when it goes down
// (DEAD_PROCESS), so `last` lists VPN logins.
//
// Like updwtmp(): the file is opened O_WRONLY|O_APPEND without O_CREAT (no
// wtmp file means the admin wants no records), each record is one write(),
// and a file whose size is not a whole number of records is cut back to the
// last whole record first so one torn write cannot shift every later record.
// Unlike glibc we take no fcntl lock (Node has none); O_APPEND keeps each
// 384-byte write whole against other appenders on a local file system.
//
// Never blocks the event loop, never throws into a session: records queue
// (bounded) and are written by one asynchronous drain at a time; failures
// are logged once per kind.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import { DEAD_PROCESS, encodeUtmp, UTMP_RECORD_SIZE, USER_PROCESS } from '../session/wtmp-record.js';

/** glibc's _PATH_WTMP. */
export const WTMP_PATH = '/var/log/wtmp';
/**
 * TEST HOOK ONLY: the test suite points the daemon at a temporary file with
 * this variable. Production never sets it; the path is /var/log/wtmp as in
 * glibc.
 */
export const WTMP_FILE_ENV = 'PPTPD_WTMP_FILE';

export function wtmpPath(env: NodeJS.ProcessEnv = process.env): string {
  const p = env[WTMP_FILE_ENV];
  return p !== undefined && p !== '' ? p : WTMP_PATH;
}

/** Records waiting beyond this are dropped (a stalled disk must not grow memory without bound). */
export const WTMP_MAX_PENDING = 4096;

export interface WtmpWriterOptions {
  log: Logger;
  /** Default: wtmpPath() (/var/log/wtmp unless the test hook is set). */
  path?: string;
  /** ut_pid; default process.pid (glibc logwtmp uses getpid()). */
  pid?: number;
  /** Wall clock, ms; default Date.now. */
  now?: () => number;
  maxPending?: number;
}

export interface WtmpStats {
  written: number;
  /** Not written: file missing, write error, or queue full. */
  dropped: number;
}

export class WtmpWriter {
  readonly path: string;
  readonly stats: WtmpStats = { written: 0, dropped: 0 };
  private readonly log: Logger;
  private readonly pid: number;
  private readonly now: () => number;
  private readonly maxPending: number;
  private queue: Uint8Array[] = [];
  private draining: Promise<void> | undefined;
  /** Error kinds already logged (ENOENT, EACCES, short write, …): each once. */
  private readonly reported = new Set<string>();

  constructor(o: WtmpWriterOptions) {
    this.path = o.path ?? wtmpPath();
    this.log = o.log.child({ component: 'wtmp' });
    this.pid = o.pid ?? process.pid;
    this.now = o.now ?? Date.now;
    this.maxPending = o.maxPending ?? WTMP_MAX_PENDING;
  }

  /**
   * glibc logwtmp(line, name, host): USER_PROCESS when name is non-empty,
   * else DEAD_PROCESS. `addr` (dotted IPv4) also fills ut_addr_v6, which
   * glibc leaves zero; `last -i` shows it.
   */
  logwtmp(line: string, user: string, host: string, addr?: string): void {
    if (this.queue.length >= this.maxPending) {
      this.stats.dropped++;
      this.once('queue', () => this.log.error({ path: this.path, pending: this.queue.length }, 'wtmp records dropped: too many waiting to be written'));
      return;
    }
    const rec = encodeUtmp({
      type: user !== '' ? USER_PROCESS : DEAD_PROCESS,
      pid: this.pid,
      line,
      user,
      host,
      timeMs: this.now(),
      ...(addr !== undefined && { addr }),
    });
    this.queue.push(rec);
    this.kick();
  }

  /** Starts the one drain unless it runs; restarts it for records that arrived as it finished. */
  private kick(): void {
    if (this.draining) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  /** pptpd-logwtmp's ip-up: logwtmp(ifname, authname, client outer address). */
  login(line: string, user: string, host: string): void {
    this.logwtmp(line, user, host, host);
  }

  /** pptpd-logwtmp's ip-down: logwtmp(ifname, "", ""). */
  logout(line: string): void {
    this.logwtmp(line, '', '');
  }

  /** Resolves when every record queued so far has been written or dropped. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      // Records that queue while the file is open go out under the same open.
      const batch = this.queue;
      this.queue = [];
      await this.writeBatch(batch);
    }
  }

  private async writeBatch(batch: Uint8Array[]): Promise<void> {
    let fh: FileHandle | undefined;
    let i = 0;
    try {
      fh = await open(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_NOCTTY);
      const { size } = await fh.stat();
      const torn = size % UTMP_RECORD_SIZE;
      if (torn !== 0) {
        await fh.truncate(size - torn);
        this.once('torn', () => this.log.warn({ path: this.path, bytes: torn }, 'wtmp ended in a partial record: cut back to the last whole record'));
      }
      for (; i < batch.length; i++) {
        const rec = batch[i]!;
        const { bytesWritten } = await fh.write(rec, 0, rec.length);
        if (bytesWritten !== rec.length) {
          // Remove the fragment so the next record starts on a boundary.
          const now = (await fh.stat()).size;
          await fh.truncate(now - (now % UTMP_RECORD_SIZE));
          throw Object.assign(new Error(`short write (${bytesWritten} of ${rec.length} bytes)`), { code: 'ESHORT' });
        }
        this.stats.written++;
      }
    } catch (e) {
      this.stats.dropped += batch.length - i;
      const err = e as NodeJS.ErrnoException;
      const kind = err.code ?? 'EUNKNOWN';
      if (kind === 'ENOENT' && i === 0 && !fh) {
        // glibc behaviour: no wtmp file, no records. Said once.
        this.once(kind, () => this.log.warn({ path: this.path }, 'logwtmp: wtmp file does not exist, no records are written (create it to enable them)'));
      } else {
        this.once(kind, () => this.log.error({ path: this.path, err: err.message }, 'logwtmp: cannot write wtmp record'));
      }
    } finally {
      await fh?.close().catch(() => undefined);
    }
  }

  private once(kind: string, say: () => void): void {
    if (this.reported.has(kind)) return;
    this.reported.add(kind);
    say();
  }
}
