// Drives a ControlConnection like a PPTP client would: encodes messages into
// it, decodes what it sends, and records every callback.
import { ControlConnection, type CallDecision, type ControlConnectionOptions, type IncomingCall } from '../../src/control/connection.js';
import { CallIdAllocator } from '../../src/control/call-ids.js';
import { decode, encode } from '../../src/protocol/pptp/codec.js';
import type { PptpMessage, PptpMessageOf, WanErrorCounters } from '../../src/protocol/pptp/messages.js';
import { silentLogger } from '../../src/util/log.js';
import { FakeClock } from './fake-clock.js';

export interface Harness {
  conn: ControlConnection;
  clock: FakeClock;
  callIds: CallIdAllocator;
  /** Raw bytes the connection sent. */
  raw: Uint8Array[];
  /** Decoded messages the connection sent. */
  sent: PptpMessage[];
  closes: string[];
  calls: IncomingCall[];
  cleared: Array<[number, string]>;
  links: Array<[number, number, number]>;
  wanErrors: Array<[number, WanErrorCounters]>;
  /** What onCall answers; replace to change the session layer's mind. */
  decide: (call: IncomingCall) => CallDecision;
  /** Encodes and feeds messages, in one chunk. */
  feed(...msgs: PptpMessage[]): void;
  /** Decoded messages sent since the last take(). */
  take(): PptpMessage[];
  /** The one message sent since the last take(), of this type. */
  takeOne<T extends PptpMessage['type']>(type: T): PptpMessageOf<T>;
}

export const SCCRQ: PptpMessage = {
  type: 'SCCRQ', protocolVersion: 0x0100, framingCapabilities: 1, bearerCapabilities: 1,
  maxChannels: 0, firmwareRevision: 1, hostName: 'local', vendor: 'cananian',
};

export function ocrq(peerCallId: number, extra: Partial<PptpMessageOf<'OCRQ'>> = {}): PptpMessageOf<'OCRQ'> {
  return {
    type: 'OCRQ', callId: peerCallId, callSerial: peerCallId & 0xff, minBps: 300, maxBps: 100_000_000,
    bearerType: 3, framingType: 3, recvWindow: 64, processingDelay: 0, phoneNumberLength: 0,
    phoneNumber: '', subaddress: '', ...extra,
  };
}

export function makeHarness(opts: Partial<ControlConnectionOptions> = {}): Harness {
  const clock = new FakeClock(1_000);
  const callIds = opts.callIds ?? new CallIdAllocator();
  let cursor = 0;
  const h: Harness = {
    conn: undefined as unknown as ControlConnection,
    clock,
    callIds,
    raw: [],
    sent: [],
    closes: [],
    calls: [],
    cleared: [],
    links: [],
    wanErrors: [],
    decide: () => ({ accept: true }),
    feed(...msgs) {
      h.conn.input(Buffer.concat(msgs.map((m) => encode(m))));
    },
    take() {
      const out = h.sent.slice(cursor);
      cursor = h.sent.length;
      return out;
    },
    takeOne(type) {
      const out = h.take();
      if (out.length !== 1 || out[0]!.type !== type) {
        throw new Error(`expected one ${type}, got [${out.map((m) => m.type).join(', ')}]`);
      }
      return out[0] as PptpMessageOf<typeof type>;
    },
  };
  h.conn = new ControlConnection({
    clock,
    log: silentLogger,
    peer: '192.0.2.7:40000',
    hostName: 'pptpd',
    vendor: 'pptpd-ts',
    stimeoutMs: 10_000,
    callIds,
    send(bytes) {
      h.raw.push(Uint8Array.from(bytes));
      h.sent.push(decode(bytes));
    },
    close(reason) {
      h.closes.push(reason);
    },
    onCall(call) {
      h.calls.push(call);
      return h.decide(call);
    },
    onCallCleared(callId, reason) {
      h.cleared.push([callId, reason]);
    },
    onSetLinkInfo(callId, s, r) {
      h.links.push([callId, s, r]);
    },
    onWanError(callId, counters) {
      h.wanErrors.push([callId, counters]);
    },
    ...opts,
  });
  return h;
}

/** A harness already past SCCRQ/SCCRP. */
export function establishedHarness(opts: Partial<ControlConnectionOptions> = {}): Harness {
  const h = makeHarness(opts);
  h.feed(SCCRQ);
  h.takeOne('SCCRP');
  return h;
}
