// The attacker for test/interop/robust-hostile.test.ts, run as its own
// process inside the TestNet's namespace (`ip netns exec … node --import tsx
// hostile-attacker.ts MODE SERVER [ARGS…]`) so the test process's namespace
// and sockets stay clean. Prints one JSON line with what it saw.
//
//   tcp-junk SERVER COUNT          garbage/truncated/oversized PPTP, COUNT short connections
//   sccrq-junk SERVER              a valid SCCRQ followed by junk on one connection
//   silent SERVER COUNT WAIT_MS    COUNT connections that never speak; how the server ended them
//   gre SERVER LIVE_CALL_ID        junk GRE from a raw socket (our address: the wrong source)
import { connect, type Socket } from 'node:net';
import { RawGreSocket, ipv4ToUint32 } from '../../../native/raw-gre.js';
import { encodeGreHeader, greHeaderLength } from '../../../src/protocol/gre/codec.js';
import { encode } from '../../../src/protocol/pptp/codec.js';
import { seededRandom } from '../../../src/util/random.js';

const PORT = 1723;
const rnd = seededRandom(0x4057);
const byte = (): number => rnd(1)[0]!;

const SCCRQ = encode({
  type: 'SCCRQ', protocolVersion: 0x0100, framingCapabilities: 1, bearerCapabilities: 1,
  maxChannels: 0, firmwareRevision: 1, hostName: 'attacker', vendor: 'hostile',
});

interface Conn { sock: Socket; opened: boolean; closedAt?: number; openedAt: number; got: Buffer[] }

/** Opens one connection; resolves once it is connected or already failed. */
function open(server: string): Promise<Conn> {
  return new Promise((resolve) => {
    const c: Conn = { sock: connect({ port: PORT, host: server }), opened: false, openedAt: Date.now(), got: [] };
    c.sock.on('error', () => {});
    c.sock.on('data', (d: Buffer) => c.got.push(d));
    c.sock.once('close', () => {
      c.closedAt = Date.now();
      resolve(c);
    });
    c.sock.once('connect', () => {
      c.opened = true;
      resolve(c);
    });
  });
}

function closed(c: Conn, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (c.closedAt !== undefined) return resolve(true);
    const t = setTimeout(() => resolve(false), timeoutMs);
    c.sock.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

const junkKinds: Array<[string, () => Uint8Array]> = [
  ['random', () => rnd(64 + (byte() % 200))],
  ['truncated', () => SCCRQ.subarray(0, 10 + (byte() % 100))],
  ['oversized', () => { const b = Buffer.from(SCCRQ); b.writeUInt16BE(0xffff, 0); return b; }],
  ['huge-stream', () => Buffer.concat([Buffer.from([0xff, 0xff]), rnd(64 * 1024)])],
  ['bad-magic', () => { const b = Buffer.from(SCCRQ); b.writeUInt32BE(0x1a2b3c4e, 4); return b; }],
  ['unknown-type', () => { const b = Buffer.from(SCCRQ); b.writeUInt16BE(99, 8); return b; }],
  ['zero-length', () => { const b = Buffer.from(SCCRQ); b.writeUInt16BE(0, 0); return b; }],
];

/** COUNT short connections, 25 at a time, each sends one kind of junk and half-closes. */
async function tcpJunk(server: string, count: number): Promise<unknown> {
  let opened = 0;
  let closedByServer = 0;
  let notClosed = 0;
  for (let i = 0; i < count; i += 25) {
    const batch = await Promise.all(Array.from({ length: Math.min(25, count - i) }, () => open(server)));
    batch.forEach((c, j) => {
      if (!c.opened || c.closedAt !== undefined) return;
      opened++;
      c.sock.end(junkKinds[(i + j) % junkKinds.length]![1]());
    });
    for (const c of batch) {
      if (!c.opened) continue;
      if (await closed(c, 15_000)) closedByServer++;
      else {
        notClosed++;
        c.sock.destroy();
      }
    }
  }
  return { opened, closedByServer, notClosed };
}

/** SCCRQ + 300 junk bytes in one write: the SCCRP comes back, then the server closes. */
async function sccrqJunk(server: string): Promise<unknown> {
  const c = await open(server);
  if (!c.opened) return { opened: false };
  c.sock.write(Buffer.concat([SCCRQ, rnd(300)]));
  const wasClosed = await closed(c, 15_000);
  const reply = Buffer.concat(c.got);
  if (!wasClosed) c.sock.destroy();
  return {
    opened: true,
    closedByServer: wasClosed,
    replyType: reply.length >= 10 ? reply.readUInt16BE(8) : -1,
    replyMagic: reply.length >= 8 ? reply.readUInt32BE(4) : 0,
    replyBytes: reply.length,
  };
}

/** COUNT silent connections (100 at a time, kept open by us); waits until the server ended them. */
async function silent(server: string, count: number, waitMs: number): Promise<unknown> {
  const conns: Conn[] = [];
  const t0 = Date.now();
  for (let i = 0; i < count; i += 100) {
    conns.push(...(await Promise.all(Array.from({ length: Math.min(100, count - i) }, () => open(server)))));
  }
  const openedAll = Date.now() - t0;
  // Connected and still open a moment later: the ones the server accepted and holds.
  await new Promise((r) => setTimeout(r, 300));
  const held = conns.filter((c) => c.opened && c.closedAt === undefined).length;
  process.stdout.write(`${JSON.stringify({ phase: 'held', held })}\n`);
  const results = await Promise.all(conns.map((c) => closed(c, waitMs)));
  const stillOpen = results.filter((x) => !x).length;
  const heldFor = conns.filter((c) => c.closedAt !== undefined).map((c) => c.closedAt! - c.openedAt);
  for (const c of conns) c.sock.destroy();
  return {
    count,
    connected: conns.filter((c) => c.opened).length,
    openedAllMs: openedAll,
    held,
    stillOpen,
    maxHeldMs: Math.max(0, ...heldFor),
    closedWithin1s: heldFor.filter((ms) => ms < 1000).length,
  };
}

/** An enhanced GRE packet (K, S) for callId around payload. */
function gre(callId: number, seq: number, payload: Uint8Array): Buffer {
  const hl = greHeaderLength(true, false);
  const out = Buffer.alloc(hl + payload.length);
  encodeGreHeader(out, 0, { callId, payloadLen: payload.length, seq });
  out.set(payload, hl);
  return out;
}

/** Junk PPP inside otherwise valid GRE: broken LCP/CHAP/CCP/IPCP, unknown protocols, fake MPPE. */
function junkPpp(i: number): Uint8Array {
  const protos = [0xc021, 0xc223, 0x80fd, 0x8021, 0x00fd, 0x1234, 0xc023, 0x0021];
  const proto = protos[i % protos.length]!;
  const body = Buffer.from(rnd(1 + (i % 60)));
  // Codes that are valid but harmful if accepted (Terminate-Request, Configure-Request):
  // a wrong-source packet must not reach the link whatever it holds.
  if (proto === 0xc021 || proto === 0x80fd || proto === 0x8021) body[0] = [1, 5, 0, 8, 12, 99][i % 6]!;
  if (proto === 0xc223) body[0] = [1, 2, 3, 4, 7][i % 5]!;
  return Buffer.concat([Buffer.from([0xff, 0x03, proto >> 8, proto & 0xff]), body]);
}

/** Sends from a raw IPPROTO_GRE socket (source: our address, never the client's), paced. */
async function greAttack(server: string, live: number): Promise<unknown> {
  const sock = RawGreSocket.open();
  const dst = ipv4ToUint32(server);
  const sent = { randomCallId: 0, liveWrongSource: 0, badHeader: 0, truncated: 0, junkPpp: 0 };
  let queued = 0;
  const push = async (pkt: Uint8Array, kind: keyof typeof sent): Promise<void> => {
    if (sock.send(dst, pkt)) sent[kind]++;
    if (++queued % 32 === 0) {
      sock.flush();
      // Paced so the daemon's receive buffer never overflows (kernel drops would be uncounted).
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  for (let i = 0; i < 500; i++) {
    let id = (byte() << 8) | byte();
    if (id === live) id ^= 1;
    await push(gre(id, i, rnd(40)), 'randomCallId');
  }
  for (let i = 0; i < 500; i++) await push(gre(live, i, rnd(1 + (i % 80))), 'liveWrongSource');
  for (let i = 0; i < 500; i++) {
    const v = gre(live, i, rnd(30));
    switch (i % 6) {
      case 0: v.writeUInt16BE(0xffff, 4); break; // payload length beyond the packet
      case 1: v[0] = v[0]! & ~0x20; break; // K (key) flag cleared
      case 2: v[1] = 0; break; // GRE version 0, not 1
      case 3: v.writeUInt16BE(0x0800, 2); break; // protocol IPv4, not PPP
      case 4: v[0] = v[0]! | 0x80; break; // checksum flag set
      case 5: v[0] = v[0]! | 0x40; break; // routing flag set
    }
    await push(v, 'badHeader');
  }
  for (let i = 0; i < 100; i++) await push(gre(live, i, rnd(8)).subarray(0, 1 + (i % 11)), 'truncated');
  for (let i = 0; i < 700; i++) await push(gre(live, 1000 + i, junkPpp(i)), 'junkPpp');
  sock.flush();
  const tx = { txPackets: sock.txPackets, txDropped: sock.txDropped, txErrors: sock.txErrors };
  sock.close();
  return { sent, ...tx };
}

async function main(): Promise<void> {
  const [mode, server, a, b] = process.argv.slice(2);
  if (!server) throw new Error('usage: hostile-attacker.ts MODE SERVER [ARGS…]');
  let out: unknown;
  switch (mode) {
    case 'tcp-junk': out = await tcpJunk(server, Number(a ?? 300)); break;
    case 'sccrq-junk': out = await sccrqJunk(server); break;
    case 'silent': out = await silent(server, Number(a ?? 2000), Number(b ?? 20_000)); break;
    case 'gre': out = await greAttack(server, Number(a)); break;
    default: throw new Error(`unknown mode ${mode}`);
  }
  process.stdout.write(`${JSON.stringify({ phase: 'done', mode, ...(out as object) })}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
