// pppd's ipcp-*, chap-* and pap-* timer options: from the options file to
// the PppPolicy fields the link reads (pppTimerPolicy), and what --check /
// dump show. Absent options add nothing, so the policy stays today's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePppOptions } from '../../src/config/ppp-options.js';
import { describePppRows, pppTimerPolicy } from '../../src/config/effective.js';
import { DEFAULT_PPP_POLICY, type PppPolicy } from '../../src/ppp/types.js';
import { openLcp, scriptedServer } from '../helpers/ppp-harness.js';

const parse = (t: string) => parsePppOptions(t, 'options.pptpd', {});
const PPTPD = { noipparam: false, debug: false, logwtmp: false };

test('every timer option reaches its policy field, seconds turned into ms', () => {
  const o = parse([
    'ipcp-restart 4 ipcp-max-configure 12 ipcp-max-terminate 5 ipcp-max-failure 7',
    'chap-restart 5 chap-max-challenge 9 pap-restart 6 pap-max-authreq 8 pap-timeout 30',
  ].join('\n'));
  assert.deepEqual(o.warnings, []);
  assert.deepEqual(pppTimerPolicy(o), {
    ipcpFsm: { restartMs: 4000, maxConfigure: 12, maxTerminate: 5, maxFailure: 7 },
    chapRestartMs: 5000,
    chapMaxChallenge: 9,
    papTimeoutMs: 30_000,
    papRestartMs: 6000,
    papMaxAuthreq: 8,
  });
});

test('only the options given appear (one ipcp-* value leaves the other three to the link)', () => {
  const t = pppTimerPolicy(parse('ipcp-max-configure 2\npap-timeout 0\n'));
  assert.deepEqual(t, { ipcpFsm: { maxConfigure: 2 }, papTimeoutMs: 0 });
  assert.ok(Object.isFrozen(t.ipcpFsm), 'shared by every link of the policy');
});

test('no timer options: nothing is added and the policy is exactly the default one', () => {
  const o = parse('name pptpd\nrequire-mschap-v2\nrequire-mppe-128\nms-dns 8.8.8.8\nlcp-restart 2\n');
  const t = pppTimerPolicy(o);
  assert.deepEqual(t, {});
  const p: PppPolicy = { ...DEFAULT_PPP_POLICY, ...t };
  assert.deepEqual(p, DEFAULT_PPP_POLICY);
  assert.ok(!describePppRows(PPTPD, o).some(([k]) => k === 'timers'), 'no timers row in --check');
});

test('--check and dump list the timer options given, pppd-style', () => {
  const rows = describePppRows(PPTPD, parse('ipcp-restart 1 ipcp-max-configure 2 chap-max-challenge 3 pap-timeout 0\n'));
  const timers = rows.find(([k]) => k === 'timers');
  assert.deepEqual(timers, ['timers', 'ipcp-restart 1, ipcp-max-configure 2, chap-max-challenge 3, pap-timeout 0']);
  // Right after the LCP echo row, before the interface settings.
  assert.equal(rows[rows.findIndex(([k]) => k === 'LCP echo') + 1][0], 'timers');
});

test('chap-interval is still understood but not implemented (a warning naming it)', () => {
  const o = parse('chap-interval 60\n');
  assert.equal(o.warnings.length, 1);
  assert.match(o.warnings[0], /chap-interval/);
  assert.deepEqual(pppTimerPolicy(o), {});
});

test('end to end: "ipcp-restart 1 ipcp-max-configure 2" from the options file drives the server link', () => {
  const t = pppTimerPolicy(parse('ipcp-restart 1\nipcp-max-configure 2\n'));
  const s = scriptedServer({ auth: [], mppe: null, ...t });
  openLcp(s);
  const ipcpReqs: number[] = [0]; // the first went out as LCP opened
  while (s.clock.now() < 10_000) {
    s.clock.advance(100);
    for (const f of s.take()) if (f.startsWith('ff03802101')) ipcpReqs.push(s.clock.now());
  }
  assert.deepEqual(ipcpReqs, [0, 1000]);
  assert.deepEqual(s.downs, ['IPCP negotiation failed']);
});
