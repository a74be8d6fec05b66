// The issue-7 "ceiling": two kernel PPP endpoints, one per UML guest, wired
// straight to each other (AF_PPPOX PPTP sockets on each other's call ids,
// ppp units, kernel MPPE-128 stateless keys), no control plane; iperf3 both
// ways through them. Not a test: prints Mbit/s. Needs root, UML and an addon
// built with native/src/kppp.c (PPTPD_NATIVE_PATH to use another build).
//
//   npx tsx bench/ceiling/run.ts [seconds=10]
import { Guest, TestNet, interopAvailable } from '../../test/interop/harness/uml.js';
import { wiredScenario, type WiredMode } from '../../test/interop/kppp/wired.js';

const seconds = Number(process.argv[2] ?? 10);
if (!Number.isInteger(seconds) || seconds < 1 || seconds > 120) throw new Error('seconds must be 1..120');

const KEY_AB = '8b7cdc149b993a1ba118cb153f56dccb';
const KEY_BA = 'd5f0e9521e3ea9589645e86051c82226';
const iperf = (reverse: boolean): string =>
  `iperf3 -c "$PEER" -B "$LOCAL" -t ${seconds} -J${reverse ? ' -R' : ''}`;
const sides = (): Pick<WiredMode, 'a' | 'b'> => ({
  // B serves; A measures A→B ("up") then B→A ("down", -R).
  a: { exec: `${iperf(false)}; echo @@@; ${iperf(true)}`, syncTimeoutMs: (2 * seconds + 60) * 1000 },
  b: { background: 'iperf3 -s -D -B "$LOCAL"', syncTimeoutMs: (2 * seconds + 60) * 1000 },
});

const modes: Array<WiredMode & { label: string }> = [
  { label: 'MPPE-128 stateless, MTU 1400', id: 'mppe1400', callIdA: 301, callIdB: 401, pppA: '10.98.1.1', pppB: '10.98.1.2', mtu: 1400, mppe: { keyAB: KEY_AB, keyBA: KEY_BA }, pingCount: 1, ...sides() },
  { label: 'MPPE-128 stateless, MTU 1496', id: 'mppe1496', callIdA: 302, callIdB: 402, pppA: '10.98.2.1', pppB: '10.98.2.2', mtu: 1496, mppe: { keyAB: KEY_AB, keyBA: KEY_BA }, pingCount: 1, ...sides() },
  { label: 'no MPPE, MTU 1400', id: 'plain1400', callIdA: 303, callIdB: 403, pppA: '10.98.3.1', pppB: '10.98.3.2', mtu: 1400, pingCount: 1, ...sides() },
];

function mbps(json: string): number {
  const j = JSON.parse(json) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
  if (j.error) throw new Error(`iperf3: ${j.error}`);
  return (j.end?.sum_received?.bits_per_second ?? NaN) / 1e6;
}

async function main(): Promise<void> {
  const avail = interopAvailable();
  if (!avail.ok) {
    console.error(`ceiling benchmark needs UML: ${avail.why}`);
    process.exit(2);
  }
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
    const [codeA, codeB] = await Promise.all([a.waitExit(limit), b.waitExit(limit)]);
    console.log(`ceiling: two kernel PPP endpoints wired over PPTP/GRE, UML guests, iperf3 -t ${seconds}`);
    for (const m of modes) {
      const r = JSON.parse((await a.read(`${m.id}.json`)) || '{}') as { ok?: boolean; error?: string; execOut?: string };
      if (!r.ok || !r.execOut) {
        console.log(`  ${m.label.padEnd(32)} FAILED: ${r.error ?? 'no report'}`);
        continue;
      }
      const [up, down] = r.execOut.split('@@@');
      console.log(`  ${m.label.padEnd(32)} A→B ${mbps(up).toFixed(0).padStart(5)} Mbit/s   B→A ${mbps(down).toFixed(0).padStart(5)} Mbit/s`);
    }
    if (codeA !== 0 || codeB !== 0) {
      console.log(`guest exit codes A=${codeA} B=${codeB}\n${await a.diagnostics()}\n${await b.diagnostics()}`);
      process.exitCode = 1;
    }
  } finally {
    await net.destroy();
  }
}

await main();
