// The load generator against the real server stack on the REAL TUN datapath,
// as root, inside a network namespace of its own: the server's raw GRE socket
// bound to 10.77.0.1, the load generator's to 10.77.0.2 (both on the
// namespace's loopback, so the kernel delivers each GRE packet to the socket
// bound to its destination), one pppN TUN interface per session, and pings
// answered by the kernel through each encrypted tunnel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runLoad } from '../../bench/loadgen/run.js';
import { ControlServer } from '../../src/control/server.js';
import { openTunDatapath } from '../../src/datapath/tun/index.js';
import { AddressPool } from '../../src/ippool/pool.js';
import { SessionManager } from '../../src/session/manager.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { systemRandom } from '../../src/util/random.js';
import { rootSkipReason, TestNetns } from '../helpers/netns.js';
import { POLICY, tableBackend } from '../helpers/session-harness.js';

const skip = rootSkipReason();

test('loadgen → real TUN datapath in a netns: sessions up, kernel answers pings, interfaces gone after', { skip }, async () => {
  const ns = TestNetns.create();
  try {
    ns.ip('addr', 'add', '10.77.0.1/32', 'dev', 'lo');
    ns.ip('addr', 'add', '10.77.0.2/32', 'dev', 'lo');
    ns.enter();
    const datapath = await openTunDatapath({ clock: systemClock, log: silentLogger, bindAddress: '10.77.0.1' });
    const n = 4;
    const pool = new AddressPool(
      Array.from({ length: n }, () => 0x0a4e0001), // localip 10.78.0.1 shared
      Array.from({ length: n }, (_, i) => 0x0a4e0101 + i), // remoteip 10.78.1.1 …
    );
    const manager = new SessionManager({
      config: { policy: POLICY, connections: n }, pool, backend: tableBackend({ alice: 'alicePass' }),
      datapath, clock: systemClock, random: systemRandom, log: silentLogger,
    });
    const server = new ControlServer({
      listen: ['10.77.0.1'], port: 0, hostName: 'pptpd', vendor: 'pptpd-ts', stimeoutMs: 10_000,
      handler: manager, clock: systemClock, log: silentLogger,
    });
    await server.start();
    try {
      let linksWhileUp: string[] = [];
      const summary = await runLoad({
        server: '10.77.0.1', port: server.addresses()[0]!.port, bind: '10.77.0.2',
        sessions: n, concurrency: n, perConnection: 2,
        users: [{ user: 'alice', password: 'alicePass' }],
        holdMs: 500, pingIntervalMs: 100, setupTimeoutMs: 10_000,
        afterAllSettled: () => {
          linksWhileUp = ns.ipJson<Array<{ ifname: string }>>('link', 'show').map((l) => l.ifname).filter((x) => x.startsWith('ppp'));
        },
      });
      assert.equal(summary.up, n, JSON.stringify(summary.failures));
      assert.deepEqual(summary.drops, {});
      assert.equal(linksWhileUp.length, n, `pppN interfaces while up: ${linksWhileUp.join(',')}`);
      assert.ok(summary.ping && summary.ping.sent >= n);
      assert.ok(summary.ping!.received >= summary.ping!.sent - n, `kernel answered ${summary.ping!.received}/${summary.ping!.sent}`);
      assert.ok(summary.ping!.received > 0);
      await manager.settled();
      assert.equal(manager.size, 0);
      assert.equal(pool.free, n);
      const left = ns.ipJson<Array<{ ifname: string }>>('link', 'show').filter((l) => l.ifname.startsWith('ppp'));
      assert.deepEqual(left, [], 'no pppN interface left behind');
    } finally {
      await manager.shutdown();
      await server.stop();
      await datapath.close();
    }
  } finally {
    ns.destroy();
  }
});
