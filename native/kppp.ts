// Typed wrapper over the kernel-PPP primitives of native/src/kppp.c: one
// PPTP call attached to the kernel (AF_PPPOX PPTP channel → /dev/ppp channel
// → ppp unit = interface pppN), with kernel MPPE. Only control frames reach
// userspace; the kernel moves the data.
//
// Frame format on both fds: PPP protocol (2 bytes) + information, without
// FF 03 and FCS. After connect, LCP/PAP/CHAP/EAP (protocol >= 0xC000) come
// and go on the CHANNEL fd; CCP, IPCP and IPV6CP on the UNIT fd — and they
// must: kernel MPPE starts only when it sees the CCP Configure-Acks pass
// through the unit. writeControl() routes by protocol for that reason.

/** Functions of the addon this module uses (native/src/kppp.c + closeFd). */
export interface KpppNative {
  pptpChannelOpen(localIp: string, localCallId: number, peerIp: string, peerCallId: number): number;
  pptpChannelIndex(fd: number): number;
  pppOpenChannel(chanIndex: number): number;
  pppNewUnit(unit: number): { fd: number; unit: number };
  pppConnect(chanFd: number, unit: number): void;
  pppDisconnect(chanFd: number): void;
  pppSetMru(unitFd: number, mru: number): void;
  pppGetFlags(fd: number): number;
  pppSetFlags(fd: number, flags: number): void;
  pppSetNpMode(unitFd: number, protocol: number, mode: number): void;
  pppSetCompress(unitFd: number, options: { transmit: boolean; key: Uint8Array; bits: 40 | 128; stateless: boolean }): void;
  pppGetIdle(unitFd: number): { xmit: number; recv: number };
  /** Bytes read; -1 when nothing is queued; 0 = end of file (channel gone). */
  pppRead(fd: number, buf: Uint8Array): number;
  /** Bytes written, or -1 (EAGAIN). */
  pppWrite(fd: number, frame: Uint8Array): number;
  pppCompStats(ifname: string): { compress: PppCompStat; decompress: PppCompStat };
  closeFd(fd: number): void;
}

export interface PppCompStat {
  uncBytes: number;
  uncPackets: number;
  compBytes: number;
  compPackets: number;
  incBytes: number;
  incPackets: number;
}

/** ppp_generic flag bits (PPPIOCGFLAGS/PPPIOCSFLAGS), linux/ppp-ioctl.h. */
export const SC = {
  COMP_PROT: 0x1, // channel: send PFC-compressed protocol fields
  COMP_AC: 0x2, // channel: omit FF 03 (never for LCP)
  CCP_OPEN: 0x40, // unit: look at CCP frames (arms MPPE start)
  CCP_UP: 0x80, // unit: CCP is up
  COMP_RUN: 0x1000, // unit, read-only: compressor running
  DECOMP_RUN: 0x2000, // unit, read-only: decompressor running
  // unit: drop data while MPPE runs but CCP is not up. Weak (nothing is
  // dropped before the compressor runs): gate data with NPMODE instead.
  // Reads back OR-ed with the state bit SC_DC_ERROR, which has the same value.
  MUST_COMP: 0x400000,
  DC_FERROR: 0x800000, // unit, read-only: fatal decompressor error
} as const;

export const NPMODE = { PASS: 0, DROP: 1, ERROR: 2, QUEUE: 3 } as const;
export const PPP_IP = 0x21;
export const PPP_IPV6 = 0x57;

/** Interface name of a ppp unit (ppp_generic names units "ppp%d"). */
export function pppUnitName(unit: number): string {
  if (!Number.isInteger(unit) || unit < 0) throw new RangeError(`bad ppp unit: ${unit}`);
  return `ppp${unit}`;
}

/** Which fd a control frame of `protocol` travels on once connected. */
export function fdKindForProtocol(protocol: number): 'channel' | 'unit' {
  // ppp_generic ppp_input: >= 0xC000 and CCP-fragments (0x80FB) stay on the channel.
  return protocol >= 0xc000 || protocol === 0x80fb ? 'channel' : 'unit';
}

export interface KernelPppCallOptions {
  localIp: string;
  localCallId: number;
  peerIp: string;
  peerCallId: number;
  /** -1 (default): the lowest free unit. */
  unit?: number;
  mru?: number;
}

export interface MppeKeys {
  /** Start key we encrypt with (server: the Magic3 key, RFC 3079). */
  sendKey: Uint8Array;
  /** Start key we decrypt with. */
  recvKey: Uint8Array;
  bits: 40 | 128;
  stateless: boolean;
}

/**
 * One call in the kernel. Open order: socket, channel fd, unit, connect.
 * close() undoes it in the order that leaves nothing behind (disconnect the
 * channel, close unit fd — removes pppN —, close channel fd, close socket).
 */
export class KernelPppCall {
  readonly socketFd: number;
  readonly channelIndex: number;
  readonly channelFd: number;
  readonly unitFd: number;
  readonly unit: number;
  readonly ifname: string;
  private closed = false;

  private constructor(
    private readonly native: KpppNative,
    socketFd: number,
    channelIndex: number,
    channelFd: number,
    unitFd: number,
    unit: number,
  ) {
    this.socketFd = socketFd;
    this.channelIndex = channelIndex;
    this.channelFd = channelFd;
    this.unitFd = unitFd;
    this.unit = unit;
    this.ifname = pppUnitName(unit);
  }

  /** Opens and connects everything; on failure closes what it opened and rethrows. */
  static open(native: KpppNative, o: KernelPppCallOptions): KernelPppCall {
    const undo: Array<() => void> = [];
    const unwind = (): void => {
      for (const f of undo.reverse()) {
        try {
          f();
        } catch {
          /* the original error is the one worth reporting */
        }
      }
    };
    try {
      const sock = native.pptpChannelOpen(o.localIp, o.localCallId, o.peerIp, o.peerCallId);
      undo.push(() => native.closeFd(sock));
      const index = native.pptpChannelIndex(sock);
      const chan = native.pppOpenChannel(index);
      undo.push(() => native.closeFd(chan));
      const u = native.pppNewUnit(o.unit ?? -1);
      undo.push(() => native.closeFd(u.fd));
      native.pppConnect(chan, u.unit);
      undo.push(() => native.pppDisconnect(chan));
      if (o.mru !== undefined) native.pppSetMru(u.fd, o.mru);
      // A new unit passes every network protocol; no data until setUp().
      native.pppSetNpMode(u.fd, PPP_IP, NPMODE.DROP);
      native.pppSetNpMode(u.fd, PPP_IPV6, NPMODE.DROP);
      return new KernelPppCall(native, sock, index, chan, u.fd, u.unit);
    } catch (e) {
      unwind();
      throw e;
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  setMru(mru: number): void {
    this.native.pppSetMru(this.unitFd, mru);
  }

  /** Channel flags: PFC/ACFC the peer accepted (LCP), for our transmit side. */
  setChannelCompression(pfc: boolean, acfc: boolean): void {
    const f = this.native.pppGetFlags(this.channelFd) & ~(SC.COMP_PROT | SC.COMP_AC);
    this.native.pppSetFlags(this.channelFd, f | (pfc ? SC.COMP_PROT : 0) | (acfc ? SC.COMP_AC : 0));
  }

  unitFlags(): number {
    return this.native.pppGetFlags(this.unitFd);
  }

  // Our copy of the unit's flags word: we are its only writer, and reading
  // it back is ambiguous (PPPIOCGFLAGS ORs in the state bits).
  private flags = 0;

  private updateUnitFlags(set: number, clear: number): void {
    const f = ((this.flags & ~clear) | set) >>> 0;
    this.native.pppSetFlags(this.unitFd, f);
    this.flags = f;
  }

  /**
   * Installs both MPPE states and arms them (SC_CCP_OPEN, not yet UP). Call
   * before the CCP Configure-Acks; they must then pass through the unit fd.
   * `require` sets SC_MUST_COMP: no unencrypted data either way.
   */
  armMppe(keys: MppeKeys, require = true): void {
    if (keys.sendKey.length !== 16 || keys.recvKey.length !== 16) throw new RangeError('MPPE start keys must be 16 bytes');
    this.updateUnitFlags(0, SC.CCP_OPEN | SC.CCP_UP);
    const common = { bits: keys.bits, stateless: keys.stateless };
    this.native.pppSetCompress(this.unitFd, { transmit: true, key: keys.sendKey, ...common });
    this.native.pppSetCompress(this.unitFd, { transmit: false, key: keys.recvKey, ...common });
    this.updateUnitFlags(SC.CCP_OPEN | (require ? SC.MUST_COMP : 0), SC.CCP_UP);
  }

  /** CCP reached Opened: sets SC_CCP_UP (pppd's ccp_flags_set(unit, 1, 1)). */
  mppeUp(): void {
    this.updateUnitFlags(SC.CCP_OPEN | SC.CCP_UP, 0);
  }

  /** CCP went down: clearing SC_CCP_OPEN frees the kernel's MPPE states. */
  mppeDown(): void {
    this.updateUnitFlags(0, SC.CCP_OPEN | SC.CCP_UP | SC.MUST_COMP);
  }

  /** Whether the kernel (de)compressor runs, from the unit flags. */
  mppeRunning(): { transmit: boolean; receive: boolean } {
    const f = this.unitFlags();
    return { transmit: (f & SC.COMP_RUN) !== 0, receive: (f & SC.DECOMP_RUN) !== 0 };
  }

  /** IPCP (and MPPE, when negotiated) up → pass this protocol's packets. */
  setUp(protocol: number = PPP_IP): void {
    this.native.pppSetNpMode(this.unitFd, protocol, NPMODE.PASS);
  }

  setDown(protocol: number = PPP_IP): void {
    this.native.pppSetNpMode(this.unitFd, protocol, NPMODE.DROP);
  }

  idle(): { xmit: number; recv: number } {
    return this.native.pppGetIdle(this.unitFd);
  }

  compStats(): { compress: PppCompStat; decompress: PppCompStat } {
    return this.native.pppCompStats(this.ifname);
  }

  /** Sends a control frame (protocol field first) on the fd the kernel expects. */
  writeControl(frame: Uint8Array): number {
    if (frame.length < 2) throw new RangeError('frame shorter than its protocol field');
    const proto = (frame[0] << 8) | frame[1];
    const fd = fdKindForProtocol(proto) === 'channel' ? this.channelFd : this.unitFd;
    return this.native.pppWrite(fd, frame);
  }

  readChannel(buf: Uint8Array): number {
    return this.native.pppRead(this.channelFd, buf);
  }

  readUnit(buf: Uint8Array): number {
    return this.native.pppRead(this.unitFd, buf);
  }

  /**
   * Idempotent. Every step runs even if an earlier one fails; the first
   * failure is rethrown at the end. Stop pollers on the fds first.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const n = this.native;
    let first: unknown;
    const step = (f: () => void): void => {
      try {
        f();
      } catch (e) {
        first ??= e;
      }
    };
    // The channel may already be gone (socket side died): not an error.
    try {
      n.pppDisconnect(this.channelFd);
    } catch {
      /* ENOTCONN/EINVAL after the channel went away */
    }
    step(() => n.closeFd(this.unitFd));
    step(() => n.closeFd(this.channelFd));
    step(() => n.closeFd(this.socketFd));
    if (first !== undefined) throw first;
  }
}
