// PPP protocol numbers and packet codes (RFC 1661, 1332, 1962, 3078).

export const PROTO_IP = 0x0021;
export const PROTO_IPV6 = 0x0057;
export const PROTO_COMP = 0x00fd;      // compressed/encrypted datagram (MPPE)
export const PROTO_IPCP = 0x8021;
export const PROTO_IPV6CP = 0x8057;
export const PROTO_CCP = 0x80fd;
export const PROTO_LCP = 0xc021;
export const PROTO_PAP = 0xc023;
export const PROTO_CHAP = 0xc223;

export const CONFREQ = 1;
export const CONFACK = 2;
export const CONFNAK = 3;
export const CONFREJ = 4;
export const TERMREQ = 5;
export const TERMACK = 6;
export const CODEREJ = 7;
export const PROTREJ = 8;
export const ECHOREQ = 9;
export const ECHOREP = 10;
export const DISCREQ = 11;
export const IDENTIFICATION = 12;
export const TIMEREMAINING = 13;
export const RESETREQ = 14;
export const RESETACK = 15;

/** The smallest MRU we accept from a peer (pppd MINMRU). */
export const MIN_MRU = 128;
/** The RFC 1661 default MRU, in force until negotiated otherwise. */
export const DEFAULT_MRU = 1500;
/** Largest control packet we build or accept (bounded buffers). */
export const MAX_CONTROL_PACKET = 1500;
