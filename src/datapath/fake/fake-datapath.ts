// In-memory datapath for tests (like wireguard-go's tuntest): each call's
// frames go to a callback the test holds (typically a client-side PppLink),
// "interfaces" are names fake0, fake1, … taken lowest-free like pppN.
import { PptpdError } from '../../util/errors.js';
import type {
  Datapath,
  DatapathAttachInfo,
  DatapathCall,
  DatapathCallParams,
  DatapathCounters,
} from '../types.js';

export interface FakeDatapathOptions {
  /**
   * 'microtask' (default) hands frames over in a later microtask, as a real
   * network would, so two PPP engines never re-enter each other; 'sync' calls
   * straight through (frames are still copied: senders may reuse buffers).
   */
  delivery?: 'sync' | 'microtask';
  /** attach() rejects with this message (tests of the failure path). */
  failAttach?: string;
}

export class FakeDatapathCall implements DatapathCall {
  onFrame: (frame: Uint8Array) => void = () => {};
  /** Test side: frames the server sends to the client. Unset → dropped (counted). */
  toClient: ((frame: Uint8Array) => void) | undefined;
  /** Test side: IP packets the server's link delivers to the interface. */
  onInterfaceIp: ((packet: Uint8Array) => void) | undefined;
  ifname: string | undefined;
  attachInfo: DatapathAttachInfo | undefined;
  closed = false;
  framesToClient = 0;
  framesFromClient = 0;
  framesDropped = 0;
  private readonly c: DatapathCounters = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 };

  constructor(readonly params: DatapathCallParams, private readonly owner: FakeDatapath) {}

  sendFrame(frame: Uint8Array): void {
    if (this.closed || !this.toClient) {
      this.framesDropped++;
      return;
    }
    this.framesToClient++;
    const copy = Uint8Array.from(frame);
    this.owner.deliver(() => {
      if (!this.closed) this.toClient?.(copy);
    });
  }

  /** Test side: a frame from the client arrives through "GRE". */
  fromClient(frame: Uint8Array): void {
    if (this.closed) {
      this.framesDropped++;
      return;
    }
    this.framesFromClient++;
    const copy = Uint8Array.from(frame);
    this.owner.deliver(() => {
      if (!this.closed) this.onFrame(copy);
    });
  }

  async attach(info: DatapathAttachInfo): Promise<{ ifname: string }> {
    if (this.closed) throw new PptpdError('ERR_DATAPATH_CLOSED', 'call already closed');
    if (this.owner.failAttach) throw new PptpdError('ERR_DATAPATH_ATTACH', this.owner.failAttach);
    if (this.ifname) throw new PptpdError('ERR_DATAPATH_ATTACH', `already attached to ${this.ifname}`);
    this.attachInfo = info;
    this.ifname = this.owner.takeInterface();
    return { ifname: this.ifname };
  }

  deliverIp(packet: Uint8Array): void {
    if (this.closed || !this.ifname) {
      this.framesDropped++;
      return;
    }
    this.c.rxPackets++;
    this.c.rxBytes += packet.length;
    this.onInterfaceIp?.(packet);
  }

  /** Test side: the kernel routes an IP packet into the interface → encrypted to the client. */
  injectIp(packet: Uint8Array): void {
    if (this.closed || !this.attachInfo) return;
    this.c.txPackets++;
    this.c.txBytes += packet.length;
    this.attachInfo.link.sendIp(packet);
  }

  counters(): DatapathCounters {
    return { ...this.c };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ifname) this.owner.releaseInterface(this.ifname);
    this.owner.forget(this);
  }
}

export class FakeDatapath implements Datapath {
  readonly kind = 'fake' as const;
  /** Open calls by session id. */
  readonly calls = new Map<string, FakeDatapathCall>();
  /** Interfaces that currently exist. */
  readonly interfaces = new Set<string>();
  /** Called for every new call, so a test can wire a client to it. */
  onOpen: ((call: FakeDatapathCall) => void) | undefined;
  failAttach: string | undefined;
  opened = 0;
  closedCalls = 0;
  private readonly sync: boolean;

  constructor(o: FakeDatapathOptions = {}) {
    this.sync = o.delivery === 'sync';
    this.failAttach = o.failAttach;
  }

  openCall(p: DatapathCallParams): DatapathCall {
    if (this.calls.has(p.sessionId)) {
      throw new PptpdError('ERR_DATAPATH_DUPLICATE', `session ${p.sessionId} already has a call`);
    }
    const call = new FakeDatapathCall(p, this);
    this.calls.set(p.sessionId, call);
    this.opened++;
    this.onOpen?.(call);
    return call;
  }

  async close(): Promise<void> {
    for (const c of [...this.calls.values()]) await c.close();
  }

  /** @internal */
  deliver(fn: () => void): void {
    if (this.sync) fn();
    else queueMicrotask(fn);
  }

  /** @internal lowest free fakeN, as pppd picks the lowest free pppN. */
  takeInterface(): string {
    for (let n = 0; ; n++) {
      const name = `fake${n}`;
      if (!this.interfaces.has(name)) {
        this.interfaces.add(name);
        return name;
      }
    }
  }

  /** @internal */
  releaseInterface(name: string): void {
    this.interfaces.delete(name);
  }

  /** @internal */
  forget(call: FakeDatapathCall): void {
    if (this.calls.get(call.params.sessionId) === call) {
      this.calls.delete(call.params.sessionId);
      this.closedCalls++;
    }
  }
}
