// The datapath interface: how a session moves PPP frames to and from its
// client and attaches an IP interface once the network layer is up. The TUN
// (userspace GRE + MPPE), kernel (AF_PPPOX) and fake (tests) datapaths all
// implement it, so the session layer never knows which one it drives.
import type { IpSink, LinkFactories, LinkUpInfo } from '../ppp/types.js';

export interface DatapathCallParams {
  sessionId: string;
  /** Our call id (the key of GRE packets the client sends us). */
  callId: number;
  /** The client's call id (the key of GRE packets we send). */
  peerCallId: number;
  /** Outer IPv4 of the client. */
  clientAddress: string;
  /** Our outer address for this call (the TCP socket's local address). */
  localAddress: string;
}

export interface DatapathAttachInfo {
  local: string;
  peer: string;
  mtu: number;
  mru: number;
  mppe: LinkUpInfo['mppe'];
  /**
   * The PPP link: userspace datapaths hand it IP packets routed to the
   * interface, and may give it a sink to decrypt received packets into in
   * place (then they arrive there instead of through deliverIp).
   */
  link: { sendIp(packet: Uint8Array): void; setIpSink?(sink: IpSink | null): void };
}

export interface DatapathCounters {
  /** IP packets/bytes received from the client (what the interface received). */
  rxPackets: number;
  rxBytes: number;
  /** IP packets/bytes sent to the client (what the interface transmitted). */
  txPackets: number;
  txBytes: number;
}

export interface DatapathCall {
  /** Send a PPP frame (control or data) to the client through GRE. */
  sendFrame(frame: Uint8Array): void;
  /**
   * Set by the session: PPP frames received from the client via GRE. The
   * frame may be a view into a shared receive buffer: consume it before
   * returning, never keep it.
   */
  onFrame: (frame: Uint8Array) => void;
  /** Network layer up: create/configure the pppN interface and start moving IP. */
  attach(info: DatapathAttachInfo): Promise<{ ifname: string }>;
  /** IP packets from the link (decrypted) for the interface (userspace datapaths). */
  deliverIp(packet: Uint8Array): void;
  /** Kernel datapath: MPPE start keys, before the CCP Configure-Acks pass (see LinkHooks.kernelMppeKeys). */
  armMppe?(keys: { sendKey: Uint8Array; recvKey: Uint8Array; required: boolean }): void;
  /** Kernel datapath: CCP is up with MPPE (see LinkHooks.kernelMppeUp). */
  mppeUp?(): void;
  counters(): DatapathCounters;
  /** Removes the interface and unregisters GRE. Idempotent. */
  close(): Promise<void>;
}

export interface Datapath {
  readonly kind: 'tun' | 'kernel' | 'fake';
  /** Throws a PptpdError when the call cannot be carried (e.g. an IPv6 client on an IPv4-only datapath). */
  openCall(p: DatapathCallParams): DatapathCall;
  /**
   * Userspace datapaths: the MPPE codec the session's link should use (the
   * TUN datapath's runs its crypto in the addon). Absent: the link's default.
   */
  readonly createMppeCodec?: NonNullable<LinkFactories['createMppeCodec']>;
  close(): Promise<void>;
}
