// What the daemon interop tests (our daemon on the TUN datapath on the host,
// or on the kernel datapath in a guest; pptp-linux + pppd clients in guests)
// set up and check the same way: the Arch wiki's LAN for proxyarp, polling
// with the daemon's log on timeout, the Arch-wiki traffic run (ping, iperf3
// both ways), the three-sessions-on-two-connections run, and the robustness
// tests' rig (our daemon on the host, guests with a command shell).
import assert from 'node:assert/strict';
import { Guest, TestNet } from './uml.js';
import { Daemon, type DaemonFiles } from './daemon.js';
import { GuestShell, shellScenario } from './guest-shell.js';
import { clientLink, pptpClientScenario, type ClientLink } from './client.js';
import { POOL, SERVER_PPP_IP } from './archwiki.js';

/** The Arch wiki's server sits on 192.168.1.0/24 (localip 192.168.1.2) with proxyarp: a veth pair gives it that LAN. */
export async function addArchLan(net: TestNet): Promise<void> {
  for (const cmd of [
    ['ip', 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1'],
    ['ip', 'addr', 'add', '192.168.1.2/24', 'dev', 'lan0'],
    ['ip', 'link', 'set', 'lan0', 'up'],
    ['ip', 'link', 'set', 'lan1', 'up'],
  ]) {
    const r = await net.exec(cmd);
    if (r.code !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr}`);
  }
}

/**
 * Polls `fn` every `stepMs` until true; after `timeoutMs` throws with
 * `context()` (the tail of the daemon's log) appended.
 */
export async function eventuallyOr(
  what: string, fn: () => Promise<boolean> | boolean, timeoutMs: number, stepMs: number, context: () => string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Waits while the guest's after-up shell runs its traffic until this file appears. */
export const HOLD_UNTIL_HANGUP = 'touch "$RESULTS/traffic-done" && while [ ! -e "$RESULTS/hangup" ]; do sleep 0.1; done';

/**
 * user2/123 on ppp0: 3 pings answered and 3 s of iperf3 each way to the
 * server's tunnel address, then holds (HOLD_UNTIL_HANGUP). With -w, ping
 * sends until 3 are answered (an emulated network under load may lose one:
 * checkArchTraffic allows one loss in the first four).
 */
export function archTrafficScenario(server: string): string {
  return pptpClientScenario({
    server,
    sessions: [{ user: 'user2', password: '123', unit: 0 }],
    afterUp: [
      `ping -c 3 -w 20 -I ppp0 ${SERVER_PPP_IP}`,
      `iperf3 -c ${SERVER_PPP_IP} -t 3 -J > "$RESULTS/iperf-up.json"`,
      `iperf3 -c ${SERVER_PPP_IP} -t 3 -R -J > "$RESULTS/iperf-down.json"`,
      HOLD_UNTIL_HANGUP,
    ].join(' && '),
    upTimeoutSeconds: 30,
  });
}

/**
 * The client side of archTrafficScenario once 'traffic-done' is there: a pool
 * address, the server's tunnel address and DNS, MS-CHAPv2 + MPPE-128
 * stateless, every ping answered, iperf3 moved data both ways (its rates are
 * printed, labelled with `what`).
 */
export async function checkArchTraffic(g: Guest, what: string): Promise<ClientLink> {
  const link = await clientLink(g, 0);
  assert.ok(link, 'client link up');
  assert.ok(POOL.includes(link.local), `client address ${link.local} in the pool`);
  assert.equal(link.remote, SERVER_PPP_IP);
  assert.deepEqual(link.dns, ['8.8.8.8', '8.8.4.4']);
  const pppLog = await g.read('ppp0.log');
  assert.match(pppLog, /CHAP authentication succeeded/);
  assert.match(pppLog, /MPPE 128-bit stateless compression enabled/);
  const after = await g.read('afterup.log');
  const sent = Number(/(\d+) packets transmitted, 3 received/.exec(after)?.[1]);
  assert.ok(sent >= 3 && sent <= 4, `3 pings answered of at most 4:\n${after}`);
  for (const dir of ['up', 'down']) {
    const j = JSON.parse(await g.read(`iperf-${dir}.json`)) as { end: { sum_received: { bytes: number; bits_per_second: number } } };
    assert.ok(j.end.sum_received.bytes > 100_000, `iperf3 ${dir} moved ${j.end.sum_received.bytes} bytes`);
    console.log(`# iperf3 ${dir === 'up' ? 'client→server' : 'server→client'}: ${(j.end.sum_received.bits_per_second / 1e6).toFixed(1)} Mbit/s (${what})`);
  }
  return link;
}

/**
 * Three user2 sessions from one guest: units 0 and 1 on one control
 * connection from its own address, unit 2 on another from `second` (added
 * to eth0); each pings the server's tunnel address twice, then holds.
 */
export function multiSessionScenario(server: string, second: string): string {
  return pptpClientScenario({
    server,
    beforeDial: `ip addr add ${second}/24 dev eth0`,
    sessions: [
      { user: 'user2', password: '123', unit: 0 },
      { user: 'user2', password: '123', unit: 1 },
      { user: 'user2', password: '123', unit: 2, localbind: second },
    ],
    afterUp: [0, 1, 2].map((u) => `ping -c 2 -W 5 -I ppp${u} ${SERVER_PPP_IP}`).join(' && ') + ` && ${HOLD_UNTIL_HANGUP}`,
  });
}

/**
 * The client and server sides of multiSessionScenario once 'traffic-done' is
 * there: three distinct pool addresses, three sessions from the guest's two
 * addresses. Returns the server's sessions.
 */
export async function checkMultiSession(
  g: Guest, second: string, sessionsOnServer: () => Promise<Array<Record<string, unknown>>>,
): Promise<Array<Record<string, unknown>>> {
  const links = await Promise.all([0, 1, 2].map((u) => clientLink(g, u)));
  const addrs = links.map((l) => l?.local);
  assert.equal(new Set(addrs).size, 3, `distinct addresses: ${addrs.join(', ')}`);
  for (const a of addrs) assert.ok(POOL.includes(a!));
  // This guest's sessions (a failed earlier test may have left its own behind).
  const sessions = (await sessionsOnServer()).filter((s) => s.client === g.ip || s.client === second);
  assert.equal(sessions.length, 3);
  assert.deepEqual(new Set(sessions.map((s) => s.client)), new Set([g.ip, second]));
  return sessions;
}

/** The server lists exactly the one user2 session of `link` from guest `g`; returns its interface name. */
export async function checkOneSession(
  g: Guest, link: ClientLink, sessionsOnServer: () => Promise<Array<Record<string, unknown>>>,
): Promise<string> {
  const sessions = await sessionsOnServer();
  assert.equal(sessions.length, 1);
  assert.equal(sessions[0]!.user, 'user2');
  assert.equal(sessions[0]!.peer, link.local);
  assert.equal(sessions[0]!.client, g.ip);
  const ifname = String(sessions[0]!.ifname);
  assert.match(ifname, /^ppp\d+$/);
  return ifname;
}

/** Our daemon (TUN datapath, host side of a fresh TestNet) and guests each running a command shell. */
export interface ShellRig {
  net: TestNet;
  daemon: Daemon;
  /** In the order of the `guests` argument. */
  shells: GuestShell[];
}

/**
 * Starts the daemon with `files`, then boots the guests side by side and waits
 * for their shells. On failure tears down what it made and rethrows.
 */
export async function daemonWithShells(files: DaemonFiles, guests: Array<{ name: string; index: number }>): Promise<ShellRig> {
  const net = await TestNet.create();
  let daemon: Daemon | undefined;
  try {
    daemon = new Daemon(net, files);
    await daemon.start();
    const booted = await Promise.all(guests.map((g) => Guest.boot(net, { ...g, scenario: shellScenario() })));
    const shells: GuestShell[] = [];
    for (const g of booted) shells.push(await new GuestShell(g).ready());
    return { net, daemon, shells };
  } catch (e) {
    await closeRig({ net, daemon });
    throw e;
  }
}

/** Kills the guests and the daemon, deletes the namespace and the daemon's files; accepts a rig that never started. */
export async function closeRig(rig: { net?: TestNet; daemon?: Daemon } | undefined): Promise<void> {
  await rig?.net?.destroy();
  rig?.daemon?.cleanup();
}
