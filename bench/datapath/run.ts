// `npm run bench:datapath [-- seconds=10]` (issue 7 part 6): one run, UML
// guests, MS-CHAPv2 + MPPE-128 stateless, iperf3 both directions with
// bench/kclient (kernel-mode client) and pptp-linux (reference), at the
// default MTU and at `mtu 1400 mru 1400`, through
//   (a) poptop (pptpd without -d) in a guest,
//   (b) our daemon, kernel datapath, in a guest,
//   (c) our daemon, TUN datapath, in a guest,
//   (d) the ceiling: two kernel PPP endpoints wired together (no control plane);
// plus the set-up time of 10 kclient sessions per server. Prints the table
// and ratios, and appends it to bench/RESULTS.md ("Data path (issue 7)").
// Not a test: needs root and UML (see shared/UML.md).
import { appendFileSync, existsSync } from 'node:fs';
import { cpus, hostname, release } from 'node:os';
import { join } from 'node:path';
import { Guest, TestNet, interopAvailable } from '../../test/interop/harness/uml.js';
import { pptpClientScenario } from '../../test/interop/harness/client.js';
import { poptopServerScenario } from '../../test/interop/harness/poptop.js';
import { GuestDaemon } from '../../test/interop/harness/guest-daemon.js';
import { wiredScenario, type WiredMode } from '../../test/interop/kppp/wired.js';
import { kclientScenario, parseKClientUp, repoRoot } from '../kclient/scenario.js';

const seconds = Number(process.argv[2] ?? 10);
if (!Number.isInteger(seconds) || seconds < 1 || seconds > 120) throw new Error('seconds must be 1..120');

const USER = 'bench';
const PASSWORD = 'bench-pw';
const MTUS = [undefined, 1400] as const; // undefined: each client's default
type Client = 'kclient' | 'pptp-linux';
type Server = 'poptop' | 'ours-kernel' | 'ours-tun';

interface Figure {
  up: number; // client → server, Mbit/s
  down: number;
  error?: string;
}
const results = new Map<string, Figure>(); // `${server}|${client}|${mtu}`
const setup = new Map<Server, { allUpMs: number; p50: number; max: number } | string>();
const notes: string[] = [];

const key = (s: string, c: string, mtu: number | undefined): string => `${s}|${c}|${mtu ?? 'default'}`;

function mbps(json: string): number {
  const j = JSON.parse(json) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
  if (j.error) throw new Error(`iperf3: ${j.error}`);
  return (j.end?.sum_received?.bits_per_second ?? NaN) / 1e6;
}

const iperfBoth = (remote: string, local: string): string => [
  `iperf3 -c ${remote} -B ${local} -t ${seconds} -J > "$RESULTS/up.json"`,
  `iperf3 -c ${remote} -B ${local} -t ${seconds} -J -R > "$RESULTS/down.json"`,
].join('; ');

async function figure(g: Guest, code: number): Promise<Figure> {
  try {
    const up = await g.read('up.json');
    const down = await g.read('down.json');
    if (!up || !down) throw new Error(`no iperf3 output (scenario exit ${code}, ${(await g.read('client-status')).trim()})`);
    return { up: mbps(up), down: mbps(down) };
  } catch (e) {
    return { up: NaN, down: NaN, error: (e as Error).message.split('\n')[0] };
  }
}

let guestIndex = 10;

/** Every client run against one server reachable at `server`, tunnel address `remote`. */
async function clientRuns(net: TestNet, name: Server, server: string, remote: string): Promise<void> {
  const limit = (2 * seconds + 90) * 1000;
  for (const mtu of MTUS) {
    // bench/kclient
    const k = kclientScenario({ server, user: USER, mtu, afterUp: iperfBoth('"$REMOTE"', '"$LOCAL"') }, PASSWORD);
    const kg = await Guest.boot(net, { name: 'kclient', index: ++guestIndex, scenario: k.scenario, env: k.env, mem: '384M' });
    const kf = await figure(kg, await kg.waitExit(limit).catch(() => -1));
    if (kf.error) kf.error += ` ${(await kg.read('kclient.err')).slice(0, 300)}`;
    results.set(key(name, 'kclient', mtu), kf);
    console.log(`  ${name} kclient mtu ${mtu ?? 'default'}: up ${kf.up.toFixed(1)} down ${kf.down.toFixed(1)}${kf.error ? ` (${kf.error})` : ''}`);
    await kg.kill();
    // pptp-linux + pppd
    const p = pptpClientScenario({
      server,
      sessions: [{ user: USER, password: PASSWORD, unit: 0, extraPppdArgs: mtu ? ['mtu', String(mtu), 'mru', String(mtu)] : [] }],
      afterUp: `L=$(cut -d' ' -f2 "$RESULTS/ip-up.0"); ${iperfBoth(remote, '$L')}`,
    });
    const pg = await Guest.boot(net, { name: 'pptplinux', index: ++guestIndex, scenario: p, mem: '384M' });
    const pf = await figure(pg, await pg.waitExit(limit).catch(() => -1));
    results.set(key(name, 'pptp-linux', mtu), pf);
    console.log(`  ${name} pptp-linux mtu ${mtu ?? 'default'}: up ${pf.up.toFixed(1)} down ${pf.down.toFixed(1)}${pf.error ? ` (${pf.error})` : ''}`);
    await pg.kill();
  }
  // Set-up time of 10 kclient sessions (concurrent, one control connection each).
  const s = kclientScenario({ server, user: USER, sessions: 10, upTimeoutSeconds: 60 }, PASSWORD);
  const sg = await Guest.boot(net, { name: 'kclient10', index: ++guestIndex, scenario: s.scenario, env: s.env, mem: '384M' });
  const code = await sg.waitExit(120_000).catch(() => -1);
  const up = parseKClientUp(await sg.read('kclient-up'));
  if (code === 0 && up.allUpMs !== undefined && up.links.length === 10) {
    const t = up.links.map((l) => l.setupMs).sort((a, b) => a - b);
    setup.set(name, { allUpMs: up.allUpMs, p50: t[4]!, max: t[9]! });
  } else {
    setup.set(name, `failed (exit ${code}): ${(await sg.read('kclient.err')).slice(0, 200)}`);
  }
  console.log(`  ${name} 10 sessions: ${JSON.stringify(setup.get(name))}`);
  await sg.kill();
}

const SERVER_PPP = {
  'options.pptpd': 'name pptpd\nrefuse-pap\nrefuse-chap\nrefuse-mschap\nrequire-mschap-v2\nrequire-mppe-128\nnobsdcomp\nnovj\nnovjccomp\n',
  'chap-secrets': `${USER} pptpd ${PASSWORD} *\n`,
};

async function poptop(): Promise<void> {
  const net = await TestNet.create();
  try {
    const scenario = poptopServerScenario({ localip: '10.99.0.1', remoteip: '10.99.0.100-130', users: [{ user: USER, password: PASSWORD }], maxSeconds: 3600 })
      .replace('#!/bin/sh\n', '#!/bin/sh\niperf3 -s -D > /dev/null 2>&1\n');
    const g = await Guest.boot(net, { name: 'poptop', index: 1, scenario, mem: '512M' });
    await g.waitForFile('server-ready', 20_000);
    await clientRuns(net, 'poptop', g.ip, '10.99.0.1');
    await g.put('stop');
  } finally {
    await net.destroy();
  }
}

async function ours(datapath: 'kernel' | 'tun'): Promise<void> {
  const name: Server = datapath === 'kernel' ? 'ours-kernel' : 'ours-tun';
  const net = await TestNet.create();
  try {
    const d = await GuestDaemon.boot(net, {
      name: `ours${datapath}`,
      index: 1,
      datapath,
      mem: '512M',
      pptpdConf: 'option /etc/ppp/options.pptpd\nlocalip 10.99.5.1\nremoteip 10.99.5.100-130\n',
      ppp: SERVER_PPP,
      beforeStart: 'iperf3 -s -D > /dev/null 2>&1',
    });
    const picked = d.lines().find((l) => l.component === 'datapath' && typeof l.datapath === 'string');
    if (picked && picked.datapath !== datapath) notes.push(`${name}: the daemon picked ${String(picked.datapath)}`);
    await clientRuns(net, name, d.ip, '10.99.5.1');
    await d.stop().catch(() => -1);
  } finally {
    await net.destroy();
  }
}

const ceiling = new Map<string, Figure>();

async function wired(): Promise<void> {
  const KEY_AB = '8b7cdc149b993a1ba118cb153f56dccb';
  const KEY_BA = 'd5f0e9521e3ea9589645e86051c82226';
  const iperf = (r: boolean): string => `iperf3 -c "$PEER" -B "$LOCAL" -t ${seconds} -J${r ? ' -R' : ''}`;
  const sides = (): Pick<WiredMode, 'a' | 'b'> => ({
    a: { exec: `${iperf(false)}; echo @@@; ${iperf(true)}`, syncTimeoutMs: (2 * seconds + 60) * 1000 },
    b: { background: 'iperf3 -s -D -B "$LOCAL"', syncTimeoutMs: (2 * seconds + 60) * 1000 },
  });
  const modes: WiredMode[] = [
    { id: 'mppe1496', callIdA: 302, callIdB: 402, pppA: '10.98.2.1', pppB: '10.98.2.2', mtu: 1496, mppe: { keyAB: KEY_AB, keyBA: KEY_BA }, pingCount: 1, ...sides() },
    { id: 'mppe1400', callIdA: 301, callIdB: 401, pppA: '10.98.1.1', pppB: '10.98.1.2', mtu: 1400, mppe: { keyAB: KEY_AB, keyBA: KEY_BA }, pingCount: 1, ...sides() },
  ];
  const net = await TestNet.create();
  try {
    const ipA = net.guestIp(1);
    const ipB = net.guestIp(2);
    const sA = wiredScenario('A', modes, ipA, ipB);
    const sB = wiredScenario('B', modes, ipA, ipB);
    const [a, b] = await Promise.all([
      Guest.boot(net, { name: 'ceilA', index: 1, scenario: sA.scenario, env: sA.env, mem: '384M' }),
      Guest.boot(net, { name: 'ceilB', index: 2, scenario: sB.scenario, env: sB.env, mem: '384M' }),
    ]);
    const limit = modes.length * (2 * seconds + 90) * 1000;
    await Promise.all([a.waitExit(limit).catch(() => -1), b.waitExit(limit).catch(() => -1)]);
    for (const m of modes) {
      const r = JSON.parse((await a.read(`${m.id}.json`)) || '{}') as { ok?: boolean; error?: string; execOut?: string };
      let f: Figure;
      try {
        if (!r.ok || !r.execOut) throw new Error(r.error ?? 'no report');
        const [up, down] = r.execOut.split('@@@');
        f = { up: mbps(up!), down: mbps(down!) };
      } catch (e) {
        f = { up: NaN, down: NaN, error: (e as Error).message.split('\n')[0] };
      }
      ceiling.set(m.mtu === 1400 ? '1400' : 'default', f);
      console.log(`  ceiling mtu ${m.mtu}: up ${f.up.toFixed(1)} down ${f.down.toFixed(1)}${f.error ? ` (${f.error})` : ''}`);
    }
  } finally {
    await net.destroy();
  }
}

async function step(what: string, fn: () => Promise<void>): Promise<void> {
  console.log(`${what}…`);
  try {
    await fn();
  } catch (e) {
    notes.push(`${what}: ${(e as Error).message.split('\n')[0]}`);
    console.log(`  FAILED: ${(e as Error).message.split('\n').slice(0, 5).join(' | ')}`);
  }
}

function f1(v: number): string {
  return Number.isFinite(v) ? v.toFixed(1) : '–';
}
function ratio(a: number, b: number | undefined): string {
  return b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(1)}×` : '–';
}

function table(): string {
  const L: string[] = [];
  L.push('| server | client | MTU | up c→s Mbit/s | down s→c Mbit/s | up / poptop | down / poptop | up / ceiling | down / ceiling |');
  L.push('|---|---|---|---|---|---|---|---|---|');
  for (const s of ['poptop', 'ours-kernel', 'ours-tun'] as Server[]) {
    for (const c of ['kclient', 'pptp-linux'] as Client[]) {
      for (const mtu of MTUS) {
        const f = results.get(key(s, c, mtu));
        if (!f) continue;
        const p = results.get(key('poptop', c, mtu));
        const ce = ceiling.get(mtu ? '1400' : 'default');
        const label = { poptop: 'poptop 1.4 (no -d), guest', 'ours-kernel': 'ours, kernel datapath, guest', 'ours-tun': 'ours, TUN datapath, guest' }[s];
        L.push(`| ${label} | ${c} | ${mtu ?? 'default'} | ${f1(f.up)} | ${f1(f.down)} | ${ratio(f.up, p?.up)} | ${ratio(f.down, p?.down)} | ${ratio(f.up, ce?.up)} | ${ratio(f.down, ce?.down)} |`);
      }
    }
  }
  for (const [m, f] of ceiling) {
    L.push(`| ceiling: two kernel PPP endpoints wired | – | ${m === 'default' ? '1496' : '1400'} | ${f1(f.up)} | ${f1(f.down)} | | | | |`);
  }
  L.push('');
  L.push('Set-up of 10 concurrent bench/kclient sessions (one control connection each), first TCP connect → last link up:');
  L.push('');
  for (const [s, v] of setup) {
    L.push(typeof v === 'string' ? `- ${s}: ${v}` : `- ${s}: all up in ${v.allUpMs} ms (per session: median ${v.p50} ms, max ${v.max} ms)`);
  }
  const errors = [...results.entries()].filter(([, f]) => f.error).map(([k, f]) => `${k}: ${f.error}`);
  for (const n of [...notes, ...errors]) L.push(`- note: ${n}`);
  return L.join('\n');
}

async function main(): Promise<void> {
  const avail = interopAvailable({ poptop: true });
  if (!avail.ok) {
    console.error(`bench:datapath needs root and UML: ${avail.why}`);
    process.exit(2);
  }
  const t0 = Date.now();
  await step('(d) ceiling', wired);
  await step('(a) poptop', poptop);
  await step('(b) our daemon, kernel datapath', () => ours('kernel'));
  await step('(c) our daemon, TUN datapath', () => ours('tun'));
  const machine = `${hostname()}: ${cpus()[0]?.model ?? 'cpu?'} × ${cpus().length}, Linux ${release()}, UML guests (linux.uml, 2 vCPU host)`;
  const body = table();
  console.log(`\n${body}\n`);
  const out = join(repoRoot(), 'bench', 'RESULTS.md');
  const section = [
    '',
    `## Data path (issue 7) — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${machine}. \`npm run bench:datapath\`, iperf3 -t ${seconds} each way, MS-CHAPv2 + MPPE-128 stateless,`,
    'client and server each in a User-Mode Linux guest on one bridge. "default" MTU = each client\'s own default',
    '(kclient and pppd: MRU 1500, interface MTU 1496 with MPPE); the ceiling has no control plane. One run; runs vary ±30–50 %.',
    `Took ${Math.round((Date.now() - t0) / 1000)} s.`,
    '',
    body,
    '',
  ].join('\n');
  if (!existsSync(out)) appendFileSync(out, '# Benchmark results\n');
  appendFileSync(out, section);
  console.log(`appended to ${out}`);
}

await main();
