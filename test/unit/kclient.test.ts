// bench/kclient pieces that run on the host: the client policy, the guest
// scenario generator and the parser of kclient's "links up" file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientPolicy } from '../../bench/kclient/client.js';
import { kclientScenario, parseKClientUp } from '../../bench/kclient/scenario.js';

test('clientPolicy: MS-CHAPv2 only, MPPE-128 stateless required by default, MTU/MRU from --mtu (pppd default 1500)', () => {
  const d = clientPolicy({});
  assert.deepEqual(d.auth, ['mschapv2']);
  assert.deepEqual(d.mppe, { required: true, allow40: false, allow56: false, allow128: true, stateful: false });
  assert.equal(d.mtu, 1500);
  assert.equal(d.mru, 1500);
  const m = clientPolicy({ mtu: 1400, stateful: true, mppe: 'optional' });
  assert.equal(m.mtu, 1400);
  assert.equal(m.mru, 1400);
  assert.deepEqual(m.mppe, { required: false, allow40: false, allow56: false, allow128: true, stateful: true });
  assert.equal(clientPolicy({ mppe: 'none' }).mppe, null);
});

test('parseKClientUp: one link per "ifname local remote ms" line, and the all-up time', () => {
  const r = parseKClientUp('ppp0 10.99.0.100 10.99.0.1 1234\nppp1 10.99.0.101 10.99.0.1 987\nall-up 2 1301\n');
  assert.deepEqual(r.links, [
    { ifname: 'ppp0', local: '10.99.0.100', remote: '10.99.0.1', setupMs: 1234 },
    { ifname: 'ppp1', local: '10.99.0.101', remote: '10.99.0.1', setupMs: 987 },
  ]);
  assert.equal(r.allUpMs, 1301);
  const partial = parseKClientUp('ppp0 10.99.0.100 10.99.0.1 1234\ngarbage line\n');
  assert.equal(partial.links.length, 1);
  assert.equal(partial.allUpMs, undefined);
});

test('kclientScenario: password only in the environment, arguments shell-quoted, bad server refused', () => {
  const s = kclientScenario({ server: '10.1.2.3', user: "o'brien", sessions: 3, mtu: 1400, afterUp: 'ping -c 1 "$REMOTE"' }, 'top secret pw');
  assert.ok(!s.scenario.includes('top secret pw'));
  assert.equal(s.env.KCLIENT_PASSWORD, 'top secret pw');
  assert.match(s.scenario, /'--server' '10\.1\.2\.3' '--user' 'o'\\''brien' '--sessions' '3' '--mtu' '1400'/);
  assert.match(s.scenario, /--out "\$R\/kclient-up"/);
  assert.match(s.scenario, /ping -c 1 "\$REMOTE"/);
  assert.throws(() => kclientScenario({ server: '10.1.2.3; rm -rf /', user: 'u' }, 'p'), /bad server/);
  assert.throws(() => kclientScenario({ server: '10.1.2.3', user: 'u', waitForFile: '../x' }, 'p'), /bad waitForFile/);
});
