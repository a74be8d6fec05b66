// A ClientConnection wired to the REAL server ControlConnection in memory:
// what one sends is queued and fed to the other by flush(), so neither engine
// re-enters the other. Every byte the client sent is kept for byte-level checks.
import { ClientConnection, type CallEnd, type ClientCall, type ClientConnectionOptions } from '../../src/control/client-connection.js';
import { CallIdAllocator } from '../../src/control/call-ids.js';
import { ControlConnection, type CallDecision, type ControlConnectionOptions, type IncomingCall } from '../../src/control/connection.js';
import { decode } from '../../src/protocol/pptp/codec.js';
import type { PptpMessage } from '../../src/protocol/pptp/messages.js';
import { silentLogger } from '../../src/util/log.js';
import { FakeClock } from './fake-clock.js';

export interface ClientPair {
  clock: FakeClock;
  client: ClientConnection;
  server: ControlConnection;
  /** Raw bytes the client sent, one entry per send(). */
  clientRaw: Buffer[];
  /** Decoded messages the server sent. */
  serverSent: PptpMessage[];
  clientCloses: string[];
  serverCloses: string[];
  /** Calls the server's session layer saw / cleared. */
  serverCalls: IncomingCall[];
  serverCleared: Array<[number, string]>;
  /** onCallDisconnected on the client. */
  ended: Array<[ClientCall, CallEnd]>;
  decide: (call: IncomingCall) => CallDecision;
  /** Delivers queued bytes both ways until the wire is quiet; then lets promise callbacks run. */
  flush(): Promise<void>;
  /** Bytes for the client from a hand-written server (bypassing the real one). */
  injectToClient(bytes: Uint8Array): void;
}

export function makeClientPair(
  o: { client?: Partial<ClientConnectionOptions>; server?: Partial<ControlConnectionOptions> } = {},
): ClientPair {
  const clock = new FakeClock(5_000);
  const toServer: Uint8Array[] = [];
  const toClient: Uint8Array[] = [];
  const p: ClientPair = {
    clock,
    client: undefined as unknown as ClientConnection,
    server: undefined as unknown as ControlConnection,
    clientRaw: [],
    serverSent: [],
    clientCloses: [],
    serverCloses: [],
    serverCalls: [],
    serverCleared: [],
    ended: [],
    decide: () => ({ accept: true }),
    async flush() {
      for (let round = 0; round < 1000; round++) {
        if (toServer.length === 0 && toClient.length === 0) {
          // Let resolved promises run; they may send more.
          await new Promise((r) => setImmediate(r));
          if (toServer.length === 0 && toClient.length === 0) return;
        }
        while (toServer.length > 0) p.server.input(toServer.shift()!);
        while (toClient.length > 0) p.client.input(toClient.shift()!);
      }
      throw new Error('wire never went quiet');
    },
    injectToClient(bytes) {
      toClient.push(Uint8Array.from(bytes));
    },
  };
  p.client = new ClientConnection({
    clock,
    log: silentLogger,
    send(bytes) {
      p.clientRaw.push(Buffer.from(bytes));
      toServer.push(Uint8Array.from(bytes));
    },
    close(reason) {
      p.clientCloses.push(reason);
    },
    onCallDisconnected(call, end) {
      p.ended.push([call, end]);
    },
    ...o.client,
  });
  p.server = new ControlConnection({
    clock,
    log: silentLogger,
    peer: '192.0.2.9:41000',
    hostName: 'pptpd',
    vendor: 'pptpd-ts',
    stimeoutMs: 10_000,
    callIds: new CallIdAllocator(0x100),
    send(bytes) {
      p.serverSent.push(decode(bytes));
      toClient.push(Uint8Array.from(bytes));
    },
    close(reason) {
      p.serverCloses.push(reason);
    },
    onCall(call) {
      p.serverCalls.push(call);
      return p.decide(call);
    },
    onCallCleared(callId, reason) {
      p.serverCleared.push([callId, reason]);
    },
    ...o.server,
  });
  return p;
}
