// stimeout and speed take the same range on the command line (-t, -s) and
// in pptpd.conf, with poptop's meaning of stimeout 0 (the default).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPptpdCommand, parseCli } from '../../src/cli/options.js';
import { DEFAULT_STIMEOUT, MAX_SPEED, MAX_STIMEOUT, parsePptpdConf } from '../../src/config/pptpd-conf.js';
import { assertConfigError, configErrors } from '../helpers/config-errors.js';

const F = 'pptpd.conf';
const POOL = 'localip 10.0.0.1\nremoteip 10.0.0.2-3\n';
const conf = (extra: string, o = {}) => parsePptpdConf(`${POOL}${extra}`, F, o);
/** parseCli with commander's error output silenced (it still throws). */
const cli = (...a: string[]) => parseCli(['node', 'pptpd', ...a], buildPptpdCommand().configureOutput({ writeErr: () => {} }));

function cliAccepts(flag: string, v: string): boolean {
  try { cli(flag, v); return true; } catch { return false; }
}
function fileAccepts(key: string, v: string): boolean {
  try { conf(`${key} ${v}\n`); return true; } catch (e) { configErrors(() => { throw e; }); return false; }
}

test('the ranges are the documented ones', () => {
  assert.equal(MAX_STIMEOUT, 3600);
  assert.equal(MAX_SPEED, 1_000_000_000);
});

test('stimeout edges: 0 … 3600 on both paths, the rest refused on both', () => {
  for (const v of ['-1', '0', '1', '3600', '3601', '99999', '1e3', 'ten']) {
    assert.equal(cliAccepts('-t', v), fileAccepts('stimeout', v), `stimeout ${v}: command line and file disagree`);
  }
  assert.equal(cli('-t', '0').stimeout, 0);
  assert.equal(cli('--stimeout', '3600').stimeout, 3600);
  assert.throws(() => cli('-t', '3601'), /stimeout must be a whole number from 0 to 3600/);
  assertConfigError(() => conf('stimeout 3601\n'), F, 3, /stimeout "3601" must be a whole number from 0 to 3600/);
  assert.equal(conf('stimeout 1\n').stimeout, 1);
  assert.equal(conf('stimeout 3600\n').stimeout, 3600);
});

test('stimeout 0 in the file means the default, with a warning (poptop: a value <= 0 becomes 10)', () => {
  const c = conf('stimeout 0\n');
  assert.equal(c.stimeout, DEFAULT_STIMEOUT);
  assert.ok(c.warnings.includes(`${F}:3: stimeout 0 means the default, 10 s (as in poptop)`), c.warnings.join('\n'));
});

test('-t 0 counts as not given: the file\'s value, else the default (poptop); a non-zero -t wins over the file', () => {
  assert.equal(conf('stimeout 30\n', { stimeout: 0 }).stimeout, 30);
  assert.equal(conf('', { stimeout: 0 }).stimeout, DEFAULT_STIMEOUT);
  const both0 = conf('stimeout 0\n', { stimeout: 0 });
  assert.equal(both0.stimeout, DEFAULT_STIMEOUT);
  assert.equal(both0.warnings.filter((w) => w.includes('stimeout 0')).length, 1);
  const c = conf('stimeout 30\n', { stimeout: 5 });
  assert.equal(c.stimeout, 5);
  assert.ok(!c.warnings.some((w) => w.includes('stimeout')));
  // The file's value is not read when -t is given, as in poptop: a bad one does not stop the start.
  assert.equal(conf('stimeout x\n', { stimeout: 5 }).stimeout, 5);
});

test('speed edges: 1 … 1000000000 on both paths, the rest refused on both', () => {
  for (const v of ['0', '1', '115200', '100000000', '100000001', '1000000000', '1000000001', '-5', 'fast']) {
    assert.equal(cliAccepts('-s', v), fileAccepts('speed', v), `speed ${v}: command line and file disagree`);
  }
  assert.equal(cli('-s', '1').speed, 1);
  assert.equal(cli('--speed', '1000000000').speed, 1_000_000_000);
  assert.throws(() => cli('-s', '1000000001'), /speed must be a whole number from 1 to 1000000000/);
  assert.throws(() => cli('-s', '0'), /speed must be a whole number from 1 to 1000000000/);
  assert.equal(conf('speed 1\n').speed, 1);
  assert.equal(conf('speed 1000000000\n').speed, 1_000_000_000);
  assertConfigError(() => conf('speed 1000000001\n'), F, 3, /speed "1000000001" must be a whole number from 1 to 1000000000/);
  assertConfigError(() => conf('speed 0\n'), F, 3, /speed "0" must be a whole number from 1 to 1000000000/);
  // The command line wins over the file.
  assert.equal(conf('speed 9600\n', { speed: 1_000_000_000 }).speed, 1_000_000_000);
});
