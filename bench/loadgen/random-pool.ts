// The load generator's RandomSource: node:crypto random bytes fetched 4 KiB at
// a time. Each systemRandom call is a randomBytes() round trip into OpenSSL
// (~2 µs); a session asks for a few small values (peer challenge, magic
// numbers), so one fill serves hundreds of sessions. Same source of
// randomness as the daemon's, only fetched in bulk.
import { randomFillSync } from 'node:crypto';
import type { RandomSource } from '../../src/util/random.js';

export function pooledRandom(poolSize = 4096): RandomSource {
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new RangeError('poolSize must be a positive integer');
  const pool = new Uint8Array(poolSize);
  let used = poolSize; // empty: filled on first use
  return (n) => {
    if (n > poolSize) return randomFillSync(new Uint8Array(n));
    if (used + n > poolSize) {
      randomFillSync(pool);
      used = 0;
    }
    // A copy: callers keep what they get (challenges), and no byte is handed out twice.
    const out = pool.slice(used, used + n);
    used += n;
    return out;
  };
}
