// Random bytes behind a function type, so protocol engines get a seeded
// source in tests and node:crypto in the daemon.
import { randomBytes } from 'node:crypto';

export type RandomSource = (n: number) => Uint8Array;

export const systemRandom: RandomSource = (n) => randomBytes(n);

/** Deterministic source for tests (xorshift32); never for production. */
export function seededRandom(seed: number): RandomSource {
  let s = seed >>> 0 || 0x9e3779b9;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      s ^= s << 13; s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5; s >>>= 0;
      out[i] = s & 0xff;
    }
    return out;
  };
}
