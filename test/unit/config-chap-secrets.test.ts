import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseSecrets } from '../../src/config/chap-secrets.js';
import { ChapSecretsBackend } from '../../src/auth/chap-secrets-backend.js';
import { assertConfigError, configErrors } from '../helpers/config-errors.js';

const F = 'chap-secrets';
const parse = (t: string) => parseSecrets(t, F);
const fixture = (p: string) => readFileSync(new URL(`../fixtures/config/${p}`, import.meta.url), 'latin1');

test('Arch-wiki chap-secrets (verbatim): user2 / pptpd / 123 / any address', async () => {
  const s = parse(fixture('archwiki/etc/ppp/chap-secrets'));
  assert.equal(s.entries.length, 1);
  const e = s.entries[0];
  assert.deepEqual([e.client, e.server, e.secret, e.line, e.source], ['user2', 'pptpd', '123', 2, 'chap-secrets:2']);
  assert.deepEqual(e.addresses, [{ kind: 'any' }]);
  assert.equal(e.pinnedAddress, undefined);
  assert.deepEqual(s.warnings, []);
  const b = new ChapSecretsBackend(s.entries);
  assert.equal((await b.lookup('user2', 'pptpd'))?.secret, '123');
  assert.equal(await b.lookup('user2', 'other'), undefined);
  assert.equal(await b.lookup('User2', 'pptpd'), undefined, 'names are case-sensitive');
});

test('quotes, escapes and comments in every column', () => {
  const s = parse('# comment\n"John Smith" pptpd "pa ss#word" * # trailing\nbob\\ b * \'it\'\\\'\'s\' 10.0.0.1\n\n  carol   *   "\\x41\\102"  *\n');
  assert.deepEqual(s.entries.map((e) => [e.client, e.server, e.secret, e.line]), [
    ['John Smith', 'pptpd', 'pa ss#word', 2],
    ['bob b', '*', "it's", 3],
    ['carol', '*', 'AB', 5],
  ]);
});

test('address column: *, -, addresses, subnets, exclusions; a single address pins', () => {
  const s = parse([
    'a * s1 *',
    'b * s2 -',
    'c * s3 10.0.0.7',
    'd * s4 10.0.0.0/24 !10.0.0.9',
    'e * s5 !10.0.0.5 *',
    'f * s6 10.0.0.1 10.0.0.2',
    'g * s7',
    'h * s8 10.0.0.1 - 10.0.0.2',
    'i * s9 10.0.0.4/32 -- idle 30',
    '',
  ].join('\n'));
  const by = Object.fromEntries(s.entries.map((e) => [e.client, e]));
  assert.deepEqual(by.a.addresses, [{ kind: 'any' }]);
  assert.deepEqual(by.b.addresses, [{ kind: 'none' }]);
  assert.deepEqual(by.c.addresses, [{ kind: 'address', address: '10.0.0.7', negate: false }]);
  assert.equal(by.c.pinnedAddress, '10.0.0.7');
  assert.deepEqual(by.d.addresses, [
    { kind: 'subnet', address: '10.0.0.0', prefix: 24, negate: false },
    { kind: 'address', address: '10.0.0.9', negate: true },
  ]);
  assert.equal(by.d.pinnedAddress, undefined);
  assert.deepEqual(by.e.addresses, [{ kind: 'address', address: '10.0.0.5', negate: true }, { kind: 'any' }]);
  assert.equal(by.f.pinnedAddress, undefined, 'two addresses: no pin');
  assert.deepEqual(by.g.addresses, [{ kind: 'none' }], 'three words: pppd allows no address');
  assert.deepEqual(by.h.addresses, [{ kind: 'address', address: '10.0.0.1', negate: false }]);
  assert.deepEqual(by.i.addresses, [{ kind: 'subnet', address: '10.0.0.4', prefix: 32, negate: false }]);
  assert.ok(s.warnings.includes('chap-secrets:7: no address column: pppd lets "g" use no address at all (add * to allow any)'));
  assert.ok(s.warnings.some((w) => w.startsWith('chap-secrets:8: words after "-"')));
  assert.ok(s.warnings.some((w) => w.startsWith('chap-secrets:9: per-entry pppd options after "--"')));
});

test('@/path secrets are left for load.ts to resolve', () => {
  const e = parse('alice pptpd @/etc/ppp/alice.secret *\nbob pptpd @notafile *\n').entries;
  assert.equal(e[0].secretFile, '/etc/ppp/alice.secret');
  assert.equal(e[0].secret, '');
  assert.equal(e[1].secret, '@notafile');
  assert.equal(e[1].secretFile, undefined);
});

test('errors name file and line and never contain the secret', () => {
  assertConfigError(() => parse('a b\n'), F, 1, /needs client, server and secret \(found 2 words\)/);
  assertConfigError(() => parse('\nalice pptpd "s3cret *\n'), F, 2, /unterminated double quote/);
  assertConfigError(() => parse('a * hunter2 10.0.0.300\n'), F, 1, /"10\.0\.0\.300" is not an IPv4 address/);
  assertConfigError(() => parse('a * hunter2 10.0.0.0/33\n'), F, 1, /a\.b\.c\.d\/n/);
  assertConfigError(() => parse('a * hunter2 10.0.0.0/24+\n'), F, 1, /"\/n\+" form/);
  assertConfigError(() => parse('a * hunter2 host.example\n'), F, 1, /host names are not resolved/);
  const errs = configErrors(() => parse('x y\na * hunter2 bad\nb * hunter2 10.0.0.1\n'));
  assert.deepEqual(errs.map((e) => e.line), [1, 2]);
  for (const e of errs) assert.ok(!e.message.includes('hunter2'));
});

test('backend: the most specific entry wins (exact client > exact server > wildcards), then the first', async () => {
  const s = parse([
    '*      *      any-any    *',
    '*      pptpd  any-pptpd  *',
    'alice  *      alice-any  *',
    'alice  pptpd  alice-pptpd 10.0.0.9',
    'alice  pptpd  alice-second *',
    'bob    *      bob-any    *',
    '',
  ].join('\n'));
  const b = new ChapSecretsBackend(s.entries);
  const sec = async (c: string, sv: string) => (await b.lookup(c, sv))?.secret;
  assert.equal(await sec('alice', 'pptpd'), 'alice-pptpd');
  assert.equal((await b.lookup('alice', 'pptpd'))?.pinnedAddress, '10.0.0.9');
  assert.equal((await b.lookup('alice', 'pptpd'))?.source, 'chap-secrets:4');
  assert.equal(await sec('alice', 'other'), 'alice-any');
  assert.equal(await sec('bob', 'pptpd'), 'bob-any', 'exact client beats exact server');
  assert.equal(await sec('carol', 'pptpd'), 'any-pptpd');
  assert.equal(await sec('carol', 'other'), 'any-any');
  assert.equal(b.size, 6);
});

test('backend: pap-secrets only when chap-secrets has no match; unresolved @file entries are unusable', async () => {
  const chap = parse('alice pptpd chap-pw *\ndave pptpd @/nope *\n').entries;
  const pap = parseSecrets('alice pptpd pap-pw *\nerin * erin-pw *\n', 'pap-secrets').entries;
  const b = new ChapSecretsBackend(chap, pap);
  assert.equal(b.find('alice', 'pptpd')?.secret, 'chap-pw');
  assert.equal(b.find('erin', 'pptpd')?.secret, 'erin-pw');
  assert.equal(b.find('dave', 'pptpd'), undefined);
});
