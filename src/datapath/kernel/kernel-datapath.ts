// The kernel datapath: each call is attached to the kernel (AF_PPPOX PPTP
// channel → /dev/ppp channel → ppp unit = a real pppN interface) and the
// kernel does GRE, MPPE and IP; this process only sees control frames:
//   channel fd: LCP, PAP/CHAP (protocol >= 0xC000);
//   unit fd:    CCP, IPCP (and what the kernel does not know: IPV6CP, …).
// Kernel MPPE starts a direction when it sees a CCP Configure-Ack pass
// through the unit, so the link hands us the start keys (armMppe) before CCP
// begins, and CCP frames must go to the unit fd (writeControl routes them).
import type { Logger } from 'pino';
import { KernelPppCall, PPP_IP } from '../../../native/kppp.js';
import type { Clock } from '../../util/clock.js';
import { PptpdError } from '../../util/errors.js';
import type { Datapath, DatapathAttachInfo, DatapathCall, DatapathCallParams, DatapathCounters } from '../types.js';
import type { KernelMppeKeys, KernelNative } from './ports.js';

/** The kernel's own receive size: frames up to this are accepted whatever MRU was negotiated. */
const KERNEL_MIN_MRU = 1500;

export interface KernelDatapathOptions {
  clock: Clock;
  log: Logger;
  native: KernelNative;
}

export interface KernelDatapathStats {
  /** Control frames handed to sessions / written to the kernel. */
  framesIn: number;
  framesOut: number;
  /** Frames we refused to write (data frames, too short) or the kernel refused (EAGAIN). */
  framesDropped: number;
  /** Exceptions caught on the frame path (a bug if non-zero). */
  errors: number;
}

class KernelCall implements DatapathCall {
  onFrame: (frame: Uint8Array) => void = () => {};
  closed = false;
  ifname: string | undefined;
  private mppeArmed = false;
  /** Why kernel MPPE is not usable (checked when CCP opens); attach refuses then. */
  private mppeProblem: string | undefined;
  private readonly pollers: unknown[] = [];
  /** Last counters read from the interface (kept for after it is gone). */
  private last: DatapathCounters = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 };

  constructor(readonly dp: KernelDatapath, readonly p: DatapathCallParams, readonly k: KernelPppCall) {
    const n = dp.native;
    const arena = dp.arena;
    const deliver = (count: number, err?: NodeJS.ErrnoException): void => {
      if (err) return dp.fdError(this, err);
      for (let i = 0; i < count && !this.closed; i++) {
        const off = arena.offsets[i]!;
        dp.stats.framesIn++;
        try {
          // Protocol field first, no FF 03: PppLink.input accepts both.
          this.onFrame(arena.data.subarray(off, off + arena.lengths[i]!));
        } catch (e) {
          dp.frameError(e);
        }
      }
    };
    try {
      this.pollers.push(n.pollerStart(k.channelFd, 'tun', deliver));
      this.pollers.push(n.pollerStart(k.unitFd, 'tun', deliver));
    } catch (e) {
      this.stopPollers();
      throw e;
    }
  }

  sendFrame(frame: Uint8Array): void {
    if (this.closed) return;
    const d = this.dp.stats;
    // The link sends FF 03 + protocol; the kernel wants the protocol first.
    const f = frame.length >= 2 && frame[0] === 0xff && frame[1] === 0x03 ? frame.subarray(2) : frame;
    // Data never comes this way (the kernel moves it); a 1-byte (PFC)
    // protocol field would be data too. Refuse rather than misroute.
    if (f.length < 4 || (f[0]! & 1) !== 0 || f[0]! < 0x80) {
      d.framesDropped++;
      return;
    }
    try {
      if (this.k.writeControl(f) < 0) d.framesDropped++; // EAGAIN: the FSM retransmits
      else d.framesOut++;
    } catch (e) {
      d.framesDropped++;
      this.dp.frameError(e);
    }
  }

  armMppe(keys: KernelMppeKeys): void {
    if (this.closed) return;
    // Strength and mode come from the Configure-Acks the kernel sees; the
    // option bytes given here are not used by ppp_mppe's allocation.
    this.k.armMppe({ sendKey: keys.sendKey, recvKey: keys.recvKey, bits: 128, stateless: true }, keys.required);
    this.mppeArmed = true;
  }

  /** CCP opened with MPPE: both directions must run now; then SC_CCP_UP lets encrypted frames (IPCP first) out. */
  mppeUp(): void {
    if (this.closed) return;
    const run = this.k.mppeRunning();
    if (!this.mppeArmed || !run.transmit || !run.receive) {
      this.mppeProblem = `kernel MPPE did not start (keys ${this.mppeArmed ? 'set' : 'not set'}, transmit ${run.transmit}, receive ${run.receive})`;
      return; // not UP: with require-mppe the kernel keeps dropping; attach refuses
    }
    this.k.mppeUp();
  }

  async attach(info: DatapathAttachInfo): Promise<{ ifname: string }> {
    if (this.closed) throw new PptpdError('ERR_DATAPATH_CLOSED', 'call already closed');
    if (this.ifname) throw new PptpdError('ERR_DATAPATH_ATTACH', `already attached to ${this.ifname}`);
    const k = this.k;
    const n = this.dp.native;
    if (info.mppe) {
      // Both Configure-Acks have passed the unit: both directions must run
      // now, or data would leave unencrypted. Never go up without them.
      const run = k.mppeRunning();
      if (this.mppeProblem || !this.mppeArmed || !run.transmit || !run.receive) {
        const why = this.mppeProblem ?? `kernel MPPE did not start (keys ${this.mppeArmed ? 'set' : 'not set'}, transmit ${run.transmit}, receive ${run.receive})`;
        throw new PptpdError('ERR_DATAPATH_MPPE', `${why}; the kernel's ppp_mppe does 40 and 128-bit, not ${info.mppe.bits === 56 ? '56-bit' : 'this'}`);
      }
      k.mppeUp(); // normally already up (when CCP opened); idempotent
    } else if (this.mppeArmed) {
      k.mppeDown(); // MPPE was optional and not agreed: free the kernel's states
    }
    k.setMru(Math.max(info.mru, KERNEL_MIN_MRU));
    const ifname = k.ifname;
    n.ifSetMtu(ifname, info.mtu);
    n.ifSetAddrs(ifname, info.local, info.peer);
    n.ifSetUp(ifname, true);
    k.setUp(PPP_IP);
    this.ifname = ifname;
    return { ifname };
  }

  deliverIp(_packet: Uint8Array): void {
    // The kernel delivers IP itself; the link never decrypts in kernel mode.
  }

  counters(): DatapathCounters {
    if (this.ifname && !this.closed) {
      try {
        const s = this.dp.native.ifStats(this.ifname);
        this.last = { rxPackets: s.rxPackets, rxBytes: s.rxBytes, txPackets: s.txPackets, txBytes: s.txBytes };
      } catch {
        /* interface already gone: the last figures stand */
      }
    }
    return { ...this.last };
  }

  /** The kernel's idle times of the unit (seconds since the last data packet each way). */
  idle(): { xmit: number; recv: number } {
    return this.k.idle();
  }

  private stopPollers(): void {
    for (const h of this.pollers.splice(0)) {
      try {
        this.dp.native.pollerStop(h);
      } catch {
        /* idempotent in the addon */
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.counters(); // final figures while the interface still exists
    this.closed = true;
    // Pollers first (the fds are about to be closed), then the kernel call:
    // disconnect the channel, close the unit (pppN goes), channel, socket.
    this.stopPollers();
    this.dp.forget(this);
    this.k.close();
  }
}

export class KernelDatapath implements Datapath {
  readonly kind = 'kernel' as const;
  readonly clock: Clock;
  readonly native: KernelNative;
  readonly arena: ReturnType<KernelNative['rxArena']>;
  readonly stats: KernelDatapathStats = { framesIn: 0, framesOut: 0, framesDropped: 0, errors: 0 };
  private readonly log: Logger;
  private readonly calls = new Set<KernelCall>();
  private lastErrorLog = -Infinity;
  private closed = false;

  constructor(o: KernelDatapathOptions) {
    this.clock = o.clock;
    this.log = o.log;
    this.native = o.native;
    this.arena = o.native.rxArena();
  }

  get callCount(): number {
    return this.calls.size;
  }

  openCall(p: DatapathCallParams): DatapathCall {
    if (this.closed) throw new PptpdError('ERR_DATAPATH_CLOSED', 'datapath is closed');
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(p.clientAddress) || !/^\d{1,3}(\.\d{1,3}){3}$/.test(p.localAddress)) {
      throw new PptpdError('ERR_DATAPATH_ADDRESS', `the kernel PPTP datapath carries GRE over IPv4 only (client ${p.clientAddress})`);
    }
    let k: KernelPppCall;
    try {
      // The unit's MRU is raised to the negotiated one at attach (never below 1500).
      k = KernelPppCall.open(this.native, {
        localIp: p.localAddress,
        localCallId: p.callId,
        peerIp: p.clientAddress,
        peerCallId: p.peerCallId,
      });
    } catch (e) {
      throw new PptpdError('ERR_DATAPATH_KERNEL', `cannot attach the call to the kernel: ${(e as Error).message}`);
    }
    let call: KernelCall;
    try {
      call = new KernelCall(this, p, k);
    } catch (e) {
      k.close();
      throw new PptpdError('ERR_DATAPATH_KERNEL', `cannot poll the kernel call: ${(e as Error).message}`);
    }
    this.calls.add(call);
    return call;
  }

  /** @internal */
  forget(c: KernelCall): void {
    this.calls.delete(c);
  }

  /** @internal A read error on a call's fd: rare; logged at most once a second. */
  fdError(c: KernelCall, e: NodeJS.ErrnoException): void {
    const now = this.clock.now();
    if (now - this.lastErrorLog >= 1000) {
      this.lastErrorLog = now;
      this.log.warn({ sessionId: c.p.sessionId, err: e.message }, 'kernel PPP fd read error');
    }
  }

  /** @internal A bug on the frame path: count it, log at most once a second. */
  frameError(e: unknown): void {
    this.stats.errors++;
    const now = this.clock.now();
    if (now - this.lastErrorLog >= 1000) {
      this.lastErrorLog = now;
      this.log.error({ err: (e as Error)?.message, errors: this.stats.errors }, 'error on the kernel frame path');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.calls]) {
      try {
        await c.close();
      } catch (e) {
        this.log.warn({ sessionId: c.p.sessionId, err: (e as Error).message }, 'closing a kernel call failed');
      }
    }
  }
}
