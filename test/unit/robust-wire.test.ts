// Hostile input on the wire (issue 8 part 4, host side, no UML): the real
// ControlServer on 127.0.0.1 and the session manager with the TUN datapath
// (real GRE demux and engine, in-memory raw socket and TUN), a legitimate
// MS-CHAPv2/MPPE-128 session passing pings throughout, and an attacker
// sending junk PPTP over TCP, silent connections, and junk GRE/PPP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { encode } from '../../src/protocol/pptp/codec.js';
import { seededRandom } from '../../src/util/random.js';
import { SCCRQ } from '../helpers/session-harness.js';
import { grePacket, ipv4Gre, WireStack, type WireClient } from '../helpers/robust-wire.js';

// A real collection before each heap reading (the runner does not pass --expose-gc).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const ICMP = '4500001c00004000400100000a0001010a000001080000000000000000000000';

/** One ping each way through the legitimate session, asserted byte for byte. */
async function pingBothWays(s: WireStack, c: WireClient, tag: string): Promise<void> {
  const tun = s.host.open.get('ppp0')!;
  const before = tun.written.length;
  const icmp = Buffer.from(ICMP, 'hex');
  c.link.sendIp(icmp);
  await s.until(() => tun.written.length === before + 1, `${tag}: ping reaches the interface`);
  assert.equal(Buffer.from(tun.written.at(-1)!).toString('hex'), ICMP);
  const back = Buffer.from(ICMP.replace('0a0001010a000001', '0a0000010a000101'), 'hex');
  const got = c.ip.length;
  tun.emit(back);
  await s.until(() => c.ip.length === got + 1, `${tag}: reply reaches the client`);
  assert.equal(Buffer.from(c.ip.at(-1)!).toString('hex'), back.toString('hex'));
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' });
    sock.on('error', () => {});
    sock.once('connect', () => resolve(sock));
    sock.once('close', () => resolve(sock)); // refused at accept: closed at once
  });
}

function closed(sock: Socket): Promise<void> {
  return new Promise((r) => (sock.destroyed || sock.closed ? r() : sock.once('close', () => r())));
}

test('junk PPTP on many short TCP connections, SCCRQ + junk, silent connections: the session keeps passing traffic, state drains', async (t) => {
  const s = new WireStack({ stimeoutMs: 1000 });
  await s.start();
  try {
    const legit = await s.dial();
    await pingBothWays(s, legit, 'start');
    const rnd = seededRandom(99);
    const valid = encode(SCCRQ);

    // 1. Garbage, truncated and oversized messages, 300 connections, 30 at a time.
    const kinds = [
      () => rnd(64 + (rnd(1)[0]! % 200)), // random bytes
      () => valid.subarray(0, 10 + (rnd(1)[0]! % 100)), // truncated SCCRQ, then FIN
      () => { const b = Buffer.from(valid); b.writeUInt16BE(0xffff, 0); return b; }, // oversized length
      () => { const b = Buffer.from(valid); b.writeUInt32BE(0x1a2b3c4e, 4); return b; }, // wrong magic
      () => { const b = Buffer.from(valid); b.writeUInt16BE(99, 8); return b; }, // unknown control type
    ];
    for (let round = 0; round < 10; round++) {
      const socks = await Promise.all(Array.from({ length: 30 }, () => open(s.port)));
      socks.forEach((sock, i) => {
        if (!sock.destroyed) sock.end(kinds[(round * 30 + i) % kinds.length]!());
      });
      // Truncated messages end with the client's FIN; the rest are closed by the server.
      s.clock.advance(1500); // stimeout for truncated ones, flush timers
      await Promise.all(socks.map(closed));
    }
    await pingBothWays(s, legit, 'after junk connections');

    // 2. A valid SCCRQ followed by junk: SCCRP, then the connection is dropped.
    const j = await open(s.port);
    const got: Buffer[] = [];
    j.on('data', (d: Buffer) => got.push(d));
    j.write(Buffer.concat([valid, rnd(300)]));
    await closed(j);
    assert.equal(Buffer.concat(got).readUInt16BE(8), 2, 'the SCCRP came back before the close');
    await s.until(() => s.server.connections === 1, 'only the legitimate control connection is left');

    // 3. 2,000 connections that open and never speak: the per-source pending
    // limit refuses most at accept, stimeout closes the rest; memory stays flat.
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    const refused0 = s.server.stats.rejected.perSourcePending;
    const silent: Socket[] = [];
    for (let i = 0; i < 2000; i += 100) {
      silent.push(...(await Promise.all(Array.from({ length: 100 }, () => open(s.port)))));
    }
    await s.until(() => s.server.stats.rejected.perSourcePending - refused0 + s.server.connections - 1 >= 2000, 'all 2000 seen by the server');
    assert.ok(s.server.connections - 1 <= 8, `at most perSourcePending (8) silent connections held: ${s.server.connections - 1}`);
    assert.ok(s.server.stats.rejected.perSourcePending - refused0 >= 1992);
    s.clock.advance(1000); // stimeout
    s.clock.advance(2000); // flush timeout
    await Promise.all(silent.map(closed));
    await s.until(() => s.server.connections === 1, 'silent connections all gone');
    silent.length = 0; // the client ends live in this process too: let them go before measuring
    await new Promise((r) => setTimeout(r, 50));
    gc();
    const heapGrowth = process.memoryUsage().heapUsed - heap0;
    // 2000 connection attempts must not leave per-connection state behind (a
    // leak of 1 KiB each would show as 2 MB; GC noise is well below that).
    assert.ok(heapGrowth < 2 * 1024 * 1024, `heap grew ${heapGrowth} bytes`);
    t.diagnostic(`2000 silent connections: ${s.server.stats.rejected.perSourcePending - refused0} refused at accept, heap ${heap0} → ${heap0 + heapGrowth} bytes`);
    assert.equal(s.manager.size, 1);
    await pingBothWays(s, legit, 'after the silent flood');
    const rejectLines = s.lines.filter((l) => l.msg === 'control connection refused: limit reached');
    assert.ok(rejectLines.length <= 3, `refusals are rate-limited in the log (${rejectLines.length} lines)`);
  } finally {
    await s.stop();
  }
});

test('hostile GRE: random call ids, spoofed source for the live call, bad key/length, malformed PPP inside the live call', async () => {
  const s = new WireStack();
  await s.start();
  try {
    const legit = await s.dial();
    await pingBothWays(s, legit, 'start');
    const demux = () => (s.dp as unknown as { demux: { stats: { unknownCall: number; wrongSource: number; malformed: number } } }).demux.stats;
    const rnd = seededRandom(5);
    const live = legit.serverCallId;
    const d0 = { ...demux() };

    // Random call ids (never the live one).
    for (let i = 0; i < 500; i++) {
      let id = (rnd(1)[0]! << 8) | rnd(1)[0]!;
      if (id === live) id ^= 1;
      s.raw.receive(ipv4Gre('127.0.0.1', grePacket(id, i, rnd(40))));
    }
    // The live call id from other (spoofed) sources.
    for (let i = 0; i < 500; i++) s.raw.receive(ipv4Gre(`192.0.2.${i & 255}`, grePacket(live, legit.seq + i, rnd(40))));
    // Wrong key/length fields and broken headers for the live call.
    for (let i = 0; i < 500; i++) {
      const p = grePacket(live, legit.seq, rnd(30));
      const v = Buffer.from(p);
      switch (i % 5) {
        case 0: v.writeUInt16BE(0xffff, 4); break; // payload length beyond the packet
        case 1: v[0] = v[0]! & ~0x20; break; // K flag cleared
        case 2: v[1] = 0; break; // GRE version 0
        case 3: v.writeUInt16BE(0x0800, 2); break; // protocol IPv4, not PPP
        case 4: v[0] = v[0]! | 0x80; break; // checksum flag
      }
      s.raw.receive(ipv4Gre('127.0.0.1', v));
    }
    // Truncated and non-GRE IPv4.
    for (let i = 0; i < 100; i++) s.raw.receive(rnd(i % 30));
    await pingBothWays(s, legit, 'after junk GRE');
    const d1 = demux();
    assert.ok(d1.unknownCall - d0.unknownCall >= 500, `unknown call ids counted (${d1.unknownCall - d0.unknownCall})`);
    assert.ok(d1.wrongSource - d0.wrongSource >= 500, `wrong sources counted (${d1.wrongSource - d0.wrongSource})`);
    assert.ok(d1.malformed - d0.malformed >= 500, `malformed counted (${d1.malformed - d0.malformed})`);
    assert.ok(s.dp.stats.badIpv4 >= 50, `bad IPv4 counted (${s.dp.stats.badIpv4})`);

    // Malformed PPP inside the live call, in sequence: garbage protocol,
    // broken LCP/CHAP/CCP/IPCP packets, encrypted data that does not decrypt.
    const frames: Buffer[] = [];
    const protos = [0xc021, 0xc223, 0x80fd, 0x8021, 0x00fd, 0x1234, 0xc023];
    for (let i = 0; i < 700; i++) {
      const proto = protos[i % protos.length]!;
      const body = Buffer.from(rnd(1 + (i % 40)));
      // Codes that would legitimately end the link (Terminate-Request, Protocol-
      // Reject, LCP Conf-Req renegotiation) are what an on-path attacker with
      // the sequence numbers could send; junk must not: keep codes to junk ones.
      if (proto === 0xc021 || proto === 0x80fd || proto === 0x8021) body[0] = [0, 8, 12, 13, 99, 200][i % 6]!;
      if (proto === 0xc223) body[0] = [0, 1, 3, 4, 7][i % 5]!;
      // MPPE data without the flushed/encrypted bits (stateless requires both):
      // dropped. NOTE: a packet WITH them and a count ahead advances the
      // stateless key schedule, as Linux ppp_mppe does — MPPE has no integrity
      // check, so an attacker who can spoof the client's outer address, knows
      // the call id and hits the GRE window can desynchronise the data path.
      if (proto === 0x00fd && body.length >= 2) body[0] = body[0]! & 0x0f;
      frames.push(Buffer.concat([Buffer.from([0xff, 0x03, proto >> 8, proto & 0xff]), body]));
    }
    for (const f of frames) legit.sendPpp(f);
    await pingBothWays(s, legit, 'after malformed PPP');
    assert.equal(legit.down, undefined, 'the legitimate link never went down');
    assert.equal(s.dp.stats.errors, 0, 'no exception on the packet path');
    assert.equal(s.manager.size, 1);
    assert.equal(s.manager.list()[0]!.state, 'up');

    // A new session comes up afterwards.
    const second = await s.dial();
    await s.until(() => s.manager.size === 2, 'second session');
    assert.notEqual(second.up!.local, legit.up!.local);
  } finally {
    await s.stop();
  }
});
