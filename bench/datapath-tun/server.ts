// "Ours" in the data-path benchmark (run.ts starts it inside the server
// namespace): the real TUN datapath (native raw GRE poller, IPv4 strip,
// demux, GreCall with sequence/ack handling, batched TUN writes) and the real
// MPPE codec the daemon uses (dp.createMppeCodec: crypto in the addon), for
// SESSIONS calls with the blaster's keys. No control plane:
// the PPP receive step is PppLink.rxCompressed's few lines (header, decrypt,
// protocol check) instead of a negotiated PppLink.
//   node --import tsx bench/datapath-tun/server.ts BIND_ADDR SESSIONS
// Prints READY once every pppN is up; on SIGTERM prints counters and exits.
import type { MppeCodec } from '../../src/crypto/mppe.js';
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
  const out = new Uint8Array(1600);
  call.onFrame = (f) => {
    let p = f.length >= 2 && f[0] === 0xff && f[1] === 0x03 ? 2 : 0;
    if (f[p] === 0xfd) p += 1;
    else if (f[p] === 0x00 && f[p + 1] === 0xfd) p += 2;
    else return void dropped++;
    if (f.length - p - 1 > out.length) return void dropped++;
    const len = codec.decrypt(f.subarray(p), out, 0);
    if (len < 2 || out[0] !== 0x00 || out[1] !== 0x21) return void dropped++;
    call.deliverIp(out.subarray(2, len));
  };
  await call.attach({
    local: '10.200.0.1', peer: `10.201.${Math.floor(i / 250)}.${(i % 250) + 1}`, mtu: 1500, mru: 1500, mppe: null,
    link: { sendIp: () => {} },
  });
}
process.stdout.write('READY\n');
process.on('SIGTERM', () => {
  const dec = codecs.reduce((s, c) => s + c.stats.decrypted, 0);
  process.stdout.write(`raw ${dp.stats.rawPackets} decrypted ${dec} dropped ${dropped} errors ${dp.stats.errors}\n`);
  void dp.close().then(() => process.exit(0));
});
