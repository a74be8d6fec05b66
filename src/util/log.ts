// pino logging: JSON lines by default, a compact readable form on a terminal
// (or with --log-format pretty). Every line names its component.
import { pino, type Logger, type DestinationStream } from 'pino';
import { Writable } from 'node:stream';
import { openSync } from 'node:fs';

export type { Logger };
export type LogFormat = 'json' | 'pretty';

export interface LogOptions {
  level?: string;
  format?: LogFormat;
  /** Where lines go; default stdout. */
  destination?: DestinationStream | NodeJS.WritableStream;
  /** pppd's `logfile`: every line is also appended here, as JSON. */
  file?: string;
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'component']);

/** One readable line from one pino JSON line. */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const t = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '';
  const lvl = LEVELS[o.level as number] ?? String(o.level);
  const extra = Object.entries(o)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const comp = o.component ? `[${String(o.component)}] ` : '';
  return `${t} ${lvl.padEnd(5)} ${comp}${String(o.msg ?? '')}${extra ? ' ' + extra : ''}`;
}

function prettyStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line) out.write(prettyLine(line) + '\n');
      }
      cb();
    },
  });
}

/** Field names that must never reach a log line. */
export const REDACT = ['password', 'secret', 'passwd', '*.password', '*.secret', 'ntResponse', 'keys'];

/** Opens (appends to) a log file now, so a bad path is a clear start-up error, not a later crash. */
function openLogFile(path: string): number {
  try {
    return openSync(path, 'a', 0o640);
  } catch (e) {
    throw new Error(`logfile ${path}: cannot open it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export function createLogger(opts: LogOptions = {}): Logger {
  const out = (opts.destination ?? process.stdout) as NodeJS.WritableStream;
  const format = opts.format ?? ((out as { isTTY?: boolean }).isTTY ? 'pretty' : 'json');
  const main = (format === 'pretty' ? prettyStream(out) : out) as DestinationStream;
  const level = opts.level ?? 'info';
  const dest = opts.file
    ? pino.multistream([
      { level: level as pino.Level, stream: main },
      { level: level as pino.Level, stream: pino.destination({ fd: openLogFile(opts.file), sync: false }) },
    ])
    : main;
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: REDACT, censor: '[redacted]' },
    },
    dest,
  );
}

/** A logger that drops everything (tests, library defaults). */
export const silentLogger: Logger = pino({ level: 'silent' });
