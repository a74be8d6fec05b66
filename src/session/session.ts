// One PPTP call end to end: control connection + call ids, datapath call
// (GRE, interface), PPP link, pool address, user, counters, timestamps.
// The manager drives its life; this file only holds the state and the view.
import type { Logger } from 'pino';
import type { DatapathCall, DatapathCounters } from '../datapath/types.js';
import type { LinkUpInfo } from '../ppp/types.js';
import type { Timer } from '../util/clock.js';
import type { AddressLease, CallOwner, SessionInfo, SessionLink } from './types.js';

/**
 * starting: call accepted, PPP negotiating; up: interface attached;
 * closing: admin kill sent LCP Terminate, waiting for the link to finish;
 * down: torn down (cleanup may still be completing).
 */
export type SessionState = 'starting' | 'up' | 'closing' | 'down';

export interface SessionParams {
  id: string;
  conn: CallOwner;
  callId: number;
  peerCallId: number;
  clientAddress: string;
  localAddress: string;
  /** Wall-clock ms (for display). */
  startedAt: number;
  /** Monotonic ms from the manager's Clock (for durations). */
  startMono: number;
  log: Logger;
}

// Built once: every session holds one of these (a template per session was a new string each).
const MPPE_TEXT: Record<number, readonly [string, string]> = {
  40: ['40-bit stateless', '40-bit stateful'],
  56: ['56-bit stateless', '56-bit stateful'],
  128: ['128-bit stateless', '128-bit stateful'],
};

export function describeMppe(m: LinkUpInfo['mppe'] | undefined): string {
  if (!m) return 'none';
  return MPPE_TEXT[m.bits]?.[m.stateful ? 1 : 0] ?? `${m.bits}-bit ${m.stateful ? 'stateful' : 'stateless'}`;
}

export class Session {
  readonly id: string;
  readonly conn: CallOwner;
  readonly callId: number;
  readonly peerCallId: number;
  readonly clientAddress: string;
  readonly localAddress: string;
  readonly startedAt: number;
  readonly startMono: number;
  readonly log: Logger;

  state: SessionState = 'starting';
  // Set right after construction by the manager (the link needs hooks bound to the session).
  dp!: DatapathCall;
  link!: SessionLink;

  user = '';
  ifname = '';
  local = '';
  peer = '';
  mppe = 'none';
  mtu = 0;
  dns: string[] = [];
  /** The pool address this session holds (released once at teardown). */
  lease: AddressLease | undefined;
  upMono = 0;
  /** At least one PPP frame arrived from the client through GRE. */
  gotFrame = false;

  /** The PPP link has reported onDown (or we called lowerDown). */
  pppGone = false;
  /** The PPTP call no longer exists on the control connection (cleared or CDN sent). */
  pptpGone = false;
  /** Why the session ends: the first reason given wins. */
  reason: string | undefined;
  /** Admin kill: force the end if the link never finishes terminating. */
  guard: Timer | undefined;
  /** Pending LCP start (lcpStartWaitMs): cancelled by the first client frame or teardown. */
  startTimer: Timer | undefined;
  /** pppd `idle`: packets moved at the last sweep, and when they last changed. */
  idleMark = -1;
  lastActive = 0;
  ipUpRan = false;
  // Interface set-up and ip-up in flight: held until they settle, then let go
  // (a settled promise and its reactions would otherwise stay for the
  // session's life; waiting on a settled one and skipping it are the same).
  private attachingP: Promise<unknown> | undefined = undefined;
  private ipUpP: Promise<unknown> | undefined = undefined;
  /** Counters at teardown (the datapath call is closed afterwards). */
  final: DatapathCounters | undefined;
  /** The user of the authentication attempt being verified (auth back-off bookkeeping). */
  authAttempt: string | undefined;
  /** An authentication result held back by the back-off. */
  authHold: Timer | undefined;

  constructor(p: SessionParams) {
    this.id = p.id;
    this.conn = p.conn;
    this.callId = p.callId;
    this.peerCallId = p.peerCallId;
    this.clientAddress = p.clientAddress;
    this.localAddress = p.localAddress;
    this.startedAt = p.startedAt;
    this.startMono = p.startMono;
    this.log = p.log;
  }

  get attaching(): Promise<unknown> | undefined {
    return this.attachingP;
  }
  set attaching(p: Promise<unknown> | undefined) {
    this.hold('attachingP', p);
  }

  get ipUp(): Promise<unknown> | undefined {
    return this.ipUpP;
  }
  set ipUp(p: Promise<unknown> | undefined) {
    this.hold('ipUpP', p);
  }

  /** Keeps p in the field until it settles (unless replaced meanwhile). */
  private hold(field: 'attachingP' | 'ipUpP', p: Promise<unknown> | undefined): void {
    this[field] = p;
    if (p) {
      const settled = () => {
        if (this[field] === p) this[field] = undefined;
      };
      p.then(settled, settled);
    }
  }

  counters(): DatapathCounters {
    return this.final ?? this.dp.counters();
  }

  info(): SessionInfo {
    const c = this.counters();
    return {
      id: this.id,
      ifname: this.ifname,
      user: this.user,
      peer: this.peer,
      client: this.clientAddress,
      callId: this.callId,
      peerCallId: this.peerCallId,
      startedAt: this.startedAt,
      rxBytes: c.rxBytes,
      txBytes: c.txBytes,
      mppe: this.mppe,
      state: this.state,
    };
  }

  /** Does an admin selector (ifname, user, tunnel or outer address, session id) name this session? */
  matches(selector: string): boolean {
    return (
      selector === this.id ||
      (this.ifname !== '' && selector === this.ifname) ||
      (this.user !== '' && selector === this.user) ||
      (this.peer !== '' && selector === this.peer) ||
      selector === this.clientAddress
    );
  }
}
