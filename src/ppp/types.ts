// The link's public contract (the session layer codes against it).
import type { Logger } from 'pino';
import type { AuthBackend, SecretEntry } from '../auth/types.js';
import type { Clock } from '../util/clock.js';
import type { RandomSource } from '../util/random.js';
import type { AuthMethod } from './auth/types.js';
import type { FsmConfig } from './fsm.js';

export type { AuthMethod };

export interface MppePolicy {
  /** The link fails unless MPPE comes up. */
  required: boolean;
  allow40: boolean;
  allow56: boolean;
  allow128: boolean;
  /** Stateful mode may be used (stateless is still preferred). */
  stateful: boolean;
}

export interface PppPolicy {
  /** Our name (pppd `name`): the CHAP name and the secrets' server column. */
  name: string;
  /** Server: methods we demand, in offer order. Client: methods we accept. Empty = no authentication. */
  auth: AuthMethod[];
  /** null = nomppe. */
  mppe: MppePolicy | null;
  /** Our MRU (what we ask the peer to respect). */
  mru: number;
  /** The most we send (effective MTU = min(peer's MRU, mtu)). */
  mtu: number;
  /** Seconds between LCP Echo-Requests; 0 = off. */
  lcpEchoInterval: number;
  /** Unanswered echoes before the link is declared dead. */
  lcpEchoFailure: number;
  /** Up to 2 each (dotted quads). */
  dns: string[];
  wins: string[];
  /** Failed responses allowed before hang-up (MS-CHAPv2 R=1 retries). */
  maxAuthRetries: number;
  /** The whole authentication phase must finish within this. */
  authTimeoutMs: number;
  /** Seconds; 0 = off (used by the datapath; carried through). */
  idleSeconds: number;
  /** pppd `nopcomp`: Configure-Reject the peer's PFC (absent = accept it). */
  nopcomp?: boolean;
  /** pppd `noaccomp`: Configure-Reject the peer's ACFC (absent = accept it). */
  noaccomp?: boolean;
  /**
   * pppd ipcp-restart / ipcp-max-configure / -max-terminate / -max-failure:
   * IPCP's automaton only. A field left out keeps the value LCP and CCP use
   * (the link's FSM tuning: lcp-* or the built-in defaults).
   */
  ipcpFsm?: Readonly<Partial<FsmConfig>>;
  /** pppd chap-restart, in ms: resend an unanswered Challenge after this (absent = 3000). */
  chapRestartMs?: number;
  /** pppd chap-max-challenge: Challenges sent before giving up (absent = 10). */
  chapMaxChallenge?: number;
  /**
   * pppd pap-timeout, in ms: how long the peer may take to authenticate
   * itself with PAP; 0 = no limit (absent = authTimeoutMs).
   */
  papTimeoutMs?: number;
  /** pppd pap-restart, in ms (client role): resend an unanswered Authenticate-Request after this (absent = 3000). */
  papRestartMs?: number;
  /** pppd pap-max-authreq (client role): Authenticate-Requests sent before giving up (absent = 10). */
  papMaxAuthreq?: number;
}

/**
 * Defaults. MTU/MRU 1400: the PPP default 1496/1500 plus MPPE (4 bytes),
 * GRE (16) and IP (20) overhead makes outer packets exceed a 1500-byte path
 * and gives Linux peers "compressor dropped pkt"; 1400 leaves room for all of
 * it and for PPPoE/DSL paths (REFERENCE.md, MTU notes).
 * maxAuthRetries 2: two more MS-CHAPv2 attempts after a failure, then hang up.
 */
export const DEFAULT_PPP_POLICY: Readonly<PppPolicy> = Object.freeze({
  name: 'pptpd',
  auth: ['mschapv2'] as AuthMethod[],
  mppe: { required: true, allow40: false, allow56: false, allow128: true, stateful: false },
  mru: 1400,
  mtu: 1400,
  lcpEchoInterval: 0,
  lcpEchoFailure: 3,
  dns: [],
  wins: [],
  maxAuthRetries: 2,
  authTimeoutMs: 30000,
  idleSeconds: 0,
});

export interface MppeInfo {
  bits: 40 | 56 | 128;
  stateful: boolean;
  sendKey: Uint8Array;
  recvKey: Uint8Array;
}

export interface LinkUpInfo {
  user: string;
  local: string;
  peer: string;
  dns: string[];
  wins: string[];
  /** Effective after negotiation: mtu = min(peer MRU, policy.mtu); mru = what the peer acked. */
  mtu: number;
  mru: number;
  mppe: MppeInfo | null;
  authMethod: AuthMethod | 'none';
}

export interface LinkHooks {
  /**
   * One PPP frame (FF 03 + protocol + data, or compressed per ACFC/PFC) to the
   * lower layer. Data frames are built in a per-link scratch buffer: the
   * bytes are valid only during the call (copy them to keep them).
   */
  send(frame: Uint8Array): void;
  /**
   * After authentication: the addresses for IPCP, or a refusal (pool empty,
   * rules forbid). Called again with `requested` when the peer asks for a
   * specific other address; a successful answer replaces the previous one
   * (the session releases the old address).
   */
  assignAddress(req: { user: string; entry?: SecretEntry; requested?: string }): { local: string; peer: string } | { error: string };
  onAuthenticated?(user: string, method: AuthMethod | 'none'): void;
  /** IPCP (and CCP when required) Opened. */
  onUp(info: LinkUpInfo): void;
  /** Called exactly once when the link ends, with a human reason. */
  onDown(reason: string): void;
  /** Decrypted IPv4 packet from the peer (userspace datapath only); valid only during the call. */
  onIp?(packet: Uint8Array): void;
  /**
   * Kernel data mode only: the MPPE start keys, once authentication produced
   * them and BEFORE CCP starts. Kernel MPPE starts a direction when it sees a
   * CCP Configure-Ack pass through the ppp unit, and must hold the keys then.
   */
  kernelMppeKeys?(keys: { sendKey: Uint8Array; recvKey: Uint8Array; required: boolean }): void;
  /**
   * Kernel data mode only: CCP reached Opened with MPPE. Called before IPCP
   * starts: until the kernel knows CCP is up (SC_CCP_UP) it drops every
   * non-LCP/CCP frame it would have to encrypt, IPCP included.
   */
  kernelMppeUp?(): void;
}

/**
 * Where a userspace link decrypts received IP packets in place: the TUN
 * datapath's write queue, saving a copy per packet (decrypt → scratch →
 * queue). Without one the link decrypts into its scratch and calls onIp.
 */
export interface IpSink {
  /** The buffer begin() offsets point into. */
  readonly buffer: Uint8Array;
  /**
   * Room for up to `max` bytes at the returned offset of `buffer`, or -1 (the
   * packet is dropped). Nothing is held: not calling commit() is the abort.
   */
  begin(max: number): number;
  /** The IP packet is buffer[start + skip, + len), written since begin() returned `start`: deliver it. */
  commit(start: number, skip: number, len: number): void;
  /**
   * Optional: the datapath may decrypt the link's common in-order stateless
   * MPPE frames itself (natively), on the link's state. The link offers it
   * whenever that becomes possible and withdraws it (null) whenever it stops
   * being so (link not running, codec gone, sink replaced).
   */
  fastRx?(link: FastRxLink | null): void;
}

/** What a link offers a datapath's receive fast path (see IpSink.fastRx). */
export interface FastRxLink {
  /** The stateless codec's shared receive state (MppeCodec.fastRxView). */
  readonly mppe: { st: Uint8Array; rx: number; hist: number; histSlots: number };
  /** Longest MPPE frame the link accepts (longer ones are the link's to drop). */
  readonly rxMax: number;
  /** Frames the datapath handled for the link: counted as if input() had taken them. */
  counted(frames: number, frameBytes: number, ipPackets: number, dropped: number): void;
}

/** Pluggable constructors (tests inject fakes; defaults are the real ones). */
export interface LinkFactories {
  createAuthenticator?: typeof import('./auth/index.js').createAuthenticator;
  createPeerAuthenticator?: typeof import('./auth/index.js').createPeerAuthenticator;
  createMppeCodec?: (p: { sendKey: Uint8Array; recvKey: Uint8Array; bits: 40 | 56 | 128; stateful: boolean }) => MppeCodecLike;
  mppeStartKeys?: typeof import('../crypto/mppe-keys.js').mppeStartKeys;
}

/** The part of crypto/mppe.ts MppeCodec the link uses. */
export interface MppeCodecLike {
  encrypt(input: Uint8Array, out: Uint8Array, outOff: number): number;
  decrypt(input: Uint8Array, out: Uint8Array, outOff: number): number;
  readonly needsReset: boolean;
  onResetRequest(): void;
  /** Optional (MppeCodec has them): the receive state a datapath fast path may share, and its counting. */
  fastRxView?(): { st: Uint8Array; rx: number; hist: number; histSlots: number } | null;
  countFastRx?(packets: number): void;
}

export interface LinkOptions {
  policy: PppPolicy;
  backend: AuthBackend;
  clock: Clock;
  random: RandomSource;
  log: Logger;
  hooks: LinkHooks;
  /** 'userspace': we do MPPE and deliver IP via onIp; 'kernel': data frames never reach us. */
  dataMode: 'userspace' | 'kernel';
  /** Default 'server'. The client role authenticates itself with `credentials`. */
  role?: 'server' | 'client';
  credentials?: { user: string; password: string };
  /** Client role: the address to ask for (default 0.0.0.0 = "give me one"). */
  requestAddress?: string;
  factories?: LinkFactories;
}

export type LinkPhase = 'dead' | 'establish' | 'authenticate' | 'network' | 'running' | 'terminate';

export interface LinkStats {
  rxFrames: number;
  txFrames: number;
  rxIp: number;
  txIp: number;
  rxBytes: number;
  txBytes: number;
  dropped: number;
  /** MPPE frames that could not be decrypted (lost sync, late, replayed); kernel mode: frames the kernel handed up in error. */
  mppeErrors: number;
  /** CCP Reset-Requests we sent (stateful MPPE: asking the peer to flush after a loss). */
  ccpResetsSent: number;
  /** CCP Reset-Requests the peer sent (it lost sync; we flushed). */
  ccpResetsReceived: number;
}
