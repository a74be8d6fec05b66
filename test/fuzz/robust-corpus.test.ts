// Corpus-driven mutation fuzzing of every parser (issue 8 part 7): seeds in
// test/fuzz/corpus/<parser>/ (byte-exact fixtures as commented hex, config
// files as text) are mutated (bit flips, interesting bytes, inserts, deletes,
// truncation, duplication, splicing two seeds; line operations for text) and
// fed to the parser next to pure random input. Only our typed errors may come
// out; the PPP link must not hit its own internal-error guard. Short run in
// `npm test`; PPTPD_FUZZ=long (npm run fuzz) runs 1,000,000 inputs per parser.
// The number of inputs per parser is printed as a test diagnostic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSecrets } from '../../src/config/chap-secrets.js';
import { parsePppOptions } from '../../src/config/ppp-options.js';
import { parsePptpdConf } from '../../src/config/pptpd-conf.js';
import { MppeCodec } from '../../src/crypto/mppe.js';
import { decodeChap } from '../../src/ppp/auth/chap-packet.js';
import { decodePap } from '../../src/ppp/auth/pap.js';
import { createGreHeader, createIpv4GreView, decodeGre, stripIpv4, tryDecodeGre, tryStripIpv4 } from '../../src/protocol/gre/codec.js';
import { decode, encode } from '../../src/protocol/pptp/codec.js';
import { MAX_MESSAGE_LENGTH } from '../../src/protocol/pptp/constants.js';
import { PptpFramer } from '../../src/protocol/pptp/framer.js';
import { ConfigError, ConfigErrors, ProtocolError } from '../../src/util/errors.js';
import { seededRandom, type RandomSource } from '../../src/util/random.js';
import { authOk, openLcp, scriptedServer, type Scripted } from '../helpers/ppp-harness.js';

const LONG = process.env.PPTPD_FUZZ === 'long';
const N = LONG ? 1_000_000 : 2_000;
const SEED = Number(process.env.PPTPD_FUZZ_SEED ?? 0xc0de5) >>> 0;

/** test/fuzz/corpus, found from here (tsx: test/fuzz; compiled: dist/test/fuzz). */
function corpusRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const c = join(d, 'test', 'fuzz', 'corpus');
    if (existsSync(c)) return c; // the repository's copy (the compiled tests have none of their own)
    d = dirname(d);
  }
  throw new Error('test/fuzz/corpus not found');
}
const ROOT = corpusRoot();

/** Seeds of one parser: .hex files (hex pairs, `#` comments) as bytes, others as text bytes. */
function seeds(parser: string): Uint8Array[] {
  const dir = join(ROOT, parser);
  const out: Uint8Array[] = [];
  for (const f of readdirSync(dir).sort()) {
    const raw = readFileSync(join(dir, f), 'utf8');
    if (f.endsWith('.hex')) out.push(Uint8Array.from(Buffer.from(raw.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex')));
    else out.push(Uint8Array.from(Buffer.from(raw, 'utf8')));
  }
  assert.ok(out.length > 0, `corpus ${parser} is empty`);
  return out;
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x10, 0x20, 0x0a, 0x23, 0x2d, 0x2a];

/** One mutated input: a seed with 1–4 byte-level edits, a splice, or pure noise. */
function mutate(rnd: RandomSource, corpus: Uint8Array[]): Uint8Array {
  const r = rnd(4);
  if (r[0]! < 16) return rnd(r[1]! % 200); // pure random, sometimes empty
  let b = Array.from(corpus[r[1]! % corpus.length]!);
  const edits = 1 + (r[2]! & 3);
  for (let e = 0; e < edits; e++) {
    const x = rnd(4);
    const pos = b.length === 0 ? 0 : ((x[1]! << 8) | x[2]!) % b.length;
    switch (x[0]! % 8) {
      case 0: if (b.length) b[pos] = b[pos]! ^ (1 << (x[3]! & 7)); break; // bit flip
      case 1: if (b.length) b[pos] = INTERESTING[x[3]! % INTERESTING.length]!; break;
      case 2: if (b.length) b[pos] = x[3]!; break; // random byte
      case 3: b.splice(pos, 0, ...rnd(1 + (x[3]! & 15))); break; // insert
      case 4: b.splice(pos, 1 + (x[3]! & 15)); break; // delete
      case 5: b = b.slice(0, pos); break; // truncate
      case 6: b.splice(pos, 0, ...b.slice(pos, pos + 1 + (x[3]! & 31))); break; // duplicate a chunk
      case 7: { // splice with another seed
        const o = corpus[x[3]! % corpus.length]!;
        b = b.slice(0, pos).concat(Array.from(o.subarray(((x[1]! << 8) | x[2]!) % Math.max(1, o.length))));
        break;
      }
    }
  }
  return Uint8Array.from(b);
}

/** Text inputs: byte mutations plus line operations (drop, duplicate, swap, mangle a keyword). */
function mutateText(rnd: RandomSource, corpus: Uint8Array[]): string {
  const r = rnd(3);
  if (r[0]! < 128) return Buffer.from(mutate(rnd, corpus)).toString('latin1');
  const lines = Buffer.from(corpus[r[1]! % corpus.length]!).toString('utf8').split('\n');
  const ops = 1 + (r[2]! & 3);
  for (let i = 0; i < ops && lines.length > 0; i++) {
    const x = rnd(3);
    const a = x[1]! % lines.length;
    const b = x[2]! % lines.length;
    switch (x[0]! % 5) {
      case 0: lines.splice(a, 1); break;
      case 1: lines.splice(a, 0, lines[b]!); break;
      case 2: [lines[a], lines[b]] = [lines[b]!, lines[a]!]; break;
      case 3: lines[a] = lines[a]!.split(/(\s+)/).reverse().join(''); break;
      case 4: lines[a] = `${lines[a]} ${lines[b]}`; break;
    }
  }
  return lines.join('\n');
}

function onlyTyped(e: unknown, ...types: Array<new (...a: never[]) => Error>): void {
  if (!types.some((t) => e instanceof t)) throw e;
}

/** Runs `n` inputs through `fn`; reports the count. */
function run(t: { diagnostic(s: string): void }, name: string, fn: (i: number) => void): void {
  const t0 = Date.now();
  for (let i = 0; i < N; i++) fn(i);
  t.diagnostic(`${name}: ${N} inputs in ${Date.now() - t0} ms (seed ${SEED})`);
}

test(`corpus: every seed of the byte-exact corpora decodes`, () => {
  for (const s of seeds('pptp')) assert.deepEqual(encode(decode(s)), Buffer.from(s));
  const h = createGreHeader();
  const v = createIpv4GreView();
  for (const s of seeds('gre')) {
    stripIpv4(s, 0, s.length, v);
    decodeGre(s, v.greOff, v.greLen, h);
  }
  for (const s of seeds('chap')) decodeChap(s);
  for (const s of seeds('pap')) decodePap(s);
  const rx = new MppeCodec({ sendKey: KEY_B, recvKey: KEY_A, bits: 128, stateful: false });
  const out = new Uint8Array(2000);
  for (const s of seeds('mppe').slice(3)) assert.ok(rx.decrypt(s, out, 0) > 0, 'stateless seeds decrypt');
});

test(`fuzz PPTP codec + framer from the corpus`, (t) => {
  const rnd = seededRandom(SEED);
  const corpus = seeds('pptp');
  let framer = new PptpFramer();
  let typed = 0;
  run(t, 'pptp', () => {
    const b = mutate(rnd, corpus);
    try {
      const m = decode(b);
      assert.ok(b.length <= MAX_MESSAGE_LENGTH);
      assert.ok(encode(m).length === b.length, 're-encodes to the same length');
    } catch (e) {
      onlyTyped(e, ProtocolError);
      typed++;
    }
    try {
      framer.push(b, (m) => assert.ok(m.length <= MAX_MESSAGE_LENGTH));
    } catch (e) {
      onlyTyped(e, ProtocolError);
      framer = new PptpFramer(); // a bad length ends the connection
    }
  });
  assert.ok(typed > N / 4, 'most mutations are refused');
});

test(`fuzz GRE + outer IPv4 from the corpus`, (t) => {
  const rnd = seededRandom(SEED + 1);
  const corpus = seeds('gre');
  const h = createGreHeader();
  const v = createIpv4GreView();
  run(t, 'gre', () => {
    const b = mutate(rnd, corpus);
    const ipErr = tryStripIpv4(b, 0, b.length, v);
    const off = ipErr === null ? v.greOff : 0;
    const len = ipErr === null ? v.greLen : b.length;
    const code = tryDecodeGre(b, off, len, h);
    if (code === null) {
      assert.ok(h.headerLen + h.payloadLen <= len, 'payload inside the packet');
    }
    try {
      decodeGre(b, off, len, h);
      assert.equal(code, null);
    } catch (e) {
      onlyTyped(e, ProtocolError);
      assert.equal((e as ProtocolError).code, code);
    }
  });
});

test(`fuzz CHAP / PAP packets from the corpus`, (t) => {
  const rnd = seededRandom(SEED + 2);
  const chap = seeds('chap');
  const pap = seeds('pap');
  run(t, 'chap', () => {
    const b = mutate(rnd, chap);
    try {
      const p = decodeChap(b);
      const parts = 'value' in p ? [p.value, p.name] : [p.message];
      for (const x of parts) assert.ok(x.byteOffset >= b.byteOffset && x.byteOffset + x.length <= b.byteOffset + b.length, 'views inside the packet');
    } catch (e) {
      onlyTyped(e, ProtocolError);
    }
  });
  run(t, 'pap', () => {
    try {
      decodePap(mutate(rnd, pap));
    } catch (e) {
      onlyTyped(e, ProtocolError);
    }
  });
});

const KEY_A = Uint8Array.from({ length: 16 }, (_, i) => i * 7 + 1);
const KEY_B = Uint8Array.from({ length: 16 }, (_, i) => i * 13 + 5);

test(`fuzz MPPE decrypt from the corpus (stateless and stateful)`, (t) => {
  const rnd = seededRandom(SEED + 3);
  const corpus = seeds('mppe');
  const out = new Uint8Array(2000);
  for (const stateful of [false, true]) {
    let rx = new MppeCodec({ sendKey: KEY_B, recvKey: KEY_A, bits: 128, stateful });
    run(t, `mppe ${stateful ? 'stateful' : 'stateless'}`, (i) => {
      if (i % 1000 === 0) rx = new MppeCodec({ sendKey: KEY_B, recvKey: KEY_A, bits: 128, stateful });
      const b = mutate(rnd, corpus);
      const n = rx.decrypt(b, out, 0);
      assert.ok(Number.isInteger(n) && n >= -1 && n <= Math.max(0, b.length - 1), `bounded result ${n}`);
    });
  }
});

test(`fuzz PPP frames (LCP/CHAP/PAP/CCP/IPCP options) into a server link in each phase, from the corpus`, (t) => {
  const rnd = seededRandom(SEED + 4);
  const corpus = seeds('ppp');
  const phases = ['establish', 'authenticate', 'network'] as const;
  // Phases are reached with the scripted server of the PPP tests (fake authenticator).
  const make = (ph: (typeof phases)[number]): Scripted => {
    const s = scriptedServer({ mppe: { required: true, allow40: true, allow56: true, allow128: true, stateful: true } });
    if (ph === 'establish') s.link.start();
    else {
      openLcp(s, '05 06 55 66 77 88  07 02  08 02');
      if (ph === 'network') authOk(s);
    }
    return s;
  };
  const links = phases.map(make);
  let remade = 0;
  run(t, 'ppp frames', (i) => {
    const k = i % phases.length;
    let s = links[k]!;
    if (s.link.phase === 'dead' || s.downs.length > 0 || i % 600 === k) {
      assert.ok(s.downs.length <= 1, 'onDown at most once');
      s.link.lowerDown('next round');
      s = links[k] = make(phases[k]!);
      remade++;
    }
    const f = mutate(rnd, corpus);
    s.link.input(f);
    if (i % 97 === 0) s.clock.advance(3000); // restart timers and timeouts fire with junk in flight
    s.out.length = 0;
    assert.deepEqual(s.errors, [], `internal error on input ${Buffer.from(f).toString('hex')}`);
  });
  assert.ok(remade > phases.length);
  for (const s of links) s.link.lowerDown('done');
});

test(`fuzz pptpd.conf, pppd options and chap-secrets from the corpus`, (t) => {
  const rnd = seededRandom(SEED + 5);
  const conf = seeds('pptpd-conf');
  const opts = seeds('ppp-options');
  const secrets = seeds('chap-secrets');
  run(t, 'pptpd.conf', () => {
    try {
      parsePptpdConf(mutateText(rnd, conf), '/etc/pptpd.conf');
    } catch (e) {
      onlyTyped(e, ConfigErrors, ConfigError);
    }
  });
  run(t, 'pppd options', () => {
    try {
      parsePppOptions(mutateText(rnd, opts), '/etc/ppp/options.pptpd');
    } catch (e) {
      onlyTyped(e, ConfigErrors, ConfigError);
    }
  });
  run(t, 'chap-secrets', () => {
    try {
      parseSecrets(mutateText(rnd, secrets), '/etc/ppp/chap-secrets');
    } catch (e) {
      onlyTyped(e, ConfigErrors, ConfigError);
    }
  });
});
