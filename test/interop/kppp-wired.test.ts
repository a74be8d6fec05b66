// Kernel PPP primitives (native/src/kppp.c + native/kppp.ts) in User-Mode
// Linux: two guests on one bridge, each with a kernel PPP endpoint wired
// straight to the other's (AF_PPPOX PPTP sockets bound and connected to each
// other's call ids, a ppp unit each), no control plane. Plain, then MPPE-128
// stateless with matching keys, then with a wrong receive key (must fail:
// proves the data really is encrypted with the keys we installed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Guest, TestNet, interopAvailable } from './harness/uml.js';
import { wiredScenario, type WiredMode } from './kppp/wired.js';
import { addonPath } from '../../native/index.js';

const avail = interopAvailable();
const skip = avail.ok ? false : `interop unavailable: ${avail.why}`;
if (!avail.ok) {
  // Loud on purpose: a skipped interop suite must never look like a pass.
  console.log(`\n#### SKIPPING kernel PPP (kppp) interop tests: ${avail.why} ####\n`);
}

const SC_CCP_OPEN = 0x40;
const SC_CCP_UP = 0x80;
const SC_COMP_RUN = 0x1000;
const SC_DECOMP_RUN = 0x2000;

const KEY_AB = '8b7cdc149b993a1ba118cb153f56dccb'; // RFC 3079 server send key
const KEY_BA = 'd5f0e9521e3ea9589645e86051c82226'; // RFC 3079 client send key

const MODES: WiredMode[] = [
  { id: 'plain', callIdA: 101, callIdB: 201, pppA: '10.99.0.1', pppB: '10.99.0.2', pingCount: 3 },
  {
    id: 'mppe',
    callIdA: 102,
    callIdB: 202,
    pppA: '10.99.1.1',
    pppB: '10.99.1.2',
    mppe: { keyAB: KEY_AB, keyBA: KEY_BA },
    pingCount: 3,
  },
  {
    id: 'badkey',
    callIdA: 103,
    callIdB: 203,
    pppA: '10.99.2.1',
    pppB: '10.99.2.2',
    mppe: { keyAB: KEY_AB, keyBA: KEY_BA, wrongRecvKeyB: '00112233445566778899aabbccddeeff' },
    pingCount: 3,
    expectPingFail: true,
  },
];

interface CompStat {
  compPackets: number;
  uncPackets: number;
}
interface Report {
  name: string;
  ok: boolean;
  error?: string;
  ifname: string;
  pingCode: number;
  pingOut: string;
  linkShow: string;
  addrShow: string;
  stats: { txPackets: number; rxPackets: number };
  compStats: { compress: CompStat; decompress: CompStat };
  mppeRunning?: { transmit: boolean; receive: boolean };
  flagsArmed?: number;
  flagsUp?: number;
  channelFrames: string[];
  unitFrames?: string[];
  ccpAckWritten?: number;
  ifGoneAfterClose: boolean;
}

function nativeHasKppp(): string | undefined {
  const p = process.env.PPTPD_NATIVE_PATH ?? addonPath();
  if (!p) return 'the native addon is not built (npm run build:native)';
  const addon = createRequire(import.meta.url)(p) as Record<string, unknown>;
  if (typeof addon.pptpChannelOpen !== 'function') return `${p} was built without native/src/kppp.c`;
  return undefined;
}

test('kernel PPP endpoints wired over PPTP/GRE between two UML guests: plain, MPPE-128, wrong key', { skip, timeout: 240_000 }, async (t) => {
  const missing = nativeHasKppp();
  assert.equal(missing, undefined, missing);
  const net = await TestNet.create();
  t.after(() => net.destroy());
  const ipA = net.guestIp(1);
  const ipB = net.guestIp(2);
  const sA = wiredScenario('A', MODES, ipA, ipB);
  const sB = wiredScenario('B', MODES, ipA, ipB);
  const [a, b] = await Promise.all([
    Guest.boot(net, { name: 'kpppA', index: 1, scenario: sA.scenario, env: sA.env }),
    Guest.boot(net, { name: 'kpppB', index: 2, scenario: sB.scenario, env: sB.env }),
  ]);
  const diag = async (): Promise<string> => `${await a.diagnostics()}\n${await b.diagnostics()}`;
  const [codeA, codeB] = await Promise.all([a.waitExit(180_000), b.waitExit(180_000)]);
  const reports = async (g: Guest, id: string): Promise<Report> => {
    const text = await g.read(`${id}.json`);
    assert.ok(text, `${g.name}: no ${id}.json\n${await diag()}`);
    return JSON.parse(text) as Report;
  };
  const all: Record<string, [Report, Report]> = {};
  for (const m of MODES) all[m.id] = [await reports(a, m.id), await reports(b, m.id)];
  for (const [id, pair] of Object.entries(all)) {
    for (const r of pair) assert.equal(r.ok, true, `${r.name} (${id}) failed: ${r.error}\n${await diag()}`);
  }
  assert.equal(codeA, 0, await diag());
  assert.equal(codeB, 0, await diag());

  // --- plain: a real ppp interface carrying pings both ways ---------------
  for (const r of all.plain) {
    assert.equal(r.pingCode, 0, `${r.name}: ping failed\n${r.pingOut}`);
    assert.match(r.pingOut, /3 packets transmitted, 3 received/);
    assert.match(r.ifname, /^ppp\d+$/);
    // A kernel ppp device, not a TUN: link type ppp.
    assert.match(r.linkShow, /link\/ppp/, r.linkShow);
    assert.doesNotMatch(r.linkShow, /\btun\b/);
    assert.match(r.addrShow, /inet 10\.99\.0\.[12] peer 10\.99\.0\.[12]\/32/, r.addrShow);
    // At least our 3 requests out and 3 replies in (the peer's pings may
    // still be running when the counters are read).
    assert.ok(r.stats.txPackets >= 3 && r.stats.rxPackets >= 3, JSON.stringify(r.stats));
    // LCP Echo frames read from the CHANNEL fd: protocol field first, no FF 03.
    assert.ok(r.channelFrames.length > 0);
    for (const f of r.channelFrames) assert.match(f, /^c021(09|0a)..000d000000004b505050..$/, f);
    // Without MPPE nothing was compressed.
    assert.equal(r.compStats.compress.compPackets, 0);
    assert.equal(r.ifGoneAfterClose, true, `${r.ifname} still exists after close()`);
  }

  // --- MPPE-128 stateless: kernel encrypts/decrypts, pings pass -----------
  for (const r of all.mppe) {
    assert.equal(r.flagsArmed! & (SC_CCP_OPEN | SC_CCP_UP), SC_CCP_OPEN);
    assert.equal(r.ccpAckWritten, 12);
    // The peer's CCP Configure-Ack arrived on the UNIT fd, protocol first.
    assert.ok(r.unitFrames!.includes('80fd0201000a120601000040'), JSON.stringify(r.unitFrames));
    assert.deepEqual(r.mppeRunning, { transmit: true, receive: true });
    const want = SC_CCP_OPEN | SC_CCP_UP | SC_COMP_RUN | SC_DECOMP_RUN;
    assert.equal(r.flagsUp! & want, want, `flags ${r.flagsUp!.toString(16)}`);
    assert.equal(r.pingCode, 0, `${r.name}: ping over MPPE failed\n${r.pingOut}`);
    assert.match(r.pingOut, /3 packets transmitted, 3 received/);
    assert.match(r.linkShow, /link\/ppp/);
    assert.ok(r.stats.txPackets >= 3 && r.stats.rxPackets >= 3, JSON.stringify(r.stats));
    // Data went through the MPPE compressor/decompressor: at least our own
    // 3 requests out and their 3 replies in. (The peer's pings may still be
    // running when these counters are read, so 6 is not guaranteed.)
    assert.ok(r.compStats.compress.compPackets >= 3, JSON.stringify(r.compStats));
    assert.ok(r.compStats.decompress.compPackets >= 3, JSON.stringify(r.compStats));
    assert.equal(r.ifGoneAfterClose, true);
  }

  // --- wrong receive key on B: MPPE really uses our keys ------------------
  for (const r of all.badkey) {
    assert.deepEqual(r.mppeRunning, { transmit: true, receive: true });
    assert.notEqual(r.pingCode, 0, `${r.name}: ping passed with mismatched MPPE keys\n${r.pingOut}`);
    assert.match(r.pingOut, /, 0 received/);
    assert.ok(r.compStats.compress.compPackets >= 1, JSON.stringify(r.compStats));
  }
});
