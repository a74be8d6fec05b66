// The contract between the PPP link (ppp/link.ts) and each authentication
// protocol (ppp/auth/*). The link owns phases and framing; an Authenticator
// only sees the packets of its own protocol (code, id, length, data).
import type { AuthBackend, SecretEntry } from '../../auth/types.js';
import type { Clock } from '../../util/clock.js';
import type { RandomSource } from '../../util/random.js';

/** In the order we prefer them (strongest first). */
export type AuthMethod = 'mschapv2' | 'mschap' | 'chap-md5' | 'pap';

/** What MPPE key derivation needs from the authentication (RFC 3079). */
export type MppeKeyMaterial =
  | { kind: 'mschapv2'; masterKey: Uint8Array }          // GetMasterKey(PasswordHashHash, NT-Response), 16 bytes
  | { kind: 'mschap'; passwordHashHash: Uint8Array; challenge: Uint8Array; ntResponse: Uint8Array };

export type AuthOutcome =
  | { ok: true; user: string; entry: SecretEntry; keys?: MppeKeyMaterial }
  | { ok: false; user?: string; reason: string };

/** The logging an authenticator does (a pino Logger fits; the link passes a lighter one). */
export interface PppLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Server side: we demand that the peer authenticates. */
export interface AuthenticatorContext {
  /** Our name (pppd option `name`), used as CHAP name and to look up secrets. */
  serverName: string;
  backend: AuthBackend;
  clock: Clock;
  random: RandomSource;
  log: PppLog;
  /** Sends one packet of this protocol (code, id, length, data); the link adds the PPP header. */
  send(packet: Uint8Array): void;
  /** Failed responses allowed before giving up (MS-CHAPv2 R=1 retries). */
  maxRetries: number;
  /** The whole authentication must finish within this time; 0 = no limit (pppd pap-timeout 0). */
  timeoutMs: number;
  /** CHAP: resend an unanswered Challenge after this many ms (pppd chap-restart; absent = 3000). */
  restartMs?: number;
  /** CHAP: Challenges sent for one challenge value before giving up (pppd chap-max-challenge; absent = 10). */
  maxTransmits?: number;
  /** Called exactly once. */
  done(outcome: AuthOutcome): void;
}

export interface Authenticator {
  /** PPP protocol number: 0xC223 (CHAP family) or 0xC023 (PAP). */
  readonly protocol: number;
  start(): void;
  input(packet: Uint8Array): void;
  /** Cancels timers; no further callbacks. */
  stop(): void;
}

/** Client side (tests, load generator, bench/kclient): we prove who we are. */
export interface PeerAuthContext {
  user: string;
  password: string;
  clock: Clock;
  random: RandomSource;
  send(packet: Uint8Array): void;
  /** PAP: resend an unanswered Authenticate-Request after this many ms (pppd pap-restart; absent = 3000). */
  restartMs?: number;
  /** PAP: Authenticate-Requests sent before giving up (pppd pap-max-authreq; absent = 10). */
  maxTransmits?: number;
  done(outcome: { ok: true; keys?: MppeKeyMaterial } | { ok: false; reason: string }): void;
}

export interface PeerAuthenticator {
  readonly protocol: number;
  input(packet: Uint8Array): void;
  stop(): void;
}

/** LCP auth-protocol option value for a method: [protocol, ...data]. */
export function authOptionFor(method: AuthMethod): { protocol: number; algorithm?: number } {
  switch (method) {
    case 'mschapv2': return { protocol: 0xc223, algorithm: 0x81 };
    case 'mschap': return { protocol: 0xc223, algorithm: 0x80 };
    case 'chap-md5': return { protocol: 0xc223, algorithm: 0x05 };
    case 'pap': return { protocol: 0xc023 };
  }
}
