// A Clock for tests: time only moves when advance() is called, and timers
// fire in deadline order (ties in creation order) at their exact deadline.
import type { Clock, Timer } from '../../src/util/clock.js';

interface Entry {
  at: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private entries: Entry[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const e: Entry = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, live: true };
    this.entries.push(e);
    return {
      cancel: () => {
        e.live = false;
      },
    };
  }

  /** Number of timers armed and not yet fired or cancelled. */
  get pending(): number {
    this.entries = this.entries.filter((e) => e.live);
    return this.entries.length;
  }

  /** Deadline of the next live timer, or undefined. */
  get nextDeadline(): number | undefined {
    const e = this.next(Infinity);
    return e?.at;
  }

  /** Moves time forward by ms, firing every timer that falls due (including ones armed meanwhile). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const e = this.next(end);
      if (e === undefined) break;
      e.live = false;
      this.t = e.at;
      e.fn();
    }
    this.t = end;
    this.entries = this.entries.filter((e) => e.live);
  }

  /** Fires due timers until none is left (bounded, for runaway re-arming). */
  runAll(maxTimers = 10_000): void {
    for (let i = 0; i < maxTimers; i++) {
      const e = this.next(Infinity);
      if (e === undefined) return;
      e.live = false;
      this.t = Math.max(this.t, e.at);
      e.fn();
    }
    throw new Error(`FakeClock.runAll: more than ${maxTimers} timers`);
  }

  private next(limit: number): Entry | undefined {
    let best: Entry | undefined;
    for (const e of this.entries) {
      if (!e.live || e.at > limit) continue;
      if (best === undefined || e.at < best.at || (e.at === best.at && e.seq < best.seq)) best = e;
    }
    return best;
  }
}
