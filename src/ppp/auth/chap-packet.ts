// CHAP packet codec (RFC 1994), shared by CHAP-MD5, MS-CHAP and MS-CHAPv2:
//   Challenge/Response: code id length(2) value-size value name
//   Success/Failure:    code id length(2) message
// Bytes past `length` are link padding and ignored; anything that does not
// fit is a ProtocolError with a stable code.
import { ProtocolError } from '../../util/errors.js';

export const CHAP_CHALLENGE = 1;
export const CHAP_RESPONSE = 2;
export const CHAP_SUCCESS = 3;
export const CHAP_FAILURE = 4;

/** pppd's MAXNAMELEN is 256; a longer name is not a name. */
export const MAX_NAME = 255;
/** Longest message we parse or send (a CHAP packet fits a 1500-byte MRU anyway). */
export const MAX_MESSAGE = 1024;

export type ChapPacket =
  | { code: typeof CHAP_CHALLENGE | typeof CHAP_RESPONSE; id: number; value: Uint8Array; name: Uint8Array }
  | { code: typeof CHAP_SUCCESS | typeof CHAP_FAILURE; id: number; message: Uint8Array };

/** Decodes one CHAP packet. The returned arrays are views into buf. */
export function decodeChap(buf: Uint8Array): ChapPacket {
  if (buf.length < 4) throw new ProtocolError('ERR_CHAP_SHORT', `CHAP packet of ${buf.length} bytes`);
  const code = buf[0];
  const id = buf[1];
  const length = (buf[2] << 8) | buf[3];
  if (length < 4 || length > buf.length) {
    throw new ProtocolError('ERR_CHAP_LENGTH', `CHAP length ${length} with ${buf.length} bytes`);
  }
  switch (code) {
    case CHAP_CHALLENGE:
    case CHAP_RESPONSE: {
      if (length < 5) throw new ProtocolError('ERR_CHAP_LENGTH', `CHAP ${code} needs a value-size`);
      const size = buf[4];
      if (size === 0 || 5 + size > length) {
        throw new ProtocolError('ERR_CHAP_VALUE_SIZE', `CHAP value-size ${size} in length ${length}`);
      }
      const nameLen = length - 5 - size;
      if (nameLen > MAX_NAME) throw new ProtocolError('ERR_CHAP_NAME', `CHAP name of ${nameLen} bytes`);
      return { code, id, value: buf.subarray(5, 5 + size), name: buf.subarray(5 + size, length) };
    }
    case CHAP_SUCCESS:
    case CHAP_FAILURE:
      if (length - 4 > MAX_MESSAGE) throw new ProtocolError('ERR_CHAP_MESSAGE', `CHAP message of ${length - 4} bytes`);
      return { code, id, message: buf.subarray(4, length) };
    default:
      throw new ProtocolError('ERR_CHAP_CODE', `unknown CHAP code ${code}`);
  }
}

export function encodeChapValue(code: 1 | 2, id: number, value: Uint8Array, name: Uint8Array): Uint8Array {
  if (value.length < 1 || value.length > 255) throw new ProtocolError('ERR_CHAP_VALUE_SIZE', 'CHAP value must be 1..255 bytes');
  const n = name.subarray(0, MAX_NAME);
  const len = 5 + value.length + n.length;
  const out = new Uint8Array(len);
  out[0] = code;
  out[1] = id & 0xff;
  out[2] = len >> 8;
  out[3] = len & 0xff;
  out[4] = value.length;
  out.set(value, 5);
  out.set(n, 5 + value.length);
  return out;
}

export function encodeChapMessage(code: 3 | 4, id: number, message: string): Uint8Array {
  const m = Buffer.from(message, 'utf8').subarray(0, MAX_MESSAGE);
  const out = new Uint8Array(4 + m.length);
  out[0] = code;
  out[1] = id & 0xff;
  out[2] = out.length >> 8;
  out[3] = out.length & 0xff;
  out.set(m, 4);
  return out;
}

/** Text of a name or message from the wire (invalid UTF-8 becomes U+FFFD, never an exception). */
export function wireText(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8');
}

/** A name as it may appear in a log line: printable, bounded. */
export function logName(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 64);
}

export interface MsChapFailure {
  error?: number;
  retry: boolean;
  challenge?: string;
  version?: number;
  message?: string;
}

/** Parses "E=691 R=1 C=<hex> V=3 M=text" (RFC 2433 §6, RFC 2759 §6); missing fields stay undefined. */
export function parseMsChapFailure(text: string): MsChapFailure {
  const e = /(?:^|\s)E=(\d{1,10})/.exec(text);
  const r = /(?:^|\s)R=([01])/.exec(text);
  const c = /(?:^|\s)C=([0-9A-Fa-f]{1,64})/.exec(text);
  const v = /(?:^|\s)V=(\d{1,10})/.exec(text);
  const m = /(?:^|\s)M=(.*)$/s.exec(text);
  return {
    error: e ? Number(e[1]) : undefined,
    retry: r?.[1] === '1',
    challenge: c?.[1],
    version: v ? Number(v[1]) : undefined,
    message: m?.[1],
  };
}
