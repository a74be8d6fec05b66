// What the session layer needs from its neighbours, as small structural
// interfaces: the real ControlConnection, PppLink, address pool and ip-up
// runner satisfy them, and tests can drive the manager with stand-ins.
import type { AddressRule } from '../auth/types.js';
import type { ScriptSession } from '../scripts/ppp-scripts.js';

/** The part of a control connection (control/connection.ts) a session uses. */
export interface CallOwner {
  /** Sends CDN for the call (result 1 lost carrier, 3 admin shutdown) and forgets it. */
  disconnectCall(callId: number, result: number, cause: string): void;
  /** CDN every call, StopCCRQ, close (reason 1 none, 2 stop-protocol, 3 local shutdown). */
  stop(reason: number): void;
  readonly state: string;
}

/** The part of PppLink (ppp/link.ts) a session drives. */
export interface SessionLink {
  start(): void;
  input(frame: Uint8Array): void;
  sendIp(packet: Uint8Array): void;
  close(reason: string): void;
  lowerDown(reason: string): void;
  readonly phase: string;
}

/** ip-up / ip-down runner (scripts/ppp-scripts.ts PppScripts fits). */
export interface SessionScripts {
  ipUp(s: ScriptSession): Promise<unknown> | void;
  ipDown(s: ScriptSession): Promise<unknown> | void;
}

/** One row of `pptpctl show sessions` (mgmt/protocol.ts SessionView is this type). */
export interface SessionInfo {
  id: string;
  ifname: string;
  user: string;
  /** The client's address inside the tunnel. */
  peer: string;
  /** The client's outer address. */
  client: string;
  callId: number;
  peerCallId: number;
  /** Unix ms. */
  startedAt: number;
  rxBytes: number;
  txBytes: number;
  /** "128-bit stateless", "40-bit stateful" or "none". */
  mppe: string;
  state: string;
}

/** OCRP result codes (RFC 2637 §2.8) the session layer answers with. */
export const OCRP_GENERAL_ERROR = 2;
export const OCRP_BUSY = 4;
export const OCRP_DO_NOT_ACCEPT = 7;
/** CDN result codes (RFC 2637 §2.13). */
export const CDN_LOST_CARRIER = 1;
export const CDN_ADMIN_SHUTDOWN = 3;
/** StopCCRQ reason: local shutdown. */
export const STOP_LOCAL_SHUTDOWN = 3;

/** An address pair from the pool: our end (localip) and the client's (remoteip). */
export interface AddressLease {
  readonly local: string;
  readonly remote: string;
}

/**
 * The address pool as the session layer uses it (ippool/pool.ts AddressPool
 * fits). Rules come from the chap-secrets address column.
 */
export interface SessionPool {
  /** Any free pair whose remote address the rules allow. */
  allocate(rules: readonly AddressRule[]): AddressLease | undefined;
  /** A specific remote address (pinned by chap-secrets or requested by the client), if free and allowed. */
  take(remote: string, rules: readonly AddressRule[]): AddressLease | undefined;
  /** Gives an address back; false when it was not held. */
  release(remote: string): boolean;
  /** Pool addresses that can still be handed out. */
  readonly free: number;
}
