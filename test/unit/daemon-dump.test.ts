// pppd options that used to be accepted without effect: nopcomp / noaccomp
// reach the PPP policy, `dump` logs the options in effect once (no secrets),
// and the parser's option names are exported for the man page test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describeEffective, describeHeaderCompression, describePppRows } from '../../src/config/effective.js';
import { PPP_OPTION_NAMES, parsePppOptions } from '../../src/config/ppp-options.js';
import { dumpOptions, pppPolicy } from '../../src/daemon.js';
import { createLogger } from '../../src/util/log.js';
import { configErrors } from '../helpers/config-errors.js';
import { loadWithOptions } from '../helpers/config-memory.js';

const SECRET = 'Sup3r-s3cret-pw';

function load(options: string) {
  return loadWithOptions(options, `alice * ${SECRET} *\n`);
}

function jsonLog(): { log: ReturnType<typeof createLogger>; lines: () => Array<Record<string, unknown>>; raw: () => string } {
  let text = '';
  const destination = new Writable({ write(c: Buffer, _e, cb) { text += c.toString(); cb(); } });
  return {
    log: createLogger({ format: 'json', destination, level: 'info' }),
    lines: () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
    raw: () => text,
  };
}

test('nopcomp / -pc and noaccomp / -ac reach the PPP policy; absent they stay false (accept, the default)', () => {
  const base = 'require-mschap-v2\nrequire-mppe-128\n';
  assert.deepEqual([pppPolicy(load(base)).nopcomp, pppPolicy(load(base)).noaccomp], [false, false]);
  const both = pppPolicy(load(`${base}nopcomp\nnoaccomp\n`));
  assert.deepEqual([both.nopcomp, both.noaccomp], [true, true]);
  const short = pppPolicy(load(`${base}-pc\n`));
  assert.deepEqual([short.nopcomp, short.noaccomp], [true, false]);
  const shortAc = pppPolicy(load(`${base}-ac\n`));
  assert.deepEqual([shortAc.nopcomp, shortAc.noaccomp], [false, true]);
});

test('nopcomp, noaccomp and dump parse without a warning and are not listed as without effect', () => {
  const o = parsePppOptions('require-mschap-v2\nnopcomp\nnoaccomp\ndump\n', 'o');
  assert.deepEqual(o.warnings, []);
  assert.deepEqual(o.ignored, []);
  assert.deepEqual([o.nopcomp, o.noaccomp, o.dump], [true, true, true]);
});

test('--check shows how PFC/ACFC are answered', () => {
  assert.match(describeEffective(load('require-mschap-v2\n')), /^PFC\/ACFC: +PFC accepted, ACFC accepted when the client asks$/m);
  assert.match(describeEffective(load('require-mschap-v2\nnopcomp\nnoaccomp\n')),
    /^PFC\/ACFC: +PFC rejected \(nopcomp\), ACFC rejected \(noaccomp\) when the client asks$/m);
  assert.equal(describeHeaderCompression({ nopcomp: true, noaccomp: false }), 'PFC rejected (nopcomp), ACFC accepted when the client asks');
});

test('--check output keeps its row order: PPP rows, then pidfile/users, then no-effect last', () => {
  const text = describeEffective(load('require-mschap-v2\nlock\n'));
  const keys = text.split('\n').filter((l) => /^\S[^:]*:/.test(l)).map((l) => l.slice(0, l.indexOf(':')));
  const at = (k: string) => keys.indexOf(k);
  assert.ok(at('name') > at('address pool'));
  assert.ok(at('logging') > at('PFC/ACFC'));
  assert.ok(at('users') > at('logging'));
  assert.ok(at('no effect') > at('users'), keys.join(','));
});

test('dump: one info line with the options in effect (the --check PPP rows), no secret', () => {
  const cfg = load('name srv\nrequire-mschap-v2\nrequire-mppe-128\nms-dns 10.0.0.53\nnopcomp\nlcp-echo-interval 30\nlcp-echo-failure 4\ndump\n');
  const out = jsonLog();
  dumpOptions(cfg, out.log);
  const lines = out.lines();
  assert.equal(lines.length, 1);
  const [l] = lines;
  assert.equal(l.level, 30, 'info');
  assert.equal(l.msg, 'pppd options in effect (dump)');
  assert.equal(l.component, 'config');
  assert.deepEqual(l.files, ['/t/options']);
  const opts = l.options as Record<string, string>;
  assert.deepEqual(opts, Object.fromEntries(describePppRows(cfg.pptpd, cfg.ppp)));
  assert.equal(opts.name, 'srv');
  assert.equal(opts.auth, 'MS-CHAPv2 only');
  assert.equal(opts.MPPE, 'MPPE-128 required, stateless only');
  assert.equal(opts.DNS, '10.0.0.53');
  assert.equal(opts['LCP echo'], 'every 30 s, 4 failures');
  assert.equal(opts['PFC/ACFC'], 'PFC rejected (nopcomp), ACFC accepted when the client asks');
  assert.ok(!out.raw().includes(SECRET), 'the chap-secrets password is not logged');
});

test('dump absent: nothing is logged', () => {
  const out = jsonLog();
  dumpOptions(load('require-mschap-v2\n'), out.log);
  assert.deepEqual(out.lines(), []);
});

test('PPP_OPTION_NAMES: exactly the words the parser takes as options', () => {
  assert.ok(PPP_OPTION_NAMES.length > 150);
  for (const n of ['nopcomp', '-pc', 'noaccomp', '-ac', 'dump', 'ms-dns', '+pap', 'require-eap', 'file', 'call']) {
    assert.ok(PPP_OPTION_NAMES.includes(n), n);
  }
  assert.equal(new Set(PPP_OPTION_NAMES).size, PPP_OPTION_NAMES.length, 'no duplicates');
  assert.ok(Object.isFrozen(PPP_OPTION_NAMES));
  // A name the list lacks is an unknown option; every listed one is known (whatever else it says).
  assert.match(configErrors(() => parsePppOptions('require-mschap-v2\nnopcompx\n', 'o'))[0].problem, /unknown option "nopcompx"/);
  for (const n of PPP_OPTION_NAMES) {
    let problems: string[] = [];
    try { parsePppOptions(`${n}\n`, 'o'); } catch (e) { problems = configErrors(() => { throw e; }).map((x) => x.problem); }
    assert.ok(!problems.some((p) => p.startsWith('unknown option')), `${n}: ${problems.join('; ')}`);
  }
});
