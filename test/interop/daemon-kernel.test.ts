// Our daemon with the KERNEL datapath, run inside a UML guest (this host has
// no /dev/ppp; the guest loads ppp_generic, ppp_mppe, pppox, gre and pptp),
// `--datapath auto`, the Arch-wiki files verbatim, against the real
// pptp-linux + pppd client in a second guest on the same bridge.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Guest, TestNet, interopAvailable } from './harness/uml.js';
import { CLIENT_EXIT } from './harness/client.js';
import { GuestDaemon } from './harness/guest-daemon.js';
import { ARCH_CONF, ARCH_OPTIONS, ARCH_SECRETS, SERVER_PPP_IP } from './harness/archwiki.js';
import { archTrafficScenario, checkArchTraffic, checkMultiSession, checkOneSession, eventuallyOr, multiSessionScenario } from './harness/daemon-checks.js';

const avail = interopAvailable();
const skip = avail.ok ? false : `interop unavailable: ${avail.why}`;
// Loud on purpose: a skipped interop suite must never look like a pass.
if (!avail.ok) console.log(`\n#### SKIPPING daemon interop tests (kernel datapath): ${avail.why} ####\n`);

let net: TestNet;
let server: GuestDaemon;
let guestIndex = 1; // 1 is the server guest

before(async () => {
  if (skip) return;
  net = await TestNet.create();
  server = await GuestDaemon.boot(net, {
    name: 'kserver',
    index: 1,
    pptpdConf: ARCH_CONF,
    ppp: { 'options.pptpd': ARCH_OPTIONS, 'chap-secrets': ARCH_SECRETS },
    datapath: 'auto',
    // iperf3 server in the server guest: the client reaches it through the tunnel at 192.168.1.2.
    beforeStart: 'iperf3 -s -D --logfile "$RESULTS/iperf3.log"',
  });
}, { timeout: 60_000 });

after(async () => {
  if (skip) return;
  try {
    if (server && !server.guest.exited) assert.equal(await server.stop(30_000), 0, 'daemon exit code after SIGTERM');
  } finally {
    await net?.destroy();
  }
});

async function failWith(e: unknown, g: Guest): Promise<never> {
  throw new Error(`${(e as Error).message}\n${await g.diagnostics()}\n--- server ---\n${server.rawLog().slice(-4000)}\n${await server.guest.diagnostics()}`);
}

function eventually(what: string, fn: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  return eventuallyOr(what, fn, timeoutMs, 200, () => server.rawLog().slice(-3000));
}

test('--datapath auto picks the kernel datapath in the guest, and says why', { skip }, () => {
  const l = server.lines().find((o) => o.component === 'datapath');
  assert.ok(l, 'a datapath selection line');
  assert.equal(l.datapath, 'kernel');
  assert.equal(l.requested, 'auto');
  assert.match(String(l.msg), /^datapath auto: using the kernel datapath \(\/dev\/ppp exists and the kernel creates AF_PPPOX\/PX_PROTO_PPTP sockets\)/);
  assert.ok(server.lines().some((o) => o.msg === 'pptpd ready' && o.datapath === 'kernel'));
});

test('Arch-wiki setup on the kernel datapath: MS-CHAPv2 + MPPE-128, ping and iperf3 both ways over a real pppN, pptpctl, clean teardown', { skip, timeout: 120_000 }, async () => {
  guestIndex += 1;
  const g = await Guest.boot(net, {
    name: `kclient${guestIndex}`,
    index: guestIndex,
    scenario: archTrafficScenario(server.ip),
  });
  await g.waitForFile('traffic-done', 60_000).catch((e) => failWith(e, g));

  const link = await checkArchTraffic(g, 'kernel datapath, pptp-linux client');

  // pptpctl inside the server guest (its output stays in the guest's results).
  const ifname = await checkOneSession(g, link, () => server.sessions());
  const show = await server.pptpctl('show', 'sessions');
  assert.equal(show.code, 0, show.out);
  assert.match(show.out, /user2/);
  assert.ok(show.out.includes(ifname) && show.out.includes(link.local), show.out);

  // A real kernel ppp interface (not a TUN) carrying the traffic.
  const dev = await server.sh(`ip -d link show ${ifname} && ip addr show ${ifname} && cat /sys/class/net/${ifname}/statistics/rx_bytes /sys/class/net/${ifname}/statistics/tx_bytes`);
  assert.equal(dev.code, 0, dev.out);
  assert.match(dev.out, /link\/ppp/);
  assert.doesNotMatch(dev.out, /\btun\b/);
  assert.match(dev.out, new RegExp(`inet ${SERVER_PPP_IP.replace(/\./g, '\\.')} peer ${link.local.replace(/\./g, '\\.')}/32`));
  const [rx, tx] = dev.out.trim().split('\n').slice(-2).map(Number);
  assert.ok(rx > 1_000_000 && tx > 1_000_000, `traffic counted on ${ifname}: rx ${rx} tx ${tx}`);
  // The kernel's MPPE holds this session's keys: ppp_generic takes a reference
  // on ppp_mppe per installed (de)compressor (PPPIOCSCOMPRESS), 2 per session.
  const mod = await server.sh(`grep '^ppp_mppe ' /proc/modules`);
  assert.equal(mod.code, 0, mod.out);
  assert.ok(Number(mod.out.split(/\s+/)[2]) >= 2, `ppp_mppe in use: ${mod.out}`);

  const up = (await server.guest.read('ip-up.log')).trim().split('\n');
  assert.equal(up.length, 1);
  assert.ok(up[0].startsWith(`${ifname} pptp 115200 ${SERVER_PPP_IP} ${link.local} ${g.ip} | PEERNAME=user2 IFNAME=${ifname}`), up[0]);

  await g.put('hangup');
  assert.equal(await g.waitExit(30_000), CLIENT_EXIT.OK);
  await eventually('session gone', async () => (await server.sessions()).length === 0);
  await eventually('interface and address gone', async () => {
    const r = await server.sh(`ip link show ${ifname} >/dev/null 2>&1 && echo still-there; ip -4 addr | grep -F ' ${SERVER_PPP_IP}' ; true`);
    return r.out.trim() === '';
  });
  const down = (await server.guest.read('ip-down.log')).trim().split('\n');
  assert.equal(down.length, 1);
  assert.match(down[0], new RegExp(`^${ifname} pptp 115200 .*BYTES_SENT=[1-9]\\d{6,} BYTES_RCVD=[1-9]\\d{6,}`));
  const downLine = server.lines().find((o) => o.msg === 'session down' && o.user === 'user2');
  assert.ok(downLine, 'one "session down" line');
  assert.ok(Number(downLine.rxBytes) > 1_000_000, 'interface counters in the down line');
  assert.ok(!server.rawLog().includes('"123"'), 'the password is never logged');
});

test('several sessions at once on the kernel datapath: two on one control connection, one on its own; distinct pppN, each passes traffic', { skip, timeout: 120_000 }, async () => {
  guestIndex += 1;
  const idx = guestIndex;
  const second = net.guestIp(100 + idx);
  const g = await Guest.boot(net, {
    name: `kmulti${idx}`,
    index: idx,
    scenario: multiSessionScenario(server.ip, second),
  });
  await g.waitForFile('traffic-done', 60_000).catch((e) => failWith(e, g));
  const sessions = await checkMultiSession(g, second, () => server.sessions());
  const ifnames = sessions.map((s) => String(s.ifname));
  assert.equal(new Set(ifnames).size, 3);
  for (const ifname of ifnames) {
    const r = await server.sh(`ip -d link show ${ifname} && cat /sys/class/net/${ifname}/statistics/rx_packets`);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /link\/ppp/);
    assert.ok(Number(r.out.trim().split('\n').at(-1)) >= 2, `${ifname} received the pings`);
  }
  await g.put('hangup');
  assert.equal(await g.waitExit(30_000), CLIENT_EXIT.OK);
  await eventually('sessions gone', async () => (await server.sessions()).length === 0);
  const left = await server.sh(`for i in ${ifnames.join(' ')}; do ip link show $i >/dev/null 2>&1 && echo $i; done; true`);
  assert.equal(left.out.trim(), '', `interfaces left: ${left.out}`);
});
