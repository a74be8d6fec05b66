// A small manual clock for the GRE tests (time moves only when told), which
// also counts armed timers so tests can check "one timer per call".

import type { Clock, Timer } from '../../src/util/clock.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class GreTestClock implements Clock {
  private t = 0;
  private seq = 0;
  private pending: Pending[] = [];
  /** setTimer calls so far. */
  armed = 0;

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): Timer {
    this.armed++;
    const p: Pending = { at: this.t + ms, seq: this.seq++, fn, cancelled: false };
    this.pending.push(p);
    return { cancel: () => { p.cancelled = true; } };
  }

  /** Timers armed and not yet fired or cancelled. */
  get active(): number {
    return this.pending.filter((p) => !p.cancelled).length;
  }

  /** Advances time by ms, firing due timers in order (including ones they arm). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.pending = this.pending.filter((p) => !p.cancelled);
      let next: Pending | undefined;
      for (const p of this.pending) {
        if (p.at <= end && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      }
      if (!next) break;
      this.pending.splice(this.pending.indexOf(next), 1);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
}
