// Abrupt ends (issue 8 part 2) with the real pptp-linux + pppd client: pppd
// killed with SIGKILL, GRE stopped while TCP stays up (server LCP echo),
// a control connection that never sends SCCRQ (stimeout), a client that
// stalls mid-authentication (its CHAP frames dropped). After each: the address
// is back in the pool, the interface is gone, ip-down ran once per ip-up, one
// "session down" line says why, and a session on another guest that was up
// and pinging all along was untouched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Guest, TestNet, interopAvailable } from './harness/uml.js';
import { Daemon } from './harness/daemon.js';
import { GuestShell, MSCHAPV2_MPPE128, shellScenario } from './harness/guest-shell.js';
import { NftTable } from './harness/nft.js';

const avail = interopAvailable();
const skip = avail.ok ? false : `interop unavailable: ${avail.why}`;
if (!avail.ok) console.log(`\n#### SKIPPING robustness interop tests (abrupt ends): ${avail.why} ####\n`);

const LOCAL = '192.168.70.1';
const CONF = `option /etc/ppp/options.pptpd\nlocalip ${LOCAL}\nremoteip 192.168.70.100-109\nstimeout 3\n`;
const OPTIONS = [
  'name pptpd', 'refuse-pap', 'refuse-chap', 'refuse-mschap', 'require-mschap-v2', 'require-mppe-128',
  'lcp-echo-interval 1', 'lcp-echo-failure 3', '',
].join('\n');
const SECRETS = 'carol pptpd "carol-pw-5" *\ndave pptpd "dave-pw-6" *\n';

let net: TestNet;
let daemon: Daemon;
let victim: GuestShell;
let bystander: GuestShell;
let bystanderSession: Record<string, unknown>;
let poolSize = 0;

async function stats(): Promise<Record<string, number>> {
  const r = await daemon.pptpctl('stats');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, number>;
}

before(async () => {
  if (skip) return;
  net = await TestNet.create();
  daemon = new Daemon(net, { pptpdConf: CONF, ppp: { 'options.pptpd': OPTIONS, 'chap-secrets': SECRETS } });
  await daemon.start();
  const [a, b] = await Promise.all([
    Guest.boot(net, { name: 'abrupt-victim', index: 1, scenario: shellScenario() }),
    Guest.boot(net, { name: 'abrupt-bystander', index: 2, scenario: shellScenario() }),
  ]);
  victim = await new GuestShell(a).ready();
  bystander = await new GuestShell(b).ready();
  await bystander.dial({ server: net.hostIp, unit: 0, user: 'dave', password: 'dave-pw-6', args: [...MSCHAPV2_MPPE128] });
  await bystander.waitUp(0);
  // Pings twice a second for the whole file; checked at the end.
  await bystander.start(`ping -i 0.5 -W 2 -I ppp0 ${LOCAL} > "$RESULTS/bystander-ping.log" 2>&1`);
  const sessions = await daemon.sessions();
  assert.equal(sessions.length, 1);
  bystanderSession = sessions[0];
  poolSize = (await stats()).poolSize;
}, { timeout: 90_000 });

after(async () => {
  if (skip) return;
  await net?.destroy();
  daemon?.cleanup();
});

async function eventually(what: string, fn: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}\n${daemon.rawLog().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function countLines(file: string): number {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

interface Mark { lines: number; ipUp: number; ipDown: number }
function mark(): Mark {
  return { lines: daemon.lines().length, ipUp: countLines(daemon.ipUpLog), ipDown: countLines(daemon.ipDownLog) };
}

/** Everything the victim had is gone; the bystander is untouched. Returns the one "session down" line. */
async function assertCleanedUp(m: Mark, ifname: string | undefined, reason: RegExp, timeoutMs: number): Promise<Record<string, unknown>> {
  await eventually('victim session gone', async () => (await daemon.sessions()).length === 1, timeoutMs);
  await eventually('session down logged', () => daemon.lines().slice(m.lines).some((o) => o.msg === 'session down'), 10_000);
  const downs = daemon.lines().slice(m.lines).filter((o) => o.msg === 'session down');
  assert.equal(downs.length, 1, `one "session down" line: ${JSON.stringify(downs)}`);
  assert.match(String(downs[0].reason), reason);
  const left = await daemon.sessions();
  assert.equal(left[0].id, bystanderSession.id, 'the bystander session survived');
  assert.equal(left[0].ifname, bystanderSession.ifname);
  const st = await stats();
  assert.equal(st.poolFree, poolSize - 1, 'the address is back in the pool');
  if (ifname) {
    const r = await net.exec(['ip', 'link', 'show', 'dev', ifname]);
    assert.notEqual(r.code, 0, `${ifname} removed`);
  }
  const ups = countLines(daemon.ipUpLog) - m.ipUp;
  const downsRun = countLines(daemon.ipDownLog) - m.ipDown;
  assert.equal(downsRun, ups, `ip-down ran once per ip-up (${ups})`);
  return downs[0];
}

async function victimUp(unit: number): Promise<string> {
  await victim.dial({ server: net.hostIp, unit, user: 'carol', password: 'carol-pw-5', args: [...MSCHAPV2_MPPE128] });
  const link = await victim.waitUp(unit);
  const s = (await daemon.sessions()).find((x) => x.peer === link.local);
  assert.ok(s, 'victim session listed');
  return String(s.ifname);
}

test('client pppd killed with SIGKILL: the call is torn down once (by the pptp side), nothing leaks', { skip, timeout: 90_000 }, async () => {
  const m = mark();
  const ifname = await victimUp(1);
  await victim.signal(1, 'KILL');
  const down = await assertCleanedUp(m, ifname, /./, 20_000);
  assert.equal(countLines(daemon.ipUpLog) - m.ipUp, 1);
  assert.equal(countLines(daemon.ipDownLog) - m.ipDown, 1, 'ip-down ran for the killed session');
  console.log(`# pppd SIGKILL → session down: ${String(down.reason)}`);
});

test('GRE stopped while TCP stays up: the server notices by LCP echo and cleans up', { skip, timeout: 90_000 }, async () => {
  const m = mark();
  const ifname = await victimUp(2);
  const drop = await NftTable.dropGre(net, { client: victim.guest.ip });
  try {
    const down = await assertCleanedUp(m, ifname, /LCP echo/, 20_000);
    assert.ok((await drop.dropped()) > 0, 'GRE was dropped');
    console.log(`# GRE stopped → session down: ${String(down.reason)}`);
  } finally {
    await drop.remove();
    await victim.signal(2, 'KILL').catch(() => undefined);
  }
});

test('a control connection that never sends SCCRQ is closed after stimeout', { skip, timeout: 60_000 }, async () => {
  const m = mark();
  const r = await victim.run(
    `exec 3<>/dev/tcp/${net.hostIp}/1723 || exit 2; s=$(date +%s); timeout 20 cat <&3; rc=$?; echo "rc=$rc after=$(( $(date +%s) - s ))"`.replace(/^/, "bash -c '").concat("'"),
    30_000,
  );
  const mm = /rc=(\d+) after=(\d+)/.exec(r.out);
  assert.ok(mm, r.out);
  assert.equal(mm[1], '0', 'the server closed the connection (cat saw EOF before its own timeout)');
  assert.ok(Number(mm[2]) >= 2 && Number(mm[2]) <= 6, `closed after ${mm[2]} s (stimeout 3)`);
  assert.ok(daemon.lines().slice(m.lines).some((o) => /stimeout/.test(String(o.msg))), 'logged as stimeout');
  assert.equal((await daemon.sessions()).length, 1);
});

test('a client that stalls mid-authentication (its CHAP frames dropped) is ended by the auth timeout', { skip, timeout: 120_000 }, async () => {
  const m = mark();
  const drop = await NftTable.dropGre(net, { client: victim.guest.ip, direction: 'from-client', pppProtocol: 0xc223 });
  try {
    await victim.dial({ server: net.hostIp, unit: 3, user: 'carol', password: 'carol-pw-5', args: [...MSCHAPV2_MPPE128] });
    await eventually('the stalled call accepted', () => daemon.lines().slice(m.lines).some((o) => o.msg === 'call accepted'), 30_000);
    await assertCleanedUp(m, undefined, /auth|CHAP|challenge/i, 60_000);
    assert.ok((await drop.dropped()) > 0, 'CHAP responses were dropped');
    assert.equal(countLines(daemon.ipUpLog) - m.ipUp, 0, 'no ip-up for a session that never came up');
    assert.equal(await victim.guest.read('ip-up.3'), '');
  } finally {
    await drop.remove();
    await victim.signal(3, 'KILL').catch(() => undefined);
  }
});

test('the bystander session pinged through all of it', { skip, timeout: 30_000 }, async () => {
  const log = await bystander.guest.read('bystander-ping.log');
  const replies = log.match(/bytes from/g)?.length ?? 0;
  assert.ok(replies >= 20, `${replies} replies`);
  const seqs = [...log.matchAll(/icmp_seq=(\d+)/g)].map((x) => Number(x[1]));
  const last = seqs[seqs.length - 1] ?? 0;
  assert.ok(replies >= last * 0.95, `at most 5 % lost: ${replies} of ${last}`);
  const s = (await daemon.sessions()).find((x) => x.id === bystanderSession.id);
  assert.ok(s, 'still up');
});
