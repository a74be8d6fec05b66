// IPCP (RFC 1332, RFC 1877): addresses and the Microsoft DNS/NBNS options.
// VJ compression (2) and the deprecated IP-Addresses option (1) have no
// table entry and are rejected. The server serves the pool/secrets address
// and policy DNS/WINS; the client asks for 0.0.0.0 and takes what it is given.
import type { Clock } from '../util/clock.js';
import { CONFACK, CONFNAK, CONFREJ, PROTO_IPCP } from './constants.js';
import { Fsm, type FsmConfig, type FsmProtocol, FSM_DEFAULTS } from './fsm.js';
import { readU32 } from './ip4.js';
import {
  type OptionSpec, type OptionTable, PacketWriter, addOptions, nakOptions, optionTable, rejOptions, reqOptions,
} from './options.js';

export const IPCP_ADDRESSES = 1;
export const IPCP_VJ = 2;
export const IPCP_ADDRESS = 3;
export const IPCP_DNS1 = 129;
export const IPCP_NBNS1 = 130;
export const IPCP_DNS2 = 131;
export const IPCP_NBNS2 = 132;

export interface IpcpHost {
  send(packet: Uint8Array): void;
  up(): void;
  down(): void;
  finished(): void;
  fail(reason: string): void;
  /** Server: may the peer have this (non-zero) address instead of the assigned one? */
  requestAddress?(addr: number): boolean;
}

export interface IpcpConfig {
  role: 'server' | 'client';
  /** Server: our address. Client: the address we ask for (0 = any). */
  local: number;
  /** Server: the address assigned to the peer. */
  peer: number;
  /** Server: values we serve (0 entries dropped). */
  dns: number[];
  wins: number[];
  clock: Clock;
  fsm?: FsmConfig;
}

/** Server: a DNS/NBNS value we serve (reject when none is configured). */
function served(type: number, list: 'dns' | 'wins', i: number): OptionSpec<Ipcp> {
  return {
    type, name: `ms-${list}${i + 1}`, minLen: 6, maxLen: 6,
    req: (s, b, off, _len, w) => {
      const ours = s[list][i];
      if (!ours) return CONFREJ; // nothing configured: reject so the peer stops asking
      if (readU32(b, off) === ours) return CONFACK;
      w.opt32(type, ours);
      return CONFNAK;
    },
  };
}

const SERVER_OPTIONS: OptionTable<Ipcp> = optionTable<Ipcp>([
  {
    type: IPCP_ADDRESS, name: 'address', minLen: 6, maxLen: 6,
    add: (s, w) => { if (s.wantAddr) w.opt32(IPCP_ADDRESS, s.local); },
    rej: (s) => { s.wantAddr = false; },
    // A Nak for our own address is ignored: localip is ours to choose.
    req: (s, b, off, _len, w) => {
      const v = readU32(b, off);
      if (v !== 0 && v === s.peer) return CONFACK;
      if (v !== 0 && v !== s.refused && s.host.requestAddress?.(v)) {
        s.peer = v;
        return CONFACK;
      }
      if (v !== 0) s.refused = v; // don't ask the pool again for the same address
      w.opt32(IPCP_ADDRESS, s.peer);
      return CONFNAK;
    },
    missing: (s, w) => {
      w.opt32(IPCP_ADDRESS, s.peer);
      return true;
    },
  },
  served(IPCP_DNS1, 'dns', 0),
  served(IPCP_DNS2, 'dns', 1),
  served(IPCP_NBNS1, 'wins', 0),
  served(IPCP_NBNS2, 'wins', 1),
]);

/** Client: DNS we ask for (0.0.0.0, then whatever the server naks with). */
function asked(type: number, i: number): OptionSpec<Ipcp> {
  return {
    type, name: `dns${i + 1}`, minLen: 6, maxLen: 6,
    add: (s, w) => { if (s.wantDns & (1 << i)) w.opt32(type, s.dns[i]); },
    nak: (s, b, off) => { s.received[i] = readU32(b, off); },
    rej: (s) => { s.wantDns &= ~(1 << i); s.received[i] = 0; },
    // No req: the server asking us for DNS is rejected (we have none to give).
  };
}

const CLIENT_OPTIONS: OptionTable<Ipcp> = optionTable<Ipcp>([
  {
    type: IPCP_ADDRESS, name: 'address', minLen: 6, maxLen: 6,
    add: (s, w) => { if (s.wantAddr) w.opt32(IPCP_ADDRESS, s.local); },
    nak: (s, b, off) => { s.local = readU32(b, off); },
    rej: (s) => { s.wantAddr = false; },
    req: (s, b, off) => {
      const v = readU32(b, off);
      if (v === 0) return CONFREJ; // we cannot give the server an address
      s.peer = v;
      return CONFACK;
    },
  },
  asked(IPCP_DNS1, 0),
  asked(IPCP_DNS2, 1),
]);

const NONE: readonly number[] = Object.freeze([0, 0]);
/** Server values as a frozen pair, one per configured list (the link passes the same list to every session). */
const pairs = new WeakMap<readonly number[], readonly number[]>();
function servedPair(list: readonly number[]): readonly number[] {
  let p = pairs.get(list);
  if (!p) {
    p = Object.freeze([list[0] ?? 0, list[1] ?? 0]);
    pairs.set(list, p);
  }
  return p;
}

export class Ipcp implements FsmProtocol {
  readonly name = 'IPCP';
  readonly fsm: Fsm;
  local: number;
  peer: number;
  /**
   * Client: DNS/WINS servers received. Server: those we serve (one frozen
   * pair shared by every link given the same list; never written).
   */
  readonly dns: readonly number[];
  readonly wins: readonly number[];
  // (Fields below are read by the module-level option tables; not API.)
  wantAddr = true;
  /** Client: bit i set = still asking for DNS server i+1. */
  wantDns = 3;
  /** Server: the last specific address the pool refused (not asked again). */
  refused = 0;
  private readonly table: OptionTable<Ipcp>;

  constructor(readonly cfg: IpcpConfig, readonly host: IpcpHost) {
    this.local = cfg.local;
    this.peer = cfg.peer;
    this.fsm = new Fsm(PROTO_IPCP, this, host, cfg.clock, cfg.fsm ?? FSM_DEFAULTS);
    this.table = cfg.role === 'server' ? SERVER_OPTIONS : CLIENT_OPTIONS;
    if (cfg.role === 'server') {
      this.dns = servedPair(cfg.dns);
      this.wins = servedPair(cfg.wins);
    } else {
      this.dns = [0, 0];
      this.wins = NONE;
    }
  }

  /** Client role: the (mutable) DNS values the server gave us (read by the option table). */
  get received(): number[] {
    return this.dns as number[];
  }

  /** Server: the session moved the peer to another address. */
  setPeer(addr: number): void {
    this.peer = addr;
  }

  // --- FsmProtocol ---

  resetci(): void {
    this.wantAddr = true;
    if (this.cfg.role === 'client') {
      this.local = this.cfg.local;
      this.wantDns = 3;
      this.received[0] = this.received[1] = 0;
    }
  }

  addci(w: PacketWriter): void {
    addOptions(this.table, this, w);
  }

  nakci(sent: Uint8Array, b: Uint8Array, off: number, end: number, treatAsReject: boolean): boolean {
    return nakOptions(this.table, this, sent, b, off, end, treatAsReject);
  }

  rejci(sent: Uint8Array, b: Uint8Array, off: number, end: number): boolean {
    return rejOptions(this.table, this, sent, b, off, end);
  }

  reqci(b: Uint8Array, off: number, end: number, rejectIfDisagree: boolean, reply: PacketWriter): number {
    return reqOptions(this.table, this, b, off, end, rejectIfDisagree, reply);
  }

  up(): void {
    if (this.cfg.role === 'client' && this.local === 0) {
      this.host.fail('the server assigned no IP address');
      return;
    }
    this.host.up();
  }

  down(): void {
    this.host.down();
  }

  starting(): void {}

  finished(): void {
    this.host.finished();
  }
}
