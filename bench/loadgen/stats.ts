// Percentiles and counters for the load generator's summary.

export interface Percentiles {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * Nearest-rank percentile (the smallest sample with at least p% of samples
 * at or below it) of an ascending array; NaN when empty. p in (0, 100].
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100]: ${p}`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** min/p50/p90/p99/max/mean of the samples (copied and sorted), or null when there are none. */
export function summarize(samples: readonly number[]): Percentiles | null {
  if (samples.length === 0) return null;
  const s = [...samples].sort((a, b) => a - b);
  let sum = 0;
  for (const v of s) sum += v;
  return {
    count: s.length,
    min: s[0]!,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s[s.length - 1]!,
    mean: sum / s.length,
  };
}

/** Counts by reason, e.g. failures { 'OCRP BUSY': 3 }. */
export class ReasonCounter {
  private readonly m = new Map<string, number>();

  add(reason: string): void {
    this.m.set(reason, (this.m.get(reason) ?? 0) + 1);
  }

  get total(): number {
    let n = 0;
    for (const v of this.m.values()) n += v;
    return n;
  }

  /** Most frequent first, ties by name. */
  toObject(): Record<string, number> {
    const out: Record<string, number> = {};
    const entries = [...this.m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [k, v] of entries) out[k] = v;
    return out;
  }
}

/** Sessions per second over a span in ms (0 when the span is empty). */
export function ratePerSecond(count: number, spanMs: number): number {
  return spanMs > 0 ? (count * 1000) / spanMs : 0;
}
