// Microbenchmark of the addon's batched raw GRE path (root only): packets
// per second through sendmmsg → loopback → recvmmsg → one JS callback per
// batch, inside a throwaway network namespace.
//   npx tsx bench/native-io.ts [packets=1000000] [size=1400]
import { TestNetns, rootSkipReason } from '../test/helpers/netns.js';
import { RawGreSocket, ipv4ToUint32 } from '../native/raw-gre.js';

const total = Number(process.argv[2] ?? 1_000_000);
const size = Number(process.argv[3] ?? 1400);
const skip = rootSkipReason();
if (skip) {
  console.error(`native-io bench: ${skip}`);
  process.exit(2);
}

const ns = TestNetns.create();
ns.enter();
try {
  const tx = RawGreSocket.open('127.0.0.1');
  const rx = RawGreSocket.open('127.0.0.2');
  const dst = ipv4ToUint32('127.0.0.2');
  const pkt = new Uint8Array(size).fill(0xab);
  let received = 0;
  let batches = 0;
  let sent = 0;
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    rx.onPackets((b) => {
      received += b.count;
      batches++;
    });
    // Send in bursts of 64 per event-loop turn so the receiver keeps up.
    const pump = () => {
      for (let i = 0; i < 64 && sent < total; i++, sent++) tx.send(dst, pkt);
      tx.flush();
      if (sent < total) setImmediate(pump);
      else setTimeout(resolve, 50);
    };
    pump();
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({
    packets: total, size, seconds: +secs.toFixed(3), sentPps: Math.round(tx.txPackets / secs),
    receivedPps: Math.round(received / secs), lost: total - received, txDropped: tx.txDropped,
    packetsPerCallback: +(received / Math.max(1, batches)).toFixed(1),
    gbitPerSec: +((received * size * 8) / secs / 1e9).toFixed(2),
  }));
  tx.close();
  rx.close();
} finally {
  ns.destroy();
}
