import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRanges, MAX_RANGE_ADDRESSES } from '../../src/config/ranges.js';
import { formatIPv4, parseIPv4 } from '../../src/config/ipv4.js';
import { assertConfigError } from '../helpers/config-errors.js';

const r = (s: string) => parseRanges(s, 'f.conf', 7).map(formatIPv4);

test('single address and a dash in the last octet, in list order', () => {
  assert.deepEqual(r('192.168.1.2'), ['192.168.1.2']);
  assert.deepEqual(r('192.168.1.234-238,192.168.1.245'),
    ['192.168.1.234', '192.168.1.235', '192.168.1.236', '192.168.1.237', '192.168.1.238', '192.168.1.245']);
  assert.deepEqual(r('192.168.0.234,192.168.0.245-249,192.168.0.254'),
    ['192.168.0.234', '192.168.0.245', '192.168.0.246', '192.168.0.247', '192.168.0.248', '192.168.0.249', '192.168.0.254']);
  assert.deepEqual(r('10.0.0.5-5'), ['10.0.0.5']);
});

test('a dash in an earlier octet expands that octet only (poptop man page: 192.168.0-255.2)', () => {
  const third = r('192.168.0-255.2');
  assert.equal(third.length, 256);
  assert.equal(third[0], '192.168.0.2');
  assert.equal(third[1], '192.168.1.2');
  assert.equal(third[255], '192.168.255.2');
  assert.deepEqual(r('10.1-3.7.9'), ['10.1.7.9', '10.2.7.9', '10.3.7.9']);
  assert.deepEqual(r('1-2.0.0.1'), ['1.0.0.1', '2.0.0.1']);
});

test('boundaries: 0 and 255 octets', () => {
  assert.deepEqual(r('0.0.0.0'), ['0.0.0.0']);
  assert.deepEqual(r('255.255.255.254-255'), ['255.255.255.254', '255.255.255.255']);
  assert.equal(parseIPv4('255.255.255.255'), 0xffffffff);
});

test('errors name file, line and the problem', () => {
  assertConfigError(() => r('10.1.1.300-2'), 'f.conf', 7, /octet 300 is greater than 255/);
  assertConfigError(() => r('10.1.1.2-300'), 'f.conf', 7, /octet 300 is greater than 255/);
  assertConfigError(() => r('10.0.0.9-3'), 'f.conf', 7, /reversed range 9-3/);
  assertConfigError(() => r('10.0.0.1,,10.0.0.2'), 'f.conf', 7, /empty item/);
  assertConfigError(() => r('10.0.0.1,'), 'f.conf', 7, /empty item/);
  assertConfigError(() => r(''), 'f.conf', 7, /empty/);
  assertConfigError(() => r('10.0-1.0-255.1'), 'f.conf', 7, /only one dash/);
  assertConfigError(() => r('10.0.0'), 'f.conf', 7, /not an IPv4 address/);
  assertConfigError(() => r('vpn.example.com'), 'f.conf', 7, /host names are not resolved/);
  assertConfigError(() => r('10.0.0.1 ,10.0.0.2'), 'f.conf', 7, /no spaces/);
  assertConfigError(() => r('10.0.0.x-3'), 'f.conf', 7, /octet "x"/);
  assertConfigError(() => r('10.0.0.010'), 'f.conf', 7, /leading zero/);
  assertConfigError(() => r('10.0.0.-5'), 'f.conf', 7, /empty octet/);
});

test('expansion is bounded before any address is produced', () => {
  assertConfigError(() => r('10.0-255.0-255.1'), 'f.conf', 7, /only one dash/);
  // 256 items of 256 = 65536 each → over the bound at the 5th item.
  const big = Array.from({ length: 5 }, (_, i) => `10.${i}.0-255.1`).join(',');
  assert.equal(r(big.split(',').slice(0, 1).join(',')).length, 256);
  const huge = Array.from({ length: 1100 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0-255`).join(',');
  assertConfigError(() => r(huge), 'f.conf', 7, new RegExp(`more than ${MAX_RANGE_ADDRESSES}`));
});
