// LCP (RFC 1661): MRU, ACCM, authentication protocol, magic number, PFC and
// ACFC, one table entry per option; everything else a Windows or Linux
// client asks for (quality 4, callback 13, MRRU 17, short sequence 18,
// endpoint discriminator 19, unknown types) has no entry and is therefore
// rejected by the generic code. Echo keepalives use one timer.
import type { Clock, Timer } from '../util/clock.js';
import type { RandomSource } from '../util/random.js';
import { authOptionFor, type AuthMethod } from './auth/types.js';
import {
  CONFACK, CONFNAK, CONFREJ, DEFAULT_MRU, DISCREQ, ECHOREP, ECHOREQ, IDENTIFICATION, MIN_MRU, PROTO_LCP, PROTREJ,
  TIMEREMAINING,
} from './constants.js';
import { Fsm, type FsmConfig, type FsmEvent, type FsmProtocol, FSM_DEFAULTS } from './fsm.js';
import { readU32 } from './ip4.js';
import {
  type OptionSpec, type OptionTable, PacketWriter, addOptions, nakOptions, optionTable, rejOptions, reqOptions,
} from './options.js';

export const LCP_MRU = 1;
export const LCP_ACCM = 2;
export const LCP_AUTH = 3;
export const LCP_MAGIC = 5;
export const LCP_PFC = 7;
export const LCP_ACFC = 8;

/** How many times the peer may echo our magic number before we call the line looped back. */
const MAX_LOOPBACK = 5;

/** What the link gives LCP. */
export interface LcpHost {
  send(packet: Uint8Array): void;
  up(): void;
  down(): void;
  finished(): void;
  /** Close the link with this reason once the current packet is handled. */
  fail(reason: string): void;
  /** The link must end now (no Terminate exchange): echo failure. */
  dead(reason: string): void;
  /** The peer Protocol-Rejected one of our protocols. */
  protocolRejected(protocol: number): void;
}

export interface LcpConfig {
  role: 'server' | 'client';
  /** Server: methods we demand (offer order). Client: methods we accept. */
  auth: readonly AuthMethod[];
  mru: number;
  echoInterval: number;
  echoFailure: number;
  /** pppd `nopcomp`: reject the peer's PFC. */
  nopcomp?: boolean;
  /** pppd `noaccomp`: reject the peer's ACFC. */
  noaccomp?: boolean;
  clock: Clock;
  random: RandomSource;
  fsm?: FsmConfig;
}

/** Decodes an authentication-protocol option value, or null if we don't know it. */
export function authMethodOf(b: Uint8Array, off: number, len: number): AuthMethod | null {
  if (len < 2) return null;
  const proto = (b[off] << 8) | b[off + 1];
  if (proto === 0xc023 && len === 2) return 'pap';
  if (proto === 0xc223 && len === 3) {
    switch (b[off + 2]) {
      case 0x81: return 'mschapv2';
      case 0x80: return 'mschap';
      case 0x05: return 'chap-md5';
    }
  }
  return null;
}

export function writeAuthOption(w: PacketWriter, m: AuthMethod): void {
  const o = authOptionFor(m);
  w.u8(LCP_AUTH);
  w.u8(o.algorithm === undefined ? 4 : 5);
  w.u16(o.protocol);
  if (o.algorithm !== undefined) w.u8(o.algorithm);
}

// One entry per option we understand; anything else is rejected.
const LCP_OPTIONS: OptionTable<Lcp> = optionTable<Lcp>([
  {
    type: LCP_MRU, name: 'mru', minLen: 4, maxLen: 4,
    add: (s, w) => { if (s.wantMru) w.opt16(LCP_MRU, s.mru); },
    nak: (s, b, off) => {
      const v = (b[off] << 8) | b[off + 1];
      if (v >= MIN_MRU && v <= Math.max(s.cfg.mru, DEFAULT_MRU)) s.mru = v;
    },
    rej: (s) => { s.wantMru = false; },
    req: (s, b, off, _len, w) => {
      const v = (b[off] << 8) | b[off + 1];
      if (v < MIN_MRU) {
        w.opt16(LCP_MRU, MIN_MRU);
        return CONFNAK;
      }
      s.peerMruValue = v;
      return CONFACK;
    },
  },
  // Meaningless on PPTP (no async HDLC): accept whatever the peer asks.
  { type: LCP_ACCM, name: 'accm', minLen: 6, maxLen: 6, req: () => CONFACK },
  {
    type: LCP_AUTH, name: 'auth', minLen: 4, maxLen: 255,
    add: (s, w) => { if (s.cfg.role === 'server' && s.cfg.auth.length) writeAuthOption(w, s.cfg.auth[s.authIdx]); },
    nak: (s, b, off, len) => s.authNakked(authMethodOf(b, off, len)),
    rej: (s) => s.host.fail('peer refused to authenticate (rejected the authentication-protocol option)'),
    req: (s, b, off, len, w) => {
      // Server: we never authenticate ourselves to a client.
      if (s.cfg.role === 'server' || s.cfg.auth.length === 0) return CONFREJ;
      const m = authMethodOf(b, off, len);
      if (m && s.cfg.auth.includes(m)) {
        s.peerAuth = m;
        return CONFACK;
      }
      writeAuthOption(w, s.cfg.auth[0]);
      return CONFNAK;
    },
  },
  {
    type: LCP_MAGIC, name: 'magic', minLen: 6, maxLen: 6,
    add: (s, w) => { if (s.wantMagic) w.opt32(LCP_MAGIC, s.magic); },
    nak: (s, b, off) => { s.magic = s.newMagic(s.magic, readU32(b, off)); },
    rej: (s) => { s.wantMagic = false; s.magic = 0; },
    req: (s, b, off, _len, w) => {
      const v = readU32(b, off);
      if (v === 0 || (s.wantMagic && v === s.magic)) {
        // Zero is invalid; our own value means the line may be looped back.
        if (v !== 0 && ++s.loopbacks >= MAX_LOOPBACK) s.host.fail('the link is looped back (peer echoes our magic number)');
        if (v !== 0) s.magic = s.newMagic(v, s.magic);
        w.opt32(LCP_MAGIC, s.newMagic(v, s.magic));
        return CONFNAK;
      }
      s.peerMagic = v;
      return CONFACK;
    },
  },
  // PFC/ACFC: we never ask for them (no `add`: our frames keep FF 03 and a
  // 2-byte protocol, which every peer must accept). The peer's request is
  // acked unless nopcomp/noaccomp: then rejected, so the peer keeps sending
  // full headers and peerPfc/peerAcfc stay false, which keeps the link's
  // transmit path (writeHeader) from compressing either.
  {
    type: LCP_PFC, name: 'pfc', minLen: 2, maxLen: 2,
    req: (s) => { if (s.cfg.nopcomp) return CONFREJ; s.peerPfc = true; return CONFACK; },
  },
  {
    type: LCP_ACFC, name: 'acfc', minLen: 2, maxLen: 2,
    req: (s) => { if (s.cfg.noaccomp) return CONFREJ; s.peerAcfc = true; return CONFACK; },
  },
]);

export class Lcp implements FsmProtocol {
  readonly name = 'LCP';
  readonly fsm: Fsm;
  // Our side (what we ask for).
  // (Fields below are read by the module-level option table; not API.)
  wantMru = false;
  mru = DEFAULT_MRU;
  wantMagic = true;
  magic = 0;
  authIdx = 0;
  private triedAuth = 0;
  // The peer's side (what it asked and we acked).
  peerMruValue = DEFAULT_MRU;
  peerMagic = 0;
  peerPfc = false;
  peerAcfc = false;
  /** Client role: the method the server asked us to use. */
  peerAuth: AuthMethod | null = null;
  loopbacks = 0;
  // Echo keepalive.
  private echoTimer: Timer | null = null;
  private echoPending = 0;
  readonly echoStats = { sent: 0, replies: 0 };

  constructor(readonly cfg: LcpConfig, readonly host: LcpHost) {
    this.fsm = new Fsm(PROTO_LCP, this, host, cfg.clock, cfg.fsm ?? FSM_DEFAULTS);
  }

  /** The method we demand (server) after negotiation. */
  get authMethod(): AuthMethod | null {
    if (this.cfg.role === 'client') return this.peerAuth;
    return this.cfg.auth.length ? this.cfg.auth[this.authIdx] : null;
  }

  /** The MRU the peer acked for us (what it must respect when sending). */
  get ourMru(): number {
    return this.wantMru ? this.mru : DEFAULT_MRU;
  }

  peerMru(): number {
    return this.peerMruValue;
  }

  /** A fresh non-zero magic number different from every value in `avoid`. */
  newMagic(...avoid: number[]): number {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      v = readU32(this.cfg.random(4), 0);
      if (v !== 0 && !avoid.includes(v)) return v;
    }
    // A random source stuck on one value (tests): step away from it, bounded.
    for (let i = 0; i < 8; i++) {
      v = ((v + 0x9e3779b9) >>> 0) || 1;
      if (!avoid.includes(v)) break;
    }
    return v;
  }

  authNakked(suggested: AuthMethod | null): void {
    const list = this.cfg.auth;
    this.triedAuth |= 1 << this.authIdx;
    let next = -1;
    if (suggested) {
      const i = list.indexOf(suggested);
      if (i >= 0 && !(this.triedAuth & (1 << i))) next = i;
    }
    if (next < 0) {
      for (let i = 0; i < list.length; i++) {
        if (!(this.triedAuth & (1 << i))) { next = i; break; }
      }
    }
    if (next < 0) {
      this.host.fail(`no common authentication method (we offer ${list.join(', ')}; peer wants ${suggested ?? 'something else'})`);
      return;
    }
    this.authIdx = next;
  }

  // --- FsmProtocol ---

  resetci(): void {
    this.wantMru = this.cfg.mru !== DEFAULT_MRU;
    this.mru = this.cfg.mru;
    this.wantMagic = true;
    this.magic = this.newMagic(this.magic);
    this.authIdx = 0;
    this.triedAuth = 0;
    this.loopbacks = 0;
  }

  addci(w: PacketWriter): void {
    addOptions(LCP_OPTIONS, this, w);
  }

  nakci(sent: Uint8Array, b: Uint8Array, off: number, end: number, treatAsReject: boolean): boolean {
    return nakOptions(LCP_OPTIONS, this, sent, b, off, end, treatAsReject);
  }

  rejci(sent: Uint8Array, b: Uint8Array, off: number, end: number): boolean {
    return rejOptions(LCP_OPTIONS, this, sent, b, off, end);
  }

  reqci(b: Uint8Array, off: number, end: number, rejectIfDisagree: boolean, reply: PacketWriter): number {
    this.peerMruValue = DEFAULT_MRU;
    this.peerMagic = 0;
    this.peerPfc = false;
    this.peerAcfc = false;
    this.peerAuth = null;
    return reqOptions(LCP_OPTIONS, this, b, off, end, rejectIfDisagree, reply);
  }

  up(): void {
    this.startEcho();
    this.host.up();
  }

  down(): void {
    this.stopEcho();
    this.host.down();
  }

  starting(): void {}

  finished(): void {
    this.stopEcho();
    this.host.finished();
  }

  extcode(code: number, _id: number, b: Uint8Array, off: number, end: number): FsmEvent {
    switch (code) {
      case PROTREJ: {
        if (end - off < 2) return 'RXR'; // malformed: nothing to act on
        const proto = (b[off] << 8) | b[off + 1];
        if (proto === PROTO_LCP) return 'RXJ-';
        if (this.fsm.state === 'opened') this.host.protocolRejected(proto);
        return 'RXJ+';
      }
      case ECHOREQ:
      case ECHOREP:
      case DISCREQ:
      case IDENTIFICATION:
      case TIMEREMAINING:
        return 'RXR';
      default:
        return 'RUC';
    }
  }

  rxr(code: number, id: number, b: Uint8Array, off: number, end: number): void {
    if (code !== ECHOREQ && code !== ECHOREP) return; // Discard, Identification, Time-Remaining: ignored
    if (end - off < 4) return;
    const m = readU32(b, off);
    if (this.magic !== 0 && m === this.magic) return; // our own packet looped back
    if (code === ECHOREP) {
      this.echoPending = 0;
      this.echoStats.replies++;
      return;
    }
    const room = Math.max(0, Math.min(end - off - 4, this.peerMruValue - 8));
    const data = new Uint8Array(4 + room);
    data[0] = this.magic >>> 24; data[1] = this.magic >>> 16; data[2] = this.magic >>> 8; data[3] = this.magic;
    data.set(b.subarray(off + 4, off + 4 + room), 4);
    this.fsm.sendCode(ECHOREP, data, id);
  }

  /** Protocol-Reject for a protocol we don't run (only in Opened, RFC 1661 5.7). */
  protocolReject(protocol: number, b: Uint8Array, off: number, end: number): boolean {
    if (this.fsm.state !== 'opened') return false;
    const room = Math.max(0, Math.min(end - off, this.peerMruValue - 6));
    const data = new Uint8Array(2 + room);
    data[0] = protocol >>> 8;
    data[1] = protocol;
    data.set(b.subarray(off, off + room), 2);
    this.fsm.sendCode(PROTREJ, data);
    return true;
  }

  // --- echo keepalive (one timer, re-armed) ---

  private startEcho(): void {
    this.stopEcho();
    this.echoPending = 0;
    if (this.cfg.echoInterval > 0) this.armEcho();
  }

  private armEcho(): void {
    this.echoTimer = this.cfg.clock.setTimer(this.cfg.echoInterval * 1000, () => {
      this.echoTimer = null;
      if (this.fsm.state !== 'opened') return;
      if (this.cfg.echoFailure > 0 && this.echoPending >= this.cfg.echoFailure) {
        this.host.dead(`peer not responding to LCP echo (${this.echoPending} echo requests unanswered)`);
        return;
      }
      const data = new Uint8Array(4);
      data[0] = this.magic >>> 24; data[1] = this.magic >>> 16; data[2] = this.magic >>> 8; data[3] = this.magic;
      this.echoPending++;
      this.echoStats.sent++;
      this.fsm.sendCode(ECHOREQ, data);
      this.armEcho();
    });
  }

  stopEcho(): void {
    if (this.echoTimer) {
      this.echoTimer.cancel();
      this.echoTimer = null;
    }
  }
}
