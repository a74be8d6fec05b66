// Decoded PPTP control messages. One interface per control type, discriminated
// by `type`; field names follow RFC 2637 §2. Reserved fields are not carried:
// the encoder writes them as zero.

export interface StartControlConnectionRequest {
  type: 'SCCRQ';
  protocolVersion: number;
  framingCapabilities: number;
  bearerCapabilities: number;
  maxChannels: number;
  firmwareRevision: number;
  hostName: string;
  vendor: string;
}

export interface StartControlConnectionReply {
  type: 'SCCRP';
  protocolVersion: number;
  resultCode: number;
  errorCode: number;
  framingCapabilities: number;
  bearerCapabilities: number;
  maxChannels: number;
  firmwareRevision: number;
  hostName: string;
  vendor: string;
}

export interface StopControlConnectionRequest {
  type: 'StopCCRQ';
  reason: number;
}

export interface StopControlConnectionReply {
  type: 'StopCCRP';
  resultCode: number;
  errorCode: number;
}

export interface EchoRequest {
  type: 'EchoRequest';
  identifier: number;
}

export interface EchoReply {
  type: 'EchoReply';
  identifier: number;
  resultCode: number;
  errorCode: number;
}

export interface OutgoingCallRequest {
  type: 'OCRQ';
  callId: number;
  callSerial: number;
  minBps: number;
  maxBps: number;
  bearerType: number;
  framingType: number;
  recvWindow: number;
  processingDelay: number;
  phoneNumberLength: number;
  phoneNumber: string;
  subaddress: string;
}

export interface OutgoingCallReply {
  type: 'OCRP';
  callId: number;
  peerCallId: number;
  resultCode: number;
  errorCode: number;
  causeCode: number;
  connectSpeed: number;
  recvWindow: number;
  processingDelay: number;
  physicalChannelId: number;
}

export interface IncomingCallRequest {
  type: 'ICRQ';
  callId: number;
  callSerial: number;
  bearerType: number;
  physicalChannelId: number;
  dialedNumberLength: number;
  dialingNumberLength: number;
  dialedNumber: string;
  dialingNumber: string;
  subaddress: string;
}

export interface IncomingCallReply {
  type: 'ICRP';
  callId: number;
  peerCallId: number;
  resultCode: number;
  errorCode: number;
  recvWindow: number;
  transmitDelay: number;
}

export interface IncomingCallConnected {
  type: 'ICCN';
  peerCallId: number;
  connectSpeed: number;
  recvWindow: number;
  transmitDelay: number;
  framingType: number;
}

export interface CallClearRequest {
  type: 'CCRQ';
  /** The sender's (PNS's) call id. */
  callId: number;
}

export interface CallDisconnectNotify {
  type: 'CDN';
  /** The sender's (PAC's) call id. */
  callId: number;
  resultCode: number;
  errorCode: number;
  causeCode: number;
  callStatistics: string;
}

export interface WanErrorCounters {
  crcErrors: number;
  framingErrors: number;
  hardwareOverruns: number;
  bufferOverruns: number;
  timeoutErrors: number;
  alignmentErrors: number;
}

export interface WanErrorNotify extends WanErrorCounters {
  type: 'WEN';
  /** The receiver's call id. */
  peerCallId: number;
}

export interface SetLinkInfo {
  type: 'SLI';
  /** The receiver's call id. */
  peerCallId: number;
  sendAccm: number;
  recvAccm: number;
}

export type PptpMessage =
  | StartControlConnectionRequest
  | StartControlConnectionReply
  | StopControlConnectionRequest
  | StopControlConnectionReply
  | EchoRequest
  | EchoReply
  | OutgoingCallRequest
  | OutgoingCallReply
  | IncomingCallRequest
  | IncomingCallReply
  | IncomingCallConnected
  | CallClearRequest
  | CallDisconnectNotify
  | WanErrorNotify
  | SetLinkInfo;

/** The message interface for a control type name. */
export type PptpMessageOf<T extends PptpMessage['type']> = Extract<PptpMessage, { type: T }>;
