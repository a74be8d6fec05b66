// poptop logwtmp at the session manager: a login record when the session's
// interface is up (pptpd-logwtmp's ip-up notifier), a logout at its teardown
// (ip-down), nothing for sessions that never came up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionManager, type SessionWtmp } from '../../src/session/manager.js';
import { seededRandom } from '../../src/util/random.js';
import { POLICY, SessionHarness, tableBackend } from '../helpers/session-harness.js';
import { scriptedLinks } from '../helpers/session-scripted-link.js';

type Rec = { op: 'login'; line: string; user: string; host: string } | { op: 'logout'; line: string };

/**
 * The session harness's pool, fake datapath, clock and captured log, with a
 * manager that has a wtmp dependency (`wtmp: undefined` = logwtmp off). The
 * view shares everything with the harness except `manager`.
 */
function setup(o: { wtmp?: boolean; throwing?: boolean } = {}) {
  const s = scriptedLinks();
  const base = new SessionHarness({ createLink: s.createLink });
  const records: Rec[] = [];
  // Calls in the order the manager makes them, mixed with ip-up/ip-down.
  const order: string[] = [];
  const wtmp: SessionWtmp = {
    login: (line, user, host) => {
      order.push('wtmp-login');
      if (o.throwing) throw new Error('disk on fire');
      records.push({ op: 'login', line, user, host });
    },
    logout: (line) => {
      order.push('wtmp-logout');
      records.push({ op: 'logout', line });
    },
  };
  const manager = new SessionManager({
    config: { policy: POLICY, connections: 100 },
    pool: base.pool,
    backend: tableBackend({ alice: 'alicePass', bob: 'bobPass' }),
    datapath: base.datapath,
    clock: base.clock,
    random: seededRandom(9),
    createLink: s.createLink,
    log: base.log,
    wallClock: () => 1_700_000_000_000,
    scripts: {
      ipUp: async () => void order.push('ip-up'),
      ipDown: async () => void order.push('ip-down'),
    },
    ...(o.wtmp !== false && { wtmp }),
  });
  const h = Object.create(base, { manager: { value: manager } }) as SessionHarness;
  return { h, links: s.links, records, order };
}

test('wtmp: login at interface up (ifname, user, outer address), logout at teardown; ip-up/ip-down order kept', async () => {
  const { h, links, records, order } = setup();
  const c = h.connect('203.0.113.7');
  c.call(7);
  await h.settle();
  assert.deepEqual(records, [], 'nothing before the interface is up');
  links[0]!.up('alice');
  await h.settle();
  assert.deepEqual(records, [{ op: 'login', line: 'fake0', user: 'alice', host: '203.0.113.7' }]);
  assert.equal(h.manager.kill('alice'), 1);
  links[0]!.finishClose();
  await h.manager.settled();
  assert.deepEqual(records, [
    { op: 'login', line: 'fake0', user: 'alice', host: '203.0.113.7' },
    { op: 'logout', line: 'fake0' },
  ]);
  // pppd calls the ip-up/ip-down notifiers (the plugin) before the scripts.
  assert.deepEqual(order, ['wtmp-login', 'ip-up', 'wtmp-logout', 'ip-down']);
});

test('wtmp: every session gets its own pair, on every exit path (peer terminate, PPTP clear, shutdown)', async () => {
  const { h, links, records } = setup();
  const c1 = h.connect('203.0.113.7');
  const c2 = h.connect('198.51.100.9');
  c1.call(1);
  c1.call(2);
  c2.call(3);
  await h.settle();
  links[0]!.up('alice');
  links[1]!.up('bob');
  links[2]!.up('alice');
  await h.settle();
  const logins = records.filter((r) => r.op === 'login');
  assert.deepEqual(logins.map((r) => r.line).sort(), ['fake0', 'fake1', 'fake2']);
  const byLine = new Map(logins.map((r) => [r.line, r]));
  const ifOf = (user: string, host: string) =>
    [...byLine.values()].find((r) => r.op === 'login' && r.user === user && r.host === host)!.line;
  const bobIf = ifOf('bob', '203.0.113.7');
  const aliceC2If = ifOf('alice', '198.51.100.9');

  links[1]!.down('peer requested termination');
  await h.manager.settled();
  assert.deepEqual(records.filter((r) => r.op === 'logout'), [{ op: 'logout', line: bobIf }]);

  c2.conn.closed(); // TCP gone
  await h.manager.settled();
  assert.deepEqual(records.filter((r) => r.op === 'logout').map((r) => r.line), [bobIf, aliceC2If]);

  await h.manager.shutdown();
  assert.equal(records.filter((r) => r.op === 'logout').length, 3);
  assert.equal(records.length, 6, 'exactly one login and one logout per session');
});

test('wtmp: sessions that never came up write nothing (auth failure, teardown during attach)', async () => {
  const { h, links, records } = setup();
  const c = h.connect();
  c.call(1);
  c.call(2);
  await h.settle();
  links[0]!.authenticate('alice');
  links[0]!.down('authentication failed (MS-CHAPv2, user alice)');
  links[1]!.up('bob'); // attach in flight …
  c.conn.closed(); // … and the call is gone before it resolves
  await h.settle();
  await h.manager.settled();
  assert.equal(h.logged('session down').length, 2);
  assert.deepEqual(records, []);
});

test('wtmp: no dependency (logwtmp off) → sessions run as before, no records', async () => {
  const { h, links, records, order } = setup({ wtmp: false });
  const c = h.connect();
  c.call(1);
  await h.settle();
  links[0]!.up('alice');
  await h.settle();
  c.conn.closed();
  await h.manager.settled();
  assert.deepEqual(records, []);
  assert.deepEqual(order, ['ip-up', 'ip-down']);
});

test('wtmp: a failing login is logged, never ends the session, and owes no logout', async () => {
  const { h, links, order } = setup({ throwing: true });
  const c = h.connect();
  c.call(1);
  await h.settle();
  links[0]!.up('alice');
  await h.settle();
  assert.equal(h.manager.list()[0]!.state, 'up');
  assert.equal(h.logged('wtmp record failed').length, 1);
  assert.equal(h.logged('wtmp record failed')[0]!.err, 'disk on fire');
  c.conn.closed();
  await h.manager.settled();
  assert.equal(h.logged('session down').length, 1);
  assert.deepEqual(order, ['wtmp-login', 'ip-up', 'ip-down']);
});
