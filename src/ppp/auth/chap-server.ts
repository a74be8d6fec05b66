// The authenticator side of the CHAP family (pppd chap-new.c): send a
// Challenge, retransmit it every 3 s (at most 10 times; pppd chap-restart and
// chap-max-challenge change both through the context), check the Response
// against the secret from the back-end, answer Success or Failure, allow
// ctx.maxRetries failed responses, give up after ctx.timeoutMs. The variants
// (MD5, MS-CHAP, MS-CHAPv2) only compute and verify values.
import type { SecretEntry } from '../../auth/types.js';
import type { Timer } from '../../util/clock.js';
import { ProtocolError } from '../../util/errors.js';
import type { AuthenticatorContext, Authenticator, MppeKeyMaterial } from './types.js';
import {
  CHAP_FAILURE, CHAP_RESPONSE, CHAP_SUCCESS, CHAP_CHALLENGE, decodeChap, encodeChapMessage, encodeChapValue,
  logName, wireText,
} from './chap-packet.js';

export const CHAP_PROTOCOL = 0xc223;
export const CHALLENGE_INTERVAL_MS = 3000;
export const MAX_CHALLENGES = 10;

export type ChapVerdict = { ok: true; message: string; keys?: MppeKeyMaterial } | { ok: false; why?: string };

export interface ChapServerVariant {
  readonly method: 'mschapv2' | 'mschap' | 'chap-md5';
  readonly challengeLength: number;
  /** The Response value-size this variant accepts (49 for MS-CHAP, 16 for MD5). */
  readonly responseLength: number;
  /** MS-CHAP: the Failure carries the next challenge and the peer answers with id+1. MD5: a new Challenge follows. */
  readonly retryInFailure: boolean;
  verify(r: { id: number; challenge: Uint8Array; value: Uint8Array; name: Uint8Array; secret: string }): ChapVerdict;
  failureMessage(retry: boolean, nextChallenge: Uint8Array): string;
}

type Phase = 'idle' | 'challenging' | 'verifying' | 'done';

/** The challenge once the outcome is decided: the authenticator lives as long as the link (it repeats its verdict). */
const NO_CHALLENGE = new Uint8Array(0);

export class ChapAuthenticator implements Authenticator {
  readonly protocol = CHAP_PROTOCOL;
  private phase: Phase = 'idle';
  private id = 0;
  private challenge: Uint8Array = NO_CHALLENGE;
  private xmits = 0;
  private failures = 0;
  private retransmit: Timer | undefined;
  private deadline: Timer | undefined;
  private finished = false;
  private stopped = false;
  /**
   * The last Success/Failure, re-encoded (same bytes) when the peer repeats
   * its Response: the text is smaller to hold for the link's life than the packet.
   */
  private lastId = -1;
  private lastCode: 3 | 4 = CHAP_SUCCESS;
  private lastMessage = '';

  constructor(private readonly variant: ChapServerVariant, private readonly ctx: AuthenticatorContext) {}

  start(): void {
    if (this.phase !== 'idle' || this.stopped) return;
    if (this.ctx.timeoutMs > 0) {
      this.deadline = this.ctx.clock.setTimer(this.ctx.timeoutMs, () => {
        this.deadline = undefined;
        this.finish({ ok: false, reason: 'authentication timed out' });
      });
    }
    this.id = this.ctx.random(1)[0];
    this.newChallenge();
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimers();
  }

  input(packet: Uint8Array): void {
    if (this.stopped) return;
    let p;
    try {
      p = decodeChap(packet);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.ctx.log.debug({ method: this.variant.method, code: e.code }, 'malformed CHAP packet ignored');
      return;
    }
    if (p.code !== CHAP_RESPONSE) return; // Challenge/Success/Failure are not for the authenticator
    if (this.phase === 'done') {
      // A repeated Response (our Success was lost): repeat the verdict, decide nothing anew.
      if (this.lastId >= 0 && p.id === this.lastId) this.ctx.send(encodeChapMessage(this.lastCode, this.lastId, this.lastMessage));
      return;
    }
    if (this.phase !== 'challenging' || p.id !== this.id) return;
    this.cancelRetransmit();
    this.phase = 'verifying';
    const nameBytes = Uint8Array.from(p.name);
    const value = Uint8Array.from(p.value);
    const challenge = this.challenge;
    const id = p.id;
    const user = wireText(nameBytes);
    this.ctx.backend.lookup(user, this.ctx.serverName).then(
      (entry) => this.verify(id, user, nameBytes, value, challenge, entry),
      () => this.verify(id, user, nameBytes, value, challenge, undefined, 'secret lookup failed'),
    );
  }

  private verify(
    id: number, user: string, name: Uint8Array, value: Uint8Array, challenge: Uint8Array,
    entry: SecretEntry | undefined, lookupError?: string,
  ): void {
    if (this.stopped || this.phase !== 'verifying') return;
    let reason: string;
    if (!entry) {
      // Same Failure on the wire as a wrong password: no user enumeration.
      reason = lookupError ?? `no secret for user ${logName(user)}`;
    } else if (value.length !== this.variant.responseLength) {
      reason = `malformed ${this.variant.method} response (value-size ${value.length})`;
    } else {
      const v = this.variant.verify({ id, challenge, value, name, secret: entry.secret });
      if (v.ok) {
        const packet = encodeChapMessage(CHAP_SUCCESS, id, v.message);
        this.remember(CHAP_SUCCESS, id, v.message);
        this.phase = 'done';
        this.ctx.send(packet);
        // debug, not info: the session's 'session up' (or 'session down') line carries user
        // and method, and every info line is a synchronous write on the set-up path.
        this.ctx.log.debug({ user: logName(user), method: this.variant.method }, 'peer authenticated');
        this.finish({ ok: true, user, entry, keys: v.keys });
        return;
      }
      reason = `authentication failed for user ${logName(user)}${v.why ? ` (${v.why})` : ''}`;
    }
    this.failures++;
    const retry = this.failures <= this.ctx.maxRetries;
    const next = this.ctx.random(this.variant.challengeLength);
    const failure = this.variant.failureMessage(retry, next);
    const packet = encodeChapMessage(CHAP_FAILURE, id, failure);
    this.ctx.log.info(
      { user: logName(user), method: this.variant.method, attempt: this.failures, retry, reason },
      'authentication failed',
    );
    if (!retry) {
      this.remember(CHAP_FAILURE, id, failure);
      this.phase = 'done';
      this.ctx.send(packet);
      this.finish({ ok: false, user, reason });
      return;
    }
    this.ctx.send(packet);
    this.id = (id + 1) & 0xff;
    if (this.variant.retryInFailure) {
      // The peer answers the C= challenge of our Failure with id+1; no retransmission.
      this.challenge = next;
      this.phase = 'challenging';
    } else {
      this.newChallenge();
    }
  }

  private remember(code: 3 | 4, id: number, message: string): void {
    this.lastCode = code;
    this.lastId = id;
    this.lastMessage = message;
  }

  private newChallenge(): void {
    this.challenge = this.ctx.random(this.variant.challengeLength);
    this.xmits = 0;
    this.phase = 'challenging';
    this.sendChallenge();
  }

  private sendChallenge(): void {
    this.retransmit = undefined;
    if (this.stopped || this.phase !== 'challenging') return;
    const max = this.ctx.maxTransmits ?? MAX_CHALLENGES;
    if (this.xmits >= max) {
      this.finish({ ok: false, reason: `no response to ${max} challenge${max === 1 ? '' : 's'}` });
      return;
    }
    this.xmits++;
    const name = Buffer.from(this.ctx.serverName, 'utf8');
    this.ctx.send(encodeChapValue(CHAP_CHALLENGE, this.id, this.challenge, name));
    this.retransmit = this.ctx.clock.setTimer(this.ctx.restartMs ?? CHALLENGE_INTERVAL_MS, () => this.sendChallenge());
  }

  private finish(outcome: Parameters<AuthenticatorContext['done']>[0]): void {
    if (this.finished || this.stopped) return;
    this.finished = true;
    this.phase = 'done';
    this.challenge = NO_CHALLENGE;
    this.cancelTimers();
    this.ctx.done(outcome);
  }

  private cancelRetransmit(): void {
    this.retransmit?.cancel();
    this.retransmit = undefined;
  }

  private cancelTimers(): void {
    this.cancelRetransmit();
    this.deadline?.cancel();
    this.deadline = undefined;
  }
}
