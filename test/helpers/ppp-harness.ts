// Test helpers for the PPP engine: policies, an in-memory secrets back-end,
// hex frames, and a queued in-memory pipe between a server and a client link
// (queued, so frames are delivered in order and never re-entrantly).
import type { AuthBackend, SecretEntry } from '../../src/auth/types.js';
import { MppeCodec } from '../../src/crypto/mppe.js';
import { PppClientLink, PppLink, type LinkUpInfo, type PppPolicy } from '../../src/ppp/link.js';
import { DEFAULT_PPP_POLICY } from '../../src/ppp/types.js';
import { silentLogger } from '../../src/util/log.js';
import { seededRandom } from '../../src/util/random.js';
import { FakeClock } from './fake-clock.js';
import type { Authenticator, AuthenticatorContext, MppeKeyMaterial } from '../../src/ppp/auth/types.js';
import type { LinkHooks, LinkOptions } from '../../src/ppp/types.js';
import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';

export { FakeClock };

/** Hex with spaces, newlines and `#…` comments to the end of a line. */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (clean.length % 2) throw new Error(`odd hex: ${clean}`);
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export function policy(over: Partial<PppPolicy> = {}): PppPolicy {
  return { ...DEFAULT_PPP_POLICY, auth: ['mschapv2'], dns: ['8.8.8.8', '8.8.4.4'], ...over };
}

export function backend(users: Record<string, string>, addresses: SecretEntry['addresses'] = []): AuthBackend {
  return {
    async lookup(client, server) {
      if (!(client in users)) return undefined;
      return { client, server, secret: users[client], addresses, source: 'test:1' };
    },
  };
}

export interface Side {
  link: PppLink;
  sent: Uint8Array[];
  ups: LinkUpInfo[];
  downs: string[];
  ips: Uint8Array[];
}

export interface PairOptions {
  server?: Partial<PppPolicy>;
  client?: Partial<PppPolicy>;
  users?: Record<string, string>;
  user?: string;
  password?: string;
  requestAddress?: string;
  pool?: { local: string; peer: string } | { error: string };
  /** Drops (returns false) or lets a frame through; direction 'c2s' or 's2c'. */
  filter?: (dir: 'c2s' | 's2c', frame: Uint8Array) => boolean;
  serverDataMode?: 'userspace' | 'kernel';
  clock?: FakeClock;
  /** Extra server hooks (kernel-mode MPPE hooks). */
  serverHooks?: Pick<LinkHooks, 'kernelMppeKeys' | 'kernelMppeUp'>;
}

export interface Pair {
  clock: FakeClock;
  server: Side;
  client: Side;
  assigned: Array<{ user: string; requested?: string }>;
  /** Delivers queued frames (and lets promises settle) until quiet. */
  settle(): Promise<void>;
}

export function makePair(o: PairOptions = {}): Pair {
  const clock = o.clock ?? new FakeClock();
  const queue: Array<{ to: 'server' | 'client'; frame: Uint8Array }> = [];
  const assigned: Pair['assigned'] = [];
  const mk = (): Side => ({ link: undefined as unknown as PppLink, sent: [], ups: [], downs: [], ips: [] });
  const server = mk();
  const client = mk();
  server.link = new PppLink({
    policy: policy(o.server),
    backend: backend(o.users ?? { alice: 'secret-pw' }),
    clock,
    random: seededRandom(1),
    log: silentLogger,
    dataMode: o.serverDataMode ?? 'userspace',
    hooks: {
      send(f) {
        const c = f.slice();
        server.sent.push(c);
        if (!o.filter || o.filter('s2c', c)) queue.push({ to: 'client', frame: c });
      },
      assignAddress(req) {
        assigned.push({ user: req.user, requested: req.requested });
        if (req.requested) return req.requested === '10.0.0.77' ? { local: '10.0.0.1', peer: '10.0.0.77' } : { error: 'not allowed' };
        return o.pool ?? { local: '10.0.0.1', peer: '10.0.0.2' };
      },
      onUp: (i) => server.ups.push(i),
      onDown: (r) => server.downs.push(r),
      onIp: (p) => server.ips.push(p.slice()),
      ...o.serverHooks,
    },
  });
  client.link = new PppClientLink({
    policy: policy({ name: 'client', ...o.client }),
    clock,
    random: seededRandom(2),
    log: silentLogger,
    dataMode: 'userspace',
    credentials: { user: o.user ?? 'alice', password: o.password ?? 'secret-pw' },
    requestAddress: o.requestAddress,
    hooks: {
      send(f) {
        const c = f.slice();
        client.sent.push(c);
        if (!o.filter || o.filter('c2s', c)) queue.push({ to: 'server', frame: c });
      },
      onUp: (i) => client.ups.push(i),
      onDown: (r) => client.downs.push(r),
      onIp: (p) => client.ips.push(p.slice()),
    },
  });
  const settle = async () => {
    for (let round = 0; round < 200; round++) {
      let n = 0;
      while (queue.length && n < 10_000) {
        const { to, frame } = queue.shift()!;
        (to === 'server' ? server : client).link.input(frame);
        n++;
      }
      await new Promise((r) => setImmediate(r));
      if (!queue.length) {
        await new Promise((r) => setImmediate(r));
        if (!queue.length) return;
      }
    }
  };
  return { clock, server, client, assigned, settle };
}

/** A minimal IPv4 packet (header + payload) for data-path tests. */
export function ipPacket(src: string, dst: string, payload: string): Uint8Array {
  const body = Buffer.from(payload);
  const p = new Uint8Array(20 + body.length);
  p[0] = 0x45;
  p[2] = p.length >> 8;
  p[3] = p.length & 0xff;
  p[8] = 64;
  p[9] = 17;
  p.set(src.split('.').map(Number), 12);
  p.set(dst.split('.').map(Number), 16);
  p.set(body, 20);
  return p;
}

// --- a server link driven by hand-written frames ---


/** Fake authenticator: records packets; the test finishes it with ctx.done(). */
export interface FakeAuth {
  ctx: AuthenticatorContext | null;
  inputs: Uint8Array[];
  started: boolean;
  stopped: boolean;
}

export function fakeAuthFactory(state: FakeAuth): NonNullable<NonNullable<LinkOptions['factories']>['createAuthenticator']> {
  return (method, ctx) => {
    state.ctx = ctx;
    const a: Authenticator = {
      protocol: method === 'pap' ? 0xc023 : 0xc223,
      start: () => { state.started = true; },
      input: (p) => { state.inputs.push(p.slice()); },
      stop: () => { state.stopped = true; },
    };
    return a;
  };
}

/** A logger that keeps error-level lines (to prove no handler ever threw). */
export function errorLog(): { log: Logger; errors: string[] } {
  const errors: string[] = [];
  const w = new Writable({ write(c: Buffer, _e, cb) { errors.push(c.toString()); cb(); } });
  return { log: pino({ level: 'error' }, w), errors };
}

export const TEST_KEYS: MppeKeyMaterial = { kind: 'mschapv2', masterKey: new Uint8Array(16).fill(7) };

export interface Scripted {
  link: PppLink;
  clock: FakeClock;
  auth: FakeAuth;
  out: Uint8Array[];
  downs: string[];
  ups: LinkUpInfo[];
  ips: Uint8Array[];
  assigned: Array<{ user: string; requested?: string }>;
  errors: string[];
  /** What assignAddress answers when no specific address is requested. */
  pool: { local: string; peer: string } | { error: string };
  /** Frames sent since the last call, as hex. */
  take(): string[];
  /** Feeds one frame given as commented hex. */
  feed(h: string): void;
}

/** Fixed "random" bytes so our magic number is 0x11223344 in fixtures. */
export const fixedRandom = (n: number) => Uint8Array.from({ length: n }, (_, i) => [0x11, 0x22, 0x33, 0x44][i % 4]);

export function scriptedServer(over: Partial<PppPolicy> = {}, extra: Partial<LinkOptions> & { fsm?: object } = {}): Scripted {
  const clock = new FakeClock();
  const auth: FakeAuth = { ctx: null, inputs: [], started: false, stopped: false };
  const { log, errors } = errorLog();
  const s: Scripted = {
    link: undefined as unknown as PppLink, clock, auth, out: [], downs: [], ups: [], ips: [], assigned: [], errors,
    pool: { local: '10.0.0.1', peer: '10.0.0.2' },
    take() {
      const r = s.out.map(toHex);
      s.out.length = 0;
      return r;
    },
    feed(h) { s.link.input(hex(h)); },
  };
  s.link = new PppLink({
    policy: policy(over),
    backend: backend({}),
    clock,
    random: fixedRandom,
    log,
    dataMode: 'userspace',
    factories: { createAuthenticator: fakeAuthFactory(auth) },
    hooks: {
      send: (f) => s.out.push(f.slice()),
      assignAddress(req) {
        s.assigned.push({ user: req.user, requested: req.requested });
        if (req.requested) return req.requested === '10.0.0.77' ? { local: '10.0.0.1', peer: '10.0.0.77' } : { error: 'not allowed' };
        return s.pool;
      },
      onUp: (i) => s.ups.push(i),
      onDown: (r) => s.downs.push(r),
      onIp: (p) => s.ips.push(p.slice()),
    },
    ...extra,
  });
  return s;
}

/**
 * Brings a scripted server through LCP with a minimal peer request (magic
 * 0x55667788) and, when `authOk`, finishes the fake authentication.
 */
export function openLcp(s: Scripted, peerOpts = '05 06 55667788'): void {
  s.link.start();
  const req = s.out[0];
  // Ack our request verbatim (code 2, same id and options).
  const ack = req.slice();
  ack[4] = 2;
  const opts = hex(peerOpts);
  const len = 4 + opts.length;
  s.link.input(Uint8Array.from([0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, len >> 8, len & 0xff, ...opts]));
  s.link.input(ack);
  s.take();
}

/** Completes the fake authentication as alice; keys null = a method without MPPE keys. */
export function authOk(s: Scripted, keys: MppeKeyMaterial | null = TEST_KEYS): void {
  const entry = { client: 'alice', server: '*', secret: 'x', addresses: [], source: 't' };
  s.auth.ctx!.done({ ok: true, user: 'alice', entry, keys: keys ?? undefined });
}

/**
 * Encrypts like the client's link of a running pair, with its keys, but any
 * protocol inside MPPE: returns FF 03 00 FD + MPPE header + ciphertext.
 */
export function rogueClient(p: Pair): (proto: number, body: Uint8Array) => Uint8Array {
  const m = p.client.ups[0]!.mppe!;
  const codec = new MppeCodec({ sendKey: m.sendKey, recvKey: m.recvKey, bits: m.bits, stateful: m.stateful });
  return (proto, body) => {
    const input = new Uint8Array(2 + body.length);
    input[0] = proto >> 8;
    input[1] = proto & 0xff;
    input.set(body, 2);
    const f = new Uint8Array(4 + 2 + input.length);
    f.set([0xff, 0x03, 0x00, 0xfd]);
    return f.slice(0, 4 + codec.encrypt(input, f, 4));
  };
}
