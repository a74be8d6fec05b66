// netem inside a UML guest: the host kernel here has no sch_netem, the UML
// guest kernel ships it as a module. Egress netem on the guest's eth0 shapes
// what the client sends (client→server); for what it receives
// (server→client), ingress is redirected to an ifb device with netem on it,
// so packets reach the client's pptp/kernel late and out of order exactly as
// if the network had reordered them.
//
// Only GRE (IP protocol 47) is touched: the PPTP control connection, ARP and
// everything else pass untouched, so what a test measures is how the data
// path copes, not TCP's retransmissions of control messages.
import type { GuestShell } from './guest-shell.js';

/** A netem qdisc argument string, e.g. "loss 2%" or "delay 10ms reorder 25% 50%". */
export type NetemSpec = string;

const SPEC = /^[A-Za-z0-9.% ]{1,100}$/;

function check(spec: NetemSpec): void {
  if (!SPEC.test(spec)) throw new Error(`bad netem spec: ${spec}`);
}

/** Loads the modules (guest-init's private modprobe root) and checks netem works. */
export async function netemReady(sh: GuestShell): Promise<void> {
  await sh.ok([
    'modprobe -d /run/kmod -a sch_netem sch_prio sch_ingress ifb act_mirred cls_u32',
    // ifb's module parameter numifbs defaults to 2; make sure ifb0 exists either way.
    'ip link show ifb0 > /dev/null 2>&1 || ip link add ifb0 type ifb',
    'ip link set ifb0 up',
    'tc qdisc add dev ifb0 root netem delay 1ms && tc qdisc del dev ifb0 root',
  ].join(' && '));
}

/**
 * Egress: a prio qdisc whose band 3 carries netem; a u32 filter sends GRE
 * there. Other traffic uses the untouched first band.
 */
export function netemEgressScript(dev: string, spec: NetemSpec): string {
  check(spec);
  return `tc qdisc del dev ${dev} root 2>/dev/null; ` + [
    // priomap values are 0-based bands: everything unfiltered goes to band 0 (class 1:1).
    `tc qdisc add dev ${dev} root handle 1: prio bands 3 priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0`,
    `tc qdisc add dev ${dev} parent 1:3 handle 30: netem ${spec}`,
    `tc filter add dev ${dev} parent 1: protocol ip prio 1 u32 match ip protocol 47 0xff flowid 1:3`,
  ].join(' && ');
}

/** Ingress: GRE arriving on `dev` goes through ifb0, which carries netem. */
export function netemIngressScript(dev: string, spec: NetemSpec): string {
  check(spec);
  return `tc qdisc del dev ${dev} ingress 2>/dev/null; tc qdisc del dev ifb0 root 2>/dev/null; ` + [
    `tc qdisc add dev ifb0 root netem ${spec}`,
    `tc qdisc add dev ${dev} handle ffff: ingress`,
    `tc filter add dev ${dev} parent ffff: protocol ip prio 1 u32 match ip protocol 47 0xff action mirred egress redirect dev ifb0`,
  ].join(' && ');
}

export type NetemDirection = 'from-client' | 'to-client';

/** Applies netem to GRE leaving (from-client) or arriving at (to-client) the guest's eth0. */
export async function netemSet(sh: GuestShell, direction: NetemDirection, spec: NetemSpec): Promise<void> {
  await sh.ok(direction === 'from-client' ? netemEgressScript('eth0', spec) : netemIngressScript('eth0', spec));
}

/** Removes every netem this helper installed on eth0. */
export async function netemClear(sh: GuestShell): Promise<void> {
  await sh.run('tc qdisc del dev eth0 root 2>/dev/null; tc qdisc del dev eth0 ingress 2>/dev/null; tc qdisc del dev ifb0 root 2>/dev/null; true');
}

/** netem's own counters (`tc -s qdisc`): packets it sent and dropped, per netem qdisc. */
export async function netemStats(sh: GuestShell): Promise<{ sent: number; dropped: number; text: string }> {
  const text = await sh.ok('tc -s qdisc show dev eth0; tc -s qdisc show dev ifb0');
  let sent = 0;
  let dropped = 0;
  // Each qdisc: "qdisc netem … \n Sent B bytes P pkt (dropped D, …"
  for (const m of text.matchAll(/qdisc netem[^\n]*\n\s*Sent \d+ bytes (\d+) pkt \(dropped (\d+)/g)) {
    sent += Number(m[1]);
    dropped += Number(m[2]);
  }
  return { sent, dropped, text };
}
