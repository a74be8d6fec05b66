// Runs INSIDE a UML guest: one kernel PPP endpoint wired straight to the
// other guest's (AF_PPPOX PPTP sockets bound/connected to each other's call
// ids, a ppp unit each, optional kernel MPPE), no control plane. The two
// endpoints synchronise with LCP Echo frames on the channel fd, which also
// proves the channel fd's frame format both ways. Writes a JSON report to
// OUT and exits 0 when the report was written (the host test asserts on
// it), 1 when the endpoint itself failed (the report says why).
//
// Usage: node endpoint.js '<json config>' OUT.json
//        (or node --import tsx endpoint.ts … from the checkout's root)
import { execFile } from 'node:child_process';
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { KernelPppCall, type KpppNative } from '../../../native/kppp.js';
import { loadNative } from '../../../native/index.js';

const run = promisify(execFile);

export interface EndpointConfig {
  name: string;
  localIp: string;
  peerIp: string;
  localCallId: number;
  peerCallId: number;
  pppLocal: string;
  pppPeer: string;
  /** 'none' or MPPE-128 stateless with these hex start keys. */
  mppe: 'none' | { sendKey: string; recvKey: string };
  pingCount: number;
  /** Ping is expected to fail (mismatched keys): short deadline. */
  expectPingFail?: boolean;
  mtu?: number;
  /** Shell command started in the background once the link is up (e.g. iperf3 -s). */
  background?: string;
  /** Shell command run after the ping, before the final sync (e.g. iperf3 -c); output in report.execOut. */
  exec?: string;
  /** Per-phase sync timeout; default 30 s (raise it when the peer runs a long exec). */
  syncTimeoutMs?: number;
}

interface PollerAddon {
  rxArena(): { data: Uint8Array; offsets: Uint32Array; lengths: Uint32Array };
  pollerStart(fd: number, kind: 'tun', cb: (count: number, err?: Error) => void): unknown;
  pollerStop(h: unknown): void;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as EndpointConfig;
const outPath = process.argv[3] ?? '/dev/stdout';
const report: Record<string, unknown> = { name: cfg.name, ok: false };
const log = (m: string): void => console.log(`[${cfg.name} ${(performance.now() / 1000).toFixed(2)}] ${m}`);

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

const native = (process.env.PPTPD_NATIVE_PATH
  ? createRequire(import.meta.url)(process.env.PPTPD_NATIVE_PATH)
  : loadNative()) as unknown as KpppNative & PollerAddon;

// --- LCP Echo based phase sync ------------------------------------------
// Echo data = "KPPP" + phase. We answer a request only once we have reached
// its phase, so "my request of phase p was answered" means the peer got there.
const MAGIC = [0x4b, 0x50, 0x50, 0x50];
let phase = 0;
let echoId = 0;
let waiter: { phase: number; resolve: () => void } | undefined;
const channelFrames: string[] = []; // first frames seen, for the report
const unitFrames: Uint8Array[] = [];

function lcpEcho(code: 9 | 10, id: number, p: number): Uint8Array {
  // C0 21 | code id len(8+5) | magic-number(4) | "KPPP" phase
  return Uint8Array.from([0xc0, 0x21, code, id, 0x00, 0x0d, 0, 0, 0, 0, ...MAGIC, p]);
}

function onChannelFrame(f: Uint8Array): void {
  if (channelFrames.length < 4) channelFrames.push(hex(f));
  if (f.length !== 15 || f[0] !== 0xc0 || f[1] !== 0x21) return;
  const p = f[14];
  if (f[2] === 9 && p <= phase) call?.writeControl(lcpEcho(10, f[3], p));
  if (f[2] === 10 && waiter && p === waiter.phase) {
    const w = waiter;
    waiter = undefined;
    w.resolve();
  }
}

async function sync(p: number, timeoutMs = 30_000): Promise<void> {
  phase = p;
  const done = new Promise<void>((resolve) => (waiter = { phase: p, resolve }));
  const t0 = Date.now();
  let finished = false;
  void done.then(() => (finished = true));
  while (!finished) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`sync phase ${p}: no answer from the peer in ${timeoutMs} ms`);
    call!.writeControl(lcpEcho(9, ++echoId & 0xff, p));
    await Promise.race([done, new Promise((r) => setTimeout(r, 100))]);
  }
  log(`sync ${p} ok`);
}

async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function sh(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run(cmd, args, { timeout: 30_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, out: `${x.stdout ?? ''}${x.stderr ?? ''}` };
  }
}

function counter(ifname: string, what: string): number {
  return Number(readFileSync(`/sys/class/net/${ifname}/statistics/${what}`, 'utf8'));
}

let call: KernelPppCall | undefined;
const pollers: unknown[] = [];

function startPoller(fd: number, sink: (f: Uint8Array) => void): void {
  const arena = native.rxArena();
  pollers.push(
    native.pollerStart(fd, 'tun', (count, err) => {
      if (err) {
        log(`poller error: ${err.message}`);
        return;
      }
      for (let i = 0; i < count; i++) {
        const o = arena.offsets[i];
        sink(arena.data.slice(o, o + arena.lengths[i]));
      }
    }),
  );
}

async function main(): Promise<void> {
  call = KernelPppCall.open(native, {
    localIp: cfg.localIp,
    localCallId: cfg.localCallId,
    peerIp: cfg.peerIp,
    peerCallId: cfg.peerCallId,
    mru: 1500,
  });
  const c = call;
  report.ifname = c.ifname;
  report.unit = c.unit;
  report.channelIndex = c.channelIndex;
  log(`opened ${c.ifname} channel ${c.channelIndex} (call ${cfg.localCallId} → ${cfg.peerIp}/${cfg.peerCallId})`);
  startPoller(c.channelFd, onChannelFrame);
  startPoller(c.unitFd, (f) => unitFrames.push(f));

  const mppe = cfg.mppe !== 'none';
  if (cfg.mppe !== 'none') {
    c.armMppe({
      sendKey: Buffer.from(cfg.mppe.sendKey, 'hex'),
      recvKey: Buffer.from(cfg.mppe.recvKey, 'hex'),
      bits: 128,
      stateless: true,
    });
    report.flagsArmed = c.unitFlags();
  }
  const ifname = c.ifname;
  for (const a of [
    ['addr', 'add', cfg.pppLocal, 'peer', cfg.pppPeer, 'dev', ifname],
    ['link', 'set', ifname, 'mtu', String(cfg.mtu ?? 1400), 'up'],
  ]) {
    const r = await sh('ip', a);
    if (r.code !== 0) throw new Error(`ip ${a.join(' ')}: ${r.out}`);
  }

  await sync(1); // both sides exist (and have armed MPPE)

  if (mppe) {
    // CCP Configure-Ack carrying only MPPE-128 stateless (H|S): written to
    // the unit it starts our compressor; arriving at the peer's unit it
    // starts the peer's decompressor (ppp_generic ppp_ccp_peek).
    const ack = Uint8Array.from([0x80, 0xfd, 0x02, 0x01, 0x00, 0x0a, 0x12, 0x06, 0x01, 0x00, 0x00, 0x40]);
    report.ccpAckWritten = c.writeControl(ack);
    await waitFor(() => unitFrames.some((f) => f[0] === 0x80 && f[1] === 0xfd && f[2] === 0x02), 10_000, "the peer's CCP Configure-Ack on the unit fd");
    report.unitFrames = unitFrames.slice(0, 4).map(hex);
    report.mppeRunning = c.mppeRunning();
    c.mppeUp();
    report.flagsUp = c.unitFlags();
  }
  c.setUp();
  // $IFNAME, $LOCAL and $PEER for the benchmark's commands.
  const cmdEnv = { ...process.env, IFNAME: ifname, LOCAL: cfg.pppLocal, PEER: cfg.pppPeer };
  if (cfg.background) {
    const r = await run('/bin/sh', ['-c', cfg.background], { env: cmdEnv }).catch((e: Error) => e);
    if (r instanceof Error) throw new Error(`background command failed: ${r.message}`);
  }
  await sync(2, cfg.syncTimeoutMs); // both sides pass data (and run MPPE)

  const ping = cfg.expectPingFail
    ? await sh('ping', ['-n', '-c', String(cfg.pingCount), '-i', '0.3', '-w', '3', '-I', ifname, cfg.pppPeer])
    : await sh('ping', ['-n', '-c', String(cfg.pingCount), '-i', '0.3', '-W', '3', '-I', ifname, cfg.pppPeer]);
  report.pingCode = ping.code;
  report.pingOut = ping.out;
  report.linkShow = (await sh('ip', ['-d', 'link', 'show', ifname])).out;
  report.addrShow = (await sh('ip', ['addr', 'show', ifname])).out;
  report.stats = {
    txPackets: counter(ifname, 'tx_packets'),
    rxPackets: counter(ifname, 'rx_packets'),
    txBytes: counter(ifname, 'tx_bytes'),
    rxBytes: counter(ifname, 'rx_bytes'),
  };
  report.compStats = c.compStats();
  report.idle = c.idle();
  report.channelFrames = channelFrames;
  if (cfg.exec) {
    const r = await run('/bin/sh', ['-c', cfg.exec], { env: cmdEnv, timeout: 600_000, maxBuffer: 16 << 20 }).catch((e: Error) => e);
    if (r instanceof Error) throw new Error(`exec failed: ${r.message}`);
    report.execOut = r.stdout;
  }

  await sync(3, cfg.syncTimeoutMs); // the peer has finished pinging (and its exec) too
  // Keep answering a little: the peer may still need our reply for phase 3.
  await new Promise((r) => setTimeout(r, 1500));

  for (const p of pollers.splice(0)) native.pollerStop(p);
  c.close();
  report.closed = c.isClosed;
  report.ifGoneAfterClose = !existsSync(`/sys/class/net/${ifname}`);
  report.ok = true;
}

main()
  .catch((e: Error) => {
    report.error = e.stack ?? String(e);
    log(`FAILED: ${e.message}`);
    for (const p of pollers.splice(0)) native.pollerStop(p);
    try {
      call?.close();
    } catch {
      /* reported above */
    }
    process.exitCode = 1;
  })
  .finally(() => {
    writeFileSync(outPath, JSON.stringify(report, null, 1));
    log(`report written to ${outPath}`);
    // The pollers are stopped; nothing else keeps the loop alive.
  });

