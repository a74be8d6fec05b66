// Back-off after failed authentications, per client source address and per
// user name. I/O-free: time from the injected Clock, no timers of its own.
//
// Policy (README "Authentication back-off"):
//  - every failed attempt (wrong password, unknown user, a hang-up while the
//    result was held) counts once for its source address and once for its user;
//  - the count decays by one per `decayMs` of quiet, so a burst is forgotten;
//  - from `threshold` failures on, the RESULT of the next attempt is held back
//    by base·2^(failures−threshold), capped: `maxDelayMs` for a source,
//    `userMaxDelayMs` for a user;
//  - a source's held attempts are serialised (each waits behind the previous
//    one), so parallel calls from one address do not multiply its guess rate;
//  - a user's delay is never serialised and is capped well below the PPP
//    authentication timeout: an attacker guessing alice's password from
//    elsewhere slows alice down a little but can never lock her out;
//  - a success clears the source and the user.
// State is a Map in LRU order bounded by `maxEntries` (an attacker rotating
// source addresses evicts the oldest entries, it cannot grow memory), and
// entries that decayed to zero are dropped when met.
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';

export interface AuthThrottleConfig {
  /** Failures before results are held back; 0 disables the back-off. Default 3. */
  threshold: number;
  /** First delay. Default 1000. */
  baseDelayMs: number;
  /** Cap for a source address. Default 30000. */
  maxDelayMs: number;
  /** Cap for a user name (keep it below the authentication timeout). Default 8000. */
  userMaxDelayMs: number;
  /** One failure is forgotten per this much quiet. Default 60000. */
  decayMs: number;
  /** Sources + users remembered at most. Default 10000. */
  maxEntries: number;
}

export const DEFAULT_AUTH_THROTTLE: Readonly<AuthThrottleConfig> = Object.freeze({
  threshold: 3,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  userMaxDelayMs: 8000,
  decayMs: 60_000,
  maxEntries: 10_000,
});

interface Entry {
  failures: number;
  /** Time of the last failure (decay runs from here). */
  last: number;
  /** Source only: the time the previous held result is released. */
  nextAt: number;
  /** The "back-off started" line was logged for this burst. */
  logged: boolean;
}

export interface AuthThrottleStats {
  failures: number;
  successes: number;
  /** Attempts whose result was held back. */
  delayed: number;
  /** Bursts that reached the threshold (one log line each). */
  bursts: number;
  /** Entries dropped to respect maxEntries. */
  evicted: number;
}

/** A peer-chosen name in a log line: no control characters, bounded length. */
function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 64);
}

const SOURCE = 's:';
const USER = 'u:';

export class AuthThrottle {
  readonly stats: AuthThrottleStats = { failures: 0, successes: 0, delayed: 0, bursts: 0, evicted: 0 };
  private cfg: AuthThrottleConfig;
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(cfg: Partial<AuthThrottleConfig>, clock: Clock, log: Logger) {
    this.cfg = { ...DEFAULT_AUTH_THROTTLE, ...cfg };
    this.clock = clock;
    this.log = log.child({ component: 'auth-throttle' });
  }

  get config(): Readonly<AuthThrottleConfig> {
    return this.cfg;
  }

  /** Sources and users currently remembered. */
  get size(): number {
    return this.entries.size;
  }

  reconfigure(cfg: Partial<AuthThrottleConfig>): void {
    this.cfg = { ...DEFAULT_AUTH_THROTTLE, ...cfg };
    while (this.entries.size > this.cfg.maxEntries) this.evictOldest();
  }

  /** Failures still counted for a source (after decay). */
  sourceFailures(source: string): number {
    return this.current(SOURCE + source)?.failures ?? 0;
  }

  userFailures(user: string): number {
    return this.current(USER + user)?.failures ?? 0;
  }

  /**
   * How long to hold the result of an attempt by `user` from `source` that is
   * being verified now (0 = answer at once). Reserves the source's slot.
   */
  delayFor(source: string, user: string): number {
    if (this.cfg.threshold <= 0) return 0;
    const now = this.clock.now();
    let sourceWait = 0;
    const s = this.current(SOURCE + source);
    if (s && s.failures >= this.cfg.threshold) {
      const d = this.delayOf(s.failures, this.cfg.maxDelayMs);
      // Serialised behind earlier held attempts, but never queued beyond two caps.
      const at = Math.min(Math.max(now, s.nextAt) + d, now + 2 * this.cfg.maxDelayMs);
      s.nextAt = at;
      sourceWait = at - now;
    }
    const u = this.current(USER + user);
    const userWait = u && u.failures >= this.cfg.threshold ? this.delayOf(u.failures, this.cfg.userMaxDelayMs) : 0;
    const wait = Math.max(sourceWait, userWait);
    if (wait > 0) this.stats.delayed++;
    return wait;
  }

  failed(source: string, user: string): void {
    if (this.cfg.threshold <= 0) return;
    this.stats.failures++;
    this.bump(SOURCE + source, { source }, 'source');
    if (user !== '') this.bump(USER + user, { user: printable(user) }, 'user');
  }

  succeeded(source: string, user: string): void {
    this.stats.successes++;
    this.entries.delete(SOURCE + source);
    this.entries.delete(USER + user);
  }

  // ---- internals ----

  private delayOf(failures: number, cap: number): number {
    const steps = failures - this.cfg.threshold;
    // 2^steps overflows nothing below 31 steps; beyond that the cap applies anyway.
    return steps >= 30 ? cap : Math.min(cap, this.cfg.baseDelayMs * 2 ** steps);
  }

  /** The entry with decay applied; undefined (and dropped) once it decayed to nothing. */
  private current(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.decay(e);
    if (e.failures <= 0 && e.nextAt <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private decay(e: Entry): void {
    const now = this.clock.now();
    const steps = this.cfg.decayMs > 0 ? Math.floor((now - e.last) / this.cfg.decayMs) : 0;
    if (steps <= 0) return;
    e.failures = Math.max(0, e.failures - steps);
    e.last += steps * this.cfg.decayMs;
    // Below the threshold again: the next burst gets its own log line.
    if (e.failures < this.cfg.threshold) e.logged = false;
  }

  private bump(key: string, who: Record<string, string>, kind: 'source' | 'user'): void {
    const now = this.clock.now();
    let e = this.current(key);
    if (e) {
      this.entries.delete(key); // re-insert: most recently used last
    } else {
      this.sweep();
      e = { failures: 0, last: now, nextAt: 0, logged: false };
    }
    e.failures++;
    e.last = now;
    this.entries.set(key, e);
    while (this.entries.size > this.cfg.maxEntries) this.evictOldest();
    if (e.failures >= this.cfg.threshold && !e.logged) {
      e.logged = true;
      this.stats.bursts++;
      this.log.warn(
        { ...who, failures: e.failures, delayMs: this.delayOf(e.failures, kind === 'source' ? this.cfg.maxDelayMs : this.cfg.userMaxDelayMs) },
        `repeated authentication failures: holding back results for this ${kind}`,
      );
    }
  }

  /** Drops up to two decayed entries from the old end (amortised expiry, no timer). */
  private sweep(): void {
    let n = 0;
    for (const key of this.entries.keys()) {
      if (n++ >= 2) break;
      this.current(key);
    }
  }

  private evictOldest(): void {
    const first = this.entries.keys().next();
    if (first.done) return;
    this.entries.delete(first.value);
    this.stats.evicted++;
  }
}

/** pptpd.conf extension directives (seconds) → throttle settings. */
export function throttleConfigFrom(r: {
  authBackoffThreshold: number;
  authBackoffMaxSec: number;
  authBackoffUserMaxSec: number;
  authBackoffDecaySec: number;
}): Partial<AuthThrottleConfig> {
  return {
    threshold: r.authBackoffThreshold,
    maxDelayMs: r.authBackoffMaxSec * 1000,
    userMaxDelayMs: r.authBackoffUserMaxSec * 1000,
    decayMs: r.authBackoffDecaySec * 1000,
  };
}
