// Wires a server Authenticator to a PeerAuthenticator in memory, recording
// every packet and outcome; a filter can drop packets in either direction.
import { createAuthenticator, createPeerAuthenticator } from '../../src/ppp/auth/index.js';
import type { AuthMethod, AuthOutcome, Authenticator, PeerAuthenticator } from '../../src/ppp/auth/types.js';
import type { SecretEntry } from '../../src/auth/types.js';
import type { RandomSource } from '../../src/util/random.js';
import { FakeClock, StaticBackend, capturedLogger, entry, scriptedRandom } from './auth-fake.js';

export type PeerOutcome = { ok: true; keys?: unknown } | { ok: false; reason: string };

export interface PipeOptions {
  user?: string;
  password?: string;
  secrets?: SecretEntry[];
  maxRetries?: number;
  timeoutMs?: number;
  serverName?: string;
  serverRandom?: RandomSource;
  peerRandom?: RandomSource;
  /** Return true to drop a packet. */
  drop?: (from: 'server' | 'peer', packet: Uint8Array, index: number) => boolean;
  /** Build no peer (scripted tests drive server.input directly). */
  noPeer?: boolean;
}

export interface Pipe {
  server: Authenticator;
  peer?: PeerAuthenticator;
  clock: FakeClock;
  backend: StaticBackend;
  fromServer: Uint8Array[];
  fromPeer: Uint8Array[];
  serverDone: AuthOutcome[];
  peerDone: PeerOutcome[];
  logLines: string[];
}

export function pipe(method: AuthMethod, o: PipeOptions = {}): Pipe {
  const clock = new FakeClock();
  const backend = new StaticBackend(o.secrets ?? [entry('alice', 'correct horse')]);
  const { log, lines } = capturedLogger();
  const p: Pipe = {
    server: undefined as unknown as Authenticator,
    clock, backend, fromServer: [], fromPeer: [], serverDone: [], peerDone: [], logLines: lines,
  };
  let sIdx = 0;
  let pIdx = 0;
  p.server = createAuthenticator(method, {
    serverName: o.serverName ?? 'pptpd',
    backend,
    clock,
    random: o.serverRandom ?? scriptedRandom(),
    log,
    maxRetries: o.maxRetries ?? 0,
    timeoutMs: o.timeoutMs ?? 60_000,
    send: (pkt) => {
      const copy = Uint8Array.from(pkt);
      p.fromServer.push(copy);
      const i = sIdx++;
      if (o.drop?.('server', copy, i)) return;
      queueMicrotask(() => p.peer?.input(copy));
    },
    done: (out) => p.serverDone.push(out),
  });
  p.server.start();
  if (!o.noPeer) {
    p.peer = createPeerAuthenticator(method, {
      user: o.user ?? 'alice',
      password: o.password ?? 'correct horse',
      clock,
      random: o.peerRandom ?? scriptedRandom(),
      send: (pkt) => {
        const copy = Uint8Array.from(pkt);
        p.fromPeer.push(copy);
        const i = pIdx++;
        if (o.drop?.('peer', copy, i)) return;
        queueMicrotask(() => p.server.input(copy));
      },
      done: (out) => p.peerDone.push(out),
    });
  }
  return p;
}

export const msg = (pkt: Uint8Array): string => Buffer.from(pkt.subarray(4)).toString('utf8');
