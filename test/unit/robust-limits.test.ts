// Resource limits (issue 8 part 6): `connections`, the per-source call limit
// of the control server (over real TCP on 127.0.0.1), and a 10,000-cycle
// connect/disconnect loop with the real engines on the fake datapath that
// counts pool addresses, sessions, call ids, datapath calls and timers before
// and after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlServer } from '../../src/control/server.js';
import { silentLogger } from '../../src/util/log.js';
import { systemClock } from '../../src/util/clock.js';
import { RobustHarness, type RobustClient } from '../helpers/robust-harness.js';
import { ocrq, SCCRQ } from '../helpers/session-harness.js';
import { TcpPptpClient } from '../helpers/session-tcp-client.js';

test('connections: the call beyond the limit gets OCRP busy; a slot freed is usable again', async () => {
  const h = new RobustHarness({ connections: 2 });
  const a = h.dial(h.connect('203.0.113.1'), 0x10);
  h.dial(h.connect('203.0.113.2'), 0x11, 'bob', 'bobPass');
  await h.until(() => a.up !== undefined && h.manager.list().every((s) => s.state === 'up'), 'two up');
  const third = h.connect('203.0.113.3');
  const r = third.call(0x12);
  assert.equal(r.resultCode, 4, 'busy');
  assert.equal(h.manager.stats.refused.limit, 1);
  assert.equal(h.manager.size, 2);
  assert.equal(h.logged('call refused: connection limit reached').length, 1);
  h.manager.kill('bob');
  await h.advance(8000, 1000);
  await h.until(() => h.manager.size === 1 && h.manager.pendingTeardowns === 0, 'bob gone');
  const c = h.dial(third, 0x13);
  await h.until(() => c.up !== undefined, 'a new call fits again');
});

test('per-source call limit over TCP: OCRP busy beyond it, counted; other sources and freed slots work', async () => {
  const calls = new Set<number>();
  let next = 0x100;
  const handler = {
    callIds: new (await import('../../src/control/call-ids.js')).CallIdAllocator(),
    onCall: (_c: unknown, call: { callId: number }) => {
      calls.add(call.callId);
      return { accept: true as const };
    },
    onCallCleared: (_c: unknown, callId: number) => void calls.delete(callId),
  };
  const server = new ControlServer({
    listen: ['127.0.0.1'], port: 0, hostName: 't', vendor: 't', stimeoutMs: 5000,
    perSourceCalls: 3, handler, clock: systemClock, log: silentLogger,
  });
  await server.start();
  const port = server.addresses()[0]!.port;
  try {
    // Two connections from 127.0.0.1 share the source budget of 3 calls.
    const a = await TcpPptpClient.open(port);
    const b = await TcpPptpClient.open(port);
    a.send(SCCRQ);
    b.send(SCCRQ);
    await a.next('SCCRP');
    await b.next('SCCRP');
    a.send(ocrq(next++), ocrq(next++));
    assert.equal((await a.next('OCRP')).resultCode, 1);
    const second = await a.next('OCRP');
    assert.equal(second.resultCode, 1);
    b.send(ocrq(next++));
    assert.equal((await b.next('OCRP')).resultCode, 1);
    b.send(ocrq(next++));
    assert.equal((await b.next('OCRP')).resultCode, 4, 'fourth call from the same address: busy');
    assert.equal(server.stats.callsRefusedPerSource, 1);
    assert.equal(calls.size, 3, 'the refused call never reached the session layer');
    // Clearing one call frees a slot.
    a.send({ type: 'CCRQ', callId: second.peerCallId });
    await a.next('CDN');
    b.send(ocrq(next++));
    assert.equal((await b.next('OCRP')).resultCode, 1);
    // Closing a connection frees all of its calls (and the per-source entry).
    a.destroy();
    b.destroy();
    for (let i = 0; i < 100 && (server.connections > 0 || calls.size > 0); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.connections, 0);
    assert.equal(calls.size, 0);
    const c = await TcpPptpClient.open(port);
    c.send(SCCRQ, ocrq(next++), ocrq(next++), ocrq(next++));
    for (let i = 0; i < 3; i++) assert.equal((await c.next('OCRP')).resultCode, 1, 'budget is whole again');
    c.destroy();
  } finally {
    await server.stop();
  }
});

test('10,000 connect/disconnect cycles with the real engines leak no address, session, call id, datapath call or timer', async (t) => {
  const CYCLES = Number(process.env.PPTPD_ROBUST_CYCLES ?? 10_000);
  const BATCH = 100;
  const h = new RobustHarness({ poolSize: BATCH, connections: BATCH });
  const before = {
    poolFree: h.pool.free,
    sessions: h.manager.size,
    callIds: h.manager.callIds.size,
    dpCalls: h.datapath.calls.size,
    timers: h.clock.pending,
  };
  assert.deepEqual(before, { poolFree: BATCH, sessions: 0, callIds: 0, dpCalls: 0, timers: 0 });
  const t0 = Date.now();
  let up = 0;
  let peer = 1;
  const conns = Array.from({ length: BATCH }, (_, i) => h.connect(`198.18.${i >> 8}.${(i & 255) + 1}`));
  for (let done = 0; done < CYCLES; done += BATCH) {
    const n = Math.min(BATCH, CYCLES - done);
    const batch: RobustClient[] = [];
    for (let i = 0; i < n; i++) batch.push(h.dial(conns[i]!, peer++ & 0xffff));
    await h.until(() => batch.every((c) => c.up !== undefined) && h.manager.list().every((s) => s.state === 'up'), `batch ${done} up`, 2000);
    up += n;
    // Alternate the exit paths: client clears the call (CCRQ) / TCP gone / admin kill.
    const mode = (done / BATCH) % 3;
    for (let i = 0; i < n; i++) {
      const c = batch[i]!;
      if (mode === 0) conns[i]!.feed({ type: 'CCRQ', callId: c.call.params.peerCallId });
      else if (mode === 1) conns[i]!.conn.closed();
      else h.manager.kill(String(c.up!.local));
    }
    if (mode === 2) {
      // LCP Terminate-Request → the client acks → down.
      await h.until(() => h.manager.size === 0, `batch ${done} killed`, 2000);
    }
    await h.until(() => h.manager.size === 0 && h.manager.pendingTeardowns === 0, `batch ${done} down`, 2000);
    for (const c of batch) c.link.lowerDown('cycle over'); // the clients' own timers
    if (mode === 1) for (let i = 0; i < n; i++) conns[i] = h.connect(`198.18.${i >> 8}.${(i & 255) + 1}`);
    h.clients.length = 0;
    h.lines.length = 0; // the log is captured in memory: keep the test's own footprint flat
  }
  const after = {
    poolFree: h.pool.free,
    sessions: h.manager.size,
    callIds: h.manager.callIds.size,
    dpCalls: h.datapath.calls.size,
    timers: h.clock.pending,
  };
  assert.equal(up, CYCLES);
  assert.equal(h.manager.stats.up, CYCLES);
  assert.equal(h.manager.stats.down, CYCLES);
  assert.equal(h.ipUp.length, CYCLES);
  assert.equal(h.ipDown.length, CYCLES);
  assert.deepEqual(after, before);
  t.diagnostic(`${CYCLES} cycles in ${Date.now() - t0} ms; before ${JSON.stringify(before)} after ${JSON.stringify(after)}`);
});
