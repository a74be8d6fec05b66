// logwtmp end to end: real PPTP clients (the load generator) against the
// server stack on the real TUN datapath in a network namespace, the real
// WtmpWriter appending to a temporary wtmp file, and the real utmpdump
// reading it back: one login per session (pppN, user, outer address) and
// one logout for the same line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from '../../bench/loadgen/run.js';
import { ControlServer } from '../../src/control/server.js';
import { openTunDatapath } from '../../src/datapath/tun/index.js';
import { AddressPool } from '../../src/ippool/pool.js';
import { WtmpWriter } from '../../src/scripts/wtmp.js';
import { SessionManager } from '../../src/session/manager.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { systemRandom } from '../../src/util/random.js';
import { rootSkipReason, TestNetns } from '../helpers/netns.js';
import { POLICY, tableBackend } from '../helpers/session-harness.js';

const UTMPDUMP = '/usr/bin/utmpdump';
const skip = rootSkipReason() || (existsSync(UTMPDUMP) ? false : 'utmpdump (util-linux) is not installed');

test('logwtmp: real sessions write login + logout records that utmpdump reads', { skip, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wtmp-netns-'));
  const file = join(dir, 'wtmp');
  writeFileSync(file, '');
  const ns = TestNetns.create();
  try {
    ns.ip('addr', 'add', '10.79.0.1/32', 'dev', 'lo');
    ns.ip('addr', 'add', '10.79.0.2/32', 'dev', 'lo');
    ns.enter();
    const datapath = await openTunDatapath({ clock: systemClock, log: silentLogger, bindAddress: '10.79.0.1' });
    const n = 2;
    const pool = new AddressPool(
      Array.from({ length: n }, () => 0x0a500001), // localip 10.80.0.1
      Array.from({ length: n }, (_, i) => 0x0a500101 + i), // remoteip 10.80.1.1 …
    );
    const wtmp = new WtmpWriter({ log: silentLogger, path: file });
    const manager = new SessionManager({
      config: { policy: POLICY, connections: n }, pool, backend: tableBackend({ alice: 'alicePass' }),
      datapath, clock: systemClock, random: systemRandom, log: silentLogger, wtmp,
    });
    const server = new ControlServer({
      listen: ['10.79.0.1'], port: 0, hostName: 'pptpd', vendor: 'pptpd-ts', stimeoutMs: 10_000,
      handler: manager, clock: systemClock, log: silentLogger,
    });
    await server.start();
    const before = Math.floor(Date.now() / 1000);
    try {
      const summary = await runLoad({
        server: '10.79.0.1', port: server.addresses()[0]!.port, bind: '10.79.0.2',
        sessions: n, concurrency: n, perConnection: 1,
        users: [{ user: 'alice', password: 'alicePass' }],
        holdMs: 200, setupTimeoutMs: 10_000,
      });
      assert.equal(summary.up, n, JSON.stringify(summary.failures));
      await manager.settled();
      await wtmp.flush();
    } finally {
      await manager.shutdown();
      await wtmp.flush();
      await server.stop();
      await datapath.close();
    }
    const after = Math.ceil(Date.now() / 1000);
    assert.equal(readFileSync(file).length, 2 * n * 384);
    const r = spawnSync(UTMPDUMP, [file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' } });
    assert.equal(r.status, 0, r.stderr);
    // [type] [pid] [id] [user] [line] [host] [addr] [time]
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('['))
      .map((l) => [...l.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]!.trim()));
    assert.equal(rows.length, 2 * n, r.stdout);
    const logins = rows.filter((x) => x[0] === '7');
    const logouts = rows.filter((x) => x[0] === '8');
    assert.equal(logins.length, n);
    assert.equal(logouts.length, n);
    for (const x of rows) {
      assert.equal(Number(x[1]), process.pid);
      assert.match(x[4]!, /^ppp\d+$/);
      const t = Date.parse(x[7]!.replace(',', '.'));
      assert.ok(t / 1000 >= before && t / 1000 <= after, `time ${x[7]} within the run`);
    }
    for (const x of logins) assert.deepEqual([x[3], x[5], x[6]], ['alice', '10.79.0.2', '10.79.0.2']);
    for (const x of logouts) assert.deepEqual([x[3], x[5], x[6]], ['', '', '0.0.0.0']);
    // Each line logged in once and out once, login first.
    const lines = logins.map((x) => x[4]!).sort();
    assert.equal(new Set(lines).size, n);
    assert.deepEqual(logouts.map((x) => x[4]!).sort(), lines);
    for (const l of lines) {
      const i = rows.findIndex((x) => x[4] === l && x[0] === '7');
      const o = rows.findIndex((x) => x[4] === l && x[0] === '8');
      assert.ok(i < o, `${l}: login before logout`);
    }
  } finally {
    ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
