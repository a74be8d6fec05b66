// The RFC 1661 option-negotiation automaton, written once and driven by a
// per-protocol callback table (the shape of pppd's fsm.c). LCP, CCP and IPCP
// each supply an FsmProtocol; the FSM owns states, the restart timer, the
// restart counter, identifiers and packet parsing. Malformed packets are
// counted and dropped here; input() never throws.
import type { Clock, Timer } from '../util/clock.js';
import {
  CODEREJ, CONFACK, CONFNAK, CONFREJ, CONFREQ, DEFAULT_MRU, TERMACK, TERMREQ,
} from './constants.js';
import { MAX_PACKET, PacketWriter, optionsValid } from './options.js';

export const FSM_STATES = [
  'initial', 'starting', 'closed', 'stopped', 'closing', 'stopping', 'reqsent', 'ackrcvd', 'acksent', 'opened',
] as const;
export type FsmState = (typeof FSM_STATES)[number];

export const FSM_EVENTS = [
  'Up', 'Down', 'Open', 'Close', 'TO+', 'TO-', 'RCR+', 'RCR-', 'RCA', 'RCN', 'RTR', 'RTA', 'RUC', 'RXJ+', 'RXJ-', 'RXR',
] as const;
export type FsmEvent = (typeof FSM_EVENTS)[number];

export type FsmAction = 'tlu' | 'tld' | 'tls' | 'tlf' | 'irc' | 'zrc' | 'scr' | 'sca' | 'scn' | 'str' | 'sta' | 'scj' | 'ser';

// RFC 1661 section 4.1, one row per event, columns in FSM_STATES order
// (0 Initial … 9 Opened). "-" = cannot happen / ignored. The restart ("r")
// and passive ("p") options are not used, so those entries stay in place.
const RFC1661_TABLE: Record<FsmEvent, string> = {
  'Up':   '2 irc,scr/6 - - - - - - - -',
  'Down': '- - 0 tls/1 0 1 1 1 1 tld/1',
  'Open': 'tls/1 1 irc,scr/6 3 5 5 6 7 8 9',
  'Close': '0 tlf/0 2 2 4 4 irc,str/4 irc,str/4 irc,str/4 tld,irc,str/4',
  'TO+':  '- - - - str/4 str/5 scr/6 scr/6 scr/8 -',
  'TO-':  '- - - - tlf/2 tlf/3 tlf/3 tlf/3 tlf/3 -',
  'RCR+': '- - sta/2 irc,scr,sca/8 4 5 sca/8 sca,tlu/9 sca/8 tld,scr,sca/8',
  'RCR-': '- - sta/2 irc,scr,scn/6 4 5 scn/6 scn/7 scn/6 tld,scr,scn/6',
  'RCA':  '- - sta/2 sta/3 4 5 irc/7 scr/6 irc,tlu/9 tld,scr/6',
  'RCN':  '- - sta/2 sta/3 4 5 irc,scr/6 scr/6 irc,scr/8 tld,scr/6',
  'RTR':  '- - sta/2 sta/3 sta/4 sta/5 sta/6 sta/6 sta/6 tld,zrc,sta/5',
  'RTA':  '- - 2 3 tlf/2 tlf/3 6 6 8 tld,scr/6',
  'RUC':  '- - scj/2 scj/3 scj/4 scj/5 scj/6 scj/7 scj/8 scj/9',
  'RXJ+': '- - 2 3 4 5 6 6 8 9',
  'RXJ-': '- - tlf/2 tlf/3 tlf/2 tlf/3 tlf/3 tlf/3 tlf/3 tld,irc,str/5',
  'RXR':  '- - 2 3 4 5 6 7 8 ser/9',
};

export interface Transition {
  readonly actions: readonly FsmAction[];
  readonly next: FsmState;
}

function parseTable(): Record<FsmEvent, (Transition | null)[]> {
  const out = {} as Record<FsmEvent, (Transition | null)[]>;
  for (const ev of FSM_EVENTS) {
    out[ev] = RFC1661_TABLE[ev].split(' ').map((cell) => {
      if (cell === '-') return null;
      const slash = cell.indexOf('/');
      const actions = slash < 0 ? [] : (cell.slice(0, slash).split(',') as FsmAction[]);
      return { actions, next: FSM_STATES[Number(cell.slice(slash + 1))] };
    });
  }
  return out;
}

const TABLE = parseTable();

/** The transition RFC 1661 defines for (state, event), or null when it cannot happen. */
export function transition(state: FsmState, ev: FsmEvent): Transition | null {
  return TABLE[ev][FSM_STATES.indexOf(state)];
}

/** Where an FSM's packets go (the protocol's host: the link, or a test). */
export interface PacketSink {
  send(packet: Uint8Array): void;
}

/** What a protocol (LCP, CCP, IPCP) plugs into the automaton. */
export interface FsmProtocol {
  readonly name: string;
  /** Back to our initial wishes (a fresh negotiation). */
  resetci(): void;
  /** Writes our Configure-Request options. */
  addci(w: PacketWriter): void;
  /** The peer acked exactly what we sent (already compared byte for byte). */
  ackci?(sent: Uint8Array): void;
  /** Configure-Nak for our request; false = malformed (dropped). */
  nakci(sent: Uint8Array, b: Uint8Array, off: number, end: number, treatAsReject: boolean): boolean;
  /** Configure-Reject for our request; false = malformed (dropped). */
  rejci(sent: Uint8Array, b: Uint8Array, off: number, end: number): boolean;
  /** The peer's Configure-Request: writes reply options, returns CONFACK/CONFNAK/CONFREJ. */
  reqci(b: Uint8Array, off: number, end: number, rejectIfDisagree: boolean, reply: PacketWriter): number;
  up(): void;
  down(): void;
  starting(): void;
  finished(): void;
  /** Codes beyond 1–7: which event they are ('RUC' when unknown). */
  extcode?(code: number, id: number, b: Uint8Array, off: number, end: number): FsmEvent;
  /** The "ser" action (RXR in Opened): echo, discard, reset requests… */
  rxr?(code: number, id: number, b: Uint8Array, off: number, end: number): void;
  /** Peer's MRU, to bound Code-Rejects. */
  peerMru?(): number;
}

export interface FsmConfig {
  restartMs: number;
  maxConfigure: number;
  maxTerminate: number;
  maxFailure: number;
}

export const FSM_DEFAULTS: FsmConfig = { restartMs: 3000, maxConfigure: 10, maxTerminate: 2, maxFailure: 5 };

export interface FsmStats {
  rx: number;
  tx: number;
  /** Malformed or unexpected packets (bad length, wrong id, bad ack…). */
  dropped: number;
  /** Events the table says cannot happen in the current state. */
  ignored: number;
  confReqs: number;
  naksSent: number;
}

/** Why the layer finished (for the link's reason text). */
export type FinishCause = 'timeout' | 'terminated' | 'rejected' | 'closed' | null;

const STATE_TIMED: ReadonlySet<FsmState> = new Set(['closing', 'stopping', 'reqsent', 'ackrcvd', 'acksent']);
// Shared scratch (everything runs synchronously): our requests and replies
// are built here and copied out, so an FSM costs a few dozen bytes, not 4 KB.
const writer = new PacketWriter(MAX_PACKET);
const replyWriter = new PacketWriter(MAX_PACKET);
/** lastReq once the peer has acked it (nothing compares against it in Opened). */
const NO_REQUEST = new Uint8Array(0);

export class Fsm {
  state: FsmState = 'initial';
  readonly stats: FsmStats = { rx: 0, tx: 0, dropped: 0, ignored: 0, confReqs: 0, naksSent: 0 };
  /** Set when tlf runs: what ended the negotiation. */
  finishCause: FinishCause = null;
  /** Text of the peer's Terminate-Request, if any (printable ASCII only). */
  peerTermReason = '';
  private restartCount = 0;
  private timer: Timer | null = null;
  private id = 0;
  private reqId = -1;
  private replySeen = true;
  private lastReq: Uint8Array = NO_REQUEST;
  private naksSent = 0;
  private naksRcvd = 0;
  private termReason = '';
  private replyCode = CONFACK;
  // The packet being processed (for sta, scj, ser).
  private rxId = 0;
  private rxCode = 0;
  private rxBuf: Uint8Array | null = null;
  private rxEnd = 0;

  private readonly sink: PacketSink;

  /**
   * `send` is the protocol's host (an object with a send method: no closure
   * per FSM) or, for tests, a plain function.
   */
  constructor(
    readonly protocol: number,
    private readonly proto: FsmProtocol,
    send: PacketSink | ((packet: Uint8Array) => void),
    private readonly clock: Clock,
    private readonly cfg: FsmConfig = FSM_DEFAULTS,
  ) {
    this.sink = typeof send === 'function' ? { send } : send;
  }

  up(): void { this.fire('Up'); }
  down(): void { this.fire('Down'); }
  open(): void { this.fire('Open'); }
  close(reason = ''): void {
    this.termReason = reason;
    this.fire('Close');
  }
  /** Protocol-Reject of this protocol received (RXJ-). */
  protocolRejected(): void { this.fire('RXJ-'); }

  /** Restarts negotiation from Opened (used when an option must change). */
  renegotiate(): void {
    if (this.state !== 'opened') return;
    this.state = 'reqsent';
    this.proto.down();
    this.restartCount = this.cfg.maxConfigure;
    this.scr(false, 'reqsent'); // keep the changed wishes: no resetci
  }

  /** Cancels the timer and forgets everything, without callbacks (link torn down). */
  stop(): void {
    this.cancelTimer();
    this.state = 'initial';
  }

  /** Test hook: put the automaton in a state without side effects. */
  setStateForTest(s: FsmState): void {
    this.cancelTimer();
    this.state = s;
    if (STATE_TIMED.has(s)) {
      this.restartCount = s === 'closing' || s === 'stopping' ? this.cfg.maxTerminate : this.cfg.maxConfigure;
      this.startTimer();
    }
  }

  /** One packet of this protocol (code, id, length, data); never throws. */
  input(b: Uint8Array): void {
    this.stats.rx++;
    if (b.length < 4) return this.drop();
    const len = (b[2] << 8) | b[3];
    if (len < 4 || len > b.length || len > MAX_PACKET) return this.drop();
    if (this.state === 'initial' || this.state === 'starting') return this.drop();
    const code = b[0];
    const id = b[1];
    this.rxId = id;
    this.rxCode = code;
    this.rxBuf = b;
    this.rxEnd = len;
    try {
      switch (code) {
        case CONFREQ: return this.rcvConfReq(b, len);
        case CONFACK: return this.rcvConfAck(id, b, len);
        case CONFNAK:
        case CONFREJ: return this.rcvConfNakRej(code, id, b, len);
        case TERMREQ:
          this.peerTermReason = printable(b, 4, len);
          return this.fire('RTR');
        case TERMACK: return this.fire('RTA');
        case CODEREJ: {
          if (len < 5) return this.drop();
          const rejected = b[4];
          return this.fire(rejected >= 1 && rejected <= 7 ? 'RXJ-' : 'RXJ+');
        }
        default: {
          const ev = this.proto.extcode?.(code, id, b, 4, len) ?? 'RUC';
          return this.fire(ev);
        }
      }
    } finally {
      this.rxBuf = null;
    }
  }

  private drop(): void {
    this.stats.dropped++;
  }

  private rcvConfReq(b: Uint8Array, len: number): void {
    const s = this.state;
    if (s === 'closed' || s === 'closing' || s === 'stopping') return this.fire('RCR+'); // sta / ignored
    const reply = replyWriter.reset();
    this.replyCode = this.proto.reqci(b, 4, len, this.naksSent >= this.cfg.maxFailure, reply);
    if (reply.overflow) return this.drop();
    if (this.replyCode === CONFACK) this.naksSent = 0;
    this.fire(this.replyCode === CONFACK ? 'RCR+' : 'RCR-');
  }

  private awaitingReply(id: number): boolean {
    const s = this.state;
    if (s === 'closed' || s === 'stopped') return true; // answered with sta whatever the id
    if (s === 'closing' || s === 'stopping') return true; // ignored by the table
    return id === this.reqId && !this.replySeen;
  }

  private rcvConfAck(id: number, b: Uint8Array, len: number): void {
    if (!this.awaitingReply(id)) return this.drop();
    if (this.timedNegotiating()) {
      if (len - 4 !== this.lastReq.length || !equalBytes(b, 4, this.lastReq)) return this.drop();
      this.replySeen = true;
      this.proto.ackci?.(this.lastReq);
    }
    this.fire('RCA');
  }

  private rcvConfNakRej(code: number, id: number, b: Uint8Array, len: number): void {
    if (!this.awaitingReply(id)) return this.drop();
    if (this.timedNegotiating()) {
      if (!optionsValid(b, 4, len)) return this.drop();
      let ok: boolean;
      if (code === CONFNAK) {
        this.naksRcvd++;
        ok = this.proto.nakci(this.lastReq, b, 4, len, this.naksRcvd >= this.cfg.maxFailure);
      } else {
        ok = this.proto.rejci(this.lastReq, b, 4, len);
      }
      if (!ok) return this.drop();
      this.replySeen = true;
    }
    this.fire('RCN');
  }

  private timedNegotiating(): boolean {
    const s = this.state;
    return s === 'reqsent' || s === 'ackrcvd' || s === 'acksent' || s === 'opened';
  }

  /** Runs one event through the RFC table. Exposed for the state-table tests. */
  fire(ev: FsmEvent): void {
    const from = this.state;
    const t = TABLE[ev][FSM_STATES.indexOf(from)];
    if (!t) {
      this.stats.ignored++;
      return;
    }
    this.state = t.next;
    const irc = t.actions.includes('str') ? this.cfg.maxTerminate : this.cfg.maxConfigure;
    for (const a of t.actions) {
      if (this.state !== t.next) return; // a callback moved us on (re-entrancy): stop here
      switch (a) {
        case 'tlu':
          this.cancelTimer();
          // Acked: nothing compares against it until the next scr replaces it
          // (a few dozen bytes per FSM a session would otherwise hold for life).
          this.lastReq = NO_REQUEST;
          this.proto.up();
          break;
        case 'tld': this.proto.down(); break;
        case 'tls': this.proto.starting(); break;
        case 'tlf':
          this.cancelTimer();
          this.finishCause = ev === 'TO-' ? (from === 'closing' || from === 'stopping' ? 'closed' : 'timeout')
            : ev === 'RXJ-' ? 'rejected' : ev === 'Close' ? 'closed' : ev === 'RTA' ? 'closed' : 'terminated';
          this.proto.finished();
          break;
        case 'irc': this.restartCount = irc; break;
        case 'zrc': this.restartCount = 0; this.startTimer(); break;
        case 'scr': this.scr(ev === 'TO+', from); break;
        case 'sca':
        case 'scn': this.sendPacket(this.replyCode, this.rxId, replyWriter.buf, 0, replyWriter.pos); break;
        case 'str': this.str(ev === 'TO+'); break;
        case 'sta': this.sendPacket(TERMACK, this.rxId, null, 0, 0); break;
        case 'scj': this.scj(); break;
        case 'ser':
          if (this.rxBuf) this.proto.rxr?.(this.rxCode, this.rxId, this.rxBuf, 4, this.rxEnd);
          break;
      }
    }
    if (this.state === t.next && !STATE_TIMED.has(this.state)) this.cancelTimer();
  }

  private scr(retransmit: boolean, from: FsmState): void {
    if (from !== 'reqsent' && from !== 'ackrcvd' && from !== 'acksent') {
      this.proto.resetci();
      this.naksSent = 0;
      this.naksRcvd = 0;
    }
    if (!retransmit) {
      this.id = (this.id + 1) & 0xff;
      this.reqId = this.id;
      const w = writer.reset();
      this.proto.addci(w);
      this.lastReq = w.overflow ? NO_REQUEST : w.take();
    }
    this.replySeen = false;
    this.stats.confReqs++;
    this.sendPacket(CONFREQ, this.reqId, this.lastReq, 0, this.lastReq.length);
    this.restartCount--;
    this.startTimer();
  }

  private str(retransmit: boolean): void {
    if (!retransmit) this.id = (this.id + 1) & 0xff;
    const w = writer.reset();
    const r = this.termReason;
    for (let i = 0; i < r.length && i < 64; i++) w.u8(r.charCodeAt(i) & 0x7f);
    this.sendPacket(TERMREQ, this.id, w.buf, 0, w.pos);
    this.restartCount--;
    this.startTimer();
  }

  private scj(): void {
    const b = this.rxBuf;
    if (!b) return;
    const room = Math.min(this.proto.peerMru?.() ?? DEFAULT_MRU, MAX_PACKET) - 4;
    this.id = (this.id + 1) & 0xff;
    this.sendPacket(CODEREJ, this.id, b, 0, Math.min(this.rxEnd, room));
  }

  private sendPacket(code: number, id: number, data: Uint8Array | null, off: number, len: number): void {
    if (code === CONFNAK || code === CONFREJ) {
      this.naksSent++;
      this.stats.naksSent++;
    }
    const p = new Uint8Array(4 + len);
    p[0] = code;
    p[1] = id;
    p[2] = (4 + len) >>> 8;
    p[3] = (4 + len) & 0xff;
    if (data && len > 0) p.set(data.subarray(off, off + len), 4);
    this.stats.tx++;
    this.sink.send(p);
  }

  /** Sends a protocol-specific packet (echo, reset…) with a fresh identifier unless given. */
  sendCode(code: number, data: Uint8Array | null, id = -1): void {
    if (id < 0) {
      this.id = (this.id + 1) & 0xff;
      id = this.id;
    }
    this.sendPacket(code, id, data, 0, data ? data.length : 0);
  }

  private startTimer(): void {
    this.cancelTimer();
    this.timer = this.clock.setTimer(this.cfg.restartMs, () => {
      this.timer = null;
      this.fire(this.restartCount > 0 ? 'TO+' : 'TO-');
    });
  }

  private cancelTimer(): void {
    if (this.timer) {
      this.timer.cancel();
      this.timer = null;
    }
  }

  /** True while the restart timer runs (tests). */
  get timerRunning(): boolean {
    return this.timer !== null;
  }
}

function equalBytes(b: Uint8Array, off: number, ref: Uint8Array): boolean {
  for (let i = 0; i < ref.length; i++) if (b[off + i] !== ref[i]) return false;
  return true;
}

function printable(b: Uint8Array, off: number, end: number): string {
  let s = '';
  for (let i = off; i < end && s.length < 64; i++) {
    const c = b[i];
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
  }
  return s;
}
