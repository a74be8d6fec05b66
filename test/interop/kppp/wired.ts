// Host side of the "two kernel PPP endpoints wired together" set-up: builds
// each guest's endpoint configurations and scenario script. Used by
// test/interop/kppp-wired.test.ts and bench/ceiling/run.ts.
import { nodeEntryCommand, repoRoot } from '../harness/node-entry.js';
import { shq } from '../harness/uml.js';
import type { EndpointConfig } from './endpoint.js';

export interface WiredMode {
  /** Report file name stem and env var suffix: [a-z0-9]+. */
  id: string;
  callIdA: number;
  callIdB: number;
  pppA: string;
  pppB: string;
  /** Start keys: A sends with keyAB (= B's receive key), B with keyBA. */
  mppe?: { keyAB: string; keyBA: string; /** B decrypts with this instead of keyAB. */ wrongRecvKeyB?: string };
  pingCount: number;
  expectPingFail?: boolean;
  mtu?: number;
  /** Per-side extras (benchmark): see EndpointConfig. */
  a?: Pick<EndpointConfig, 'background' | 'exec' | 'syncTimeoutMs'>;
  b?: Pick<EndpointConfig, 'background' | 'exec' | 'syncTimeoutMs'>;
}

export { repoRoot };

/** argv prefix that runs the endpoint: compiled JS under dist, else via tsx. */
export function endpointCommand(): string[] {
  return nodeEntryCommand(import.meta.url, 'endpoint');
}

function config(side: 'A' | 'B', m: WiredMode, ipA: string, ipB: string): EndpointConfig {
  const a = side === 'A';
  let mppe: EndpointConfig['mppe'] = 'none';
  if (m.mppe) {
    mppe = a
      ? { sendKey: m.mppe.keyAB, recvKey: m.mppe.keyBA }
      : { sendKey: m.mppe.keyBA, recvKey: m.mppe.wrongRecvKeyB ?? m.mppe.keyAB };
  }
  return {
    name: `${side}-${m.id}`,
    localIp: a ? ipA : ipB,
    peerIp: a ? ipB : ipA,
    localCallId: a ? m.callIdA : m.callIdB,
    peerCallId: a ? m.callIdB : m.callIdA,
    pppLocal: a ? m.pppA : m.pppB,
    pppPeer: a ? m.pppB : m.pppA,
    mppe,
    pingCount: m.pingCount,
    expectPingFail: m.expectPingFail,
    mtu: m.mtu,
    ...(a ? m.a : m.b),
  };
}

/**
 * Env and scenario for one guest: runs the endpoint once per mode, in order,
 * each writing $RESULTS/<id>.json. The scenario exits with the last
 * non-zero endpoint exit code (0 if all succeeded).
 */
export function wiredScenario(side: 'A' | 'B', modes: WiredMode[], ipA: string, ipB: string): { env: Record<string, string>; scenario: string } {
  const env: Record<string, string> = {};
  if (process.env.PPTPD_NATIVE_PATH) env.PPTPD_NATIVE_PATH = process.env.PPTPD_NATIVE_PATH;
  const cmd = endpointCommand().map(shq).join(' ');
  const lines = ['set -u', `cd ${shq(repoRoot())}`, 'rc=0'];
  for (const m of modes) {
    if (!/^[a-z0-9]+$/.test(m.id)) throw new Error(`bad mode id ${m.id}`);
    env[`KPPP_CFG_${m.id}`] = JSON.stringify(config(side, m, ipA, ipB));
    lines.push(
      `${cmd} "$KPPP_CFG_${m.id}" "$RESULTS/${m.id}.json"; r=$?`,
      `echo "${m.id}: endpoint exit $r"; [ $r -eq 0 ] || rc=$r`,
    );
  }
  lines.push('exit $rc');
  return { env, scenario: lines.join('\n') + '\n' };
}
