// Random and mutated inputs: the config parsers throw only our typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parsePptpdConf } from '../../src/config/pptpd-conf.js';
import { parsePppOptions } from '../../src/config/ppp-options.js';
import { parseSecrets } from '../../src/config/chap-secrets.js';
import { parseRanges } from '../../src/config/ranges.js';
import { ConfigError, ConfigErrors } from '../../src/util/errors.js';
import { seededRandom } from '../../src/util/random.js';

const fx = (p: string) => readFileSync(new URL(`../fixtures/config/${p}`, import.meta.url), 'latin1');
const seeds = [fx('archwiki/etc/pptpd.conf'), fx('archwiki/etc/ppp/options.pptpd'), fx('archwiki/etc/ppp/chap-secrets'),
  fx('debian/etc/pptpd.conf'), fx('debian/etc/ppp/pptpd-options'), '10.0.0.1-5,10.0-3.1.1'];
const ALPHABET = ' \t\n#"\'\\-.,:/!*@0123456789abcxyz';

function mutate(rnd: (n: number) => Uint8Array, s: string): string {
  const b = rnd(8);
  const chars = [...s];
  for (let k = 0; k < 1 + (b[0] % 6); k++) {
    const at = (b[1] * 256 + b[2] + k * 977) % (chars.length + 1);
    const c = ALPHABET[(b[3] + k * 13) % ALPHABET.length];
    switch ((b[4] + k) % 3) {
      case 0: chars.splice(at, 0, c); break;
      case 1: chars.splice(at, 1); break;
      default: chars[at] = c;
    }
  }
  return chars.join('');
}

test('mutated and random inputs give typed errors only', () => {
  const rnd = seededRandom(7);
  const runs = Number(process.env.PPTPD_FUZZ === 'long' ? 200_000 : 3000);
  let ok = 0, typed = 0;
  for (let i = 0; i < runs; i++) {
    const seed = seeds[i % seeds.length];
    const input = i % 5 === 4 ? Buffer.from(rnd(64)).toString('latin1') : mutate(rnd, seed);
    for (const f of [
      () => parsePptpdConf(input, 'f'),
      () => parsePppOptions(input, 'f', { include: () => ({ text: input, file: 'inc' }) }),
      () => parseSecrets(input, 'f'),
      () => parseRanges(input.split('\n')[0], 'f', 1),
    ]) {
      try { f(); ok++; } catch (e) {
        assert.ok(e instanceof ConfigErrors || e instanceof ConfigError, `untyped ${String(e)} for ${JSON.stringify(input)}`);
        typed++;
      }
    }
  }
  assert.ok(ok > 0 && typed > 0);
});
