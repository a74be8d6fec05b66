// The PPTP TCP server on 127.0.0.1 with an ephemeral port: real sockets,
// real ControlConnections, a recording stand-in for the session layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallIdAllocator } from '../../src/control/call-ids.js';
import type { CallDecision, IncomingCall } from '../../src/control/connection.js';
import { ControlServer, normalizeAddress, type CallHandler } from '../../src/control/server.js';
import { PptpdError } from '../../src/util/errors.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { SCCRQ, ocrq } from '../helpers/pptp-harness.js';
import { FakeDatapath } from '../../src/datapath/fake/index.js';
import { AddressPool } from '../../src/ippool/pool.js';
import { SessionManager } from '../../src/session/manager.js';
import { seededRandom } from '../../src/util/random.js';
import { POLICY, tableBackend } from '../helpers/session-harness.js';
import { TcpPptpClient } from '../helpers/session-tcp-client.js';

class RecordingHandler implements CallHandler {
  readonly callIds = new CallIdAllocator();
  readonly calls: Array<{ call: IncomingCall; client: string; local: string }> = [];
  readonly cleared: Array<[number, string]> = [];
  decision: CallDecision = { accept: true };
  onCall(_c: unknown, call: IncomingCall, client: string, local: string): CallDecision {
    this.calls.push({ call, client, local });
    return this.decision;
  }
  onCallCleared(_c: unknown, callId: number, reason: string): void {
    this.cleared.push([callId, reason]);
  }
}

async function started(extra: Partial<ConstructorParameters<typeof ControlServer>[0]> = {}) {
  const handler = new RecordingHandler();
  const server = new ControlServer({
    listen: ['127.0.0.1'],
    port: 0,
    hostName: 'test-host',
    vendor: 'pptpd-ts',
    stimeoutMs: 10_000,
    handler,
    clock: systemClock,
    log: silentLogger,
    flushTimeoutMs: 200,
    ...extra,
  });
  await server.start();
  const port = server.addresses()[0]!.port;
  return { server, handler, port };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

test('SCCRQ → SCCRP over TCP; OCRQ → session layer (client and local address) → OCRP; TCP close clears the call', async () => {
  const { server, handler, port } = await started();
  try {
    const c = await TcpPptpClient.open(port);
    c.send(SCCRQ);
    const sccrp = await c.next('SCCRP');
    assert.equal(sccrp.resultCode, 1);
    assert.equal(sccrp.protocolVersion, 0x0100);
    assert.equal(sccrp.hostName, 'test-host');
    assert.equal(sccrp.vendor, 'pptpd-ts');
    assert.equal(c.socket.remoteAddress, '127.0.0.1');

    c.send(ocrq(0x1111), ocrq(0x2222));
    const r1 = await c.next('OCRP');
    const r2 = await c.next('OCRP');
    assert.equal(r1.resultCode, 1);
    assert.equal(r1.peerCallId, 0x1111);
    assert.equal(r2.peerCallId, 0x2222);
    assert.notEqual(r1.callId, r2.callId);
    assert.deepEqual(handler.calls.map((x) => [x.call.peerCallId, x.client, x.local]), [
      [0x1111, '127.0.0.1', '127.0.0.1'],
      [0x2222, '127.0.0.1', '127.0.0.1'],
    ]);
    assert.equal(handler.callIds.size, 2);

    // pptp-linux style: TCP closed without StopCCRQ → both calls cleared, ids released.
    c.destroy();
    await waitFor(() => handler.cleared.length === 2, 'calls cleared');
    assert.deepEqual(handler.cleared.map((x) => x[0]).sort(), [r1.callId, r2.callId].sort());
    assert.equal(handler.callIds.size, 0);
    await waitFor(() => server.connections === 0, 'connection gone');
    assert.equal(server.stats.open, 0);
  } finally {
    await server.stop();
  }
});

test('refusal from the session layer reaches the client as OCRP result', async () => {
  const { server, handler, port } = await started();
  try {
    handler.decision = { accept: false, result: 4, reason: 'address pool exhausted' };
    const c = await TcpPptpClient.open(port);
    c.send(SCCRQ, ocrq(5));
    const r = await c.next('OCRP');
    assert.equal(r.resultCode, 4);
    assert.equal(r.callId, 0);
    assert.equal(handler.callIds.size, 0);
    c.destroy();
  } finally {
    await server.stop();
  }
});

test('per-source limit on connections that have not sent SCCRQ yet', async () => {
  const { server, port } = await started({ perSourcePending: 2 });
  try {
    const a = await TcpPptpClient.open(port);
    const b = await TcpPptpClient.open(port);
    await waitFor(() => server.connections === 2, 'two accepted');
    const refused = await TcpPptpClient.open(port);
    await refused.closedByServer();
    assert.equal(server.stats.rejected.perSourcePending, 1);
    // Once one of them speaks, a new connection is allowed again.
    a.send(SCCRQ);
    await a.next('SCCRP');
    const d = await TcpPptpClient.open(port);
    d.send(SCCRQ);
    assert.equal((await d.next('SCCRP')).resultCode, 1);
    assert.equal(server.stats.rejected.perSourcePending, 1);
    for (const x of [a, b, d]) x.destroy();
    await waitFor(() => server.connections === 0, 'all gone');
  } finally {
    await server.stop();
  }
});

test('per-source limit on all control connections, and the global cap', async () => {
  const { server, port } = await started({ perSourceTotal: 2, maxConnections: 3 });
  try {
    const cs: TcpPptpClient[] = [];
    for (let i = 0; i < 2; i++) {
      const c = await TcpPptpClient.open(port);
      c.send(SCCRQ);
      await c.next('SCCRP');
      cs.push(c);
    }
    const third = await TcpPptpClient.open(port);
    await third.closedByServer();
    assert.equal(server.stats.rejected.perSourceTotal, 1);
    cs.pop()!.destroy();
    await waitFor(() => server.connections === 1, 'one left');
    const again = await TcpPptpClient.open(port);
    again.send(SCCRQ);
    assert.equal((await again.next('SCCRP')).resultCode, 1);
    for (const c of [...cs, again]) c.destroy();
  } finally {
    await server.stop();
  }
  // Global cap, with a generous per-source limit.
  const g = await started({ maxConnections: 1 });
  try {
    const one = await TcpPptpClient.open(g.port);
    await waitFor(() => g.server.connections === 1, 'accepted');
    const two = await TcpPptpClient.open(g.port);
    await two.closedByServer();
    assert.equal(g.server.stats.rejected.global, 1);
    one.destroy();
  } finally {
    await g.server.stop();
  }
});

test('stimeout: a connection that never sends SCCRQ is closed', async () => {
  const { server, port } = await started({ stimeoutMs: 100 });
  try {
    const t0 = Date.now();
    const c = await TcpPptpClient.open(port);
    await c.closedByServer(3000);
    assert.ok(Date.now() - t0 >= 90, 'not before stimeout');
    assert.equal(c.received.length, 0);
    await waitFor(() => server.connections === 0, 'connection gone');
  } finally {
    await server.stop();
  }
});

test('garbage closes the connection', async () => {
  const { server, port } = await started();
  try {
    const c = await TcpPptpClient.open(port);
    c.socket.write(Buffer.from('GET / HTTP/1.0\r\n\r\n'));
    await c.closedByServer();
    await waitFor(() => server.connections === 0, 'connection gone');
  } finally {
    await server.stop();
  }
});

test('stop(): StopCCRQ to established clients, listeners closed, resolves when sockets are gone', async () => {
  const { server, port, handler } = await started();
  const c = await TcpPptpClient.open(port);
  c.send(SCCRQ, ocrq(9));
  await c.next('OCRP');
  const stopping = server.stop();
  const cdn = await c.next('CDN');
  assert.equal(cdn.resultCode, 3);
  const stop = await c.next('StopCCRQ');
  assert.equal(stop.reason, 3);
  c.send({ type: 'StopCCRP', resultCode: 1, errorCode: 0 });
  await c.closedByServer();
  await stopping;
  assert.equal(server.connections, 0);
  assert.equal(handler.cleared.length, 1);
  await assert.rejects(TcpPptpClient.open(port));
});

test('bind errors name the address and port', async () => {
  const { server, port } = await started();
  try {
    const second = new ControlServer({
      listen: ['127.0.0.1'], port, hostName: 'x', vendor: 'y', stimeoutMs: 1000,
      handler: new RecordingHandler(), clock: systemClock, log: silentLogger,
    });
    await assert.rejects(second.start(), (e: unknown) =>
      e instanceof PptpdError && e.code === 'ERR_LISTEN' && e.message.includes(`127.0.0.1:${port}`) && /already in use/.test(e.message));
    const bad = new ControlServer({
      listen: ['192.0.2.77'], port: 0, hostName: 'x', vendor: 'y', stimeoutMs: 1000,
      handler: new RecordingHandler(), clock: systemClock, log: silentLogger,
    });
    await assert.rejects(bad.start(), /cannot listen on 192\.0\.2\.77:0: no such address/);
  } finally {
    await server.stop();
  }
});

test('normalizeAddress strips the v4-mapped prefix only', () => {
  assert.equal(normalizeAddress('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(normalizeAddress('2001:db8::1'), '2001:db8::1');
  assert.equal(normalizeAddress(undefined), '');
});

test('with the session manager: a call over TCP becomes a session; the socket reset tears it down', async () => {
  const datapath = new FakeDatapath();
  const pool = new AddressPool([0x0a000001, 0x0a000001], [0x0a000101, 0x0a000102]);
  const manager = new SessionManager({
    config: { policy: POLICY, connections: 10 }, pool, backend: tableBackend({}), datapath,
    clock: systemClock, random: seededRandom(1), log: silentLogger,
  });
  const server = new ControlServer({
    listen: ['127.0.0.1'], port: 0, hostName: 'h', vendor: 'v', stimeoutMs: 5000,
    handler: manager, clock: systemClock, log: silentLogger,
  });
  await server.start();
  try {
    const c = await TcpPptpClient.open(server.addresses()[0]!.port);
    c.send(SCCRQ, ocrq(0x77));
    const r = await c.next('OCRP');
    assert.equal(r.resultCode, 1);
    assert.equal(manager.size, 1);
    const [call] = [...datapath.calls.values()];
    assert.equal(call!.params.clientAddress, '127.0.0.1');
    assert.equal(call!.params.callId, r.callId);
    c.destroy();
    await waitFor(() => manager.size === 0, 'session torn down');
    await manager.settled();
    assert.equal(datapath.calls.size, 0);
    assert.equal(manager.callIds.size, 0);
    assert.equal(pool.free, 2);
  } finally {
    await manager.shutdown();
    await server.stop();
  }
});

test('a control connection reset by the client (RST) says so in the calls\' end reason', async () => {
  const { createConnection } = await import('node:net');
  const { FakeDatapath } = await import('../../src/datapath/fake/fake-datapath.js');
  const { AddressPool } = await import('../../src/ippool/pool.js');
  const { SessionManager } = await import('../../src/session/manager.js');
  const { encode } = await import('../../src/protocol/pptp/codec.js');
  const { POLICY, SCCRQ, ocrq, tableBackend, captureLog } = await import('../helpers/session-harness.js');
  const { systemClock } = await import('../../src/util/clock.js');
  const { seededRandom } = await import('../../src/util/random.js');
  const { log, lines } = captureLog();
  const manager = new SessionManager({
    config: { policy: POLICY, connections: 4 },
    pool: new AddressPool([0x0a000001], [0x0a000101]),
    backend: tableBackend({}), datapath: new FakeDatapath({}), clock: systemClock, random: seededRandom(3), log,
  });
  const server = new ControlServer({ listen: ['127.0.0.1'], port: 0, hostName: 'h', vendor: 'v', stimeoutMs: 10_000, handler: manager, clock: systemClock, log });
  await server.start();
  try {
    const sock = createConnection(server.addresses()[0]!.port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(Buffer.concat([encode(SCCRQ), encode(ocrq(0x55))]));
    const end = Date.now() + 5000;
    while (manager.size === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(manager.size, 1);
    sock.resetAndDestroy(); // SO_LINGER 0: the kernel sends RST
    while (!lines.some((l) => l.msg === 'session down') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const down = lines.find((l) => l.msg === 'session down');
    assert.ok(down);
    assert.equal(down.reason, 'control connection reset by the client (TCP RST)');
  } finally {
    await manager.shutdown();
    await server.stop();
  }
});
