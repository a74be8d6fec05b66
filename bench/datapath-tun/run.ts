// `npm run bench:tun [-- SECONDS]`: packets/s through the TUN datapath with
// stateless MPPE-128 (GRE in → decrypt → pppN), against a C reference
// forwarder (bench/ref/gre-rc4-tun.c) in the same run, both fed by the same
// C blaster (bench/ref/gre-blast.c) from a second namespace over a veth pair.
// Delivered packets are counted by the kernel (rx_packets of the TUN
// interfaces; the inner packets go to a blackhole route). Stateless MPPE
// collapses under loss (a rekey per missed count, nothing past 2048), so each
// cell reports the highest LOSS-FREE rate (≥ 99 % delivered), found by
// doubling then bisecting the blaster's paced rate, a fresh receiver per
// trial. Root only; the C programs are compiled here with gcc -O2. Not a test.
//   npm run bench:tun [-- SECONDS_PER_TRIAL=2]
//   npm run bench:tun -- --prof RATE: no search; one trial of ours per cell at
//   RATE pps under --cpu-prof (profiles in $TMPDIR/pptpd-bench-tun-prof/,
//   summarise with `tsx bench/cpu-top.ts FILE`).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const profAt = argv.includes('--prof') ? Number(argv[argv.indexOf('--prof') + 1]) : 0;
const profDir = join(tmpdir(), 'pptpd-bench-tun-prof');
const seconds = Number(argv.find((a, i) => /^\d+$/.test(a) && argv[i - 1] !== '--prof') ?? 2);
if (!(seconds >= 1 && seconds <= 120)) throw new Error('SECONDS must be 1..120');
const SRV_IP = '10.199.0.1';
const CLI_IP = '10.199.0.2';
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function sh(cmd: string, argv: string[], input?: string): string {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', input, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout ?? '';
}

function cpuSeconds(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

function rxPackets(ns: string): number {
  const links = JSON.parse(sh('ip', ['-n', ns, '-s', '-j', 'link', 'show'])) as Array<{ ifname: string; stats64?: { rx: { packets: number } } }>;
  return links.filter((l) => /^(ppp|gref)\d+$/.test(l.ifname)).reduce((s, l) => s + (l.stats64?.rx.packets ?? 0), 0);
}

function waitLine(child: ChildProcess, want: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => {
      if (l.startsWith(want)) resolve();
    });
    child.once('exit', (c) => reject(new Error(`exited ${c} before ${want}`)));
  });
}

interface Result { pps: number; cpuPct: number; sent: number; rate: number }

async function trial(srv: string, cli: string, bin: string, subject: 'ref' | 'ours', sessions: number, size: number, rate: number): Promise<Result> {
  const cmd = subject === 'ref'
    ? ['ip', 'netns', 'exec', srv, join(bin, 'gre-rc4-tun'), SRV_IP, String(sessions)]
    : ['ip', 'netns', 'exec', srv, process.execPath, ...(profAt ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
      '--import', 'tsx', join(root, 'bench/datapath-tun/server.ts'), SRV_IP, String(sessions)];
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], cwd: root });
  try {
    await waitLine(child, 'READY');
    if (subject === 'ref') {
      const batch: string[] = [];
      for (let i = 0; i < sessions; i++) {
        batch.push(`addr add 10.200.0.1 peer 10.201.${Math.floor(i / 250)}.${(i % 250) + 1} dev gref${i}`, `link set gref${i} mtu 1500 up`);
      }
      sh('ip', ['-n', srv, '-batch', '-'], batch.join('\n') + '\n');
    }
    const before = rxPackets(srv);
    const c0 = cpuSeconds(child.pid!);
    const out = sh('ip', ['netns', 'exec', cli, join(bin, 'gre-blast'), CLI_IP, SRV_IP, String(sessions), String(size), String(seconds), String(rate)]);
    // Let the last batches drain before counting.
    await new Promise((r) => setTimeout(r, 200));
    // The receiver idles while the blaster encrypts its frames: CPU counts over the sending time only.
    const cpuPct = (100 * (cpuSeconds(child.pid!) - c0)) / seconds;
    const delivered = rxPackets(srv) - before;
    return { pps: delivered / seconds, cpuPct, sent: Number(/sent (\d+)/.exec(out)?.[1] ?? NaN), rate };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const LOSS_FREE = 0.99;

/** Highest paced rate that delivers ≥ 99 %: double from 8k, then bisect 4 times. */
async function measure(srv: string, cli: string, bin: string, subject: 'ref' | 'ours', sessions: number, size: number): Promise<Result | null> {
  const ok = (r: Result) => r.sent > 0 && r.pps * seconds >= LOSS_FREE * r.sent;
  let best: Result | null = null;
  let lo = 0;
  let hi = 0;
  for (let rate = 8000; rate <= 4_096_000; rate *= 2) {
    const r = await trial(srv, cli, bin, subject, sessions, size, rate);
    if (!ok(r)) {
      hi = rate;
      break;
    }
    best = r;
    lo = rate;
    if (r.sent < 0.95 * rate * seconds) return best; // the blaster itself is the limit
  }
  for (let k = 0; k < 4 && hi > 0; k++) {
    const mid = Math.round((lo + hi) / 2);
    const r = await trial(srv, cli, bin, subject, sessions, size, mid);
    if (ok(r)) {
      best = r;
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return best;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench:tun needs root (network namespaces, TUN, raw sockets)');
    process.exit(2);
  }
  const bin = mkdtempSync(join(tmpdir(), 'bench-tun-'));
  const srv = `pbt-srv-${process.pid}`;
  const cli = `pbt-cli-${process.pid}`;
  try {
    for (const prog of ['gre-rc4-tun', 'gre-blast']) {
      sh('gcc', ['-O2', '-Wall', '-o', join(bin, prog), join(root, 'bench/ref', `${prog}.c`)]);
    }
    sh('ip', ['netns', 'add', srv]);
    sh('ip', ['netns', 'add', cli]);
    sh('ip', ['-n', srv, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1', 'netns', cli]);
    sh('ip', ['-n', srv, 'addr', 'add', `${SRV_IP}/24`, 'dev', 'v0']);
    sh('ip', ['-n', cli, 'addr', 'add', `${CLI_IP}/24`, 'dev', 'v1']);
    for (const [ns, dev] of [[srv, 'v0'], [cli, 'v1']] as const) {
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
    for (const kv of ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1',
      'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']) sh('ip', ['netns', 'exec', srv, 'sysctl', '-qw', kv]);
    // Decrypted packets go to 10.250.0.1: counted on the TUN interface, then dropped by the kernel.
    sh('ip', ['-n', srv, 'route', 'add', 'blackhole', '10.250.0.0/16']);

    const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
    console.log(`bench:tun — ${new Date().toISOString()} — nproc ${sh('nproc', []).trim()}, ${cpu}, kernel ${sh('uname', ['-r']).trim()}, node ${process.version}`);
    console.log(`GRE → MPPE-128 stateless decrypt → TUN; highest loss-free (≥ 99 %) rate, ${seconds} s trials; blaster: C, sendmmsg, pre-encrypted, paced\n`);
    console.log('inner IP size  sessions   reference pps (CPU)      ours pps (CPU)       ours Mbit/s   ratio');
    for (const sessions of [1, 100]) {
      for (const size of [64, 1400]) {
        if (profAt) {
          const r = await trial(srv, cli, bin, 'ours', sessions, size, profAt);
          console.log(`${String(size).padStart(8)} B   ${String(sessions).padStart(8)}   at ${profAt}/s: delivered ${Math.round(r.pps)}/s of ${Math.round(r.sent / seconds)}/s sent, CPU ${r.cpuPct.toFixed(0)} %`);
          continue;
        }
        const ref = await measure(srv, cli, bin, 'ref', sessions, size);
        const ours = await measure(srv, cli, bin, 'ours', sessions, size);
        if (!ref || !ours) {
          console.log(`${String(size).padStart(8)} B   ${String(sessions).padStart(8)}   no loss-free rate found (ref ${ref ? 'ok' : 'none'}, ours ${ours ? 'ok' : 'none'})`);
          continue;
        }
        const ratio = ours.pps / ref.pps;
        const cell = (r: Result) => `${Math.round(r.pps).toString().padStart(9)} (${r.cpuPct.toFixed(0).padStart(3)} %)`;
        console.log(`${String(size).padStart(8)} B   ${String(sessions).padStart(8)}   ${cell(ref)}       ${cell(ours)}` +
          `   ${((ours.pps * size * 8) / 1e6).toFixed(0).padStart(8)}     ${(100 * ratio).toFixed(0).padStart(3)} % ${ratio >= 0.8 ? 'PASS' : 'SHORT'} (target ≥ 80 %)` +
          '');
      }
    }
  } finally {
    spawnSync('ip', ['netns', 'del', cli]);
    spawnSync('ip', ['netns', 'del', srv]);
    rmSync(bin, { recursive: true, force: true });
  }
}

await main();
