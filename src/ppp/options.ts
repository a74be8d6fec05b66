// Configuration-option helpers shared by LCP, CCP and IPCP: a bounded packet
// writer, the TLV walk, and the table-driven Configure-Request handling.
// A new option is one OptionSpec entry in its protocol's table (accel-ppp
// style); the generic code below owns the RFC 1661 rules (reject beats nak
// beats ack, options answered in request order, max-failure turns naks into
// rejects).
import { CONFACK, CONFNAK, CONFREJ } from './constants.js';

/** Upper bound on any control packet we build or parse. */
export const MAX_PACKET = 2048;

/** Appends bytes to a fixed buffer; on overflow sets `overflow` instead of throwing. */
export class PacketWriter {
  readonly buf: Uint8Array;
  pos = 0;
  overflow = false;
  constructor(size = MAX_PACKET) {
    this.buf = new Uint8Array(size);
  }
  reset(pos = 0): this {
    this.pos = pos;
    this.overflow = false;
    return this;
  }
  private room(n: number): boolean {
    if (this.pos + n > this.buf.length) {
      this.overflow = true;
      return false;
    }
    return true;
  }
  u8(v: number): void {
    if (this.room(1)) this.buf[this.pos++] = v & 0xff;
  }
  u16(v: number): void {
    if (!this.room(2)) return;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
  }
  u32(v: number): void {
    if (!this.room(4)) return;
    this.buf[this.pos++] = (v >>> 24) & 0xff;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
  }
  bytes(b: Uint8Array, off = 0, len = b.length - off): void {
    if (!this.room(len)) return;
    this.buf.set(b.subarray(off, off + len), this.pos);
    this.pos += len;
  }
  /** Option with a 32-bit value (magic, ACCM, addresses, MPPE bits). */
  opt32(type: number, v: number): void {
    this.u8(type);
    this.u8(6);
    this.u32(v);
  }
  opt16(type: number, v: number): void {
    this.u8(type);
    this.u8(4);
    this.u16(v);
  }
  /** Copy of what was written (the caller may keep it). */
  take(from = 0): Uint8Array {
    return this.buf.slice(from, this.pos);
  }
}

/**
 * True when [off, end) is a well-formed option list: each option has a
 * length ≥ 2 that stays inside the list. Everything else reads options only
 * after this check.
 */
export function optionsValid(b: Uint8Array, off: number, end: number): boolean {
  if (off < 0 || end > b.length || off > end) return false;
  while (off < end) {
    if (end - off < 2) return false;
    const len = b[off + 1];
    if (len < 2 || off + len > end) return false;
    off += len;
  }
  return true;
}

/** True when the (valid) option list contains an option of this type. */
export function hasOption(b: Uint8Array, off: number, end: number, type: number): boolean {
  while (off + 2 <= end) {
    if (b[off] === type) return true;
    off += b[off + 1] || end;
  }
  return false;
}

/**
 * One configuration option of one protocol. Tables are built once per
 * protocol (module level) and every handler gets the protocol instance `s`,
 * so a link costs no closures per option. Values are passed as (buffer,
 * offset of the value, value length): the option header is already checked
 * against minLen/maxLen.
 */
export interface OptionSpec<S> {
  readonly type: number;
  readonly name: string;
  /** Allowed total length (type + length + value) in a peer's packet. */
  readonly minLen: number;
  readonly maxLen: number;
  /** Writes the option into our Configure-Request if we want it now. */
  add?(s: S, w: PacketWriter): void;
  /** The peer Nak'd our option and suggests this value. */
  nak?(s: S, b: Uint8Array, off: number, len: number): void;
  /** The peer Nak'd with an option we did not ask for (it wants us to). */
  nakUnasked?(s: S, b: Uint8Array, off: number, len: number): void;
  /** The peer rejected our option: stop asking. */
  rej?(s: S): void;
  /** The peer asks for it: return CONFACK, CONFNAK (after writing the whole suggested option to w) or CONFREJ. */
  req?(s: S, b: Uint8Array, off: number, len: number, w: PacketWriter): number;
  /** The peer's request lacks it: write a Nak option to w and return true to ask for it. */
  missing?(s: S, w: PacketWriter): boolean;
}

export type OptionTable<S> = ReadonlyMap<number, OptionSpec<S>>;

export function optionTable<S>(specs: OptionSpec<S>[]): OptionTable<S> {
  return new Map(specs.map((x) => [x.type, x]));
}

/** Our Configure-Request: every option that wants to be sent, in table order. */
export function addOptions<S>(table: OptionTable<S>, s: S, w: PacketWriter): void {
  for (const o of table.values()) o.add?.(s, w);
}

function lengthOk<S>(o: OptionSpec<S> | undefined, len: number): o is OptionSpec<S> {
  return o !== undefined && len >= o.minLen && len <= o.maxLen;
}

/**
 * A Configure-Nak for our request (`sent` = the options we sent). Returns
 * false when the packet is malformed (the FSM drops it).
 */
export function nakOptions<S>(
  table: OptionTable<S>, s: S, sent: Uint8Array, b: Uint8Array, off: number, end: number, treatAsReject: boolean,
): boolean {
  if (!optionsValid(b, off, end)) return false;
  for (let p = off; p < end; p += b[p + 1]) {
    const type = b[p];
    const len = b[p + 1];
    const o = table.get(type);
    if (!lengthOk(o, len)) continue; // a suggestion we cannot use: ignore it (RFC 1661 5.3)
    if (hasOption(sent, 0, sent.length, type)) {
      if (treatAsReject) o.rej?.(s);
      else o.nak?.(s, b, p + 2, len - 2);
    } else if (!treatAsReject) {
      o.nakUnasked?.(s, b, p + 2, len - 2);
    }
  }
  return true;
}

/** A Configure-Reject: every option in it must be one we sent. */
export function rejOptions<S>(table: OptionTable<S>, s: S, sent: Uint8Array, b: Uint8Array, off: number, end: number): boolean {
  if (!optionsValid(b, off, end)) return false;
  for (let p = off; p < end; p += b[p + 1]) {
    if (!hasOption(sent, 0, sent.length, b[p])) return false;
  }
  for (let p = off; p < end; p += b[p + 1]) table.get(b[p])?.rej?.(s);
  return true;
}

const nakScratch = new PacketWriter();

/**
 * The peer's Configure-Request. Writes the reply options to `reply` and
 * returns its code. A malformed option list is answered with a reject of
 * nothing usable, so we return CONFREJ with the malformed tail.
 */
export function reqOptions<S>(
  table: OptionTable<S>, s: S, b: Uint8Array, off: number, end: number, rejectIfDisagree: boolean, reply: PacketWriter,
): number {
  const start = reply.pos;
  const naks = nakScratch.reset();
  let rejected = false;
  let nakked = false;
  let p = off;
  while (p < end) {
    const len = end - p >= 2 ? b[p + 1] : 0;
    if (len < 2 || p + len > end) {
      // Garbled tail: reject it as-is (bounded by the packet).
      if (!rejected) reply.reset(start);
      reply.bytes(b, p, end - p);
      rejected = true;
      break;
    }
    const o = table.get(b[p]);
    let verdict = CONFREJ;
    if (lengthOk(o, len) && o.req) {
      const mark = naks.pos;
      verdict = o.req(s, b, p + 2, len - 2, naks);
      if (verdict === CONFNAK && rejectIfDisagree) {
        naks.pos = mark;
        verdict = CONFREJ;
      } else if (verdict !== CONFNAK) {
        naks.pos = mark; // a handler wrote but did not nak: discard
      }
    }
    if (verdict === CONFREJ) {
      if (!rejected) reply.reset(start);
      rejected = true;
      reply.bytes(b, p, len);
    } else if (verdict === CONFNAK) {
      nakked = true;
    }
    p += len;
  }
  if (rejected) return CONFREJ;
  if (!rejectIfDisagree) {
    for (const o of table.values()) {
      if (o.missing && !hasOption(b, off, end, o.type) && o.missing(s, naks)) nakked = true;
    }
  }
  if (nakked) {
    reply.bytes(naks.buf, 0, naks.pos);
    return CONFNAK;
  }
  reply.bytes(b, off, end - off);
  return CONFACK;
}
