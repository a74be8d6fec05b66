// bench/loadgen's pooled RandomSource: bytes come from node:crypto in bulk,
// every call gets its own copy, nothing is handed out twice, any size works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pooledRandom } from '../../bench/loadgen/random-pool.js';

test('pooledRandom: sizes, independent copies, refills past the pool', () => {
  const r = pooledRandom(64);
  const a = r(16);
  const b = r(16);
  assert.equal(a.length, 16);
  assert.equal(b.length, 16);
  assert.notDeepEqual(a, b); // 2^-128 to collide by chance
  const keep = Uint8Array.from(a);
  // 40 more bytes cross the 64-byte pool: a refill must not rewrite what callers hold.
  for (let i = 0; i < 10; i++) r(4);
  assert.deepEqual(a, keep);
  assert.equal(r(0).length, 0);
  assert.equal(r(64).length, 64);
  assert.equal(r(1000).length, 1000); // larger than the pool: filled directly
});

test('pooledRandom: consecutive draws are not overlapping views of the same bytes', () => {
  const r = pooledRandom(32);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(Buffer.from(r(8)).toString('hex'));
  assert.equal(seen.size, 200);
});

test('pooledRandom: bytes look uniform (every value within a wide band over 256 KiB)', () => {
  const r = pooledRandom();
  const counts = new Uint32Array(256);
  for (let i = 0; i < 4096; i++) for (const v of r(64)) counts[v]++;
  // Expected 1024 per value; a sigma is 32: 8 sigmas either side.
  for (const c of counts) assert.ok(c > 768 && c < 1280, `count ${c}`);
});

test('pooledRandom: rejects a non-positive pool size', () => {
  assert.throws(() => pooledRandom(0), RangeError);
  assert.throws(() => pooledRandom(1.5), RangeError);
});
