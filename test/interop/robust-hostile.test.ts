// Hostile input on the wire against the real daemon (issue 8 part 4,
// interop): our daemon (TUN datapath, Arch-wiki files verbatim) on the host
// side of a TestNet, a real pptp-linux + pppd client in a UML guest pinging
// the server's tunnel address five times a second throughout, and an
// attacker process in the same namespace (test/interop/harness/
// hostile-attacker.ts) sending junk PPTP on hundreds of short connections,
// an SCCRQ followed by junk, 2,000 connections that never speak, and junk
// GRE from a raw socket (random call ids; the live call's id, headers and
// PPP payloads from the wrong source). Afterwards: the session is the same
// one and lost ≤ 10 % of its pings, the daemon never restarted, its drop
// counters grew, its memory stayed bounded, and a new client connects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Guest, TestNet, interopAvailable } from './harness/uml.js';
import { Daemon } from './harness/daemon.js';
import { ARCH_CONF, ARCH_OPTIONS, ARCH_SECRETS, SERVER_PPP_IP } from './harness/archwiki.js';
import { GuestShell, shellScenario, MSCHAPV2_MPPE128 } from './harness/guest-shell.js';
import { addArchLan, eventuallyOr } from './harness/daemon-checks.js';

const avail = interopAvailable();
const skip = avail.ok ? false : `interop unavailable: ${avail.why}`;
if (!avail.ok) console.log(`\n#### SKIPPING robustness interop tests (hostile wire): ${avail.why} ####\n`);

// Compiled (npm test runs dist/): plain node; from source: through tsx.
const ATTACKER_JS = fileURLToPath(new URL('./harness/hostile-attacker.js', import.meta.url));
const ATTACKER = existsSync(ATTACKER_JS)
  ? [process.execPath, ATTACKER_JS]
  : [process.execPath, '--import', 'tsx', fileURLToPath(new URL('./harness/hostile-attacker.ts', import.meta.url))];
/** The daemon's defaults these assertions lean on (pptpd.conf has neither line). */
const STIMEOUT_S = 10;
const PER_SOURCE_PENDING = 8;

interface DemuxStats { dispatched: number; unknownCall: number; wrongSource: number; malformed: number; malformedByCode: Record<string, number> }
interface Stats {
  sessions: number;
  server: { accepted: number; open: number; rejected: { global: number; perSourcePending: number; perSourceTotal: number } };
  datapath: string;
  datapathStats: { rawPackets: number; badIpv4: number; nonIpv4: number; errors: number; demux: DemuxStats };
}

let net: TestNet;
let daemon: Daemon;
let client: GuestShell;
let newcomer: GuestShell;
let live: Record<string, unknown>;
let pingCmd = 0;

async function stats(): Promise<Stats> {
  const r = await daemon.pptpctl('stats');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Stats;
}

/** VmRSS of the daemon in KiB (`ip netns exec` execs node: same pid). */
function rssKiB(): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${daemon.pid}/status`, 'utf8'));
  assert.ok(m, 'VmRSS readable');
  return Number(m[1]);
}

/** Runs the attacker in the namespace; resolves with its final JSON line. */
async function attack(...args: string[]): Promise<Record<string, any>> {
  const r = await net.exec([...ATTACKER, args[0]!, net.hostIp, ...args.slice(1)], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `attacker ${args[0]} failed: ${r.stderr}`);
  const last = r.stdout.trim().split('\n').at(-1)!;
  return JSON.parse(last) as Record<string, any>;
}

function eventually(what: string, fn: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  return eventuallyOr(what, fn, timeoutMs, 200, () => daemon.rawLog().slice(-3000));
}

before(async () => {
  if (skip) return;
  net = await TestNet.create();
  await addArchLan(net);
  daemon = new Daemon(net, { pptpdConf: ARCH_CONF, ppp: { 'options.pptpd': ARCH_OPTIONS, 'chap-secrets': ARCH_SECRETS } });
  const [a, b] = await Promise.all([
    Guest.boot(net, { name: 'hostile-client', index: 1, scenario: shellScenario() }),
    Guest.boot(net, { name: 'hostile-newcomer', index: 2, scenario: shellScenario() }),
    daemon.start(),
  ]);
  client = await new GuestShell(a as Guest).ready();
  newcomer = await new GuestShell(b as Guest).ready();
  await client.dial({ server: net.hostIp, unit: 0, user: 'user2', password: '123', args: [...MSCHAPV2_MPPE128] });
  await client.waitUp(0);
  const sessions = await daemon.sessions();
  assert.equal(sessions.length, 1);
  live = sessions[0]!;
  // Five pings a second for the whole file (-D: each reply carries its time); stopped by SIGINT at the end.
  pingCmd = await client.start(`ping -D -i 0.2 -W 2 -I ppp0 ${SERVER_PPP_IP} > "$RESULTS/ping.log" 2>&1 & echo $! > "$RESULTS/ping.pid"; wait`);
}, { timeout: 60_000 });

after(async () => {
  if (skip) return;
  await net?.destroy();
  daemon?.cleanup();
});

test('hostile wire: junk PPTP, SCCRQ + junk, 2,000 silent connections, junk GRE — the live session keeps pinging, the daemon stays up and bounded', { skip, timeout: 120_000 }, async (t) => {
  const pid = daemon.pid;
  const s0 = await stats();
  assert.equal(s0.datapath, 'tun');
  assert.equal(s0.server.open, 1, 'one control connection: the live client');
  const rss0 = rssKiB();
  const tStart = Date.now();

  // 1. Garbage, truncated, oversized, bad-magic, unknown-type messages on 300 short connections.
  const junk = await attack('tcp-junk', '300');
  t.diagnostic(`tcp-junk: ${JSON.stringify(junk)}`);
  assert.ok(junk.opened >= 290, `connections accepted: ${junk.opened}`);
  assert.equal(junk.notClosed, 0, 'the daemon closed every junk connection');
  assert.equal(junk.closedByServer, junk.opened);

  // 2. A valid SCCRQ followed by junk: the SCCRP comes back, then the connection is dropped.
  const sj = await attack('sccrq-junk');
  t.diagnostic(`sccrq-junk: ${JSON.stringify(sj)}`);
  assert.equal(sj.replyMagic, 0x1a2b3c4d, 'a PPTP reply came back');
  assert.equal(sj.replyType, 2, 'it is the SCCRP');
  assert.equal(sj.closedByServer, true, 'then the daemon closed the connection');
  await eventually('only the live control connection is left', async () => (await stats()).server.open === 1, 10_000);

  // 3. 2,000 connections that open and never speak.
  const s1 = await stats();
  let peakOpen = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      peakOpen = Math.max(peakOpen, (await stats()).server.open);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  let silent: Record<string, any>;
  try {
    silent = await attack('silent', '2000', String((STIMEOUT_S + 8) * 1000));
  } finally {
    polling = false;
    await poller;
  }
  t.diagnostic(`silent: ${JSON.stringify(silent)}; peak control connections ${peakOpen}`);
  const s2 = await stats();
  assert.equal(silent.stillOpen, 0, 'the daemon ended every silent connection');
  assert.ok(silent.held <= PER_SOURCE_PENDING, `at most ${PER_SOURCE_PENDING} held at once from one source (${silent.held})`);
  assert.ok(peakOpen <= 1 + PER_SOURCE_PENDING, `control connections peaked at ${peakOpen}`);
  const refused = s2.server.rejected.perSourcePending - s1.server.rejected.perSourcePending;
  assert.ok(refused >= 2000 - PER_SOURCE_PENDING, `refused at accept by the per-source pending limit: ${refused}`);
  assert.ok(silent.maxHeldMs <= (STIMEOUT_S + 3) * 1000, `the held ones closed by stimeout (${silent.maxHeldMs} ms)`);
  assert.ok(silent.maxHeldMs >= (STIMEOUT_S - 1) * 1000, `…and not before it (${silent.maxHeldMs} ms)`);
  await eventually('control connections back to the live one', async () => (await stats()).server.open === 1, 5_000);

  // 4. Junk GRE from a raw socket on the host side (a wrong source for the live call).
  const d0 = (await stats()).datapathStats;
  const callId = Number(live.callId);
  assert.ok(callId > 0 && callId <= 0xffff, `live call id ${String(live.callId)}`);
  const g = await attack('gre', String(callId));
  t.diagnostic(`gre: ${JSON.stringify(g)}`);
  assert.equal(g.txDropped, 0, 'every junk GRE packet left the attacker');
  let d1 = d0;
  const grew = (): boolean =>
    d1.demux.unknownCall - d0.demux.unknownCall >= g.sent.randomCallId &&
    d1.demux.wrongSource - d0.demux.wrongSource >= g.sent.liveWrongSource + g.sent.junkPpp &&
    d1.demux.malformed - d0.demux.malformed >= g.sent.badHeader + g.sent.truncated;
  await eventually('drop counters account for every junk GRE packet', async () => {
    d1 = (await stats()).datapathStats;
    return grew();
  }, 5_000).catch((e: Error) => {
    throw new Error(`${e.message}\nbefore ${JSON.stringify(d0)}\nafter ${JSON.stringify(d1)}\nsent ${JSON.stringify(g.sent)}`);
  });
  t.diagnostic(`demux: ${JSON.stringify(d0.demux)} → ${JSON.stringify(d1.demux)}`);
  // Each kind lands in its own counter, exactly once (nothing else sends such packets here).
  assert.equal(d1.demux.unknownCall - d0.demux.unknownCall, g.sent.randomCallId, 'random call ids: unknown call');
  assert.equal(d1.demux.wrongSource - d0.demux.wrongSource, g.sent.liveWrongSource + g.sent.junkPpp, 'the live call id from our address: wrong source');
  assert.equal(d1.demux.malformed - d0.demux.malformed, g.sent.badHeader + g.sent.truncated, 'bad key/length/flags and truncated headers: malformed');
  assert.equal(d1.errors, 0, 'no exception on the packet path');
  const tEnd = Date.now();

  // The same session, still up; the daemon never restarted; memory bounded.
  const after = await daemon.sessions();
  assert.equal(after.length, 1);
  assert.equal(after[0]!.id, live.id, 'still the same session');
  assert.equal(after[0]!.ifname, live.ifname);
  assert.equal(after[0]!.callId, live.callId);
  assert.equal(daemon.pid, pid);
  process.kill(pid!, 0); // throws if the daemon is gone
  assert.equal(daemon.lines().filter((o) => o.msg === 'pptpd ready').length, 1, 'started once, never restarted');
  assert.equal(daemon.lines().filter((o) => o.level === 50 || o.level === 60).length, 0, 'no error/fatal log line');
  const rss1 = rssKiB();
  t.diagnostic(`daemon RSS ${rss0} → ${rss1} KiB`);
  assert.ok(rss1 - rss0 < 30 * 1024, `RSS grew ${rss1 - rss0} KiB`);

  // Ping loss: over the attack window (reply timestamps, -D) and over the whole run.
  await client.ok('kill -INT "$(cat "$RESULTS/ping.pid")"');
  await client.wait(pingCmd, 10_000);
  const log = await client.guest.read('ping.log');
  const replies = [...log.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)/gm)].map((m) => ({ at: Number(m[1]) * 1000, seq: Number(m[2]) }));
  const lastSeq = Math.max(...replies.map((r) => r.seq));
  assert.ok(replies.length >= lastSeq * 0.9, `at most 10 % lost overall: ${replies.length} replies of ${lastSeq}`);
  const inWindow = replies.filter((r) => r.at >= tStart && r.at <= tEnd).length;
  const expected = (tEnd - tStart) / 200;
  t.diagnostic(`ping: ${inWindow} replies during the ${((tEnd - tStart) / 1000).toFixed(1)} s attack (≈${Math.round(expected)} sent), ${replies.length}/${lastSeq} overall`);
  assert.ok(inWindow >= expected * 0.9, `at most 10 % lost during the attack: ${inWindow} of ≈${Math.round(expected)}`);
});

test('a new real client connects after the attack and pings', { skip, timeout: 60_000 }, async () => {
  await newcomer.dial({ server: net.hostIp, unit: 0, user: 'user2', password: '123', args: [...MSCHAPV2_MPPE128] });
  const link = await newcomer.waitUp(0);
  const out = await newcomer.ok(`ping -c 3 -W 5 -I ppp0 ${SERVER_PPP_IP}`);
  assert.match(out, /3 received/);
  const sessions = await daemon.sessions();
  assert.equal(sessions.length, 2);
  assert.ok(sessions.some((s) => s.id === live.id), 'the attacked session is still there');
  assert.ok(sessions.some((s) => s.peer === link.local && s.id !== live.id), 'the newcomer has its own session');
});
