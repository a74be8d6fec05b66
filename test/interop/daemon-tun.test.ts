// Our daemon (TUN datapath, on the host side of a private namespace) against
// the real pptp-linux + pppd client in UML guests, with the Arch-wiki files
// verbatim at /etc/pptpd.conf, /etc/ppp/options.pptpd, /etc/ppp/chap-secrets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Guest, TestNet, interopAvailable } from './harness/uml.js';
import { CLIENT_EXIT, pptpClientScenario } from './harness/client.js';
import { Daemon } from './harness/daemon.js';
import { ARCH_CONF, ARCH_OPTIONS, ARCH_SECRETS, SERVER_PPP_IP } from './harness/archwiki.js';
import { addArchLan, archTrafficScenario, checkArchTraffic, checkMultiSession, checkOneSession, eventuallyOr, multiSessionScenario } from './harness/daemon-checks.js';

const avail = interopAvailable();
const skip = avail.ok ? false : `interop unavailable: ${avail.why}`;
if (!avail.ok) console.log(`\n#### SKIPPING daemon interop tests (TUN datapath): ${avail.why} ####\n`);

let net: TestNet;
let daemon: Daemon;
let guestIndex = 0;

before(async () => {
  if (skip) return;
  net = await TestNet.create();
  // proxyarp needs the Arch wiki's LAN so the entry has a home.
  await addArchLan(net);
  daemon = new Daemon(net, { pptpdConf: ARCH_CONF, ppp: { 'options.pptpd': ARCH_OPTIONS, 'chap-secrets': ARCH_SECRETS } });
  await daemon.start();
  // iperf3 server on the host side: reached through the tunnel at 192.168.1.2.
  net.spawn(['iperf3', '-s'], { logFile: `${daemon.dir}/iperf3.log` });
}, { timeout: 30_000 });

after(async () => {
  if (skip) return;
  await net?.destroy();
  daemon?.cleanup();
});

async function bootClient(scenario: string, extra: { index?: number } = {}): Promise<Guest> {
  guestIndex += 1;
  return Guest.boot(net, { name: `client${guestIndex}`, index: extra.index ?? guestIndex, scenario });
}

async function interfaceExists(name: string): Promise<boolean> {
  const r = await net.exec(['ip', 'link', 'show', 'dev', name]);
  return r.code === 0;
}

function eventually(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  return eventuallyOr(what, fn, timeoutMs, 100, () => daemon.rawLog().slice(-3000));
}

test('Arch-wiki setup verbatim: MS-CHAPv2 + MPPE-128, pool address, DNS, ping, iperf3 both ways, pptpctl, ip-up/ip-down, clean teardown', { skip, timeout: 120_000 }, async () => {
  const g = await bootClient(archTrafficScenario(net.hostIp));
  await g.waitForFile('traffic-done', 60_000).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n${await g.diagnostics()}\n${daemon.rawLog().slice(-4000)}`);
  });

  const link = await checkArchTraffic(g, 'TUN datapath, pptp-linux client');

  const ifname = await checkOneSession(g, link, () => daemon.sessions());
  assert.ok(await interfaceExists(ifname));
  const proxy = await net.exec(['ip', 'neigh', 'show', 'proxy']);
  assert.match(proxy.stdout, new RegExp(`${link.local.replace(/\./g, '\\.')} dev lan0`), 'proxyarp entry on the LAN interface');
  const up = readFileSync(daemon.ipUpLog, 'utf8').trim().split('\n');
  assert.equal(up.length, 1);
  assert.ok(up[0].startsWith(`${ifname} pptp 115200 ${SERVER_PPP_IP} ${link.local} ${g.ip} | PEERNAME=user2 IFNAME=${ifname}`), up[0]);

  await g.put('hangup');
  assert.equal(await g.waitExit(30_000), CLIENT_EXIT.OK);
  await eventually('session gone', async () => (await daemon.sessions()).length === 0);
  await eventually('interface removed', async () => !(await interfaceExists(ifname)));
  const stats = JSON.parse((await daemon.pptpctl('stats')).stdout) as { poolFree: number; poolSize: number };
  assert.equal(stats.poolFree, stats.poolSize, 'the address is back in the pool');
  assert.doesNotMatch((await net.exec(['ip', 'neigh', 'show', 'proxy'])).stdout, new RegExp(link.local.replace(/\./g, '\\.')), 'proxyarp entry removed');
  const down = readFileSync(daemon.ipDownLog, 'utf8').trim().split('\n');
  assert.equal(down.length, 1);
  assert.match(down[0], new RegExp(`^${ifname} pptp 115200 ${SERVER_PPP_IP.replace(/\./g, '\\.')} ${link.local.replace(/\./g, '\\.')} .*BYTES_SENT=[1-9]\\d* BYTES_RCVD=[1-9]\\d*`));
  const downLine = daemon.lines().find((o) => o.msg === 'session down' && o.user === 'user2');
  assert.ok(downLine, 'one "session down" line');
  assert.ok(!daemon.rawLog().includes('"123"'), 'the password is never logged');
});

test('a wrong password is refused and logged without the password; the right one works right after', { skip, timeout: 120_000 }, async () => {
  const bad = await bootClient(pptpClientScenario({ server: net.hostIp, sessions: [{ user: 'user2', password: 'wrong-pw-x', unit: 0 }], upTimeoutSeconds: 40 }));
  assert.equal(await bad.waitExit(60_000), CLIENT_EXIT.PPPD_DIED);
  assert.equal(await bad.read('ip-up.0'), '');
  await eventually('auth failure logged', () => daemon.lines().some((o) => o.user === 'user2' && /auth/i.test(String(o.msg)) && /fail/i.test(String(o.msg) + String(o.reason ?? ''))));
  assert.ok(!daemon.rawLog().includes('wrong-pw-x'), 'the wrong password is never logged');
  const good = await bootClient(pptpClientScenario({ server: net.hostIp, sessions: [{ user: 'user2', password: '123', unit: 0 }], afterUp: `ping -c 2 -W 5 -I ppp0 ${SERVER_PPP_IP}` }));
  assert.equal(await good.waitExit(60_000), CLIENT_EXIT.OK, await good.diagnostics());
  await eventually('sessions gone', async () => (await daemon.sessions()).length === 0);
});

test('several sessions at once: two on one control connection, one on its own; distinct addresses, each passes traffic', { skip, timeout: 120_000 }, async () => {
  guestIndex += 1;
  const idx = guestIndex;
  const second = net.guestIp(100 + idx);
  const g = await Guest.boot(net, {
    name: `multi${idx}`,
    index: idx,
    scenario: multiSessionScenario(net.hostIp, second),
  });
  await g.waitForFile('traffic-done', 60_000).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n${await g.diagnostics()}\n${daemon.rawLog().slice(-4000)}`);
  });
  await checkMultiSession(g, second, () => daemon.sessions());
  const conns = daemon.lines().filter((o) => o.msg === 'control connection established' || /SCCRQ/.test(String(o.msg)));
  assert.ok(conns.length >= 2, 'two control connections seen');
  await g.put('hangup');
  assert.equal(await g.waitExit(30_000), CLIENT_EXIT.OK);
  await eventually('sessions gone', async () => (await daemon.sessions()).length === 0);
});

test('SIGHUP adds a user without dropping a session; SIGTERM ends sessions gracefully', { skip, timeout: 150_000 }, async () => {
  const first = await bootClient(pptpClientScenario({
    server: net.hostIp,
    sessions: [{ user: 'user2', password: '123', unit: 0 }],
    afterUp: 'touch "$RESULTS/up-done"; while [ ! -e "$RESULTS/hangup" ]; do sleep 0.1; done',
    upTimeoutSeconds: 30,
  }));
  await first.waitForFile('up-done', 60_000);
  daemon.writePpp('chap-secrets', `${ARCH_SECRETS}user3 pptpd "s3cret-three" *\n`);
  daemon.signal('SIGHUP');
  await daemon.waitLog((o) => /reloaded/.test(String(o.msg)), 10_000, 'reload');
  const second = await bootClient(pptpClientScenario({
    server: net.hostIp,
    sessions: [{ user: 'user3', password: 's3cret-three', unit: 0 }],
    afterUp: `ping -c 2 -W 5 -I ppp0 ${SERVER_PPP_IP} && touch "$RESULTS/up-done"; while [ ! -e "$RESULTS/hangup" ]; do sleep 0.1; done`,
  }));
  await second.waitForFile('up-done', 60_000);
  const users = (await daemon.sessions()).map((s) => s.user).sort();
  assert.deepEqual(users, ['user2', 'user3'], 'the first session survived the reload');
  daemon.signal('SIGTERM');
  assert.equal(await daemon.waitExit(30_000), 0);
  // Both clients see their call end by themselves (no hangup file was put).
  await first.waitForFile('pppd-exit.0', 30_000);
  await second.waitForFile('pppd-exit.0', 30_000);
  const log = await first.read('ppp0.log');
  assert.match(log, /LCP terminated by peer|Modem hangup|Connection terminated/);
  await first.put('hangup');
  await second.put('hangup');
});
