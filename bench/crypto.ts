// Crypto micro-benchmark: our RC4 (MB/s on MTU-sized packets and large
// buffers), MPPE encrypt in stateless (rekey per packet) and stateful mode,
// and OpenSSL's RC4 from the same machine for comparison when its legacy
// provider is available. Each MPPE figure for both ciphers: the TypeScript
// reference ("js") and the addon's C ("native", what the TUN datapath runs),
// when the addon is built. Run: npx tsx bench/crypto.ts
import { spawnSync } from 'node:child_process';
import { Rc4 } from '../src/crypto/rc4.js';
import { MppeCodec } from '../src/crypto/mppe.js';
import { createMppeState, jsMppeCipher, mppeLayout, CRYPT_RESTART, type MppeCipher } from '../src/crypto/mppe-cipher.js';
import { addonPath } from '../native/index.js';
import { md4 } from '../src/crypto/md4.js';
import { generateNtResponse } from '../src/crypto/mschap.js';

function timeIt(minMs: number, fn: () => number): { seconds: number; units: number } {
  fn(); // warm up
  const start = process.hrtime.bigint();
  let units = 0;
  let seconds = 0;
  while (seconds * 1000 < minMs) {
    units += fn();
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
  }
  return { seconds, units };
}

function rc4MBps(size: number): number {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  const c = new Rc4(key);
  const buf = new Uint8Array(size);
  const batch = Math.max(1, Math.floor((4 << 20) / size));
  const r = timeIt(1000, () => {
    for (let i = 0; i < batch; i++) c.process(buf, 0, size, buf, 0);
    return batch * size;
  });
  return r.units / r.seconds / 1e6;
}

/** RC4 through a cipher's stateful stream (no rekeys): the raw RC4 speed of that implementation. */
function cipherRc4MBps(cipher: MppeCipher, size: number): number {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  const l = mppeLayout(128, true, 0);
  const st = createMppeState(l, 128, true, key, key);
  cipher.crypt(st, l.tx, 0, -1, new Uint8Array(0), 0, 0, new Uint8Array(0), 0, CRYPT_RESTART);
  const buf = new Uint8Array(size);
  const batch = Math.max(1, Math.floor((4 << 20) / size));
  const r = timeIt(1000, () => {
    for (let i = 0; i < batch; i++) cipher.crypt(st, l.tx, 0, -1, buf, 0, size, buf, 0, 0);
    return batch * size;
  });
  return r.units / r.seconds / 1e6;
}

/** Packets/s of encrypt alone, or of encrypt + decrypt (a pair of codecs, the receiver checks nothing is dropped). */
function mppePps(stateful: boolean, size: number, cipher: MppeCipher = jsMppeCipher, roundTrip = false): { pps: number; mbps: number } {
  const k = Uint8Array.from({ length: 16 }, (_, i) => i * 3 + 1);
  const codec = new MppeCodec({ sendKey: k, recvKey: k, bits: 128, stateful }, cipher);
  const peer = new MppeCodec({ sendKey: k, recvKey: k, bits: 128, stateful }, cipher);
  const input = new Uint8Array(size);
  input[1] = 0x21;
  const out = new Uint8Array(size + 2);
  const back = new Uint8Array(size + 2);
  const r = timeIt(1000, () => {
    for (let i = 0; i < 2000; i++) {
      const n = codec.encrypt(input, out, 0);
      if (roundTrip && peer.decrypt(out.subarray(0, n), back, 0) !== size) throw new Error('MPPE round trip failed');
    }
    return 2000;
  });
  const pps = r.units / r.seconds;
  return { pps, mbps: (pps * size) / 1e6 };
}

/** OpenSSL RC4 MB/s at 8192-byte blocks, or undefined when RC4 is unavailable. */
function opensslRc4(): { mbps: number; how: string } | undefined {
  const attempts: [string, string[]][] = [
    ['openssl speed -evp rc4', ['speed', '-seconds', '1', '-evp', 'rc4']],
    ['openssl speed (legacy provider) -evp rc4', ['speed', '-seconds', '1', '-provider', 'legacy', '-provider', 'default', '-evp', 'rc4']],
    ['openssl speed rc4', ['speed', '-seconds', '1', 'rc4']],
  ];
  for (const [how, args] of attempts) {
    const r = spawnSync('openssl', args, { encoding: 'utf8', timeout: 60_000 });
    if (r.error || r.status !== 0) continue;
    // "RC4   499895.63k ... 435721.91k 449922.84k": 1000s of bytes/s for 16..16384-byte blocks.
    const line = r.stdout.split('\n').find((l) => /^rc4\s/i.test(l));
    const cols = line?.trim().split(/\s+/).slice(1).map((v) => parseFloat(v));
    if (cols && cols.length >= 5 && cols.every((v) => Number.isFinite(v))) return { mbps: (cols[4] * 1000) / 1e6, how };
  }
  return undefined;
}

const fmt = (n: number) => n.toFixed(1).padStart(9);
console.log(`node ${process.version} on ${process.arch}`);
const r1400 = rc4MBps(1400);
const r64k = rc4MBps(65536);
console.log(`RC4 (ours)        1400-byte packets ${fmt(r1400)} MB/s`);
console.log(`RC4 (ours)        64 KiB buffers    ${fmt(r64k)} MB/s`);
const ossl = opensslRc4();
if (ossl) {
  console.log(`RC4 (${ossl.how}, 8 KiB) ${fmt(ossl.mbps)} MB/s`);
  console.log(`ratio ours/openssl (64 KiB vs 8 KiB) ${(r64k / ossl.mbps).toFixed(2)}`);
} else {
  console.log('RC4 (openssl)     n/a (RC4 not available in this OpenSSL, legacy provider missing)');
  console.log('ratio ours/openssl n/a');
}
const ciphers: MppeCipher[] = [jsMppeCipher];
if (addonPath()) ciphers.push((await import('../native/mppe.js')).nativeMppeCipher());
else console.log('(native addon not built: `npm run build:native` adds the C cipher figures)');
for (const c of ciphers) {
  const pad = c.kind.padEnd(6);
  console.log(`RC4 (${pad} stream) 1400-byte packets ${fmt(cipherRc4MBps(c, 1400))} MB/s`);
  for (const stateful of [false, true]) {
    const m = mppePps(stateful, 1400, c);
    console.log(`MPPE-128 ${pad} ${stateful ? 'stateful ' : 'stateless'} encrypt 1400 B ${fmt(m.pps / 1000)} kpkt/s ${fmt(m.mbps)} MB/s`);
  }
  for (const size of [64, 1400]) {
    const m = mppePps(false, size, c, true);
    console.log(`MPPE-128 ${pad} stateless encrypt+decrypt ${String(size).padStart(4)} B ${fmt(m.pps / 1000)} kpkt/s ${fmt(m.mbps)} MB/s`);
  }
}
const auth = timeIt(500, () => {
  generateNtResponse(new Uint8Array(16), new Uint8Array(16), new Uint8Array(4), 'password');
  return 1;
});
console.log(`MS-CHAPv2 NT-Response             ${fmt(auth.units / auth.seconds)} /s`);
const h = timeIt(300, () => { md4(new Uint8Array(64)); return 1; });
console.log(`MD4 (64 B)                        ${fmt(h.units / h.seconds / 1000)} k/s`);
