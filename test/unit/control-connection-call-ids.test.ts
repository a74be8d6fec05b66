import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CallIdAllocator } from '../../src/control/call-ids.js';

describe('CallIdAllocator', () => {
  it('hands out unique ids from 1 and tracks use', () => {
    const a = new CallIdAllocator();
    assert.equal(a.allocate(), 1);
    assert.equal(a.allocate(), 2);
    assert.equal(a.size, 2);
    assert.equal(a.inUse(1), true);
    assert.equal(a.inUse(3), false);
    assert.equal(a.release(1), true);
    assert.equal(a.release(1), false);
    assert.equal(a.inUse(1), false);
    assert.equal(a.size, 1);
  });

  it('does not reuse a released id immediately (rotates)', () => {
    const a = new CallIdAllocator();
    const x = a.allocate()!;
    a.release(x);
    const y = a.allocate()!;
    assert.notEqual(y, x);
    assert.equal(y, x + 1);
  });

  it('covers 1..65535, then reports exhaustion, then reuses in release order', () => {
    const a = new CallIdAllocator();
    const seen = new Uint8Array(65536);
    for (let i = 0; i < 65535; i++) {
      const id = a.allocate();
      assert.ok(id !== undefined && id >= 1 && id <= 65535);
      assert.equal(seen[id], 0, `duplicate ${id}`);
      seen[id] = 1;
    }
    assert.equal(a.size, 65535);
    assert.equal(a.allocate(), undefined);
    assert.equal(a.release(777), true);
    assert.equal(a.release(5), true);
    assert.equal(a.allocate(), 777);
    assert.equal(a.allocate(), 5);
    assert.equal(a.allocate(), undefined);
  });

  it('refuses to release ids it never handed out', () => {
    const a = new CallIdAllocator();
    a.allocate();
    for (const bad of [0, -1, 2, 65535, 65536, 1.5, Number.NaN]) assert.equal(a.release(bad), false, String(bad));
    assert.equal(a.size, 1);
  });

  it('starts at a chosen id and wraps to 1', () => {
    const a = new CallIdAllocator(65535);
    assert.equal(a.allocate(), 65535);
    assert.equal(a.allocate(), 1);
    assert.equal(new CallIdAllocator(0).allocate(), 1); // invalid start → 1
  });

  it('allocate and release are O(1): a million cycles with a full pool stay fast', () => {
    const a = new CallIdAllocator();
    for (let i = 0; i < 65000; i++) a.allocate();
    const t0 = performance.now();
    for (let i = 0; i < 1_000_000; i++) {
      const id = a.allocate()!;
      a.release(id);
    }
    assert.equal(a.size, 65000);
    assert.ok(performance.now() - t0 < 2000, 'took too long');
  });
});
