// One bench/kclient session: a PPTP call on a client control connection,
// attached to the KERNEL the way our kernel-datapath server attaches its
// calls (AF_PPPOX PPTP socket bound to (our address, our call id) and
// connected to (server, server's call id), a ppp unit, kernel MPPE), driven
// by our PPP engine in the client role. Only control frames reach this
// process: LCP/CHAP on the channel fd, CCP/IPCP on the unit fd; the data
// (iperf3, ping) goes through pptp.ko + ppp_generic + ppp_mppe.
import type { ClientConnection } from '../../src/control/client-connection.js';
import type { LinkUpInfo } from '../../src/ppp/types.js';
import { KernelPppCall, PPP_IP, type KpppNative } from '../../native/kppp.js';
import { BenchClientSession, type ClientSessionBase } from '../common/client-session.js';

/** What the session needs from the addon (a structural subset of NativeAddon). */
export interface KClientNative extends KpppNative {
  rxArena(): { data: Uint8Array; offsets: Uint32Array; lengths: Uint32Array };
  pollerStart(fd: number, kind: 'tun', cb: (count: number, err?: NodeJS.ErrnoException) => void): unknown;
  pollerStop(handle: unknown): void;
  ifSetMtu(name: string, mtu: number): void;
  ifSetAddrs(name: string, local: string, peer: string): void;
  ifSetUp(name: string, up: boolean): void;
}

export interface KClientContext extends ClientSessionBase {
  native: KClientNative;
  /** Our outer IPv4 (the control connection's local address): AF_PPPOX bind. */
  localIp: string;
  /** The server's outer IPv4: AF_PPPOX connect. */
  serverIp: string;
}

export interface KClientLink {
  ifname: string;
  local: string;
  remote: string;
  /** MTU set on the interface (negotiated, minus MPPE's 4 bytes when MPPE runs). */
  mtu: number;
  mppe: string;
  /** OCRQ → interface up, ms. */
  setupMs: number;
}

/** The kernel's receive buffer never below this, whatever MRU was negotiated (as the server datapath). */
const KERNEL_MIN_MRU = 1500;
/** pppd lowers the interface MTU by MPPE_PAD when MPPE runs, so a full packet still fits the peer's MRU. */
const MPPE_PAD = 4;
/** NCP frames that overtake the end of authentication (two fds, two pollers) are kept, at most this many. */
const MAX_HELD = 8;

export class KClientSession extends BenchClientSession<KClientLink> {
  link: KClientLink | undefined;
  /** Why it ended (set once). */
  endReason: string | undefined;
  /** Called when a session that was up ends without close() (server hang-up, echo failure). */
  onDropped: ((reason: string) => void) | undefined;

  private kcall: KernelPppCall | undefined;
  private readonly pollers: unknown[] = [];
  private held: Uint8Array[] = [];
  private mppeArmed = false;
  private mppeIsUp = false;
  private t0 = 0;

  constructor(index: number, private readonly ctx: KClientContext, credentials: { user: string; password: string }) {
    super(index, ctx, credentials);
  }

  /** Places the call, attaches it to the kernel and brings the link up. */
  async open(conn: ClientConnection, timeoutMs: number): Promise<KClientLink> {
    const ctx = this.ctx;
    this.conn = conn;
    this.t0 = ctx.clock.now();
    this.state = 'calling';
    const call = await conn.call({ timeoutMs, onEnd: (end) => this.callDisconnected(end.reason) });
    this.call = call;
    if (this.callGone) throw new Error(`call ended at once: ${this.endReason ?? ''}`);
    const done = this.beginSetup(this.t0, timeoutMs, () => `set-up timeout (PPP phase ${this.ppp?.phase ?? 'none'})`);
    try {
      this.kcall = KernelPppCall.open(ctx.native, {
        localIp: ctx.localIp,
        localCallId: call.callId,
        peerIp: ctx.serverIp,
        peerCallId: call.peerCallId,
        mru: Math.max(ctx.policy.mru, KERNEL_MIN_MRU),
      });
      this.startPollers(this.kcall);
    } catch (e) {
      this.fail(`cannot attach the call to the kernel: ${(e as Error).message}`);
      return done;
    }
    const link = this.createLink('kernel', (out) => {
      if (out.ok) this.replayHeld();
    }, {
      // Kernel MPPE starts each direction when a CCP Configure-Ack passes
      // the unit: the link hands us the start keys before CCP begins and
      // again before every new CCP round (a server that renegotiates to
      // stateful), as pppd's ccp_test() does.
      kernelMppeKeys: (keys) => this.armMppe(keys.sendKey, keys.recvKey),
      send: (f) => this.sendControl(f),
      onUp: (info) => this.linkUp(info),
    });
    link.start();
    return done;
  }

  private armMppe(sendKey: Uint8Array, recvKey: Uint8Array): void {
    const k = this.kcall;
    if (!k || k.isClosed || !this.ctx.policy.mppe) return;
    try {
      // Strength and mode come from the Configure-Acks the kernel sees.
      k.armMppe({ sendKey, recvKey, bits: 128, stateless: true }, this.ctx.policy.mppe.required);
      this.mppeArmed = true;
    } catch (e) {
      this.fail(`kernel MPPE: ${(e as Error).message}`);
    }
  }

  private startPollers(k: KernelPppCall): void {
    const n = this.ctx.native;
    const arena = n.rxArena();
    const deliver = (count: number, err?: NodeJS.ErrnoException): void => {
      if (err) {
        this.ctx.log.warn({ session: this.index, err: err.message }, 'kernel PPP fd read error');
        return;
      }
      for (let i = 0; i < count; i++) {
        const off = arena.offsets[i]!;
        this.frameIn(arena.data.subarray(off, off + arena.lengths[i]!));
      }
    };
    this.pollers.push(n.pollerStart(k.channelFd, 'tun', deliver));
    this.pollers.push(n.pollerStart(k.unitFd, 'tun', deliver));
  }

  private frameIn(f: Uint8Array): void {
    const link = this.ppp;
    if (!link) return;
    // CCP/IPCP from the unit fd can be read before the CHAP Success from the
    // channel fd: the link would drop them (not in the network phase yet) and
    // the server would resend only after its 3 s restart timer.
    const ncp = f.length >= 2 && f[0] === 0x80;
    if (ncp && (link.phase === 'establish' || link.phase === 'authenticate')) {
      if (this.held.length < MAX_HELD) this.held.push(Uint8Array.from(f));
      return;
    }
    link.input(f);
  }

  private replayHeld(): void {
    if (this.held.length === 0) return;
    // After the current frame's handling (the link is mid-input here).
    setImmediate(() => {
      const h = this.held;
      this.held = [];
      for (const f of h) this.ppp?.input(f);
    });
  }

  private sendControl(frame: Uint8Array): void {
    const k = this.kcall;
    if (!k || k.isClosed) return;
    // The link writes FF 03 + protocol; the kernel wants the protocol first.
    const f = frame.length >= 2 && frame[0] === 0xff && frame[1] === 0x03 ? frame.subarray(2) : frame;
    if (f.length < 4 || (f[0]! & 1) !== 0 || f[0]! < 0x80) return; // data never goes this way
    // The first IPCP frame after CCP opened: with SC_MUST_COMP the kernel
    // drops every non-LCP/CCP frame while its compressor runs but SC_CCP_UP
    // is not set, so CCP must be marked up before IPCP speaks (pppd's
    // ccp_flags_set(unit, 1, 1) in ccp_up does the same).
    if (this.mppeArmed && !this.mppeIsUp && f[0] === 0x80 && f[1] === 0x21) this.markMppeUp(k);
    try {
      k.writeControl(f); // -1 (EAGAIN): the FSM retransmits
    } catch (e) {
      this.ctx.log.warn({ session: this.index, err: (e as Error).message }, 'kernel PPP write failed');
    }
  }

  private markMppeUp(k: KernelPppCall): void {
    const run = k.mppeRunning();
    if (!run.transmit || !run.receive) return; // CCP not (yet) agreed both ways
    k.mppeUp();
    this.mppeIsUp = true;
  }

  private linkUp(info: LinkUpInfo): void {
    const k = this.kcall!;
    const n = this.ctx.native;
    try {
      if (info.mppe) {
        // Both Configure-Acks passed the unit: never pass data unless both directions run.
        const run = k.mppeRunning();
        if (!this.mppeArmed || !run.transmit || !run.receive) {
          throw new Error(`kernel MPPE did not start (keys ${this.mppeArmed ? 'set' : 'not set'}, transmit ${run.transmit}, receive ${run.receive})`);
        }
        if (!this.mppeIsUp) k.mppeUp();
        this.mppeIsUp = true;
      } else if (this.mppeArmed) {
        k.mppeDown();
      }
      k.setMru(Math.max(info.mru, KERNEL_MIN_MRU));
      const mtu = info.mtu - (info.mppe ? MPPE_PAD : 0);
      n.ifSetMtu(k.ifname, mtu);
      n.ifSetAddrs(k.ifname, info.local, info.peer);
      n.ifSetUp(k.ifname, true);
      k.setUp(PPP_IP);
      this.link = {
        ifname: k.ifname,
        local: info.local,
        remote: info.peer,
        mtu,
        mppe: info.mppe ? `${info.mppe.bits}${info.mppe.stateful ? ' stateful' : ' stateless'}` : 'none',
        setupMs: this.ctx.clock.now() - this.t0,
      };
    } catch (e) {
      this.fail(`cannot bring ${k.ifname} up: ${(e as Error).message}`);
      return;
    }
    this.setupDone(this.link);
  }

  protected noteLinkDown(reason: string): void {
    this.endReason ??= reason;
  }

  protected override droppedWhileUp(reason: string): void {
    this.onDropped?.(reason);
  }

  private callDisconnected(reason: string): void {
    const cb = this.callGoneWaiter();
    this.endReason ??= `call ended: ${reason}`;
    if (this.settingUp) this.fail(`pptp: call ended by the server during ${this.ppp?.phase ?? 'set-up'}: ${reason}`);
    const wasUp = this.state === 'up';
    this.ppp?.lowerDown(`call ended: ${reason}`);
    if (wasUp && this.state === 'up') {
      this.state = 'done';
      this.release();
    }
    cb?.();
  }

  protected override fail(reason: string): void {
    if (this.settingUp) this.endReason ??= reason;
    super.fail(reason);
  }

  protected setupError(reason: string): Error {
    return new Error(reason);
  }

  /**
   * Hangs up as pppd + pptp-linux do: LCP Terminate (through the channel),
   * then Call-Clear-Request and the server's CDN, each bounded; then the
   * kernel call goes (pppN disappears).
   */
  close(timeoutMs: number): Promise<void> {
    return this.hangUp(timeoutMs, 'kclient: hang-up');
  }

  /** Pollers off, then the kernel call (disconnect, unit, channel, socket). Idempotent. */
  protected release(): void {
    for (const p of this.pollers.splice(0)) {
      try {
        this.ctx.native.pollerStop(p);
      } catch {
        /* idempotent in the addon */
      }
    }
    this.held = [];
    const k = this.kcall;
    if (k && !k.isClosed) {
      try {
        k.close();
      } catch (e) {
        this.ctx.log.warn({ session: this.index, err: (e as Error).message }, 'closing the kernel call failed');
      }
    }
  }
}
