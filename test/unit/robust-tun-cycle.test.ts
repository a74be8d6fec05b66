// Resource limits on the real TUN datapath (issue 8 part 6; root only, skipped
// loudly otherwise), inside a network namespace this file creates: 300
// connect/disconnect cycles of an in-process client (raw GRE socket on
// 127.0.0.2, GRE engine, client PppLink with MS-CHAPv2/MPPE-128) against the
// session manager with the TUN datapath on 127.0.0.1. Counted before and
// after: pppN interfaces (`ip -j link`), open fds (/proc/self/fd), pool
// addresses, sessions, call ids, datapath calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { rootSkipReason } from '../helpers/netns.js';
import { TestConnection } from '../helpers/session-harness.js';
import { TunTestClient, echoRequest, openTunServer, until, useTestNetns } from '../helpers/tun-netns-client.js';

const skip = rootSkipReason();
if (skip) console.error(`\n*** robust-tun-cycle: ${skip} ***\n`);
const CYCLES = Number(process.env.PPTPD_ROBUST_TUN_CYCLES ?? 300);
const ns = useTestNetns(skip, ['127.0.0.2/8']);

test(`${CYCLES} connect/disconnect cycles on the TUN datapath leak no interface, fd, address or call id`, { skip }, async (t) => {
  let ipUps = 0;
  let ipDowns = 0;
  const server = await openTunServer({ killGraceMs: 2000, scripts: { ipUp: () => void ipUps++, ipDown: () => void ipDowns++ } });
  const { dp, pool, manager, lines, harness: h } = server;
  const client = new TunTestClient();

  const pppIfs = () => ns().ipJson<Array<{ ifname: string }>>('link', 'show').filter((l) => /^ppp\d+$/.test(l.ifname)).length;
  const fds = () => readdirSync('/proc/self/fd').length;
  const count = () => ({
    interfaces: pppIfs(),
    fds: fds(),
    poolFree: pool.free,
    sessions: manager.size,
    callIds: manager.callIds.size,
    dpCalls: dp.callCount,
  });

  // One warm-up cycle first: lazily created things (the /dev/net/tun path,
  // the addon's pollers) are not leaks.
  const cycle = async (i: number): Promise<void> => {
    const conn = new TestConnection(h, '127.0.0.2', '127.0.0.1');
    const peerCallId = 1 + (i % 60000);
    const r = conn.call(peerCallId);
    assert.equal(r.resultCode, 1, `cycle ${i}: call accepted`);
    const call = client.attach(peerCallId, r.callId, 100 + i);
    const { link, replies } = call;
    try {
      link.start();
      await until(() => call.up() !== undefined && manager.list()[0]?.state === 'up', `cycle ${i}: link up`);
      if (i % 25 === 0) {
        link.sendIp(echoRequest(0x0a000101, 0x0a000001, i));
        client.sock.flush();
        await until(() => replies.some((p) => p[9] === 1 && p[20] === 0), `cycle ${i}: echo reply through pppN`);
      }
      // Alternate exit paths: the client clears the call / the TCP connection is gone / admin kill.
      if (i % 3 === 0) conn.feed({ type: 'CCRQ', callId: peerCallId });
      else if (i % 3 === 1) conn.conn.closed();
      else manager.kill('user2');
      await until(() => manager.size === 0, `cycle ${i}: session gone`);
      await manager.settled();
    } finally {
      call.end('cycle over');
    }
  };

  try {
    await cycle(0);
    const before = count();
    assert.equal(before.interfaces, 0);
    const t0 = Date.now();
    for (let i = 1; i <= CYCLES; i++) {
      await cycle(i);
      if (lines.length > 2000) lines.length = 0;
    }
    // Interface removal and fd closes are synchronous in the addon; give libuv a tick anyway.
    await new Promise((r) => setTimeout(r, 20));
    const after = count();
    t.diagnostic(`${CYCLES} TUN cycles in ${Date.now() - t0} ms; before ${JSON.stringify(before)} after ${JSON.stringify(after)}`);
    assert.deepEqual(after, before);
    assert.equal(manager.stats.up, CYCLES + 1);
    assert.equal(manager.stats.down, CYCLES + 1);
    assert.equal(ipUps, CYCLES + 1);
    assert.equal(ipDowns, CYCLES + 1, 'ip-down ran once per session');
  } finally {
    client.close();
    await server.close();
  }
});
