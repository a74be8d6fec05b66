// Test doubles for the auth protocols: a manual clock, a scripted random
// source, a static secrets back-end, and a captured pino logger.
import { Writable } from 'node:stream';
import type { AuthBackend, SecretEntry } from '../../src/auth/types.js';
import type { Clock, Timer } from '../../src/util/clock.js';
import type { RandomSource } from '../../src/util/random.js';
import { createLogger, type Logger } from '../../src/util/log.js';

export class FakeClock implements Clock {
  private t = 0;
  private timers: { at: number; fn: () => void; live: boolean; seq: number }[] = [];
  private seq = 0;
  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): Timer {
    const e = { at: this.t + ms, fn, live: true, seq: this.seq++ };
    this.timers.push(e);
    return { cancel: () => { e.live = false; } };
  }
  get pending(): number {
    return this.timers.filter((e) => e.live).length;
  }
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((e) => e.live && e.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.t = due.at;
      due.live = false;
      due.fn();
    }
    this.t = end;
    this.timers = this.timers.filter((e) => e.live);
  }
}

/** Returns the given byte strings in order, then falls back to a counter pattern. */
export function scriptedRandom(...chunks: Uint8Array[]): RandomSource {
  let k = 1;
  return (n) => {
    const c = chunks.shift();
    if (c) {
      if (c.length !== n) throw new Error(`scriptedRandom: asked ${n}, scripted ${c.length}`);
      return c;
    }
    return Uint8Array.from({ length: n }, () => (k = (k * 73 + 11) & 0xff));
  };
}

export function entry(client: string, secret: string, server = '*'): SecretEntry {
  return { client, server, secret, addresses: [], source: 'test:1' };
}

export class StaticBackend implements AuthBackend {
  readonly lookups: { client: string; server: string }[] = [];
  constructor(private readonly entries: SecretEntry[]) {}
  async lookup(client: string, server: string): Promise<SecretEntry | undefined> {
    this.lookups.push({ client, server });
    return this.entries.find((e) => e.client === client && (e.server === '*' || e.server === server));
  }
}

export function capturedLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const w = new Writable({
    write(c: Buffer, _e, cb) {
      lines.push(...c.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { log: createLogger({ format: 'json', destination: w, level: 'debug' }), lines };
}

/** Lets promise callbacks (the async back-end) and queued deliveries run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+|#.*$/gm, ''), 'hex'));
export const toHexStr = (b: Uint8Array): string => Buffer.from(b).toString('hex');
