// One byte-exact fixture per PPTP control message type, built from the field
// layouts of RFC 2637 §2 (values like those pptp-linux and Windows send).
// The SCCRQ is written out completely, byte by byte, so the `text()` helper
// used for the other string fields is itself checked against literal hex.
import type { PptpMessage } from '../../src/protocol/pptp/messages.js';
import { hex, text, zeros } from './pptp-hex.js';

export interface Fixture {
  name: string;
  bytes: Buffer;
  message: PptpMessage;
}

const HDR = '0001 1a2b3c4d'; // PPTP message type 1 (control), magic cookie

export const FIXTURES: Fixture[] = [
  {
    name: 'SCCRQ',
    bytes: hex(`
      009c ${HDR} 0001 0000   # length 156, SCCRQ, reserved0
      0100 0000               # protocol version 1.0, reserved1
      00000001                # framing capabilities: async
      00000001                # bearer capabilities: analog
      0000                    # maximum channels (PNS sends 0)
      0001                    # firmware revision
      6c 6f 63 61 6c 00 00 00 00 00 00 00 00 00 00 00   # host name "local"
      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      63 61 6e 61 6e 69 61 6e 00 00 00 00 00 00 00 00   # vendor "cananian"
      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
    `),
    message: {
      type: 'SCCRQ', protocolVersion: 0x0100, framingCapabilities: 1, bearerCapabilities: 1,
      maxChannels: 0, firmwareRevision: 1, hostName: 'local', vendor: 'cananian',
    },
  },
  {
    name: 'SCCRP',
    bytes: hex(`
      009c ${HDR} 0002 0000   # length 156, SCCRP
      0100                    # protocol version 1.0
      01 00                   # result 1 (ok), error 0
      00000003                # framing capabilities: async | sync
      00000003                # bearer capabilities: analog | digital
      0040                    # maximum channels 64
      0001                    # firmware revision
      ${text('pptpd', 64)}    # host name
      ${text('pptpd-ts', 64)} # vendor
    `),
    message: {
      type: 'SCCRP', protocolVersion: 0x0100, resultCode: 1, errorCode: 0, framingCapabilities: 3,
      bearerCapabilities: 3, maxChannels: 64, firmwareRevision: 1, hostName: 'pptpd', vendor: 'pptpd-ts',
    },
  },
  {
    name: 'StopCCRQ',
    bytes: hex(`
      0010 ${HDR} 0003 0000   # length 16, StopCCRQ
      03 00 0000              # reason 3 (local shutdown), reserved1, reserved2
    `),
    message: { type: 'StopCCRQ', reason: 3 },
  },
  {
    name: 'StopCCRP',
    bytes: hex(`
      0010 ${HDR} 0004 0000   # length 16, StopCCRP
      01 00 0000              # result 1 (ok), error 0, reserved
    `),
    message: { type: 'StopCCRP', resultCode: 1, errorCode: 0 },
  },
  {
    name: 'EchoRequest',
    bytes: hex(`
      0010 ${HDR} 0005 0000   # length 16, Echo-Request
      12345678                # identifier
    `),
    message: { type: 'EchoRequest', identifier: 0x12345678 },
  },
  {
    name: 'EchoReply',
    bytes: hex(`
      0014 ${HDR} 0006 0000   # length 20, Echo-Reply
      12345678                # identifier echoed
      01 00 0000              # result 1 (ok), error 0, reserved
    `),
    message: { type: 'EchoReply', identifier: 0x12345678, resultCode: 1, errorCode: 0 },
  },
  {
    name: 'OCRQ',
    bytes: hex(`
      00a8 ${HDR} 0007 0000   # length 168, Outgoing-Call-Request
      1f40                    # call id (the PNS's) 8000
      0001                    # call serial number
      0000012c                # minimum BPS 300
      05f5e100                # maximum BPS 100,000,000
      00000003                # bearer type: any
      00000003                # framing type: any
      0040                    # packet receive window 64
      0000                    # packet processing delay
      0007 0000               # phone number length 7, reserved1
      ${text('5551234', 64)}  # phone number
      ${text('', 64)}         # subaddress
    `),
    message: {
      type: 'OCRQ', callId: 8000, callSerial: 1, minBps: 300, maxBps: 100_000_000, bearerType: 3,
      framingType: 3, recvWindow: 64, processingDelay: 0, phoneNumberLength: 7, phoneNumber: '5551234',
      subaddress: '',
    },
  },
  {
    name: 'OCRP',
    bytes: hex(`
      0020 ${HDR} 0008 0000   # length 32, Outgoing-Call-Reply
      0001 1f40               # call id (ours) 1, peer's call id 8000
      01 00 0000              # result 1 (connected), error 0, cause 0
      00989680                # connect speed 10,000,000
      0040 0000               # receive window 64, processing delay 0
      00000000                # physical channel id
    `),
    message: {
      type: 'OCRP', callId: 1, peerCallId: 8000, resultCode: 1, errorCode: 0, causeCode: 0,
      connectSpeed: 10_000_000, recvWindow: 64, processingDelay: 0, physicalChannelId: 0,
    },
  },
  {
    name: 'ICRQ',
    bytes: hex(`
      00dc ${HDR} 0009 0000   # length 220, Incoming-Call-Request
      0002 0003               # call id 2, call serial 3
      00000001                # bearer type analog
      00000007                # physical channel id 7
      0004 0003               # dialed number length 4, dialing number length 3
      ${text('1234', 64)}     # dialed number
      ${text('567', 64)}      # dialing number
      ${text('sub', 64)}      # subaddress
    `),
    message: {
      type: 'ICRQ', callId: 2, callSerial: 3, bearerType: 1, physicalChannelId: 7,
      dialedNumberLength: 4, dialingNumberLength: 3, dialedNumber: '1234', dialingNumber: '567',
      subaddress: 'sub',
    },
  },
  {
    name: 'ICRP',
    bytes: hex(`
      0018 ${HDR} 000a 0000   # length 24, Incoming-Call-Reply
      0000 0002               # call id 0 (none), peer's call id 2
      03 00                   # result 3 (do not accept), error 0
      0000 0000 0000          # receive window, transmit delay, reserved
    `),
    message: {
      type: 'ICRP', callId: 0, peerCallId: 2, resultCode: 3, errorCode: 0, recvWindow: 0, transmitDelay: 0,
    },
  },
  {
    name: 'ICCN',
    bytes: hex(`
      001c ${HDR} 000b 0000   # length 28, Incoming-Call-Connected
      0005 0000               # peer's call id 5, reserved
      0001c200                # connect speed 115200
      0010 0002               # receive window 16, transmit delay 2
      00000001                # framing type async
    `),
    message: {
      type: 'ICCN', peerCallId: 5, connectSpeed: 115200, recvWindow: 16, transmitDelay: 2, framingType: 1,
    },
  },
  {
    name: 'CCRQ',
    bytes: hex(`
      0010 ${HDR} 000c 0000   # length 16, Call-Clear-Request
      1f40 0000               # call id (the PNS's) 8000, reserved
    `),
    message: { type: 'CCRQ', callId: 8000 },
  },
  {
    name: 'CDN',
    bytes: hex(`
      0094 ${HDR} 000d 0000   # length 148, Call-Disconnect-Notify
      0001                    # call id (ours) 1
      04 00 0000 0000         # result 4 (request), error 0, cause 0, reserved
      ${text('rx 10 tx 20', 128)}  # call statistics
    `),
    message: {
      type: 'CDN', callId: 1, resultCode: 4, errorCode: 0, causeCode: 0, callStatistics: 'rx 10 tx 20',
    },
  },
  {
    name: 'WEN',
    bytes: hex(`
      0028 ${HDR} 000e 0000   # length 40, WAN-Error-Notify
      0001 0000               # peer's call id 1, reserved
      00000001 00000002       # CRC errors, framing errors
      00000003 00000004       # hardware overruns, buffer overruns
      00000005 00000006       # time-out errors, alignment errors
    `),
    message: {
      type: 'WEN', peerCallId: 1, crcErrors: 1, framingErrors: 2, hardwareOverruns: 3, bufferOverruns: 4,
      timeoutErrors: 5, alignmentErrors: 6,
    },
  },
  {
    name: 'SLI',
    bytes: hex(`
      0018 ${HDR} 000f 0000   # length 24, Set-Link-Info
      0001 0000               # peer's call id 1, reserved
      ffffffff                # send ACCM
      00000000                # receive ACCM
    `),
    message: { type: 'SLI', peerCallId: 1, sendAccm: 0xffffffff, recvAccm: 0 },
  },
];

/** The fixture for one message type. */
export function fixture(name: PptpMessage['type']): Fixture {
  const f = FIXTURES.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no fixture ${name}`);
  return f;
}

export { zeros };
