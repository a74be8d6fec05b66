// Abrupt ends (issue 8 part 2) with the real pptp-linux + pppd client: pppd
// killed with SIGKILL, GRE stopped while TCP stays up (server LCP echo),
// a control connection that never sends SCCRQ (stimeout), a client that
// stalls mid-authentication (its CHAP frames dropped), a control connection
// reset by the client (RST, not FIN), a call whose GRE never gets through (LCP
// gives up; the down line carries the firewall/NAT hint). After each: the address
// is back in the pool, the interface is gone, ip-down ran once per ip-up, one
// "session down" line says why, and a session on another guest that was up
// and pinging all along was untouched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TestNet, interopAvailable } from './harness/uml.js';
import type { Daemon } from './harness/daemon.js';
import { MSCHAPV2_MPPE128, type GuestShell } from './harness/guest-shell.js';
import { NftTable } from './harness/nft.js';
import { closeRig, daemonWithShells, eventuallyOr } from './harness/daemon-checks.js';

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
  ({ net, daemon, shells: [victim, bystander] } = await daemonWithShells(
    { pptpdConf: CONF, ppp: { 'options.pptpd': OPTIONS, 'chap-secrets': SECRETS } },
    [{ name: 'abrupt-victim', index: 1 }, { name: 'abrupt-bystander', index: 2 }],
  ));
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
  await closeRig({ net, daemon });
});

function eventually(what: string, fn: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  return eventuallyOr(what, fn, timeoutMs, 200, () => daemon.rawLog().slice(-4000));
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

/** The victim's established control connections: [local port, pids holding the socket, fds]. */
async function victimControlConnections(): Promise<Array<{ port: number; holders: Array<{ pid: number; fd: number }> }>> {
  const out = await victim.ok(`ss -Htnp state established dst ${net.hostIp} dport = :1723`);
  return out.split('\n').filter((l) => l.trim()).map((l) => {
    const port = Number(/:(\d+)\s+\S+:1723\b/.exec(l)?.[1]);
    const holders = [...l.matchAll(/pid=(\d+),fd=(\d+)/g)].map((x) => ({ pid: Number(x[1]), fd: Number(x[2]) }));
    return { port, holders };
  });
}

/** Counts RST and FIN segments the daemon's host receives on one client connection (nft counters in the netns). */
async function countTcpFlags(client: string, sport: number): Promise<{ read(): Promise<{ rst: number; fin: number }>; remove(): Promise<void> }> {
  const name = `rstcount_${process.pid}`;
  const m = `ip saddr ${client} tcp sport ${sport} tcp dport 1723`;
  const rules = [
    `table ip ${name} {`,
    '  chain in { type filter hook input priority -20; policy accept;',
    `    ${m} tcp flags & rst == rst counter`,
    `    ${m} tcp flags & fin == fin counter`,
    '  }',
    '}',
    '',
  ].join('\n');
  const r = await net.exec(['nft', '-f', '-'], { input: rules });
  assert.equal(r.code, 0, r.stderr);
  return {
    async read() {
      const l = await net.exec(['nft', 'list', 'table', 'ip', name]);
      const n = [...l.stdout.matchAll(/counter packets (\d+)/g)].map((x) => Number(x[1]));
      assert.equal(n.length, 2, l.stdout);
      return { rst: n[0], fin: n[1] };
    },
    async remove() {
      await net.exec(['nft', 'delete', 'table', 'ip', name]);
    },
  };
}

// pptp-linux keeps its control connection in a call manager process; to make
// the CLIENT's kernel reset it (not close it), a helper takes a duplicate of
// that socket (pidfd_getfd), sets SO_LINGER {on, 0} on it and the holders are
// killed: the last close of a socket with zero linger sends RST, never FIN.
const RESET_PY = String.raw`
import ctypes, os, signal, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
holders = [(int(p), int(f)) for p, f in (a.split(':') for a in sys.argv[1:])]
pid, fd = holders[0]
pidfd = os.pidfd_open(pid)
dup = libc.syscall(438, pidfd, fd, 0)  # pidfd_getfd
if dup < 0:
    sys.exit('pidfd_getfd: ' + os.strerror(ctypes.get_errno()))
s = socket.socket(fileno=dup)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
s.close()
for p, _ in holders:
    os.kill(p, signal.SIGKILL)
print('reset', len(holders))
`;

test('the client control connection is reset (RST from the client): the call is torn down once, nothing leaks', { skip, timeout: 90_000 }, async () => {
  // pptp-linux shares one call manager per server: wait until the earlier tests' are gone.
  await eventually('no control connection left from earlier tests', async () => (await victimControlConnections()).length === 0, 20_000);
  const m = mark();
  const ifname = await victimUp(4);
  const conns = await victimControlConnections();
  assert.equal(conns.length, 1, JSON.stringify(conns));
  const [conn] = conns;
  assert.ok(conn.port > 0 && conn.holders.length > 0, JSON.stringify(conn));
  const flags = await countTcpFlags(victim.guest.ip, conn.port);
  try {
    const args = conn.holders.map((h) => `${h.pid}:${h.fd}`).join(' ');
    const out = await victim.ok(`python3 - ${args} <<'EOF'\n${RESET_PY}\nEOF`);
    assert.match(out, /^reset \d+/m);
    const down = await assertCleanedUp(m, ifname, /control connection reset by the client \(TCP RST\)/, 20_000);
    const seen = await flags.read();
    assert.ok(seen.rst >= 1, `the daemon's host received the client's RST (${JSON.stringify(seen)})`);
    assert.equal(seen.fin, 0, 'no FIN: the connection was reset, not closed');
    assert.equal(countLines(daemon.ipUpLog) - m.ipUp, 1);
    console.log(`# control connection reset → session down: ${String(down.reason)}`);
  } finally {
    await flags.remove();
    await victim.signal(4, 'KILL').catch(() => undefined);
  }
});

test('a call whose GRE never gets through is ended when LCP gives up, with the firewall/NAT hint', { skip, timeout: 90_000 }, async () => {
  const m = mark();
  const drop = await NftTable.dropGre(net, { client: victim.guest.ip });
  try {
    // The client's pppd must outlast the daemon's LCP (10 Config-Requests, 3 s apart):
    // otherwise its own hang-up (CCRQ) would end the call first.
    await victim.dial({ server: net.hostIp, unit: 5, user: 'carol', password: 'carol-pw-5', args: [...MSCHAPV2_MPPE128, 'lcp-max-configure', '40'] });
    const acceptedLine = (): Record<string, unknown> | undefined => daemon.lines().slice(m.lines).find((o) => o.msg === 'call accepted');
    await eventually('the call accepted', () => acceptedLine() !== undefined, 30_000);
    const accepted = acceptedLine()!;
    const pending = (await daemon.sessions()).find((x) => x.id !== bystanderSession.id);
    assert.ok(pending, 'the call is listed while LCP retries');
    const ifname = pending.ifname ? String(pending.ifname) : undefined;
    const down = await assertCleanedUp(m, ifname, /LCP: timeout sending Config-Requests/, 60_000);
    assert.match(String(down.reason), /no GRE packet ever arrived from the client: IP protocol 47 blocked by a firewall, or a NAT without a PPTP helper/);
    const secs = (Number(down.time) - Number(accepted.time)) / 1000;
    assert.ok(secs >= 28 && secs <= 40, `ended ${secs} s after the call was accepted (LCP: 10 × 3 s)`);
    assert.ok((await drop.dropped()) > 0, 'GRE was dropped');
    assert.equal(countLines(daemon.ipUpLog) - m.ipUp, 0, 'no ip-up for a link that never came up');
    assert.equal(await victim.guest.read('ip-up.5'), '');
    console.log(`# no GRE at all → session down after ${secs} s: ${String(down.reason)}`);
  } finally {
    await drop.remove();
    await victim.signal(5, 'KILL').catch(() => undefined);
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
