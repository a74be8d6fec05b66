// PPTP control-channel numbers (RFC 2637 §2). Facts only; the codec and the
// connection state machine take their numbers from here.

export const PPTP_PORT = 1723;
/** PPTP Message Type 1 = control message (2 = management, never defined). */
export const PPTP_MESSAGE_CONTROL = 1;
export const PPTP_MAGIC = 0x1a2b3c4d;
/** Protocol version 1, revision 0. */
export const PPTP_VERSION = 0x0100;
/** length(2) message type(2) magic(4) control type(2) reserved0(2). */
export const PPTP_HEADER_LENGTH = 12;

/** Control message types (RFC 2637 §2.1 .. §2.15). */
export const CtrlType = {
  SCCRQ: 1, // Start-Control-Connection-Request
  SCCRP: 2, // Start-Control-Connection-Reply
  StopCCRQ: 3, // Stop-Control-Connection-Request
  StopCCRP: 4, // Stop-Control-Connection-Reply
  EchoRequest: 5,
  EchoReply: 6,
  OCRQ: 7, // Outgoing-Call-Request
  OCRP: 8, // Outgoing-Call-Reply
  ICRQ: 9, // Incoming-Call-Request
  ICRP: 10, // Incoming-Call-Reply
  ICCN: 11, // Incoming-Call-Connected
  CCRQ: 12, // Call-Clear-Request
  CDN: 13, // Call-Disconnect-Notify
  WEN: 14, // WAN-Error-Notify
  SLI: 15, // Set-Link-Info
} as const;

export type CtrlTypeName = keyof typeof CtrlType;
export type CtrlTypeNumber = (typeof CtrlType)[CtrlTypeName];

/** Fixed total length (header included) of every control type; index = type number. */
export const MESSAGE_LENGTH: readonly number[] = [
  0, // 0: not a type
  156, 156, 16, 16, 16, 20, 168, 32, 220, 24, 28, 16, 148, 40, 24,
];

export const MIN_MESSAGE_LENGTH = 16;
/** The largest control message (ICRQ); the framer never buffers more. */
export const MAX_MESSAGE_LENGTH = 220;

/** Control type name by number; index 0 is unused. */
export const CTRL_TYPE_NAME: readonly (CtrlTypeName | undefined)[] = (() => {
  const names: (CtrlTypeName | undefined)[] = new Array(16).fill(undefined);
  for (const [name, num] of Object.entries(CtrlType)) names[num] = name as CtrlTypeName;
  return names;
})();

/** Fixed-size string fields (NUL padded, latin1). */
export const HOST_NAME_LENGTH = 64;
export const VENDOR_LENGTH = 64;
export const PHONE_NUMBER_LENGTH = 64;
export const SUBADDRESS_LENGTH = 64;
export const CALL_STATISTICS_LENGTH = 128;

/** Framing capabilities / framing type bits. */
export const FRAMING_ASYNC = 1;
export const FRAMING_SYNC = 2;
/** Bearer capabilities / bearer type bits. */
export const BEARER_ANALOG = 1;
export const BEARER_DIGITAL = 2;

/** SCCRP result codes. */
export const SccrpResult = {
  OK: 1,
  GENERAL_ERROR: 2,
  CHANNEL_EXISTS: 3, // "Command channel already exists"
  NOT_AUTHORIZED: 4,
  BAD_VERSION: 5, // "The protocol version of the requester is not supported"
} as const;

/** StopCCRQ reason codes. */
export const StopReason = {
  NONE: 1,
  STOP_PROTOCOL: 2,
  LOCAL_SHUTDOWN: 3,
} as const;

/** StopCCRP and Echo-Reply result codes. */
export const GenericResult = {
  OK: 1,
  GENERAL_ERROR: 2,
} as const;

/** OCRP result codes. */
export const OcrpResult = {
  CONNECTED: 1,
  GENERAL_ERROR: 2,
  NO_CARRIER: 3,
  BUSY: 4,
  NO_DIAL_TONE: 5,
  TIMEOUT: 6,
  DO_NOT_ACCEPT: 7,
} as const;

/** ICRP result codes. */
export const IcrpResult = {
  CONNECT: 1,
  GENERAL_ERROR: 2,
  DO_NOT_ACCEPT: 3,
} as const;

/** CDN result codes. */
export const CdnResult = {
  LOST_CARRIER: 1,
  GENERAL_ERROR: 2,
  ADMIN_SHUTDOWN: 3,
  REQUEST: 4, // the call was cleared because a Call-Clear-Request arrived
} as const;

/** General error codes, carried with a "general error" result. */
export const ErrorCode = {
  NONE: 0,
  NOT_CONNECTED: 1, // no control connection exists yet
  BAD_FORMAT: 2,
  BAD_VALUE: 3,
  NO_RESOURCE: 4,
  BAD_CALL_ID: 5,
  PAC_ERROR: 6,
} as const;
