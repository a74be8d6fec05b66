// The authenticating peer of the CHAP family (client role: tests, load
// generator, bench/kclient). Answers each Challenge with ctx.user/password;
// a retransmitted Challenge gets the very same Response.
import { ProtocolError } from '../../util/errors.js';
import type { MppeKeyMaterial, PeerAuthContext, PeerAuthenticator } from './types.js';
import { CHAP_CHALLENGE, CHAP_FAILURE, CHAP_RESPONSE, CHAP_SUCCESS, decodeChap, encodeChapValue, parseMsChapFailure, wireText } from './chap-packet.js';
import { CHAP_PROTOCOL } from './chap-server.js';
import { fromHex, constantTimeEqual } from '../../crypto/bytes.js';

export interface ChapAnswer {
  value: Uint8Array;
  /** Whatever the variant needs to check the Success later (v2: mutual auth). */
  check(message: string): { ok: true; keys?: MppeKeyMaterial } | { ok: false; reason: string };
}

export interface ChapPeerVariant {
  readonly method: 'mschapv2' | 'mschap' | 'chap-md5';
  /** Required challenge length, or 0 for any (MD5). */
  readonly challengeLength: number;
  /** MS-CHAP: Failure with R=1 and C= is answered with a new Response (id+1). */
  readonly retryOnFailure: boolean;
  answer(id: number, challenge: Uint8Array, ctx: PeerAuthContext): ChapAnswer;
}

export class ChapPeer implements PeerAuthenticator {
  readonly protocol = CHAP_PROTOCOL;
  private lastChallenge: { id: number; challenge: Uint8Array; packet: Uint8Array; answer: ChapAnswer } | undefined;
  private finished = false;
  private stopped = false;
  private readonly name: Uint8Array;

  constructor(private readonly variant: ChapPeerVariant, private readonly ctx: PeerAuthContext) {
    this.name = Buffer.from(ctx.user, 'utf8');
  }

  stop(): void {
    this.stopped = true;
  }

  input(packet: Uint8Array): void {
    if (this.stopped || this.finished) return;
    let p;
    try {
      p = decodeChap(packet);
    } catch (e) {
      if (e instanceof ProtocolError) return;
      throw e;
    }
    switch (p.code) {
      case CHAP_CHALLENGE: {
        const last = this.lastChallenge;
        if (last && last.id === p.id && constantTimeEqual(last.challenge, p.value)) {
          this.ctx.send(last.packet);
          return;
        }
        if (this.variant.challengeLength && p.value.length !== this.variant.challengeLength) return;
        this.respond(p.id, Uint8Array.from(p.value));
        return;
      }
      case CHAP_SUCCESS: {
        const last = this.lastChallenge;
        if (!last || p.id !== last.id) return;
        const r = last.answer.check(wireText(p.message));
        this.finish(r.ok ? { ok: true, keys: r.keys } : r);
        return;
      }
      case CHAP_FAILURE: {
        const last = this.lastChallenge;
        if (!last || p.id !== last.id) return;
        const text = wireText(p.message);
        if (this.variant.retryOnFailure) {
          const f = parseMsChapFailure(text);
          const next = f.challenge ? fromHex(f.challenge, this.variant.challengeLength) : undefined;
          if (f.retry && next) {
            this.respond((p.id + 1) & 0xff, next);
            return;
          }
        }
        this.finish({ ok: false, reason: `authentication rejected: ${text.slice(0, 128)}` });
        return;
      }
      case CHAP_RESPONSE:
        return;
    }
  }

  private respond(id: number, challenge: Uint8Array): void {
    const answer = this.variant.answer(id, challenge, this.ctx);
    const packet = encodeChapValue(CHAP_RESPONSE, id, answer.value, this.name);
    this.lastChallenge = { id, challenge, packet, answer };
    this.ctx.send(packet);
  }

  private finish(o: Parameters<PeerAuthContext['done']>[0]): void {
    if (this.finished) return;
    this.finished = true;
    this.ctx.done(o);
  }
}
