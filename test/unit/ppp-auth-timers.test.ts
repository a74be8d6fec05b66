// pppd's ipcp-*, chap-* and pap-* timer options on real links (FakeClock):
// IPCP's own restart timer and counters, CHAP Challenge retransmission and
// its limit, PAP's wait for the peer's Authenticate-Request, and the PAP
// client's retransmissions. Absent options keep the built-in behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePair, openLcp, scriptedServer, type Pair, type Scripted } from '../helpers/ppp-harness.js';
import { authPhaseTimeoutMs } from '../../src/ppp/link.js';
import { DEFAULT_PPP_POLICY, type PppPolicy } from '../../src/ppp/types.js';

const isProto = (f: Uint8Array, proto: number, code?: number) =>
  f[0] === 0xff && f[1] === 0x03 && ((f[2] << 8) | f[3]) === proto && (code === undefined || f[4] === code);
const isIpcpReq = (f: Uint8Array) => isProto(f, 0x8021, 1);
const isLcpTermReq = (f: Uint8Array) => isProto(f, 0xc021, 5);
const isChallenge = (f: Uint8Array) => isProto(f, 0xc223, 1);
const isPapReq = (f: Uint8Array) => isProto(f, 0xc023, 1);
/** Drops every frame of `proto` going in `dir`: a peer that never answers that protocol. */
const deaf = (d: 'c2s' | 's2c', proto: number) => (dir: 'c2s' | 's2c', f: Uint8Array) => !(dir === d && isProto(f, proto));

/** Scripted server: steps time and returns when (ms) each frame matching `match` went out. */
function scriptedTimes(s: Scripted, match: (f: Uint8Array) => boolean, untilMs: number, stepMs = 100): number[] {
  const at: number[] = [];
  const scan = () => {
    for (const f of s.out) if (match(f)) at.push(s.clock.now());
    s.out.length = 0;
  };
  scan();
  while (s.clock.now() < untilMs) {
    s.clock.advance(stepMs);
    scan();
  }
  return at;
}

/** Pair: steps time (letting queued frames and promises settle) and returns when each matching frame was sent. */
async function pairTimes(p: Pair, side: 'server' | 'client', match: (f: Uint8Array) => boolean, untilMs: number, stepMs = 100): Promise<number[]> {
  const at: number[] = [];
  let seen = 0;
  const scan = () => {
    const sent = p[side].sent;
    for (; seen < sent.length; seen++) if (match(sent[seen])) at.push(p.clock.now());
  };
  await p.settle();
  scan();
  while (p.clock.now() < untilMs) {
    p.clock.advance(stepMs);
    await p.settle();
    scan();
  }
  return at;
}

// --- IPCP ---

/** A server without authentication or MPPE: LCP opens, IPCP starts at once, the peer never answers IPCP. */
function ipcpServer(over: Partial<PppPolicy>, lcp?: { restartMs?: number }): Scripted {
  const s = scriptedServer({ auth: [], mppe: null, ...over }, lcp ? { fsm: lcp } : {});
  openLcp(s); // starts the link and acks our first LCP request
  return s;
}

test('ipcp-restart 1 + ipcp-max-configure 2: exactly 2 IPCP Configure-Requests 1 s apart, then the link fails; LCP keeps lcp-restart', () => {
  const s = ipcpServer({ ipcpFsm: { restartMs: 1000, maxConfigure: 2 } }, { restartMs: 2000 });
  assert.equal(s.link.phase, 'network');
  const out: Array<[number, string]> = [];
  const scan = () => {
    for (const f of s.out) out.push([s.clock.now(), isIpcpReq(f) ? 'ipcp-req' : isLcpTermReq(f) ? 'lcp-term' : 'other']);
    s.out.length = 0;
  };
  // openLcp took the frames up to LCP Opened; IPCP's first request went out in that same step.
  out.push([0, 'ipcp-req']);
  while (s.clock.now() < 20_000) {
    s.clock.advance(100);
    scan();
  }
  // IPCP gives up when its 2nd request times out (t=2 s): LCP Terminate-Requests
  // then follow lcp-restart (2 s), lcp's max-terminate (2), and the link ends at 6 s.
  assert.deepEqual(out, [[0, 'ipcp-req'], [1000, 'ipcp-req'], [2000, 'lcp-term'], [4000, 'lcp-term']]);
  assert.deepEqual(s.downs, ['IPCP negotiation failed']);
  assert.equal(s.link.phase, 'dead');
});

test('ipcp-max-configure alone: IPCP keeps the LCP restart interval (lcp-restart 2)', () => {
  const s = ipcpServer({ ipcpFsm: { maxConfigure: 3 } }, { restartMs: 2000 });
  s.take();
  const reqs = [0, ...scriptedTimes(s, isIpcpReq, 20_000)];
  assert.deepEqual(reqs, [0, 2000, 4000]);
  assert.deepEqual(s.downs, ['IPCP negotiation failed']);
});

test('no ipcp-* options: IPCP behaves as before (the link FSM values: every 3 s, 10 requests)', () => {
  const s = ipcpServer({});
  s.take();
  const reqs = [0, ...scriptedTimes(s, isIpcpReq, 60_000, 500)];
  assert.deepEqual(reqs, Array.from({ length: 10 }, (_, i) => i * 3000));
  assert.deepEqual(s.downs, ['IPCP negotiation failed']);
});

test('ipcp-restart does not touch LCP: the LCP Configure-Request still repeats every 3 s', () => {
  const s = scriptedServer({ auth: [], mppe: null, ipcpFsm: { restartMs: 500, maxConfigure: 2 } });
  s.link.start();
  const lcpReqs = scriptedTimes(s, (f) => isProto(f, 0xc021, 1), 10_000);
  assert.deepEqual(lcpReqs, [0, 3000, 6000, 9000]);
});

// --- CHAP ---

/** The client's own 30 s guard is lifted: only the server decides when to give up. */
async function chapPair(server: Partial<PppPolicy>): Promise<Pair> {
  const p = makePair({ server, client: { authTimeoutMs: 1e9 }, filter: deaf('c2s', 0xc223) });
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  assert.equal(p.server.link.phase, 'authenticate');
  return p;
}

test('chap-restart 1 + chap-max-challenge 3: three Challenges 1 s apart, then the link fails naming the limit', async () => {
  const p = await chapPair({ chapRestartMs: 1000, chapMaxChallenge: 3 });
  const t0 = p.clock.now();
  const times = await pairTimes(p, 'server', isChallenge, t0 + 10_000);
  assert.deepEqual(times.map((t) => t - t0), [0, 1000, 2000]);
  assert.equal(p.server.downs.length, 1);
  assert.equal(p.server.downs[0], 'authentication failed: no response to 3 challenges');
});

test('chap-restart 10 alone: Challenges every 10 s up to the default 10, beyond the 30 s guard (stretched)', async () => {
  const p = await chapPair({ chapRestartMs: 10_000 });
  const t0 = p.clock.now();
  const times = await pairTimes(p, 'server', isChallenge, t0 + 130_000, 1000);
  assert.deepEqual(times.map((t) => t - t0), Array.from({ length: 10 }, (_, i) => i * 10_000));
  assert.deepEqual(p.server.downs, ['authentication failed: no response to 10 challenges']);
});

test('no chap-* options: Challenges every 3 s and the 30 s authentication guard ends it, as before', async () => {
  const p = await chapPair({});
  const t0 = p.clock.now();
  const times = await pairTimes(p, 'server', isChallenge, t0 + 40_000, 500);
  assert.deepEqual(times.map((t) => t - t0), Array.from({ length: 10 }, (_, i) => i * 3000));
  assert.deepEqual(p.server.downs, ['authentication failed: authentication timed out']);
});

// --- PAP ---

async function papPair(server: Partial<PppPolicy>, client: Partial<PppPolicy> = {}): Promise<Pair> {
  const p = makePair({ server: { auth: ['pap'], mppe: null, ...server }, client: { auth: ['pap'], mppe: null, ...client }, filter: deaf('c2s', 0xc023) });
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  assert.equal(p.server.link.phase, 'authenticate');
  return p;
}

/** Time from now until the server's onDown, stepping 100 ms, or -1. */
async function serverDownAfter(p: Pair, maxMs: number): Promise<number> {
  const t0 = p.clock.now();
  while (p.clock.now() - t0 < maxMs) {
    p.clock.advance(100);
    await p.settle();
    if (p.server.downs.length) return p.clock.now() - t0;
  }
  return -1;
}

/** When the server started terminating (its first LCP Terminate-Request), relative to t0. */
function termStart(p: Pair, t0: number, at: number[]): number {
  return at[0] - t0;
}

test('pap-timeout 5: a client that never sends Authenticate-Request is cut after 5 s', async () => {
  const p = await papPair({ papTimeoutMs: 5000 });
  const t0 = p.clock.now();
  const term = await pairTimes(p, 'server', isLcpTermReq, t0 + 6000);
  assert.equal(termStart(p, t0, term), 5000);
  assert.ok(await serverDownAfter(p, 10_000) >= 0);
  assert.deepEqual(p.server.downs, ['authentication failed: authentication timed out']);
});

test('no pap-timeout: the wait is the 30 s authentication guard, as before', async () => {
  const p = await papPair({}, { papMaxAuthreq: 100 });
  const t0 = p.clock.now();
  const term = await pairTimes(p, 'server', isLcpTermReq, t0 + 31_000, 500);
  assert.equal(termStart(p, t0, term), 30_000);
});

test('pap-timeout 0: no limit, the server keeps waiting (the client here retries for longer)', async () => {
  const p = await papPair({ papTimeoutMs: 0 }, { papMaxAuthreq: 1000 });
  assert.equal(await serverDownAfter(p, 600_000), -1);
  assert.equal(p.server.link.phase, 'authenticate');
  // The client is still sending: every 3 s since the start.
  assert.equal(p.client.sent.filter(isPapReq).length, 201);
});

test('pap-restart 1 + pap-max-authreq 2 (client role): two requests 1 s apart, then the client gives up', async () => {
  const p = makePair({
    server: { auth: ['pap'], mppe: null, papTimeoutMs: 0 },
    client: { auth: ['pap'], mppe: null, papRestartMs: 1000, papMaxAuthreq: 2 },
    filter: deaf('c2s', 0xc023),
  });
  p.server.link.start();
  p.client.link.start();
  const t0 = p.clock.now();
  const times = await pairTimes(p, 'client', isPapReq, t0 + 10_000);
  assert.deepEqual(times.map((t) => t - t0), [0, 1000]);
  assert.deepEqual(p.client.downs, ['authentication failed: no answer to 2 PAP requests']);
});

// --- the phase guard ---

test('authPhaseTimeoutMs: absent options keep authTimeoutMs; the options set or stretch it', () => {
  const base: PppPolicy = { ...DEFAULT_PPP_POLICY, authTimeoutMs: 30_000 };
  for (const m of ['mschapv2', 'mschap', 'chap-md5', 'pap'] as const) {
    assert.equal(authPhaseTimeoutMs(base, m, 'server'), 30_000);
    assert.equal(authPhaseTimeoutMs(base, m, 'client'), 30_000);
  }
  assert.equal(authPhaseTimeoutMs({ ...base, papTimeoutMs: 0 }, 'pap', 'server'), 0);
  assert.equal(authPhaseTimeoutMs({ ...base, papTimeoutMs: 90_000 }, 'pap', 'server'), 90_000);
  assert.equal(authPhaseTimeoutMs({ ...base, papTimeoutMs: 5000 }, 'mschapv2', 'server'), 30_000, 'pap-timeout is PAP only');
  assert.equal(authPhaseTimeoutMs({ ...base, chapRestartMs: 1000, chapMaxChallenge: 3 }, 'mschapv2', 'server'), 30_000, 'never shorter');
  assert.equal(authPhaseTimeoutMs({ ...base, chapMaxChallenge: 20 }, 'chap-md5', 'server'), 63_000);
  assert.equal(authPhaseTimeoutMs({ ...base, chapMaxChallenge: 20 }, 'pap', 'server'), 30_000, 'chap-* is CHAP only');
  assert.equal(authPhaseTimeoutMs({ ...base, papRestartMs: 5000 }, 'pap', 'client'), 55_000);
});
