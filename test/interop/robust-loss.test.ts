// Loss and reorder (issue 8 part 3) against real clients, our daemon on the
// TUN datapath on the host side of the namespace:
//   - pptp-linux + pppd 2.4.9 (stateless MPPE-128) with 2 % of GRE lost each
//     way (nftables `numgen random` towards the client in the namespace,
//     netem `loss 2%` on the client guest's eth0 for what it sends);
//   - the same client with GRE reordered both ways (netem delay+reorder on
//     the guest's egress and, through ifb, on its ingress: the host kernel
//     has no netem, the UML guest kernel has);
//   - bench/kclient --stateful (kernel ppp_mppe in the client guest) against
//     `mppe-stateful` with 2 % loss both ways: stateful MPPE must resync by
//     CCP Reset-Request/Reset-Ack in both directions, and the link stays up.
// Each asserts ping (≥ 80 % answered) and a bulk transfer in both directions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestNet, interopAvailable, shq } from './harness/uml.js';
import type { Daemon } from './harness/daemon.js';
import { MSCHAPV2_MPPE128, type GuestShell } from './harness/guest-shell.js';
import { closeRig, daemonWithShells } from './harness/daemon-checks.js';
import { NftTable } from './harness/nft.js';
import { netemClear, netemReady, netemSet, netemStats } from './harness/netem.js';
import { kclientCommand, parseKClientUp, repoRoot } from '../../bench/kclient/scenario.js';

const avail = interopAvailable();
const skip = avail.ok ? false : `interop unavailable: ${avail.why}`;
if (!avail.ok) console.log(`\n#### SKIPPING robustness interop tests (loss and reorder): ${avail.why} ####\n`);

const LOCAL = '192.168.72.1';
const CONF = `option /etc/ppp/options.pptpd\nlocalip ${LOCAL}\nremoteip 192.168.72.100-109\n`;
// mppe-stateful: allowed, not preferred. pppd clients never insist and stay
// stateless; kclient --stateful insists.
const OPTIONS = [
  'name pptpd', 'refuse-pap', 'refuse-chap', 'refuse-mschap', 'require-mschap-v2', 'require-mppe-128', 'mppe-stateful',
  'nobsdcomp', 'novj', 'novjccomp', 'lcp-echo-interval 5', 'lcp-echo-failure 6', '',
].join('\n');
const KPASS = 'k-loss-pw-7';
const SECRETS = `erin pptpd "erin-pw-7" *\nkuser pptpd "${KPASS}" *\n`;

let net: TestNet;
let daemon: Daemon;
let pppd: GuestShell;
let kc: GuestShell;
/** The pptp-linux link (unit 0) and the daemon's session for it. */
let pppIf = '';
let pppSessionId = '';

before(async () => {
  if (skip) return;
  ({ net, daemon, shells: [pppd, kc] } = await daemonWithShells(
    { pptpdConf: CONF, ppp: { 'options.pptpd': OPTIONS, 'chap-secrets': SECRETS } },
    [{ name: 'loss-pppd', index: 1 }, { name: 'loss-kclient', index: 2 }],
  ));
  // One iperf3 server for every transfer (tests run one after the other).
  net.spawn(['iperf3', '-s', '-p', '5201'], { logFile: `${daemon.dir}/iperf3.log` });
  await Promise.all([netemReady(pppd), netemReady(kc)]);
  await pppd.dial({ server: net.hostIp, unit: 0, user: 'erin', password: 'erin-pw-7', args: [...MSCHAPV2_MPPE128] });
  const link = await pppd.waitUp(0);
  pppIf = link.ifname;
  const s = (await daemon.sessions()).find((x) => x.user === 'erin');
  assert.ok(s, 'erin session listed');
  pppSessionId = String(s.id);
  assert.match(String(s.mppe), /128.*stateless/, 'a pppd client stays stateless although mppe-stateful is allowed');
}, { timeout: 90_000 });

after(async () => {
  if (skip) return;
  await closeRig({ net, daemon });
});

interface PingResult {
  sent: number;
  received: number;
  out: string;
  /** The summary and the icmp_seq numbers never answered: for failure messages of long runs. */
  brief: string;
}

async function ping(sh: GuestShell, ifname: string, count: number, intervalS = 0.2): Promise<PingResult> {
  const r = await sh.run(`ping -n -c ${count} -i ${intervalS} -W 3 -I ${shq(ifname)} ${LOCAL}`, (count * intervalS + 30) * 1000);
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.out);
  assert.ok(m, r.out);
  const answered = new Set([...r.out.matchAll(/icmp_seq=(\d+) /g)].map((x) => Number(x[1])));
  const lost: number[] = [];
  for (let i = 1; i <= count; i++) if (!answered.has(i)) lost.push(i);
  const brief = `${m[0]}; not answered: icmp_seq ${lost.join(',') || 'none'}`;
  return { sent: Number(m[1]), received: Number(m[2]), out: r.out, brief };
}

/** iperf3 -n SIZE through the tunnel; reverse = server→client. Returns the receiver's Mbit/s. */
async function bulk(sh: GuestShell, ifname: string, size: string, reverse: boolean): Promise<number> {
  const src = (await sh.ok(`ip -4 -o addr show dev ${shq(ifname)}`)).match(/inet (\d+\.\d+\.\d+\.\d+)/)?.[1];
  assert.ok(src, `address of ${ifname}`);
  const r = await sh.run(`timeout 90 iperf3 -c ${LOCAL} -p 5201 -B ${src} -n ${size} ${reverse ? '-R ' : ''}-f m`, 100_000);
  assert.equal(r.code, 0, `iperf3 ${reverse ? 'server→client' : 'client→server'} failed:\n${r.out}`);
  const m = /([\d.]+) Mbits\/sec[^\n]*receiver/.exec(r.out);
  assert.ok(m, r.out);
  return Number(m[1]);
}

async function pppdSessionUnchanged(): Promise<void> {
  const s = (await daemon.sessions()).find((x) => x.user === 'erin');
  assert.ok(s, 'the pptp-linux session is still up');
  assert.equal(s.id, pppSessionId, 'the same session (it never dropped)');
  assert.ok(!existsSync(pppd.guest.path('pppd-exit.0')), 'pppd is still running');
}

test('2 % GRE loss each way, pptp-linux (stateless MPPE-128): ping ≥ 80 %, 2 MB both directions', { skip, timeout: 240_000 }, async () => {
  const drop = await NftTable.dropGre(net, { client: pppd.guest.ip, percent: 2, direction: 'to-client' });
  try {
    await netemSet(pppd, 'from-client', 'loss 2%');
    const p = await ping(pppd, pppIf, 50);
    assert.ok(p.received >= 40, `${p.received}/50 answered:\n${p.out}`);
    const up = await bulk(pppd, pppIf, '2M', false);
    const down = await bulk(pppd, pppIf, '2M', true);
    const nftDropped = await drop.dropped();
    const ne = await netemStats(pppd);
    assert.ok(nftDropped > 0, 'nftables dropped GRE towards the client');
    assert.ok(ne.dropped > 0, `netem dropped GRE from the client:\n${ne.text}`);
    console.log(`# 2 % loss, pptp-linux: ping ${p.received}/50, up ${up} Mbit/s, down ${down} Mbit/s; dropped to client ${nftDropped}, from client ${ne.dropped} of ${ne.sent + ne.dropped}`);
    await pppdSessionUnchanged();
  } finally {
    await drop.remove();
    await netemClear(pppd);
  }
});

test('GRE reordered both ways (netem delay 10ms reorder 25% 50%), pptp-linux: ping ≥ 80 %, 2 MB both directions', { skip, timeout: 240_000 }, async () => {
  await netemSet(pppd, 'from-client', 'delay 10ms reorder 25% 50%');
  await netemSet(pppd, 'to-client', 'delay 10ms reorder 25% 50%');
  try {
    const p = await ping(pppd, pppIf, 50);
    assert.ok(p.received >= 40, `${p.received}/50 answered:\n${p.out}`);
    const up = await bulk(pppd, pppIf, '2M', false);
    const down = await bulk(pppd, pppIf, '2M', true);
    const ne = await netemStats(pppd);
    assert.ok(ne.sent > 1000, `netem carried the transfers:\n${ne.text}`);
    console.log(`# reorder, pptp-linux: ping ${p.received}/50, up ${up} Mbit/s, down ${down} Mbit/s; ${ne.sent} GRE packets through netem`);
    await pppdSessionUnchanged();
  } finally {
    await netemClear(pppd);
  }
});

// Stateful resync needs the sender to answer a Reset-Request in a way the
// receiver's catch-up arithmetic can follow even when that flushed packet is
// lost too (2 % each way makes it likely in a run): see src/crypto/mppe.ts.
//
// Why STATEFUL_PINGS pings: on a stateful link one lost GRE packet costs more
// than itself. The next packet shows the gap and is discarded too (RFC 3078
// §8.2) until the Reset-Request round trip; with poptop's 300 ms GRE reorder
// hold in front of that (since shortened to STATEFUL_REORDER_MS on stateful
// links) a loss from the client cost 3 pings at 5 pings/s and one to the
// client 2: about 10 % of pings lost on average (45/50 measured in 8 runs).
// A Monte Carlo model of exactly this (lost Reset-Requests/Acks retried after
// 1 s included) gave P(< 80 % answered) = 7.7 % with 50 pings — an observed
// 37/50 was such a tail — 1.5 % with 150 and 0.3 % with 250 (0.26 % / 0.03 %
// with the short hold). The bound stays 80 %; only the sample grows (50 s).
const STATEFUL_PINGS = 250;
test('stateful MPPE (kclient --stateful, kernel ppp_mppe) with 2 % GRE loss each way: resyncs both ways, ping ≥ 80 %, 1 MB both directions, link stays up', { skip, timeout: 300_000 }, async () => {
  const env = [`KCLIENT_PASSWORD=${shq(KPASS)}`];
  if (process.env.PPTPD_NATIVE_PATH) env.push(`PPTPD_NATIVE_PATH=${shq(process.env.PPTPD_NATIVE_PATH)}`);
  const cmd = [...kclientCommand(), '--server', net.hostIp, '--user', 'kuser', '--stateful', '--mtu', '1400'].map(shq).join(' ');
  await kc.start([
    'R="$RESULTS"',
    `cd ${shq(repoRoot())} || exit 99`,
    `export ${env.join(' ')}`,
    `${cmd} --out "$R/kclient-up" > "$R/kclient.out" 2> "$R/kclient.err" &`,
    'echo $! > "$R/kclient.pid"',
    'wait $!; echo $? > "$R/kclient-exit"',
  ].join('\n'));
  await kc.guest.waitForFile('kclient-up', 45_000).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n--- kclient.err ---\n${await kc.guest.read('kclient.err')}\n${daemon.rawLog().slice(-4000)}`);
  });
  const kup = parseKClientUp(await kc.guest.read('kclient-up'));
  assert.equal(kup.links.length, 1);
  const kif = kup.links[0]!.ifname;
  const s0 = (await daemon.sessions()).find((x) => x.user === 'kuser');
  assert.ok(s0, 'kuser session listed');
  assert.match(String(s0.mppe), /128.*stateful/, `stateful MPPE negotiated: ${String(s0.mppe)}`);
  // Stateful data flows before any loss.
  const p0 = await ping(kc, kif, 3);
  assert.equal(p0.received, 3, `stateful MPPE without loss:\n${p0.out}\n${await kc.guest.read('kclient.err')}`);
  const drop = await NftTable.dropGre(net, { client: kc.guest.ip, percent: 2, direction: 'to-client' });
  let hungUp = false;
  try {
    await netemSet(kc, 'from-client', 'loss 2%');
    const p = await ping(kc, kif, STATEFUL_PINGS);
    assert.ok(p.received >= STATEFUL_PINGS * 0.8, `${p.received}/${STATEFUL_PINGS} answered (${p.brief})\n--- kclient.err ---\n${await kc.guest.read('kclient.err')}`);
    const up = await bulk(kc, kif, '1M', false);
    const down = await bulk(kc, kif, '1M', true);
    const nftDropped = await drop.dropped();
    const ne = await netemStats(kc);
    assert.ok(nftDropped > 0 && ne.dropped > 0, `GRE was lost both ways (${nftDropped} to, ${ne.dropped} from the client)`);
    const s1 = (await daemon.sessions()).find((x) => x.user === 'kuser');
    assert.equal(s1?.id, s0.id, 'the stateful session never dropped');
    assert.ok(!existsSync(kc.guest.path('kclient-exit')), `kclient still running:\n${await kc.guest.read('kclient.err')}`);
    console.log(`# 2 % loss, stateful kclient: ping ${p.received}/${STATEFUL_PINGS}, up ${up} Mbit/s, down ${down} Mbit/s; dropped to client ${nftDropped}, from client ${ne.dropped}`);
    // Clean hang-up: the link-down line carries the MPPE resync counters.
    await drop.remove();
    await netemClear(kc);
    const mark = daemon.lines().length;
    await kc.ok('kill -TERM "$(cat "$RESULTS/kclient.pid")"');
    hungUp = true;
    const exit = (await kc.guest.waitForFile('kclient-exit', 20_000)).trim();
    assert.equal(exit, '0', `kclient: no link dropped while up (exit 3 would say so):\n${await kc.guest.read('kclient.err')}`);
    let down1: Record<string, unknown> | undefined;
    for (const end = Date.now() + 15_000; !down1; await sleep(100)) {
      down1 = daemon.lines().slice(mark).find((o) => o.msg === 'PPP link down' && o.user === 'kuser');
      if (!down1 && Date.now() > end) assert.fail(`no "PPP link down" for kuser:\n${daemon.rawLog().slice(-3000)}`);
    }
    const mppe = down1.mppe as Record<string, number> | undefined;
    assert.ok(mppe, `the link-down line carries MPPE counters: ${JSON.stringify(down1)}`);
    // Client→server loss: our stateful decoder discarded and asked the kernel to flush.
    assert.ok(mppe.resetRequestsSent > 0, `we sent CCP Reset-Requests: ${JSON.stringify(mppe)}`);
    assert.ok(mppe.decryptErrors >= mppe.resetRequestsSent, JSON.stringify(mppe));
    // Server→client loss: the client's ppp_mppe lost sync, kclient asked, we flushed.
    assert.ok(mppe.resetRequestsReceived > 0, `the client sent CCP Reset-Requests: ${JSON.stringify(mppe)}`);
    console.log(`# stateful resync: ${JSON.stringify(mppe)}`);
  } finally {
    await drop.remove().catch(() => undefined);
    await netemClear(kc);
    if (!hungUp) await kc.run('kill -TERM "$(cat "$RESULTS/kclient.pid")" 2>/dev/null');
  }
});

test('after all of it the pptp-linux session is still up and clean', { skip, timeout: 60_000 }, async () => {
  await pppdSessionUnchanged();
  const p = await ping(pppd, pppIf, 5);
  assert.equal(p.received, 5, p.out);
});
