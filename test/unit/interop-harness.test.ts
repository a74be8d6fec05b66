// Unprivileged checks of the interop harness's scenario generators (the UML
// runs themselves are in test/interop/harness-poptop.test.ts and need root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pptpClientScenario } from '../interop/harness/client.js';
import { poptopServerScenario } from '../interop/harness/poptop.js';
import { shq } from '../interop/harness/uml.js';

function shSyntaxOk(script: string): void {
  const r = spawnSync('/bin/sh', ['-n'], { input: script, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

function shEval(expr: string): string {
  const r = spawnSync('/bin/sh', ['-c', `printf %s ${expr}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('shq round-trips awkward strings through /bin/sh', () => {
  for (const s of ["it's", 'a "b" $c `d` \\e', '', ' spaced  out ', "''"]) assert.equal(shEval(shq(s)), s);
});

test('pptpClientScenario: valid sh, pppd line per session, chap-secrets quoting', () => {
  const script = pptpClientScenario({
    server: '10.77.5.11',
    sessions: [
      { user: 'alice', password: 'p"w\\x y', unit: 0 },
      { user: 'bob', password: 'b', unit: 3, localbind: '10.77.5.50', extraPppdArgs: ['mtu', '1400', 'mru', '1400'] },
    ],
    afterUp: "ping -c 3 -I ppp0 10.99.0.1\necho 'done'",
    holdSeconds: 2,
    waitForFile: 'go',
  });
  shSyntaxOk(script);
  assert.ok(script.includes('"alice" * "p\\"w\\\\x y" *'), 'password quoted for pppd');
  assert.match(script, /pppd 'pty' 'pptp 10\.77\.5\.11 --nolaunchpppd' 'unit' '0' /);
  assert.match(script, /pppd 'pty' 'pptp 10\.77\.5\.11 --nolaunchpppd --localbind 10\.77\.5\.50' 'unit' '3' .*'mtu' '1400' 'mru' '1400'/);
  assert.match(script, /'require-mppe-128'/);
  assert.ok(script.includes("echo 'done'"), 'afterUp embedded verbatim');
  assert.match(script, /UNITS="\$UNITS 3"/);
});

test('pptpClientScenario: pppdArgs replace the default policy', () => {
  const script = pptpClientScenario({
    server: 'srv',
    sessions: [{ user: 'u', password: 'p', unit: 1, pppdArgs: ['noauth', 'refuse-mschap-v2'] }],
  });
  shSyntaxOk(script);
  assert.match(script, /'refuse-mschap-v2'/);
  assert.doesNotMatch(script, /require-mppe-128/);
});

test('pptpClientScenario rejects input that would break the generated shell', () => {
  const s = { user: 'u', password: 'p', unit: 0 };
  assert.throws(() => pptpClientScenario({ server: '1.2.3.4; reboot', sessions: [s] }), /bad server/);
  assert.throws(() => pptpClientScenario({ server: 'x', sessions: [{ ...s, localbind: '$(id)' }] }), /bad localbind/);
  assert.throws(() => pptpClientScenario({ server: 'x', sessions: [s, s] }), /unit 0 used twice/);
  assert.throws(() => pptpClientScenario({ server: 'x', sessions: [{ ...s, password: 'a\nb' }] }), /newlines/);
  assert.throws(() => pptpClientScenario({ server: 'x', sessions: [] }), /no sessions/);
  assert.throws(() => pptpClientScenario({ server: 'x', sessions: [s], waitForFile: '../x' }), /bad waitForFile/);
  // afterUp text that contains the heredoc delimiter still ends up intact.
  const script = pptpClientScenario({ server: 'x', sessions: [s], afterUp: 'echo PPTPD_HARNESS_EOF' });
  shSyntaxOk(script);
  assert.match(script, /^echo PPTPD_HARNESS_EOF$/m);
  assert.match(script, /<<'PPTPD_HARNESS_EOF_X'/);
});

test('poptopServerScenario: valid sh with the configured pool, users and options', () => {
  const script = poptopServerScenario({
    localip: '10.99.0.1',
    remoteip: '10.99.0.100-109',
    users: [{ user: 'alice', password: 'x y' }, { user: 'bob', password: 'b', address: '10.99.0.105' }],
    pppOptions: ['require-mschap-v2', 'ms-dns 8.8.8.8'],
    debug: true,
  });
  shSyntaxOk(script);
  assert.match(script, /^localip 10\.99\.0\.1$/m);
  assert.match(script, /^remoteip 10\.99\.0\.100-109$/m);
  assert.match(script, /^"alice" \* "x y" \*$/m);
  assert.match(script, /^"bob" \* "b" 10\.99\.0\.105$/m);
  assert.match(script, /^ms-dns 8\.8\.8\.8$/m);
  assert.match(script, /pptpd --fg -c \/etc\/ppp\/pptpd\.conf -d /);
  assert.throws(() => poptopServerScenario({ localip: '1\nx', remoteip: 'r', users: [] }), /newline/);
});
