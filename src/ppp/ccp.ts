// CCP (RFC 1962) carrying only MPPE (RFC 3078 option 18). Every other
// compressor (MPPC bit, BSD-compress 21, deflate 24/26, predictor 1/2, …)
// has no table entry and is rejected. Both directions must end with the same
// key length and the same stateful/stateless mode, because one MPPE codec
// serves both directions.
import type { Clock } from '../util/clock.js';
import { CONFACK, CONFNAK, CONFREJ, PROTO_CCP, RESETACK, RESETREQ } from './constants.js';
import { Fsm, type FsmConfig, type FsmEvent, type FsmProtocol, FSM_DEFAULTS } from './fsm.js';
import { readU32 } from './ip4.js';
import {
  type OptionTable, PacketWriter, addOptions, hasOption, nakOptions, optionTable, rejOptions, reqOptions,
} from './options.js';
import type { MppePolicy } from './types.js';

export const CCP_MPPE = 18;
export const MPPE_H = 0x01000000; // stateless
export const MPPE_M = 0x00000080; // 56-bit
export const MPPE_S = 0x00000040; // 128-bit
export const MPPE_L = 0x00000020; // 40-bit
export const MPPE_C = 0x00000001; // MPPC compression (never)
const KEY_BITS = MPPE_S | MPPE_M | MPPE_L;

export function mppeBitsValue(flag: number): 40 | 56 | 128 {
  return flag === MPPE_S ? 128 : flag === MPPE_M ? 56 : 40;
}

/** The pppd option that makes MPPE mandatory under this policy (for the log line). */
export function requireMppeOption(p: MppePolicy): string {
  if (p.allow128 && !p.allow40 && !p.allow56) return 'require-mppe-128';
  if (p.allow40 && !p.allow128 && !p.allow56) return 'require-mppe-40';
  return 'require-mppe';
}

export interface CcpHost {
  send(packet: Uint8Array): void;
  /** CCP settled: MPPE agreed in both directions with the same parameters, or (not required) none. */
  up(mppe: { bits: 40 | 56 | 128; stateful: boolean } | null): void;
  down(): void;
  finished(): void;
  fail(reason: string): void;
  /** Peer sent a Reset-Request (we answer with Reset-Ack). */
  resetRequested(): void;
  resetAcked(): void;
}

export interface CcpConfig {
  role: 'server' | 'client';
  policy: MppePolicy;
  /** False when authentication produced no key material (PAP, CHAP-MD5). */
  keysAvailable: boolean;
  clock: Clock;
  fsm?: FsmConfig;
}

// MPPE is the only compressor we negotiate; every other option is rejected.
const CCP_OPTIONS: OptionTable<Ccp> = optionTable<Ccp>([
  {
    type: CCP_MPPE, name: 'mppe', minLen: 6, maxLen: 6,
    add: (s, w) => {
      if (!s.wantMppe) return;
      s.sentStateful = s.ourStateful;
      w.opt32(CCP_MPPE, s.ourBits | (s.ourStateful ? 0 : MPPE_H));
    },
    nak: (s, b, off) => {
      const v = readU32(b, off);
      const bits = s.choose(v);
      if (!bits) {
        s.wantMppe = false;
        if (s.cfg.policy.required) s.host.fail('no common MPPE key length with the peer');
        return;
      }
      s.ourBits = bits;
      s.ourStateful = s.cfg.policy.stateful && !(v & MPPE_H);
    },
    rej: (s) => {
      s.wantMppe = false;
      s.refused();
    },
    req: (s, b, off, _len, w) => {
      if (!s.cfg.keysAvailable) return CONFREJ;
      const v = readU32(b, off);
      const bits = v & KEY_BITS;
      const stateful = !(v & MPPE_H);
      const exact = (bits === MPPE_S || bits === MPPE_M || bits === MPPE_L) && s.choose(bits) === bits;
      if (!exact || v & ~(KEY_BITS | MPPE_H) || (stateful && !s.cfg.policy.stateful)) {
        w.opt32(CCP_MPPE, s.ourChoiceFor(v));
        return CONFNAK;
      }
      s.peerBits = bits;
      s.peerStateful = stateful;
      if (stateful) s.peerWantsStateful = true;
      return CONFACK;
    },
    missing: (s, w) => {
      if (!s.cfg.policy.required || !s.cfg.keysAvailable) return false;
      w.opt32(CCP_MPPE, s.ourChoiceFor(KEY_BITS | MPPE_H));
      return true;
    },
  },
]);

export class Ccp implements FsmProtocol {
  readonly name = 'CCP';
  readonly fsm: Fsm;
  // (Fields below are read by the module-level option table; not API.)
  wantMppe = false;
  ourBits = 0;
  ourStateful = false;
  sentStateful = false;
  private mppeAcked = false;
  /** Sticky: the peer has asked for stateful mode (and we allow it). */
  peerWantsStateful = false;
  peerBits = 0;
  peerStateful = false;
  private renegotiations = 0;

  constructor(readonly cfg: CcpConfig, readonly host: CcpHost) {
    this.fsm = new Fsm(PROTO_CCP, this, host, cfg.clock, cfg.fsm ?? FSM_DEFAULTS);
  }

  /** Strongest allowed key-length flag present in `offered` (0 = none). */
  choose(offered: number): number {
    const p = this.cfg.policy;
    if (p.allow128 && offered & MPPE_S) return MPPE_S;
    if (p.allow56 && offered & MPPE_M) return MPPE_M;
    if (p.allow40 && offered & MPPE_L) return MPPE_L;
    return 0;
  }

  refused(): void {
    if (this.cfg.policy.required) {
      this.host.fail(`peer refused MPPE encryption (required by ${requireMppeOption(this.cfg.policy)})`);
    }
  }

  ourChoiceFor(peerValue: number): number {
    const bits = this.choose(peerValue) || this.choose(KEY_BITS);
    const stateful = this.cfg.policy.stateful && !(peerValue & MPPE_H);
    return bits | (stateful ? 0 : MPPE_H);
  }

  // --- FsmProtocol ---

  resetci(): void {
    this.wantMppe = this.cfg.keysAvailable;
    // Offer every allowed key length, as pppd does; the peer Naks with the one
    // it takes. Offering only the strongest made a 40-bit-only client (pppd
    // `require-mppe-40`) reject our request and hang up.
    const p = this.cfg.policy;
    this.ourBits = (p.allow128 ? MPPE_S : 0) | (p.allow56 ? MPPE_M : 0) | (p.allow40 ? MPPE_L : 0);
    if (!this.ourBits) this.wantMppe = false;
    // Client: ask for stateful when allowed (pppd `mppe-stateful`). Server:
    // only once the peer has asked for it (brief: H unless peer wants stateful).
    this.ourStateful = this.cfg.policy.stateful && (this.cfg.role === 'client' || this.peerWantsStateful);
    this.mppeAcked = false;
  }

  addci(w: PacketWriter): void {
    addOptions(CCP_OPTIONS, this, w);
  }

  ackci(sent: Uint8Array): void {
    this.mppeAcked = hasOption(sent, 0, sent.length, CCP_MPPE);
  }

  nakci(sent: Uint8Array, b: Uint8Array, off: number, end: number, treatAsReject: boolean): boolean {
    return nakOptions(CCP_OPTIONS, this, sent, b, off, end, treatAsReject);
  }

  rejci(sent: Uint8Array, b: Uint8Array, off: number, end: number): boolean {
    return rejOptions(CCP_OPTIONS, this, sent, b, off, end);
  }

  reqci(b: Uint8Array, off: number, end: number, rejectIfDisagree: boolean, reply: PacketWriter): number {
    this.peerBits = 0;
    this.peerStateful = false;
    return reqOptions(CCP_OPTIONS, this, b, off, end, rejectIfDisagree, reply);
  }

  up(): void {
    if (!this.mppeAcked || !this.peerBits) {
      if (this.cfg.policy.required) this.refused();
      else this.host.up(null); // not required: CCP open without MPPE (no data codec)
      return;
    }
    if (this.peerBits !== this.ourBits) {
      this.host.fail('MPPE key length differs between the two directions');
      return;
    }
    if (this.peerStateful !== this.sentStateful) {
      if (++this.renegotiations > 3) {
        this.host.fail('MPPE stateful/stateless mode differs between the two directions');
        return;
      }
      // Follow the peer towards stateful (only when allowed, or we'd have
      // nak'd it); the client waits for the server to renegotiate.
      if (this.cfg.role === 'server' && this.peerStateful && this.cfg.policy.stateful) {
        this.ourStateful = true;
        this.fsm.renegotiate();
      } else if (this.cfg.role === 'server' && !this.peerStateful) {
        this.ourStateful = false;
        this.fsm.renegotiate();
      }
      return;
    }
    this.host.up({ bits: mppeBitsValue(this.ourBits), stateful: this.peerStateful });
  }

  down(): void {
    this.host.down();
  }

  starting(): void {}

  finished(): void {
    this.host.finished();
  }

  extcode(code: number): FsmEvent {
    return code === RESETREQ || code === RESETACK ? 'RXR' : 'RUC';
  }

  rxr(code: number, id: number): void {
    if (code === RESETREQ) {
      this.host.resetRequested();
      this.fsm.sendCode(RESETACK, null, id);
    } else {
      this.host.resetAcked();
    }
  }

  sendResetRequest(): void {
    if (this.fsm.state === 'opened') this.fsm.sendCode(RESETREQ, null);
  }
}
