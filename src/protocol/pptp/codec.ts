// Byte-exact encoder/decoder of the 15 PPTP control messages (RFC 2637 §2).
//
// Every message has a fixed length, so each body is described once as a field
// table; decode and encode walk the same table and cannot drift apart.
//
// Strictness:
// - the buffer must hold exactly one message: its length field must equal the
//   buffer length and the fixed length of its control type (ERR_PPTP_LENGTH);
// - PPTP message type must be 1 (ERR_PPTP_MSG_TYPE), magic 0x1A2B3C4D
//   (ERR_PPTP_MAGIC), control type 1..15 (ERR_PPTP_CTRL_TYPE);
// - the header's Reserved0 MUST be 0 and is rejected otherwise
//   (ERR_PPTP_RESERVED): Windows, pptp-linux, macOS and Android all send zero
//   there, and a non-zero value is the first sign of a desynchronised stream.
//   Reserved fields INSIDE a body are tolerated on decode (some old PNS
//   implementations leave garbage there, and nothing depends on them) and always
//   written as zero on encode;
// - string fields are read up to the first NUL inside their fixed field, as
//   latin1, and never beyond the field.
import { ProtocolError } from '../../util/errors.js';
import {
  CTRL_TYPE_NAME,
  CtrlType,
  MESSAGE_LENGTH,
  PPTP_HEADER_LENGTH,
  PPTP_MAGIC,
  PPTP_MESSAGE_CONTROL,
  type CtrlTypeName,
} from './constants.js';
import type { PptpMessage } from './messages.js';

type Field =
  | readonly [name: string, kind: 'u8' | 'u16' | 'u32']
  | readonly [name: string, kind: 'str', size: number]
  | readonly [name: null, kind: 'rsv', size: number];

const u8 = (name: string): Field => [name, 'u8'];
const u16 = (name: string): Field => [name, 'u16'];
const u32 = (name: string): Field => [name, 'u32'];
const str = (name: string, size: number): Field => [name, 'str', size];
const rsv = (size: number): Field => [null, 'rsv', size];

/** Body layout (after the 12-byte header) of every control type. */
export const LAYOUT: Readonly<Record<CtrlTypeName, readonly Field[]>> = {
  SCCRQ: [u16('protocolVersion'), rsv(2), u32('framingCapabilities'), u32('bearerCapabilities'),
    u16('maxChannels'), u16('firmwareRevision'), str('hostName', 64), str('vendor', 64)],
  SCCRP: [u16('protocolVersion'), u8('resultCode'), u8('errorCode'), u32('framingCapabilities'),
    u32('bearerCapabilities'), u16('maxChannels'), u16('firmwareRevision'), str('hostName', 64),
    str('vendor', 64)],
  StopCCRQ: [u8('reason'), rsv(1), rsv(2)],
  StopCCRP: [u8('resultCode'), u8('errorCode'), rsv(2)],
  EchoRequest: [u32('identifier')],
  EchoReply: [u32('identifier'), u8('resultCode'), u8('errorCode'), rsv(2)],
  OCRQ: [u16('callId'), u16('callSerial'), u32('minBps'), u32('maxBps'), u32('bearerType'),
    u32('framingType'), u16('recvWindow'), u16('processingDelay'), u16('phoneNumberLength'), rsv(2),
    str('phoneNumber', 64), str('subaddress', 64)],
  OCRP: [u16('callId'), u16('peerCallId'), u8('resultCode'), u8('errorCode'), u16('causeCode'),
    u32('connectSpeed'), u16('recvWindow'), u16('processingDelay'), u32('physicalChannelId')],
  ICRQ: [u16('callId'), u16('callSerial'), u32('bearerType'), u32('physicalChannelId'),
    u16('dialedNumberLength'), u16('dialingNumberLength'), str('dialedNumber', 64),
    str('dialingNumber', 64), str('subaddress', 64)],
  ICRP: [u16('callId'), u16('peerCallId'), u8('resultCode'), u8('errorCode'), u16('recvWindow'),
    u16('transmitDelay'), rsv(2)],
  ICCN: [u16('peerCallId'), rsv(2), u32('connectSpeed'), u16('recvWindow'), u16('transmitDelay'),
    u32('framingType')],
  CCRQ: [u16('callId'), rsv(2)],
  CDN: [u16('callId'), u8('resultCode'), u8('errorCode'), u16('causeCode'), rsv(2),
    str('callStatistics', 128)],
  WEN: [u16('peerCallId'), rsv(2), u32('crcErrors'), u32('framingErrors'), u32('hardwareOverruns'),
    u32('bufferOverruns'), u32('timeoutErrors'), u32('alignmentErrors')],
  SLI: [u16('peerCallId'), rsv(2), u32('sendAccm'), u32('recvAccm')],
};

function fieldSize(f: Field): number {
  switch (f[1]) {
    case 'u8': return 1;
    case 'u16': return 2;
    case 'u32': return 4;
    default: return f[2];
  }
}

/** Total body size of a layout (used by tests to check the table against MESSAGE_LENGTH). */
export function layoutSize(type: CtrlTypeName): number {
  let n = 0;
  for (const f of LAYOUT[type]) n += fieldSize(f);
  return n;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads the control type of a complete message without decoding it (0 if too short). */
export function peekControlType(bytes: Uint8Array): number {
  return bytes.length >= 10 ? (bytes[8]! << 8) | bytes[9]! : 0;
}

/**
 * Decodes exactly one control message. Throws only ProtocolError
 * (ERR_PPTP_SHORT, ERR_PPTP_LENGTH, ERR_PPTP_MSG_TYPE, ERR_PPTP_MAGIC,
 * ERR_PPTP_CTRL_TYPE, ERR_PPTP_RESERVED).
 */
export function decode(bytes: Uint8Array): PptpMessage {
  if (bytes.length < PPTP_HEADER_LENGTH) {
    throw new ProtocolError('ERR_PPTP_SHORT', `PPTP message too short: ${bytes.length} bytes`);
  }
  const b = asBuffer(bytes);
  const length = b.readUInt16BE(0);
  if (length !== b.length) {
    throw new ProtocolError('ERR_PPTP_LENGTH', `PPTP length field ${length} but ${b.length} bytes`);
  }
  const msgType = b.readUInt16BE(2);
  if (msgType !== PPTP_MESSAGE_CONTROL) {
    throw new ProtocolError('ERR_PPTP_MSG_TYPE', `PPTP message type ${msgType} is not 1 (control)`);
  }
  const magic = b.readUInt32BE(4);
  if (magic !== PPTP_MAGIC) {
    throw new ProtocolError('ERR_PPTP_MAGIC', `bad PPTP magic cookie 0x${magic.toString(16)}`);
  }
  const ctrl = b.readUInt16BE(8);
  const name = ctrl < CTRL_TYPE_NAME.length ? CTRL_TYPE_NAME[ctrl] : undefined;
  if (name === undefined) {
    throw new ProtocolError('ERR_PPTP_CTRL_TYPE', `unknown PPTP control message type ${ctrl}`);
  }
  if (length !== MESSAGE_LENGTH[ctrl]) {
    throw new ProtocolError('ERR_PPTP_LENGTH',
      `PPTP ${name} must be ${MESSAGE_LENGTH[ctrl]} bytes, length field says ${length}`);
  }
  if (b.readUInt16BE(10) !== 0) {
    throw new ProtocolError('ERR_PPTP_RESERVED', `PPTP ${name} header reserved field is not zero`);
  }
  const out: Record<string, unknown> = { type: name };
  let off = PPTP_HEADER_LENGTH;
  for (const f of LAYOUT[name]) {
    switch (f[1]) {
      case 'u8': out[f[0]] = b[off]; off += 1; break;
      case 'u16': out[f[0]] = b.readUInt16BE(off); off += 2; break;
      case 'u32': out[f[0]] = b.readUInt32BE(off); off += 4; break;
      case 'str': {
        const end = off + f[2];
        let nul = off;
        while (nul < end && b[nul] !== 0) nul++;
        out[f[0]] = b.toString('latin1', off, nul);
        off = end;
        break;
      }
      case 'rsv': off += f[2]; break;
    }
  }
  return out as unknown as PptpMessage;
}

function intField(msg: PptpMessage, name: string, max: number): number {
  const v = (msg as unknown as Record<string, unknown>)[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new ProtocolError('ERR_PPTP_FIELD_RANGE', `PPTP ${msg.type}.${name} out of range: ${String(v)}`);
  }
  return v;
}

/** Encodes one control message into a new Buffer of its exact fixed length. */
export function encode(msg: PptpMessage): Buffer {
  const ctrl = Object.hasOwn(CtrlType, msg.type) ? CtrlType[msg.type] : undefined;
  if (ctrl === undefined) {
    throw new ProtocolError('ERR_PPTP_CTRL_TYPE', `unknown PPTP control message type ${String(msg.type)}`);
  }
  const length = MESSAGE_LENGTH[ctrl]!;
  const b = Buffer.alloc(length);
  b.writeUInt16BE(length, 0);
  b.writeUInt16BE(PPTP_MESSAGE_CONTROL, 2);
  b.writeUInt32BE(PPTP_MAGIC, 4);
  b.writeUInt16BE(ctrl, 8);
  let off = PPTP_HEADER_LENGTH;
  for (const f of LAYOUT[msg.type]) {
    switch (f[1]) {
      case 'u8': b[off] = intField(msg, f[0], 0xff); off += 1; break;
      case 'u16': b.writeUInt16BE(intField(msg, f[0], 0xffff), off); off += 2; break;
      case 'u32': b.writeUInt32BE(intField(msg, f[0], 0xffffffff), off); off += 4; break;
      case 'str': {
        const v = (msg as unknown as Record<string, unknown>)[f[0]];
        // Truncated to the field; the rest stays NUL from Buffer.alloc.
        if (typeof v === 'string' && v.length > 0) b.write(v, off, f[2], 'latin1');
        off += f[2];
        break;
      }
      case 'rsv': off += f[2]; break;
    }
  }
  return b;
}
