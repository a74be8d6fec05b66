// A PPP link stand-in the test steers by hand: it records what the session
// manager asks of it and raises the hooks (auth, up, down) when told. The
// real PppLink is exercised in session-e2e.test.ts; this one makes every exit
// path of the manager reachable deterministically.
import type { LinkOptions, LinkUpInfo } from '../../src/ppp/types.js';
import type { SecretEntry } from '../../src/auth/types.js';
import type { SessionLink } from '../../src/session/types.js';

export const LCP_CONFREQ = Uint8Array.from([0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x04]);
export const LCP_TERMREQ = Uint8Array.from([0xff, 0x03, 0xc0, 0x21, 0x05, 0x02, 0x00, 0x04]);

export class ScriptedLink implements SessionLink {
  phase = 'dead';
  startedAfter: string[] | undefined;
  readonly closeCalls: string[] = [];
  readonly lowerDownCalls: string[] = [];
  readonly inputFrames: Uint8Array[] = [];
  downCount = 0;
  /** close(): 'sync' reports onDown at once; 'manual' waits for finishClose() (TermAck). */
  closeMode: 'sync' | 'manual' = 'manual';
  onStart: (() => void) | undefined;

  constructor(readonly o: LinkOptions) {}

  start(): void {
    this.phase = 'establish';
    this.onStart?.();
    this.o.hooks.send(LCP_CONFREQ);
  }
  input(frame: Uint8Array): void {
    this.inputFrames.push(Uint8Array.from(frame));
  }
  sendIp(packet: Uint8Array): void {
    this.o.hooks.send(packet);
  }
  close(reason: string): void {
    this.closeCalls.push(reason);
    if (this.phase === 'dead') return;
    this.phase = 'terminate';
    this.o.hooks.send(LCP_TERMREQ);
    if (this.closeMode === 'sync') this.down(reason);
  }
  lowerDown(reason: string): void {
    this.lowerDownCalls.push(reason);
    this.down(reason);
  }

  // ---- test drivers ----
  finishClose(): void {
    this.down(this.closeCalls[0] ?? 'closed');
  }
  down(reason: string): void {
    if (this.downCount > 0) return; // onDown exactly once, as PppLink promises
    this.phase = 'dead';
    this.downCount++;
    this.o.hooks.onDown(reason);
  }
  authenticate(user: string, entry?: SecretEntry, requested?: string) {
    this.phase = 'authenticate';
    this.o.hooks.onAuthenticated?.(user, 'mschapv2');
    this.phase = 'network';
    return this.o.hooks.assignAddress({ user, ...(entry ? { entry } : {}), ...(requested ? { requested } : {}) });
  }
  /** Auth + address + IPCP up. */
  up(user = 'alice', entry?: SecretEntry): LinkUpInfo {
    const a = this.authenticate(user, entry);
    if ('error' in a) throw new Error(a.error);
    const info: LinkUpInfo = {
      user, local: a.local, peer: a.peer, dns: ['8.8.8.8'], wins: [], mtu: 1400, mru: 1400,
      mppe: { bits: 128, stateful: false, sendKey: new Uint8Array(16), recvKey: new Uint8Array(16) },
      authMethod: 'mschapv2',
    };
    this.phase = 'running';
    this.o.hooks.onUp(info);
    return info;
  }
}

/** A createLink for the harness that keeps every link it made. */
export function scriptedLinks(): { links: ScriptedLink[]; createLink: (o: LinkOptions) => ScriptedLink } {
  const links: ScriptedLink[] = [];
  return {
    links,
    createLink: (o) => {
      const l = new ScriptedLink(o);
      links.push(l);
      return l;
    },
  };
}
