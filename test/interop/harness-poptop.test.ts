// Self-test of the UML interop harness WITHOUT our daemon: poptop (the
// reference server) in one guest, the real pptp-linux + pppd client in
// another, on one bridge inside a private network namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Guest, TestNet, interopAvailable } from './harness/uml.js';
import { CLIENT_EXIT, clientLink, pptpClientScenario } from './harness/client.js';
import { DEFAULT_POPTOP_PPP_OPTIONS, poptopServerScenario } from './harness/poptop.js';

const avail = interopAvailable({ poptop: true });
const skip = avail.ok ? false : `interop unavailable: ${avail.why}`;
if (!avail.ok) {
  // Loud on purpose: a skipped interop suite must never look like a pass.
  console.log(`\n#### SKIPPING UML interop harness tests: ${avail.why} ####\n`);
}

function namespaceExists(ns: string): boolean {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return r.stdout.split('\n').some((l) => l.split(' ')[0] === ns);
}

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

test('UML harness: scenario exit code comes back; a hung guest is killed with its console attached', { skip, timeout: 90_000 }, async (t) => {
  const net = await TestNet.create();
  t.after(() => net.destroy());
  const [quick, hung] = await Promise.all([
    Guest.boot(net, {
      name: 'quick',
      index: 1,
      env: { GREETING: "it's a test" },
      // Proves: env.sh quoting, writable tmpfs dirs, modules loaded, network up.
      scenario: [
        'echo "$GREETING" > "$RESULTS/greeting"',
        // mktemp, not a fixed name: the project itself may live at /tmp/<name> (hostfs, read-only).
        'touch /etc/ppp/x /var/log/x && mktemp -p /tmp > /dev/null || exit 3',
        '[ -c /dev/ppp ] || exit 4',
        'grep -q "^ppp_mppe " /proc/modules || exit 5',
        `ping -c 1 -W 3 ${net.hostIp} > /dev/null || exit 6`,
        // Stay up until the host has pinged us (Guest.put('done')).
        'while [ ! -e "$RESULTS/done" ]; do sleep 0.1; done',
        'exit 7',
      ].join('\n'),
    }),
    Guest.boot(net, { name: 'hung', index: 2, scenario: 'echo started; sleep 1000' }),
  ]);
  // The host side of the bridge reaches the guest too.
  const ping = await net.exec(['ping', '-c', '1', '-W', '3', quick.ip]);
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);
  await quick.put('done');

  assert.equal(await quick.waitExit(30_000), 7, await quick.diagnostics());
  assert.equal(await quick.read('greeting'), "it's a test\n");
  assert.ok(quick.exited);

  await assert.rejects(hung.waitExit(2_000), (e: Error) => {
    assert.match(e.message, /guest hung: scenario did not finish within 2000 ms/);
    assert.match(e.message, /console\.log/);
    assert.match(e.message, /started/); // the scenario log is attached
    return true;
  });
  assert.ok(hung.exited, 'hung guest killed');

  const ns = net.ns;
  await net.destroy();
  assert.equal(namespaceExists(ns), false, `namespace ${ns} deleted`);
  for (const g of [quick, hung]) assert.equal(groupAlive(g.pgid!), false, `${g.name}'s processes are gone`);
  assert.equal(existsSync(quick.resultsDir), process.env.PPTPD_INTEROP_KEEP === '1');
});

test('UML harness: real pptp-linux client ↔ poptop: two MS-CHAPv2 + MPPE-128 links (one via --localbind), DNS, ping through each', { skip, timeout: 120_000 }, async (t) => {
  const net = await TestNet.create();
  t.after(() => net.destroy());
  const password = 'correct horse "battery"';
  const bindAddr = net.guestIp(40); // a second address on the client's eth0
  const [server, client] = await Promise.all([
    Guest.boot(net, {
      name: 'poptop',
      index: 1,
      scenario: poptopServerScenario({
        localip: '10.99.0.1',
        remoteip: '10.99.0.100-109',
        users: [{ user: 'alice', password }, { user: 'bob', password: 'b0b' }],
        pppOptions: [...DEFAULT_POPTOP_PPP_OPTIONS, 'ms-dns 8.8.8.8', 'ms-dns 8.8.4.4'],
      }),
    }),
    Guest.boot(net, {
      name: 'client',
      index: 2,
      scenario: pptpClientScenario({
        server: net.guestIp(1),
        sessions: [
          { user: 'alice', password, unit: 0 },
          // poptop takes one call per control connection: the second link
          // needs its own TCP connection, hence --localbind.
          { user: 'bob', password: 'b0b', unit: 1, localbind: bindAddr },
        ],
        beforeDial: `ip addr add ${bindAddr}/24 dev eth0`,
        afterUp: 'ping -c 3 -W 3 -I ppp0 10.99.0.1 && ping -c 3 -W 3 -I ppp1 10.99.0.1',
        waitForFile: 'go',
      }),
    }),
  ]);
  const both = async (): Promise<string> => `${await server.diagnostics()}\n${await client.diagnostics()}`;

  await server.waitForFile('server-ready', 20_000);
  await client.put('go');
  const code = await client.waitExit(60_000);
  await server.put('stop');
  const serverCode = await server.waitExit(20_000);
  assert.equal(code, CLIENT_EXIT.OK, `client exit ${code} (${await client.read('client-status')})\n${await both()}`);
  assert.equal(serverCode, 0, await both());

  // Both links came up with distinct addresses from poptop's pool and the DNS it hands out.
  const links = [await clientLink(client, 0), await clientLink(client, 1)];
  const addrs = new Set<string>();
  for (const [unit, link] of links.entries()) {
    assert.ok(link, `link ${unit} up`);
    assert.equal(link.ifname, `ppp${unit}`);
    assert.match(link.local, /^10\.99\.0\.10\d$/);
    assert.equal(link.remote, '10.99.0.1');
    assert.deepEqual(link.dns, ['8.8.8.8', '8.8.4.4']);
    addrs.add(link.local);
  }
  assert.equal(addrs.size, 2, 'distinct addresses');
  // Ping through each tunnel got its answers.
  const pings = (await client.read('afterup.log')).match(/3 packets transmitted, 3 received/g) ?? [];
  assert.equal(pings.length, 2, await client.read('afterup.log'));
  // MS-CHAPv2 and MPPE-128, from the client's pppd logs.
  for (const unit of [0, 1]) {
    const log = await client.read(`ppp${unit}.log`);
    assert.match(log, /<auth chap MS-v2>/, 'server asked for MS-CHAPv2');
    assert.match(log, /CHAP authentication succeeded/);
    assert.match(log, /MPPE 128-bit stateless compression enabled/);
    // Clean hang-up: ip-down ran, pppd ended on SIGTERM (exit 5, EXIT_USER_REQUEST).
    assert.equal((await client.read(`ip-down.${unit}`)).trim(), (await client.read(`ip-up.${unit}`)).trim());
    assert.equal((await client.read(`pppd-exit.${unit}`)).trim(), '5');
  }
  // Two control connections from two source addresses reached poptop.
  const syslog = await server.read('syslog.log');
  assert.match(syslog, new RegExp(`CTRL: Client ${esc(client.ip)} control connection started`));
  assert.match(syslog, new RegExp(`CTRL: Client ${esc(bindAddr)} control connection started`));
  // The server side saw both links, with the client's outer addresses as ipparam.
  const serverUp = await server.read('server-ip-up.log');
  assert.match(serverUp, new RegExp(`^ppp\\d+ 10\\.99\\.0\\.1 ${esc(links[0]!.local)} ${esc(client.ip)}$`, 'm'));
  assert.match(serverUp, new RegExp(`^ppp\\d+ 10\\.99\\.0\\.1 ${esc(links[1]!.local)} ${esc(bindAddr)}$`, 'm'));
  // Secrets never reach the logs the harness collects.
  for (const f of ['ppp0.log', 'ppp1.log', 'scenario.log', 'afterup.log', 'syslog.log']) {
    assert.ok(!(await client.read(f)).includes('horse'), f);
  }

  const ns = net.ns;
  await net.destroy();
  assert.equal(namespaceExists(ns), false);
  for (const g of [server, client]) assert.equal(groupAlive(g.pgid!), false, `${g.name}'s processes are gone`);
});

test('UML harness: a wrong password against poptop is reported as PPPD_DIED with no link', { skip, timeout: 90_000 }, async (t) => {
  const net = await TestNet.create();
  t.after(() => net.destroy());
  const [server, client] = await Promise.all([
    Guest.boot(net, {
      name: 'poptop',
      index: 1,
      scenario: poptopServerScenario({ localip: '10.99.0.1', remoteip: '10.99.0.100-109', users: [{ user: 'alice', password: 'right' }] }),
    }),
    Guest.boot(net, {
      name: 'client',
      index: 2,
      scenario: pptpClientScenario({
        server: net.guestIp(1),
        sessions: [{ user: 'alice', password: 'wrong', unit: 0 }],
        afterUp: 'exit 0',
        waitForFile: 'go',
      }),
    }),
  ]);
  await server.waitForFile('server-ready', 20_000);
  await client.put('go');
  const code = await client.waitExit(60_000);
  await server.put('stop');
  await server.waitExit(20_000);
  assert.equal(code, CLIENT_EXIT.PPPD_DIED, await client.diagnostics());
  assert.equal((await client.read('client-status')).trim(), 'pppd-died');
  assert.equal(await clientLink(client, 0), undefined);
  // pppd: EXIT_AUTH_TOPEER_FAILED (19) after the server's CHAP Failure, or
  // EXIT_HANGUP (16) when poptop's hang-up wins the race to pppd's exit.
  assert.match((await client.read('pppd-exit.0')).trim(), /^(19|16)$/, await client.read('ppp0.log'));
  assert.match(await client.read('ppp0.log'), /CHAP Failure .*E=691/);
  assert.match(await client.read('ppp0.log'), /CHAP authentication failed/);
});
