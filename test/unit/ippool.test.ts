import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressPool, type Lease } from '../../src/ippool/pool.js';
import { addressAllowed, compileRules, ruleAllows } from '../../src/ippool/rules.js';
import { parsePptpdConf } from '../../src/config/pptpd-conf.js';
import { parseIPv4 } from '../../src/config/ipv4.js';
import { seededRandom } from '../../src/util/random.js';

const arch = parsePptpdConf('localip 192.168.1.2\nremoteip 192.168.1.234-238,192.168.1.245\n', 'c');
const archPool = () => new AddressPool(arch.poolLocal, arch.poolRemote);
const range = (a: string, n: number) => Array.from({ length: n }, (_, i) => parseIPv4(a)! + i);

test('Arch-wiki pool: 6 pairs sharing the local address, then exhausted', () => {
  const p = archPool();
  assert.equal(p.size, 6);
  const got: Lease[] = [];
  for (let i = 0; i < 6; i++) got.push(p.allocate()!);
  assert.deepEqual(got.map((l) => l.remote), ['192.168.1.234', '192.168.1.235', '192.168.1.236', '192.168.1.237', '192.168.1.238', '192.168.1.245']);
  assert.ok(got.every((l) => l.local === '192.168.1.2'));
  assert.equal(p.allocate(), undefined);
  assert.equal(p.inUse, 6);
  assert.equal(p.free, 0);
});

test('paired pool hands out matching local ends', () => {
  const p = new AddressPool(range('10.0.0.1', 3), range('10.1.0.1', 3));
  assert.deepEqual([p.allocate()!, p.allocate()!].map((l) => [l.local, l.remote]), [['10.0.0.1', '10.1.0.1'], ['10.0.0.2', '10.1.0.2']]);
});

test('release: true once, double release is a no-op returning false; next-fit does not reuse at once', () => {
  const p = new AddressPool(range('10.0.0.1', 4), range('10.1.0.1', 4));
  const a = p.allocate()!;
  p.allocate();
  assert.equal(p.release(a), true);
  assert.equal(p.release(a), false);
  assert.equal(p.release('10.1.0.1'), false);
  assert.equal(p.release('10.9.9.9'), false);
  assert.equal(p.release('garbage'), false);
  assert.equal(p.inUse, 1);
  assert.equal(p.allocate()!.remote, '10.1.0.3', 'rotating cursor: the released address waits its turn');
  assert.equal(p.allocate()!.remote, '10.1.0.4');
  assert.equal(p.allocate()!.remote, '10.1.0.1', 'wraps around to the freed one');
  assert.equal(p.allocate(), undefined);
});

test('allocate-all / release-all cycles leak nothing (pool sizes around word boundaries)', () => {
  for (const n of [1, 31, 32, 33, 64, 100, 1000]) {
    const p = new AddressPool(range('10.0.0.1', n), range('10.64.0.0', n));
    for (let cycle = 0; cycle < 20; cycle++) {
      const leases: Lease[] = [];
      for (let l = p.allocate(); l; l = p.allocate()) leases.push(l);
      assert.equal(leases.length, n, `size ${n} cycle ${cycle}`);
      assert.equal(new Set(leases.map((l) => l.remoteInt)).size, n);
      assert.equal(p.inUse, n);
      for (const l of leases) assert.equal(p.release(l), true);
      assert.equal(p.inUse, 0);
      assert.equal(p.free, n);
    }
  }
});

test('random allocate/take/release sequence agrees with a model', () => {
  const rnd = seededRandom(42);
  const n = 77;
  const p = new AddressPool(range('10.0.0.1', n), range('10.2.0.0', n));
  const held = new Set<number>();
  const base = parseIPv4('10.2.0.0')!;
  for (let step = 0; step < 20000; step++) {
    const [op, x] = rnd(2);
    const addr = base + (x % (n + 5)); // a few outside the pool
    if (op % 3 === 0) {
      const l = p.allocate();
      if (held.size - [...held].filter((a) => a >= base + n).length >= n) assert.equal(l, undefined);
      else { assert.ok(l); assert.ok(!held.has(l.remoteInt)); held.add(l.remoteInt); }
    } else if (op % 3 === 1) {
      const l = p.take(addr);
      assert.equal(l !== undefined, !held.has(addr));
      if (l) held.add(addr);
    } else {
      assert.equal(p.release(addr), held.delete(addr));
    }
    assert.equal(p.inUse, held.size);
    assert.equal(p.isFree(addr), !held.has(addr));
  }
});

test('chap-secrets rules: subnets restrict, !addr excludes, - refuses', () => {
  const p = new AddressPool(range('10.0.0.1', 1).concat(Array(7).fill(parseIPv4('10.0.0.1'))).slice(0, 8), range('10.1.0.0', 8));
  const only = [{ kind: 'subnet', address: '10.1.0.4', prefix: 30, negate: false }] as const;
  const a = p.allocate([...only])!;
  const b = p.allocate([...only])!;
  assert.deepEqual([a.remote, b.remote], ['10.1.0.4', '10.1.0.5']);
  const notSix = [{ kind: 'address', address: '10.1.0.6', negate: true }, { kind: 'subnet', address: '10.1.0.4', prefix: 30, negate: false }] as const;
  assert.equal(p.allocate([...notSix])!.remote, '10.1.0.7');
  assert.equal(p.allocate([...notSix]), undefined, 'only 10.1.0.6 left in the subnet and it is excluded');
  assert.equal(p.allocate([{ kind: 'none' }]), undefined);
  assert.equal(p.allocate([{ kind: 'any' }])!.remote, '10.1.0.0');
  assert.equal(p.allocate([])!.remote, '10.1.0.1', 'no rules = unrestricted');
  assert.equal(p.take('10.1.0.6', [{ kind: 'address', address: '10.1.0.6', negate: true }, { kind: 'any' }]), undefined);
  assert.equal(p.take('10.1.0.6', [{ kind: 'any' }])!.remote, '10.1.0.6');
});

test('rule matching is pppd first-match with default deny', () => {
  const c = compileRules([{ kind: 'any' }, { kind: 'address', address: '10.0.0.5', negate: true }]);
  assert.equal(ruleAllows(c, parseIPv4('10.0.0.5')!), true, '* first: everything');
  assert.equal(addressAllowed([{ kind: 'subnet', address: '10.0.0.0', prefix: 8, negate: false }], '11.0.0.1'), false);
  assert.equal(addressAllowed([{ kind: 'subnet', address: '10.9.9.9', prefix: 8, negate: false }], '10.200.0.1'), true, 'host bits ignored');
  assert.equal(addressAllowed([{ kind: 'subnet', address: '0.0.0.0', prefix: 0, negate: false }], '1.2.3.4'), true);
  assert.equal(addressAllowed(undefined, '1.2.3.4'), true);
  assert.equal(addressAllowed([{ kind: 'any' }], 'bogus'), false);
});

test('pinned addresses: in the pool they take the slot, outside they are tracked and never given twice', () => {
  const p = archPool();
  const pin = p.allocateFor({ pinnedAddress: '192.168.1.236', addresses: [] })!;
  assert.equal(pin.index, 2);
  assert.equal(p.take('192.168.1.236'), undefined);
  const seen = new Set<string>();
  for (let l = p.allocate(); l; l = p.allocate()) seen.add(l.remote);
  assert.equal(seen.size, 5);
  assert.ok(!seen.has('192.168.1.236'));
  const out = p.allocateFor({ pinnedAddress: '10.99.0.1' })!;
  assert.deepEqual([out.index, out.local, out.remote], [-1, '192.168.1.2', '10.99.0.1']);
  assert.equal(p.isFree('10.99.0.1'), false);
  assert.equal(p.contains('10.99.0.1'), false);
  assert.equal(p.take('10.99.0.1'), undefined, 'not handed out twice');
  assert.equal(p.inUse, 7);
  assert.equal(p.release(out), true);
  assert.equal(p.release(out), false);
  assert.equal(p.isFree('10.99.0.1'), true);
  assert.equal(p.take('not an address'), undefined);
});

test('a 65,536-address pool allocates all in near-linear time', () => {
  const n = 65536;
  const p = new AddressPool(new Uint32Array(n).fill(parseIPv4('10.0.0.1')!), range('10.128.0.0', n));
  const t0 = performance.now();
  let count = 0;
  while (p.allocate()) count++;
  for (let i = 0; i < n; i += 2) p.release(parseIPv4('10.128.0.0')! + i);
  while (p.allocate()) count++;
  assert.equal(count, n + n / 2);
  assert.ok(performance.now() - t0 < 2000, 'allocation must not be quadratic');
});

test('constructor rejects inconsistent input', () => {
  assert.throws(() => new AddressPool([1], [1, 2]), RangeError);
  assert.throws(() => new AddressPool([1, 1], [5, 5]), RangeError);
  const empty = new AddressPool([], []);
  assert.equal(empty.allocate(), undefined);
  assert.equal(empty.size, 0);
});
