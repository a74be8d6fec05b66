// "Ours" in the data-path benchmark (run.ts starts it inside the server
// namespace): the real TUN datapath (native raw GRE poller, IPv4 strip,
// demux, GreCall with sequence/ack handling, batched TUN writes) and the real
// MPPE codec the daemon uses (dp.createMppeCodec: crypto in the addon), for
// SESSIONS calls with the blaster's keys. No control plane:
// the PPP receive step is PppLink.rxCompressedInPlace's few lines (header,
// decrypt into the TUN write queue, protocol check) instead of a negotiated PppLink,
// and the link's fast-path offer (IpSink.fastRx) as a running stateless link
// makes it (BENCH_NO_FASTRX=1: without, every packet through JS).
//   node --import tsx bench/datapath-tun/server.ts BIND_ADDR SESSIONS
// Prints READY once every pppN is up; on SIGTERM prints counters and exits.
import type { MppeCodec } from '../../src/crypto/mppe.js';
import type { IpSink } from '../../src/ppp/types.js';
import { openTunDatapath } from '../../src/datapath/tun/index.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';

const bind = process.argv[2] ?? '10.199.0.1';
const n = Number(process.argv[3] ?? 1);
const dp = await openTunDatapath({ clock: systemClock, log: silentLogger, bindAddress: bind });
let dropped = 0;
const codecs: MppeCodec[] = [];
for (let i = 0; i < n; i++) {
  const key = new Uint8Array(16);
  for (let j = 0; j < 16; j++) key[j] = (i * 31 + j * 7 + 1) & 0xff;
  const codec = dp.createMppeCodec({ sendKey: key, recvKey: key, bits: 128, stateful: false });
  codecs.push(codec);
  const call = dp.openCall({ sessionId: `b${i}`, callId: i + 1, peerCallId: i + 1, clientAddress: '10.199.0.2', localAddress: bind });
  // As PppLink.rxCompressedInPlace: decrypt straight into the TUN write queue (the sink attach hands the link).
  let sink: IpSink | null = null;
  const rxMax = 1508;
  call.onFrame = (f) => {
    let p = f.length >= 2 && f[0] === 0xff && f[1] === 0x03 ? 2 : 0;
    if (f[p] === 0xfd) p += 1;
    else if (f[p] === 0x00 && f[p + 1] === 0xfd) p += 2;
    else return void dropped++;
    if (f.length - p - 1 > rxMax || !sink) return void dropped++;
    const start = sink.begin(rxMax);
    if (start < 0) return void dropped++;
    const buf = sink.buffer;
    const len = codec.decrypt(f.subarray(p), buf, start);
    if (len < 3 || buf[start] !== 0x00 || buf[start + 1] !== 0x21) return void dropped++;
    sink.commit(start, 2, len - 2);
  };
  await call.attach({
    local: '10.200.0.1', peer: `10.201.${Math.floor(i / 250)}.${(i % 250) + 1}`, mtu: 1500, mru: 1500, mppe: null,
    link: { sendIp: () => {}, setIpSink: (s) => { sink = s; } },
  });
  const got = sink as IpSink | null;
  if (!got) throw new Error('the TUN datapath gave no in-place sink');
  // As PppLink.syncFastRx once the link runs: the datapath's native fast
  // path takes the in-order stateless packets; onFrame above gets the rest.
  const view = codec.fastRxView();
  if (got.fastRx && view && !process.env.BENCH_NO_FASTRX) {
    got.fastRx({ mppe: view, rxMax, counted: (frames) => codec.countFastRx(frames) });
  }
}
process.stdout.write('READY\n');
process.on('SIGTERM', () => {
  const dec = codecs.reduce((s, c) => s + c.stats.decrypted, 0);
  process.stdout.write(`raw ${dp.stats.rawPackets} batches ${dp.stats.rawBatches} decrypted ${dec} (native fast path ${dp.stats.fastPackets}) dropped ${dropped} errors ${dp.stats.errors}\n`);
  void dp.close().then(() => process.exit(0));
});
