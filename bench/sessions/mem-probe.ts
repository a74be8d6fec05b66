// Preloaded into the benchmark's daemon (`node --import dist/bench/sessions/mem-probe.js`):
// on SIGWINCH (ignored by default, so a daemon without the probe is
// unaffected) it appends one JSON line to $PPTPD_BENCH_MEM_FILE with
// process.memoryUsage() and V8's new-space size, then the same after a full
// GC. Lets bench:sessions say where RSS beyond the live heap goes (young
// generation, old-space headroom, ArrayBuffer backing stores) without
// touching the daemon's code. Not a test.
import { appendFileSync } from 'node:fs';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const file = process.env.PPTPD_BENCH_MEM_FILE;

export interface Sample {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Committed young generation (semi-spaces): grows under allocation, counted in RSS. */
  newSpace: number;
  /** Committed old generation (old + code + map + large-object spaces). */
  oldSpaces: number;
}

function sample(): Sample {
  const m = process.memoryUsage();
  let newSpace = 0;
  let oldSpaces = 0;
  for (const s of getHeapSpaceStatistics()) {
    if (s.space_name === 'new_space' || s.space_name === 'new_large_object_space') newSpace += s.physical_space_size;
    else oldSpaces += s.physical_space_size;
  }
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, newSpace, oldSpaces };
}

if (file) {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  process.on('SIGWINCH', () => {
    const before = sample();
    gc();
    gc();
    const afterGc = sample();
    appendFileSync(file, JSON.stringify({ before, afterGc }) + '\n');
  });
}
