// An in-memory stand-in for the kernel side of the kernel datapath: the
// AF_PPPOX channel, /dev/ppp channel and unit fds, the poller and the
// interface ioctls, recording every operation in order. It models what
// ppp_generic does that the datapath depends on: control frames routed by
// protocol between the channel and unit fds, and ppp_ccp_peek — a CCP
// Configure-Ack passing the unit starts that direction's MPPE only if keys
// were installed and SC_CCP_OPEN (not SC_CCP_UP) is set.
import type { KernelNative } from '../../src/datapath/kernel/index.js';
import { SC } from '../../native/kppp.js';

export interface FakeUnit {
  sockFd: number;
  chanFd: number;
  unitFd: number;
  unit: number;
  open: { localIp: string; localCallId: number; peerIp: string; peerCallId: number };
  flags: number;
  xkey?: Uint8Array;
  rkey?: Uint8Array;
  compRun: boolean;
  decompRun: boolean;
  npmode: Map<number, number>;
  mru?: number;
  /** Frames the server wrote, as the peer receives them (copies), with the fd kind. */
  written: Array<{ fd: 'channel' | 'unit'; frame: Uint8Array }>;
  closed: Set<number>;
}

type Poll = { fd: number; cb: (count: number, err?: NodeJS.ErrnoException) => void; stopped: boolean };

export class FakeKernel {
  readonly ops: string[] = [];
  readonly units = new Map<number, FakeUnit>(); // by unit number
  readonly ifaces = new Map<string, { mtu?: number; local?: string; peer?: string; up: boolean }>();
  readonly stats = new Map<string, { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number }>();
  /** Set by the test: the peer's side of each unit (frames the server wrote). */
  onWrite: ((u: FakeUnit, fd: 'channel' | 'unit', frame: Uint8Array) => void) | undefined;
  /** Failure injection. */
  failChannelOpen: NodeJS.ErrnoException | undefined;
  /** A kernel without ppp_mppe: keys accepted, compressor never starts. */
  brokenMppe = false;
  private nextFd = 100;
  private readonly polls: Poll[] = [];
  private readonly arena = { data: new Uint8Array(64 * 2048), offsets: new Uint32Array(64), lengths: new Uint32Array(64) };

  unitByFd(fd: number): FakeUnit | undefined {
    for (const u of this.units.values()) if (u.sockFd === fd || u.chanFd === fd || u.unitFd === fd) return u;
    return undefined;
  }

  /** The peer (client) sends a control frame (protocol first): the kernel routes it like ppp_input. */
  fromPeer(u: FakeUnit, frame: Uint8Array): void {
    let f = frame;
    if (f[0] === 0xff && f[1] === 0x03) f = f.subarray(2);
    const proto = (f[0]! << 8) | f[1]!;
    if (proto === 0xfd || proto === 0x21) return; // data: the kernel's business
    const toChannel = proto >= 0xc000 || proto === 0x80fb;
    if (!toChannel && proto === 0x80fd) this.peek(u, f, true);
    const fd = toChannel ? u.chanFd : u.unitFd;
    this.deliver(fd, f);
  }

  /** Queues a frame on an fd's poller as the addon would (one batch of one). */
  deliver(fd: number, f: Uint8Array): void {
    const p = this.polls.find((x) => x.fd === fd && !x.stopped);
    if (!p) return;
    this.arena.data.set(f, 0);
    this.arena.offsets[0] = 0;
    this.arena.lengths[0] = f.length;
    p.cb(1);
  }

  private peek(u: FakeUnit, f: Uint8Array, inbound: boolean): void {
    const code = f[2];
    if (code === 1) {
      if (inbound) u.compRun = false;
      else u.decompRun = false;
    } else if (code === 5 || code === 6) {
      u.compRun = u.decompRun = false;
    } else if (code === 2) {
      if ((u.flags & (SC.CCP_OPEN | SC.CCP_UP)) !== SC.CCP_OPEN || this.brokenMppe) return;
      this.ops.push(`ccp-confack-${inbound ? 'in' : 'out'}`);
      if (inbound && u.rkey) u.decompRun = true;
      if (!inbound && u.xkey) u.compRun = true;
    }
  }

  readonly native: KernelNative = {
    pptpChannelOpen: (localIp, localCallId, peerIp, peerCallId) => {
      this.ops.push(`pptpChannelOpen ${localIp} ${localCallId} ${peerIp} ${peerCallId}`);
      if (this.failChannelOpen) throw this.failChannelOpen;
      const fd = this.nextFd++;
      this.pending = { sockFd: fd, open: { localIp, localCallId, peerIp, peerCallId } };
      return fd;
    },
    pptpChannelIndex: (fd) => fd + 1000,
    pppOpenChannel: (idx) => {
      const fd = this.nextFd++;
      this.ops.push(`pppOpenChannel ${idx} -> ${fd}`);
      this.pending!.chanFd = fd;
      return fd;
    },
    pppNewUnit: () => {
      let unit = 0;
      while (this.units.has(unit)) unit++;
      const fd = this.nextFd++;
      const p = this.pending!;
      const u: FakeUnit = {
        sockFd: p.sockFd!, chanFd: p.chanFd!, unitFd: fd, unit, open: p.open!, flags: 0, compRun: false, decompRun: false,
        npmode: new Map(), written: [], closed: new Set(),
      };
      this.units.set(unit, u);
      this.ifaces.set(`ppp${unit}`, { up: false });
      this.ops.push(`pppNewUnit -> ppp${unit} fd ${fd}`);
      return { fd, unit };
    },
    pppConnect: (chanFd, unit) => void this.ops.push(`pppConnect ${chanFd} ${unit}`),
    pppDisconnect: (chanFd) => void this.ops.push(`pppDisconnect ${chanFd}`),
    pppSetMru: (fd, mru) => {
      this.unitByFd(fd)!.mru = mru;
      this.ops.push(`pppSetMru ${mru}`);
    },
    pppGetFlags: (fd) => {
      const u = this.unitByFd(fd)!;
      if (fd !== u.unitFd) return 0;
      return u.flags | (u.compRun ? SC.COMP_RUN : 0) | (u.decompRun ? SC.DECOMP_RUN : 0);
    },
    pppSetFlags: (fd, flags) => {
      const u = this.unitByFd(fd)!;
      if (fd === u.unitFd) u.flags = flags;
      this.ops.push(`pppSetFlags ${fd === u.unitFd ? 'unit' : 'channel'} 0x${flags.toString(16)}`);
    },
    pppSetNpMode: (fd, proto, mode) => {
      this.unitByFd(fd)!.npmode.set(proto, mode);
      this.ops.push(`pppSetNpMode 0x${proto.toString(16)} ${mode}`);
    },
    pppSetCompress: (fd, o) => {
      const u = this.unitByFd(fd)!;
      if (o.transmit) u.xkey = Uint8Array.from(o.key);
      else u.rkey = Uint8Array.from(o.key);
      this.ops.push(`pppSetCompress ${o.transmit ? 'transmit' : 'receive'}`);
    },
    pppGetIdle: () => ({ xmit: 3, recv: 4 }),
    pppRead: () => -1,
    pppWrite: (fd, frame) => {
      const u = this.unitByFd(fd)!;
      const kind = fd === u.unitFd ? 'unit' : 'channel';
      const copy = Uint8Array.from(frame);
      const proto = (copy[0]! << 8) | copy[1]!;
      this.ops.push(`write ${kind} ${proto.toString(16)}${proto === 0x80fd ? ' code ' + copy[2] : ''}`);
      if (kind === 'unit' && proto === 0x80fd) this.peek(u, copy, false);
      // ppp_send_frame: MPPE running, required, CCP not up → "compression
      // required but down - pkt dropped" (everything but LCP and CCP).
      if (kind === 'unit' && proto !== 0x80fd && u.compRun && u.flags & SC.MUST_COMP && !(u.flags & SC.CCP_UP)) {
        this.ops.push(`dropped ${proto.toString(16)} (compression required but down)`);
        return copy.length;
      }
      u.written.push({ fd: kind, frame: copy });
      this.onWrite?.(u, kind, copy);
      return copy.length;
    },
    pppCompStats: () => {
      const z = { uncBytes: 0, uncPackets: 0, compBytes: 0, compPackets: 0, incBytes: 0, incPackets: 0 };
      return { compress: z, decompress: z };
    },
    closeFd: (fd) => {
      const u = this.unitByFd(fd);
      if (u) {
        u.closed.add(fd);
        if (fd === u.unitFd) {
          this.ifaces.delete(`ppp${u.unit}`);
          this.units.delete(u.unit);
          this.retired.push(u);
        }
      } else {
        const r = this.retired.find((x) => x.sockFd === fd || x.chanFd === fd);
        r?.closed.add(fd);
      }
      this.ops.push(`closeFd ${fd}`);
    },
    rxArena: () => this.arena,
    pollerStart: (fd, _kind, cb) => {
      const p: Poll = { fd, cb, stopped: false };
      this.polls.push(p);
      this.ops.push(`pollerStart ${fd}`);
      return p;
    },
    pollerStop: (h) => {
      const p = h as Poll;
      if (!p.stopped) this.ops.push(`pollerStop ${p.fd}`);
      p.stopped = true;
    },
    ifSetMtu: (name, mtu) => {
      this.ifaces.get(name)!.mtu = mtu;
      this.ops.push(`ifSetMtu ${name} ${mtu}`);
    },
    ifSetAddrs: (name, local, peer) => {
      Object.assign(this.ifaces.get(name)!, { local, peer });
      this.ops.push(`ifSetAddrs ${name} ${local} ${peer}`);
    },
    ifSetUp: (name, up) => {
      this.ifaces.get(name)!.up = up;
      this.ops.push(`ifSetUp ${name} ${up}`);
    },
    ifStats: (name) => {
      if (!this.ifaces.has(name)) throw Object.assign(new Error('no such device'), { code: 'ENODEV' });
      return this.stats.get(name) ?? { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 };
    },
  };

  /** Units closed so far (their fds). */
  readonly retired: FakeUnit[] = [];
  private pending: { sockFd?: number; chanFd?: number; open?: FakeUnit['open'] } | undefined;

  activePollers(): number {
    return this.polls.filter((p) => !p.stopped).length;
  }
}
