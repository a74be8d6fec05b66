// The real server stack in process for load-generator tests: ControlServer on
// 127.0.0.1 (ephemeral port) → SessionManager (real PPP, MS-CHAPv2, MPPE,
// address pool) → TUN datapath whose raw GRE socket is one end of an
// in-memory GreWire and whose interfaces answer pings like the kernel.
import { ControlServer } from '../../src/control/server.js';
import { TunDatapath } from '../../src/datapath/tun/tun-datapath.js';
import { AddressPool } from '../../src/ippool/pool.js';
import { SessionManager } from '../../src/session/manager.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { systemRandom } from '../../src/util/random.js';
import { EchoTunHost } from './client-echo-tun.js';
import { GreWire } from './client-gre-wire.js';
import { POLICY, tableBackend } from './session-harness.js';

export const LOOPBACK = 0x7f000001;

export interface ServerStack {
  port: number;
  wire: GreWire;
  tuns: EchoTunHost;
  pool: AddressPool;
  manager: SessionManager;
  server: ControlServer;
  datapath: TunDatapath;
  stop(): Promise<void>;
}

export async function startServerStack(o: { poolSize?: number; connections?: number; users?: Record<string, string> } = {}): Promise<ServerStack> {
  const n = o.poolSize ?? 16;
  const wire = new GreWire(LOOPBACK, LOOPBACK);
  const tuns = new EchoTunHost();
  const datapath = new TunDatapath({ clock: systemClock, log: silentLogger, raw: wire.server, openTun: tuns.opener });
  // localip 10.9.0.1 shared, remoteip 10.9.1.1 … 10.9.1.n
  const pool = new AddressPool(
    Array.from({ length: n }, () => 0x0a090001),
    Array.from({ length: n }, (_, i) => 0x0a090101 + i),
  );
  const manager = new SessionManager({
    config: { policy: POLICY, connections: o.connections ?? n },
    pool,
    backend: tableBackend(o.users ?? { alice: 'alicePass', bob: 'bobPass' }),
    datapath,
    clock: systemClock,
    random: systemRandom,
    log: silentLogger,
  });
  const server = new ControlServer({
    listen: ['127.0.0.1'], port: 0, hostName: 'pptpd', vendor: 'pptpd-ts', stimeoutMs: 10_000,
    perSourcePending: 64, perSourceTotal: 256,
    handler: manager, clock: systemClock, log: silentLogger,
  });
  await server.start();
  const port = server.addresses()[0]!.port;
  return {
    port, wire, tuns, pool, manager, server, datapath,
    async stop() {
      await manager.shutdown();
      await server.stop();
      await datapath.close();
    },
  };
}
