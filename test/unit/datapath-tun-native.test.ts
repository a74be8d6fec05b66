// The TUN datapath for real (root only; skipped loudly otherwise), inside a
// network namespace this file creates: the server's raw GRE socket on
// 127.0.0.1, an in-process PPTP client (our own GRE engine + client PppLink
// with MS-CHAPv2/MPPE-128) on 127.0.0.2. The client pings the server's
// tunnel address; the kernel answers through the pppN TUN interface.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rootSkipReason } from '../helpers/netns.js';
import { TestConnection } from '../helpers/session-harness.js';
import { TunTestClient, echoRequest, openTunServer, until, useTestNetns } from '../helpers/tun-netns-client.js';

const skip = rootSkipReason();
if (skip) console.error(`\n*** datapath-tun-native: ${skip} ***\n`);
const ns = useTestNetns(skip);

test('a client pings the server through GRE, MPPE and a real pppN TUN interface; kill removes it', { skip }, async () => {
  const server = await openTunServer();
  const { manager, pool, lines, harness } = server;
  const conn = new TestConnection(harness, '127.0.0.2', '127.0.0.1');

  // The client: its own raw socket, GRE engine and PPP link.
  const client = new TunTestClient();
  const r = conn.call(0x9c40);
  assert.equal(r.resultCode, 1);
  // The OCRP carried 0x9c40 as the client's call id.
  assert.equal(r.peerCallId, 0x9c40);
  const call = client.attach(0x9c40, r.callId, 4);
  const { link, replies } = call;

  try {
    link.start();
    await until(() => call.up() !== undefined && manager.list()[0]?.state === 'up', 'link up');
    const [s] = manager.list();
    assert.match(s!.ifname, /^ppp\d+$/);
    assert.equal(s!.peer, '10.0.1.1');
    assert.equal(s!.mppe, '128-bit stateless');
    const ifs = ns().ipJson<Array<{ ifname: string; mtu: number; flags: string[]; addr_info: Array<{ local: string; address?: string }> }>>('addr', 'show', 'dev', s!.ifname);
    assert.equal(ifs[0]!.mtu, 1400);
    assert.ok(ifs[0]!.flags.includes('UP'));
    assert.ok(ifs[0]!.flags.includes('POINTOPOINT'));
    assert.equal(ifs[0]!.addr_info[0]!.local, '10.0.0.1');

    // Ping the server's tunnel address from the client's.
    for (let seq = 1; seq <= 3; seq++) link.sendIp(echoRequest(0x0a000101, 0x0a000001, seq));
    client.sock.flush();
    const icmp = () => replies.filter((p) => p[0] === 0x45 && p[9] === 1);
    await until(() => icmp().length >= 3, 'three echo replies');
    assert.ok(replies.every((p) => p[0]! >> 4 === 4), 'nothing but IPv4 reaches the client');
    for (const rep of icmp()) {
      assert.equal(rep[9], 1, 'ICMP');
      assert.equal(rep[20], 0, 'echo reply');
      assert.equal(Buffer.from(rep.subarray(12, 20)).toString('hex'), '0a0000010a000101');
    }
    const counters = manager.list()[0]!;
    assert.equal(counters.rxBytes, 3 * 28);
    assert.ok(counters.txBytes >= 3 * 28);

    assert.equal(manager.kill(s!.ifname), 1);
    await until(() => manager.size === 0, 'session gone');
    await manager.settled();
    const links = ns().ipJson<Array<{ ifname: string }>>('link', 'show');
    assert.ok(!links.some((l) => l.ifname === s!.ifname), 'interface removed');
  } catch (e) {
    throw new Error(`${(e as Error).message}\nlog:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
  } finally {
    call.end('test over');
    client.close();
    await server.close();
  }
  assert.equal(pool.free, 1);
  assert.equal(lines.filter((l) => l.msg === 'session down').length, 1);
});
