// Authentication abuse (issue 8 part 5): per-source and per-user back-off,
// logged once per burst, bounded state; and the duplicate-login policy.
// Unit tests of AuthThrottle, then full sessions with the real PPP engines
// (MS-CHAPv2 + MPPE-128) through the session manager on the fake datapath.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthThrottle, throttleConfigFrom } from '../../src/auth/throttle.js';
import { parsePptpdConf } from '../../src/config/pptpd-conf.js';
import { ConfigErrors } from '../../src/util/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { RobustHarness } from '../helpers/robust-harness.js';
import { captureLog } from '../helpers/session-harness.js';

function throttle(cfg = {}) {
  const clock = new FakeClock(0);
  const { log, lines } = captureLog();
  return { t: new AuthThrottle(cfg, clock, log), clock, lines };
}

test('throttle: no delay below the threshold, then 1 s, 2 s, 4 s … capped at 30 s for a source', () => {
  const { t, clock } = throttle();
  const seen: number[] = [];
  for (let i = 0; i < 10; i++) {
    // Wait out any serialised slot so each figure is the plain delay.
    clock.advance(40_000 - (clock.now() % 40_000));
    seen.push(t.delayFor('192.0.2.1', `u${i}`));
    t.failed('192.0.2.1', `u${i}`);
  }
  // Decay (one per 60 s) runs meanwhile: 40 s steps lose one failure every 1.5 steps.
  assert.deepEqual(seen.slice(0, 3), [0, 0, 0]);
  assert.ok(seen[3]! >= 1000, `held back after 3 failures (${seen[3]})`);
  assert.ok(seen.every((d) => d <= 30_000));
});

test('throttle: exact doubling and caps without decay', () => {
  const { t } = throttle({ decayMs: 0 });
  const src: number[] = [];
  for (let i = 0; i < 9; i++) {
    t.failed('192.0.2.1', `v${i}`);
  }
  // 9 failures: source delay 1 s · 2^(9−3) = 64 s → capped at 30 s.
  assert.equal(t.sourceFailures('192.0.2.1'), 9);
  src.push(t.delayFor('192.0.2.1', 'nobody'));
  assert.equal(src[0], 30_000);
  // A user with 9 failures from many sources: capped at the user cap (8 s), never more.
  const { t: t2 } = throttle({ decayMs: 0 });
  for (let i = 0; i < 9; i++) t2.failed(`198.51.100.${i}`, 'alice');
  assert.equal(t2.delayFor('203.0.113.9', 'alice'), 8000);
  const { t: t3 } = throttle({ decayMs: 0 });
  const d: number[] = [];
  for (let i = 0; i < 6; i++) {
    d.push(t3.delayFor(`198.51.100.${i}`, 'bob'));
    t3.failed(`198.51.100.${i}`, 'bob');
  }
  assert.deepEqual(d, [0, 0, 0, 1000, 2000, 4000], 'per-user steps');
});

test('throttle: attempts held for one source are serialised, other sources are not', () => {
  const { t } = throttle({ decayMs: 0 });
  for (let i = 0; i < 3; i++) t.failed('192.0.2.1', 'x');
  t.succeeded('10.9.9.9', 'x'); // clears the user only for this test: the source stays
  // Four parallel attempts from the attacker: 1 s, 2 s, 3 s, 4 s (each behind the previous).
  const held = [0, 1, 2, 3].map(() => t.delayFor('192.0.2.1', `y`));
  assert.deepEqual(held, [1000, 2000, 3000, 4000]);
  assert.equal(t.delayFor('192.0.2.2', 'y'), 0, 'another address answers at once');
});

test('throttle: decays one failure per quiet minute; a success clears source and user', () => {
  const { t, clock } = throttle();
  for (let i = 0; i < 5; i++) t.failed('192.0.2.1', 'alice');
  assert.equal(t.sourceFailures('192.0.2.1'), 5);
  clock.advance(60_000);
  assert.equal(t.sourceFailures('192.0.2.1'), 4);
  clock.advance(120_000);
  assert.equal(t.sourceFailures('192.0.2.1'), 2);
  assert.equal(t.delayFor('192.0.2.1', 'alice'), 0, 'below the threshold again');
  t.failed('192.0.2.1', 'alice');
  t.succeeded('192.0.2.1', 'alice');
  assert.equal(t.sourceFailures('192.0.2.1'), 0);
  assert.equal(t.userFailures('alice'), 0);
  assert.equal(t.size, 0, 'cleared entries are dropped');
  clock.advance(10 * 60_000);
  t.failed('192.0.2.7', 'zed');
  clock.advance(2 * 60_000);
  assert.equal(t.sourceFailures('192.0.2.7'), 0);
  assert.equal(t.size, 1, 'user entry still there until met');
  assert.equal(t.userFailures('zed'), 0);
  assert.equal(t.size, 0, 'decayed entries are dropped when met');
});

test('throttle: one log line per burst, a new line after the burst decayed; no secrets', () => {
  const { t, clock, lines } = throttle();
  for (let i = 0; i < 20; i++) t.failed('192.0.2.1', 'alice');
  const burst = lines.filter((l) => String(l.msg).startsWith('repeated authentication failures'));
  assert.equal(burst.length, 2, 'one for the source, one for the user');
  assert.deepEqual(burst.map((l) => l.source ?? l.user).sort(), ['192.0.2.1', 'alice']);
  assert.equal(t.stats.bursts, 2);
  clock.advance(30 * 60_000); // fully decayed
  for (let i = 0; i < 3; i++) t.failed('192.0.2.1', 'bob');
  const after = lines.filter((l) => String(l.msg).startsWith('repeated authentication failures'));
  assert.equal(after.length, 4, 'a new burst is logged again (source, and user bob)');
});

test('throttle: an attacker rotating source addresses cannot grow the state beyond maxEntries', () => {
  const { t } = throttle({ maxEntries: 1000 });
  for (let i = 0; i < 50_000; i++) t.failed(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 'alice');
  assert.ok(t.size <= 1000, `size ${t.size}`);
  assert.ok(t.stats.evicted >= 49_000);
  // The user entry is touched on every failure, so it stays (LRU) and keeps its count.
  assert.ok(t.userFailures('alice') > 1000);
  // And its delay stays a delay: the user cap.
  assert.equal(t.delayFor('192.0.2.200', 'alice'), 8000);
});

test('throttle: threshold 0 disables it', () => {
  const { t } = throttle({ threshold: 0 });
  for (let i = 0; i < 10; i++) t.failed('192.0.2.1', 'alice');
  assert.equal(t.delayFor('192.0.2.1', 'alice'), 0);
  assert.equal(t.size, 0);
});

test('pptpd.conf extension directives: defaults, values, errors with file and line', () => {
  const base = 'localip 10.0.0.1\nremoteip 10.0.1.1-20\n';
  const d = parsePptpdConf(base, '/etc/pptpd.conf');
  assert.deepEqual(d.robust, {
    authBackoffThreshold: 3, authBackoffMaxSec: 30, authBackoffUserMaxSec: 8, authBackoffDecaySec: 60,
    maxLoginsPerUser: 0, duplicateLogin: 'refuse', maxCallsPerSource: 64, maxPendingPerSource: 8,
  });
  const c = parsePptpdConf(
    base +
      'auth-backoff-threshold 5\nauth-backoff-max 20\nauth-backoff-user-max 4\nauth-backoff-decay 120\n' +
      'max-logins-per-user 1\nduplicate-login replace\nmax-calls-per-source 4\nmax-pending-per-source 2\n',
    '/etc/pptpd.conf',
  );
  assert.deepEqual(c.robust, {
    authBackoffThreshold: 5, authBackoffMaxSec: 20, authBackoffUserMaxSec: 4, authBackoffDecaySec: 120,
    maxLoginsPerUser: 1, duplicateLogin: 'replace', maxCallsPerSource: 4, maxPendingPerSource: 2,
  });
  assert.deepEqual(throttleConfigFrom(c.robust), { threshold: 5, maxDelayMs: 20_000, userMaxDelayMs: 4000, decayMs: 120_000 });
  const w = parsePptpdConf(base + 'duplicate-login replace\n', '/etc/pptpd.conf');
  assert.ok(w.warnings.some((x) => x.includes(':3: duplicate-login has no effect')));
  assert.throws(
    () => parsePptpdConf(base + 'duplicate-login kick\nmax-logins-per-user -1\n', '/etc/pptpd.conf'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigErrors);
      const m = e.errors.map((x) => x.message);
      assert.ok(m.some((x) => x.includes('/etc/pptpd.conf:3') && x.includes('duplicate-login "kick"')), m.join('|'));
      assert.ok(m.some((x) => x.includes('/etc/pptpd.conf:4') && x.includes('max-logins-per-user')), m.join('|'));
      return true;
    },
  );
});

// ---- full sessions ----

test('wrong passwords from one address: results are held back and the burst logged once; the password is never logged', async () => {
  const h = new RobustHarness();
  const conn = h.connect('192.0.2.66');
  // Session 1: three wrong MS-CHAPv2 responses (R=1 retries), answered at once.
  const a = h.dial(conn, 0x100, 'alice', 'guess-1');
  await h.until(() => h.manager.size === 0, 'first session refused and torn down');
  assert.deepEqual(a.chapResults, [4, 4, 4]);
  assert.equal(h.throttle!.sourceFailures('192.0.2.66'), 3);
  assert.equal(h.throttle!.userFailures('alice'), 3);

  // Session 2: the first result waits 1 s, the retry 2 s.
  const b = h.dial(conn, 0x101, 'alice', 'guess-2');
  await h.settle(20);
  assert.deepEqual(b.chapResults, [], 'no verdict before the delay');
  await h.advance(900);
  assert.deepEqual(b.chapResults, [], 'still held at 0.9 s');
  await h.advance(200);
  assert.deepEqual(b.chapResults, [4], 'failure after 1 s');
  await h.advance(1800);
  assert.deepEqual(b.chapResults, [4], 'the retry is held 2 s');
  await h.advance(300);
  assert.deepEqual(b.chapResults, [4, 4]);
  await h.advance(4100);
  await h.until(() => h.manager.size === 0, 'second session refused');
  assert.deepEqual(b.chapResults, [4, 4, 4]);
  assert.equal(h.throttle!.stats.delayed, 3);
  const burst = h.lines.filter((l) => String(l.msg).startsWith('repeated authentication failures'));
  assert.equal(burst.length, 2, 'source and user: one line each for the whole burst');
  assert.ok(!JSON.stringify(h.lines).includes('guess-'), 'passwords never logged');
  for (const c of h.clients) c.link.lowerDown('test over'); // the clients' own timers
  await h.until(() => h.manager.size === 0 && h.clock.pending === 0, 'no session, no timer left');
});

test('an attacker guessing alice from elsewhere only delays alice (user cap), never locks her out', async () => {
  const h = new RobustHarness();
  const attacker = h.connect('192.0.2.66');
  for (let i = 0; i < 3; i++) {
    const x = h.dial(attacker, 0x200 + i, 'alice', `guess-${i}`);
    await h.settle(20);
    // Let held results come out and the session end.
    for (let k = 0; k < 200 && h.manager.size > 0; k++) await h.advance(1000, 1000);
    assert.equal(h.manager.size, 0, `attacker session ${i} ended`);
    // Held results add up: late attempts of a session may run into the 30 s authentication timeout.
    assert.ok(x.chapResults.length >= 1 && x.chapResults.every((r) => r === 4), `only failures: ${x.chapResults}`);
    x.link.lowerDown('refused');
  }
  assert.ok(h.throttle!.userFailures('alice') >= 9);
  assert.ok(h.throttle!.sourceFailures('192.0.2.66') >= 9);
  // The attacker's next attempt from its address waits at least the source cap (30 s),
  // queued behind its earlier held attempts (at most two caps).
  const next = h.throttle!.delayFor('192.0.2.66', 'nobody');
  assert.ok(next >= 30_000 && next <= 60_000, `attacker delay ${next}`);

  // Alice from her own address: held at most the user cap (8 s), then in.
  const home = h.connect('203.0.113.5');
  const c = h.dial(home, 0x300, 'alice', 'alicePass');
  await h.settle(20);
  assert.equal(c.up, undefined);
  await h.advance(8000);
  await h.until(() => c.up !== undefined && h.manager.list()[0]?.state === 'up', 'alice is up');
  assert.equal(c.chapResults[0], 3, 'MS-CHAPv2 success');
  assert.equal(h.throttle!.userFailures('alice'), 0, 'her success clears the user back-off');
  assert.ok(h.throttle!.sourceFailures('192.0.2.66') >= 9, 'but not the attacker address');
});

test('hanging up while the result is held still counts as a failure, and leaves no timer behind', async () => {
  const h = new RobustHarness({ throttle: { decayMs: 0 } });
  for (let i = 0; i < 3; i++) h.throttle!.failed('192.0.2.66', 'x');
  const conn = h.connect('192.0.2.66');
  const c = h.dial(conn, 0x400, 'alice', 'guess');
  await h.settle(20);
  assert.equal(h.throttle!.stats.delayed, 1);
  conn.feed({ type: 'CCRQ', callId: 0x400 });
  await h.until(() => h.manager.size === 0, 'call cleared');
  c.link.lowerDown('hung up'); // the client's own timers
  assert.deepEqual(c.chapResults, []);
  assert.equal(h.throttle!.sourceFailures('192.0.2.66'), 4);
  assert.equal(h.clock.pending, 0, 'the hold timer was cancelled');
});

test('duplicate login, refuse: the second login of alice is ended, the first keeps running', async () => {
  const h = new RobustHarness({ maxLoginsPerUser: 1 });
  const one = h.dial(h.connect('203.0.113.5'), 0x500);
  await h.until(() => h.manager.list()[0]?.state === 'up', 'first up');
  const bob = h.dial(h.connect('203.0.113.8'), 0x501, 'bob', 'bobPass');
  await h.until(() => bob.up !== undefined && h.manager.size === 2, 'another user is not affected');
  const two = h.dial(h.connect('203.0.113.6'), 0x502);
  await h.until(() => two.down !== undefined, 'second alice refused');
  await h.until(() => h.manager.size === 2, 'torn down');
  assert.equal(one.down, undefined);
  assert.deepEqual(h.manager.list().map((s) => s.client).sort(), ['203.0.113.5', '203.0.113.8']);
  assert.equal(h.manager.stats.duplicateLogins, 1);
  const down = h.logged('session down').at(-1)!;
  assert.match(String(down.reason), /alice is already logged in \(max-logins-per-user 1\)/);
  assert.equal(h.pool.free, 6, 'the refused session gave its address back');
});

test('duplicate login, replace: the new login of alice ends the oldest one', async () => {
  const h = new RobustHarness({ maxLoginsPerUser: 1, duplicateLogin: 'replace' });
  const one = h.dial(h.connect('203.0.113.5'), 0x600);
  await h.until(() => h.manager.list()[0]?.state === 'up', 'first up');
  const two = h.dial(h.connect('203.0.113.6'), 0x601);
  await h.until(() => one.down !== undefined && two.up !== undefined, 'old ended, new up');
  await h.until(() => h.manager.size === 1 && h.manager.list()[0]!.state === 'up', 'one session left');
  assert.equal(h.manager.list()[0]!.client, '203.0.113.6');
  const down = h.logged('session down');
  assert.equal(down.length, 1);
  assert.match(String(down[0]!.reason), /replaced by a new login of alice from 203\.0\.113\.6/);
});

test('duplicate-login policy off by default: the same user twice is fine (pppd behaviour)', async () => {
  const h = new RobustHarness();
  const one = h.dial(h.connect('203.0.113.5'), 0x700);
  const two = h.dial(h.connect('203.0.113.6'), 0x701);
  await h.until(() => one.up !== undefined && two.up !== undefined && h.manager.list().every((s) => s.state === 'up'), 'both up');
  assert.equal(h.manager.size, 2);
});

test('throttle: a hostile user name is logged printable and bounded', () => {
  const { t, lines } = throttle();
  const name = `evil\n{"level":60}\u0007${'x'.repeat(300)}`;
  for (let i = 0; i < 3; i++) t.failed(`192.0.2.${i}`, name);
  const l = lines.find((x) => x.user !== undefined)!;
  assert.ok(!String(l.user).includes('\n') && !String(l.user).includes('\u0007'));
  assert.ok(String(l.user).length <= 64);
  assert.equal(t.userFailures(name), 3, 'the state is keyed by the real name');
});
