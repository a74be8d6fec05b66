// bench/kclient (our kernel-mode PPTP client: our engines in the client role,
// data in pptp.ko + ppp_generic + ppp_mppe) in a UML guest, against
// (a) poptop, a server we did not write, in another guest, and
// (b) our daemon with the TUN datapath on the host side of the namespace, and
// (c) our daemon with the kernel datapath inside another guest.
// Each: MS-CHAPv2 + MPPE-128 stateless, a real kernel pppN in the client
// guest, ping through it, clean hang-up (LCP Terminate, CCRQ, StopCCRQ) that
// leaves no interface behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Guest, TestNet, interopAvailable } from './harness/uml.js';
import { poptopServerScenario } from './harness/poptop.js';
import { Daemon } from './harness/daemon.js';
import { GuestDaemon } from './harness/guest-daemon.js';
import { KCLIENT_EXIT, kclientScenario, parseKClientUp } from '../../bench/kclient/scenario.js';
import { addonPath } from '../../native/index.js';

const avail = interopAvailable({ poptop: true });
const skip = avail.ok ? false : `interop unavailable: ${avail.why}`;
if (!avail.ok) console.log(`\n#### SKIPPING bench/kclient interop tests: ${avail.why} ####\n`);

function nativeHasKppp(): string | undefined {
  const p = process.env.PPTPD_NATIVE_PATH ?? addonPath();
  if (!p) return 'the native addon is not built (npm run build:native)';
  const addon = createRequire(import.meta.url)(p) as Record<string, unknown>;
  if (typeof addon.pptpChannelOpen !== 'function') return `${p} was built without native/src/kppp.c`;
  return undefined;
}

const PASSWORD = 'k-pass "quoted" word';

/** What every kclient run must show: link up on a kernel ppp device, pings answered, clean hang-up. */
async function assertKClientRun(g: Guest, code: number, want: { local: RegExp; remote: string; sessions: number }, more: () => Promise<string>): Promise<void> {
  const diag = async (): Promise<string> => `${await g.diagnostics()}\n--- kclient.err ---\n${await g.read('kclient.err')}\n${await more()}`;
  assert.equal(code, KCLIENT_EXIT.OK, `kclient scenario exit ${code} (${(await g.read('client-status')).trim()})\n${await diag()}`);
  const up = parseKClientUp(await g.read('kclient-up'));
  assert.equal(up.links.length, want.sessions, await g.read('kclient-up'));
  assert.ok(up.allUpMs !== undefined && up.allUpMs > 0);
  const locals = new Set<string>();
  for (const l of up.links) {
    assert.match(l.ifname, /^ppp\d+$/);
    assert.match(l.local, want.local);
    assert.equal(l.remote, want.remote);
    assert.ok(l.setupMs > 0 && l.setupMs < 40_000, String(l.setupMs));
    locals.add(l.local);
  }
  assert.equal(locals.size, want.sessions, 'distinct addresses');
  // A kernel ppp device (not a TUN), with the negotiated addresses.
  const links = await g.read('links-up.txt');
  const first = up.links[0]!;
  assert.match(links, new RegExp(`${first.ifname}: <POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP>[^\\n]*\\n\\s+link/ppp`), links);
  assert.match(links, new RegExp(`inet ${first.local.replace(/\./g, '\\.')} peer ${want.remote.replace(/\./g, '\\.')}/32`), links);
  const after = await g.read('afterup.log');
  for (let i = 0; i < want.sessions; i++) assert.match(after, /3 packets transmitted, 3 received/, after);
  assert.equal((after.match(/3 packets transmitted, 3 received/g) ?? []).length, want.sessions, after);
  // The interface counted the pings: the kernel moved them, not kclient.
  const txAfter = /TX:[^\n]*\n\s+(\d+)\s+(\d+)/.exec((await g.read('links-after.txt')).split(`${first.ifname}:`)[1] ?? '');
  assert.ok(txAfter && Number(txAfter[2]) >= 3, `tx packets on ${first.ifname}: ${txAfter?.[2]}`);
  assert.equal((await g.read('kclient-exit')).trim(), '0');
  assert.equal((await g.read('ppp-left')).trim(), '', 'no ppp interface left after the hang-up');
  assert.ok(!(await g.read('kclient.err')).includes(PASSWORD), 'the password is never logged');
}

test('kclient ↔ poptop (pppd + pptpctrl) in UML: MS-CHAPv2, MPPE-128 stateless, two sessions, ping through each, clean hang-up', { skip, timeout: 120_000 }, async (t) => {
  const missing = nativeHasKppp();
  assert.equal(missing, undefined, missing);
  const net = await TestNet.create();
  t.after(() => net.destroy());
  const k = kclientScenario({
    server: net.guestIp(1),
    user: 'kuser',
    sessions: 2,
    mtu: 1400,
    waitForFile: 'go',
    afterUp: 'for f in $(grep -o "^ppp[0-9]*" "$RESULTS/kclient-up"); do ping -n -c 3 -i 0.3 -W 3 -I $f "$REMOTE" || exit 1; done',
  }, PASSWORD);
  const [server, client] = await Promise.all([
    Guest.boot(net, {
      name: 'poptop',
      index: 1,
      scenario: poptopServerScenario({ localip: '10.99.0.1', remoteip: '10.99.0.100-109', users: [{ user: 'kuser', password: PASSWORD }] }),
    }),
    Guest.boot(net, { name: 'kclient', index: 2, scenario: k.scenario, env: k.env }),
  ]);
  await server.waitForFile('server-ready', 20_000);
  await client.put('go');
  const code = await client.waitExit(60_000);
  await server.put('stop');
  await server.waitExit(20_000).catch(() => -1);
  await assertKClientRun(client, code, { local: /^10\.99\.0\.10\d$/, remote: '10.99.0.1', sessions: 2 }, () => server.diagnostics());
  // poptop's pppd agreed MS-CHAPv2 and MPPE-128 stateless with us, for both calls…
  const pppd = await server.read('server-pppd.log');
  assert.equal((pppd.match(/MPPE 128-bit stateless compression enabled/g) ?? []).length, 2, pppd.slice(-3000));
  assert.match(pppd, /peer from calling number .* authorized|CHAP peer authentication succeeded for kuser|rcvd \[CHAP Response/);
  // …and saw our hang-up: LCP Terminate-Request from us, ip-down ran for both links.
  assert.equal((pppd.match(/LCP terminated by peer \(kclient: hang-up\)/g) ?? []).length, 2, pppd.slice(-3000));
  const down = (await server.read('server-ip-down.log')).trim().split('\n').filter(Boolean);
  assert.equal(down.length, 2, down.join('\n'));
  // Both control connections ended (pptpctrl reaps its pppd, then the connection).
  const syslog = await server.read('syslog.log');
  assert.equal((syslog.match(/CTRL: Client [\d.]+ control connection finished/g) ?? []).length, 2, syslog.slice(-3000));
});

test('kclient ↔ our daemon (TUN datapath, host side): MS-CHAPv2, MPPE-128 stateless, ping, pptpctl shows the session, clean hang-up', { skip, timeout: 90_000 }, async (t) => {
  const missing = nativeHasKppp();
  assert.equal(missing, undefined, missing);
  const net = await TestNet.create();
  const daemon = new Daemon(net, {
    pptpdConf: 'option /etc/ppp/options.pptpd\nlocalip 10.99.5.1\nremoteip 10.99.5.100-109\n',
    ppp: {
      'options.pptpd': 'name pptpd\nrefuse-pap\nrefuse-chap\nrefuse-mschap\nrequire-mschap-v2\nrequire-mppe-128\nnobsdcomp\nnovj\nnovjccomp\n',
      'chap-secrets': `kuser pptpd "${PASSWORD.replace(/"/g, '\\"')}" *\n`,
    },
  });
  t.after(async () => {
    await net.destroy();
    daemon.cleanup();
  });
  await daemon.start();
  const k = kclientScenario({
    server: net.hostIp,
    user: 'kuser',
    afterUp: 'ping -n -c 3 -i 0.3 -W 3 -I "$IFNAME" "$REMOTE" && touch "$RESULTS/up-done" && while [ ! -e "$RESULTS/hangup" ]; do sleep 0.1; done',
  }, PASSWORD);
  const g = await Guest.boot(net, { name: 'kclient', index: 1, scenario: k.scenario, env: k.env });
  await g.waitForFile('up-done', 45_000).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n--- kclient.err ---\n${await g.read('kclient.err')}\n${daemon.rawLog().slice(-4000)}`);
  });
  const sessions = await daemon.sessions();
  assert.equal(sessions.length, 1, JSON.stringify(sessions));
  assert.equal(sessions[0]!.user, 'kuser');
  assert.equal(sessions[0]!.client, g.ip);
  const upLine = daemon.lines().find((o) => o.msg === 'session up');
  assert.ok(upLine, 'the daemon logged the session');
  assert.equal(upLine.mppe, '128-bit stateless');
  assert.equal(upLine.auth, 'mschapv2');
  await g.put('hangup');
  const code = await g.waitExit(30_000);
  await assertKClientRun(g, code, { local: /^10\.99\.5\.10\d$/, remote: '10.99.5.1', sessions: 1 }, async () => daemon.rawLog().slice(-4000));
  // The daemon saw a clean end from the client: the session is gone, ip-down ran.
  const end = Date.now() + 10_000;
  while ((await daemon.sessions()).length !== 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await daemon.sessions()).length, 0);
  const downLine = daemon.lines().find((o) => o.msg === 'PPP link down');
  assert.ok(downLine, daemon.rawLog().slice(-3000));
  assert.match(String(downLine.reason), /peer terminated|Terminate/i, String(downLine.reason));
  assert.ok(!daemon.rawLog().includes(PASSWORD), 'the password is never logged');
});

test('kclient ↔ our daemon with the KERNEL datapath in a guest: MS-CHAPv2, MPPE-128 stateless, two sessions, ping, kernel ppp on both sides, clean hang-up', { skip, timeout: 120_000 }, async (t) => {
  const missing = nativeHasKppp();
  assert.equal(missing, undefined, missing);
  const net = await TestNet.create();
  t.after(() => net.destroy());
  const server = await GuestDaemon.boot(net, {
    name: 'kdaemon',
    index: 1,
    datapath: 'kernel',
    pptpdConf: 'option /etc/ppp/options.pptpd\nlocalip 10.99.6.1\nremoteip 10.99.6.100-109\n',
    ppp: {
      'options.pptpd': 'name pptpd\nrefuse-pap\nrefuse-chap\nrefuse-mschap\nrequire-mschap-v2\nrequire-mppe-128\nnobsdcomp\nnovj\nnovjccomp\n',
      'chap-secrets': `kuser pptpd "${PASSWORD.replace(/"/g, '\\"')}" *\n`,
    },
  });
  const k = kclientScenario({
    server: server.ip,
    user: 'kuser',
    sessions: 2,
    afterUp: 'for f in $(grep -o "^ppp[0-9]*" "$RESULTS/kclient-up"); do ping -n -c 3 -i 0.3 -W 3 -I $f "$REMOTE" || exit 1; done'
      + ' && touch "$RESULTS/up-done" && while [ ! -e "$RESULTS/hangup" ]; do sleep 0.1; done',
  }, PASSWORD);
  const g = await Guest.boot(net, { name: 'kclient', index: 2, scenario: k.scenario, env: k.env });
  await g.waitForFile('up-done', 60_000).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n--- kclient.err ---\n${await g.read('kclient.err')}\n${server.rawLog().slice(-4000)}`);
  });
  const sessions = await server.sessions();
  assert.equal(sessions.length, 2, JSON.stringify(sessions));
  // The server's side is a real kernel ppp interface too (not a TUN).
  const links = await server.sh('ip -d link show type ppp');
  assert.equal((links.out.match(/link\/ppp/g) ?? []).length, 2, links.out);
  await g.put('hangup');
  const code = await g.waitExit(30_000);
  await assertKClientRun(g, code, { local: /^10\.99\.6\.10\d$/, remote: '10.99.6.1', sessions: 2 }, async () => server.rawLog().slice(-4000));
  const end = Date.now() + 10_000;
  while ((await server.sessions()).length !== 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await server.sessions()).length, 0);
  assert.equal((await server.sh('ip -o link show type ppp')).out.trim(), '', 'no ppp interface left on the server');
  assert.ok(!server.rawLog().includes(PASSWORD), 'the password is never logged');
  assert.equal(await server.stop(), 0);
});
