// Our daemon with the KERNEL datapath, run inside a UML guest (this host has
// no /dev/ppp; the guest loads ppp_generic, ppp_mppe, pppox, gre and pptp),
// `--datapath auto`, the Arch-wiki files verbatim, against the real
// pptp-linux + pppd client in a second guest on the same bridge.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Guest, TestNet, interopAvailable } from './harness/uml.js';
import { CLIENT_EXIT, clientLink, pptpClientScenario } from './harness/client.js';
import { GuestDaemon } from './harness/guest-daemon.js';
import { ARCH_CONF, ARCH_OPTIONS, ARCH_SECRETS, POOL, SERVER_PPP_IP } from './harness/archwiki.js';

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

async function eventually(what: string, fn: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}\n${server.rawLog().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
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
    scenario: pptpClientScenario({
      server: server.ip,
      sessions: [{ user: 'user2', password: '123', unit: 0 }],
      afterUp: [
        `ping -c 3 -W 5 -I ppp0 ${SERVER_PPP_IP}`,
        `iperf3 -c ${SERVER_PPP_IP} -t 3 -J > "$RESULTS/iperf-up.json"`,
        `iperf3 -c ${SERVER_PPP_IP} -t 3 -R -J > "$RESULTS/iperf-down.json"`,
        'touch "$RESULTS/traffic-done"',
        'while [ ! -e "$RESULTS/hangup" ]; do sleep 0.1; done',
      ].join(' && '),
      upTimeoutSeconds: 30,
    }),
  });
  await g.waitForFile('traffic-done', 60_000).catch((e) => failWith(e, g));

  const link = await clientLink(g, 0);
  assert.ok(link, 'client link up');
  assert.ok(POOL.includes(link.local), `client address ${link.local} in the pool`);
  assert.equal(link.remote, SERVER_PPP_IP);
  assert.deepEqual(link.dns, ['8.8.8.8', '8.8.4.4']);
  const pppLog = await g.read('ppp0.log');
  assert.match(pppLog, /CHAP authentication succeeded/);
  assert.match(pppLog, /MPPE 128-bit stateless compression enabled/);
  assert.match(await g.read('afterup.log'), /3 packets transmitted, 3 received/);
  for (const dir of ['up', 'down']) {
    const j = JSON.parse(await g.read(`iperf-${dir}.json`)) as { end: { sum_received: { bytes: number; bits_per_second: number } } };
    assert.ok(j.end.sum_received.bytes > 100_000, `iperf3 ${dir} moved ${j.end.sum_received.bytes} bytes`);
    console.log(`# iperf3 ${dir === 'up' ? 'client→server' : 'server→client'}: ${(j.end.sum_received.bits_per_second / 1e6).toFixed(1)} Mbit/s (kernel datapath, pptp-linux client)`);
  }

  // pptpctl inside the server guest (its output stays in the guest's results).
  const sessions = await server.sessions();
  assert.equal(sessions.length, 1);
  assert.equal(sessions[0].user, 'user2');
  assert.equal(sessions[0].peer, link.local);
  assert.equal(sessions[0].client, g.ip);
  const ifname = String(sessions[0].ifname);
  assert.match(ifname, /^ppp\d+$/);
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
    scenario: pptpClientScenario({
      server: server.ip,
      beforeDial: `ip addr add ${second}/24 dev eth0`,
      sessions: [
        { user: 'user2', password: '123', unit: 0 },
        { user: 'user2', password: '123', unit: 1 },
        { user: 'user2', password: '123', unit: 2, localbind: second },
      ],
      afterUp: [0, 1, 2].map((u) => `ping -c 2 -W 5 -I ppp${u} ${SERVER_PPP_IP}`).join(' && ')
        + ' && touch "$RESULTS/traffic-done" && while [ ! -e "$RESULTS/hangup" ]; do sleep 0.1; done',
    }),
  });
  await g.waitForFile('traffic-done', 60_000).catch((e) => failWith(e, g));
  const links = await Promise.all([0, 1, 2].map((u) => clientLink(g, u)));
  const addrs = links.map((l) => l?.local);
  assert.equal(new Set(addrs).size, 3, `distinct addresses: ${addrs.join(', ')}`);
  for (const a of addrs) assert.ok(POOL.includes(a!));
  const sessions = await server.sessions();
  assert.equal(sessions.length, 3);
  assert.deepEqual(new Set(sessions.map((s) => s.client)), new Set([g.ip, second]));
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
