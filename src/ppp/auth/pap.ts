// PAP (RFC 1334 §2). Authenticate-Request: code 1, id, length, peer-id-len,
// peer-id, passwd-len, passwd; Ack (2) / Nak (3): msg-len, msg. The
// authenticator just waits for requests (at most ctx.timeoutMs: pppd
// pap-timeout, 0 = no limit); the peer sends its request at once and every
// 3 s until answered (pppd upap.c; pap-restart, pap-max-authreq).
import type { SecretEntry } from '../../auth/types.js';
import type { Timer } from '../../util/clock.js';
import { ProtocolError } from '../../util/errors.js';
import { constantTimeEqual } from '../../crypto/bytes.js';
import type { Authenticator, AuthenticatorContext, PeerAuthContext, PeerAuthenticator } from './types.js';
import { logName, wireText } from './chap-packet.js';

export const PAP_PROTOCOL = 0xc023;
export const PAP_REQUEST = 1;
export const PAP_ACK = 2;
export const PAP_NAK = 3;
export const PAP_RETRANSMIT_MS = 3000;
export const PAP_MAX_REQUESTS = 10;

export type PapPacket =
  | { code: typeof PAP_REQUEST; id: number; peerId: Uint8Array; password: Uint8Array }
  | { code: typeof PAP_ACK | typeof PAP_NAK; id: number; message: Uint8Array };

/** Decodes one PAP packet; arrays are views into buf. */
export function decodePap(buf: Uint8Array): PapPacket {
  if (buf.length < 4) throw new ProtocolError('ERR_PAP_SHORT', `PAP packet of ${buf.length} bytes`);
  const code = buf[0];
  const id = buf[1];
  const length = (buf[2] << 8) | buf[3];
  if (length < 4 || length > buf.length) throw new ProtocolError('ERR_PAP_LENGTH', `PAP length ${length} with ${buf.length} bytes`);
  switch (code) {
    case PAP_REQUEST: {
      if (length < 6) throw new ProtocolError('ERR_PAP_LENGTH', `PAP request length ${length}`);
      const idLen = buf[4];
      if (5 + idLen + 1 > length) throw new ProtocolError('ERR_PAP_PEER_ID', `PAP peer-id of ${idLen} bytes in length ${length}`);
      const pwLen = buf[5 + idLen];
      if (6 + idLen + pwLen > length) throw new ProtocolError('ERR_PAP_PASSWORD', `PAP password of ${pwLen} bytes does not fit`);
      return { code, id, peerId: buf.subarray(5, 5 + idLen), password: buf.subarray(6 + idLen, 6 + idLen + pwLen) };
    }
    case PAP_ACK:
    case PAP_NAK: {
      if (length < 5) return { code, id, message: buf.subarray(4, 4) }; // some peers omit msg-len
      const mLen = buf[4];
      if (5 + mLen > length) throw new ProtocolError('ERR_PAP_MESSAGE', `PAP message of ${mLen} bytes does not fit`);
      return { code, id, message: buf.subarray(5, 5 + mLen) };
    }
    default:
      throw new ProtocolError('ERR_PAP_CODE', `unknown PAP code ${code}`);
  }
}

export function encodePapRequest(id: number, peerId: Uint8Array, password: Uint8Array): Uint8Array {
  const u = peerId.subarray(0, 255);
  const p = password.subarray(0, 255);
  const len = 6 + u.length + p.length;
  const out = new Uint8Array(len);
  out[0] = PAP_REQUEST; out[1] = id & 0xff; out[2] = len >> 8; out[3] = len & 0xff;
  out[4] = u.length;
  out.set(u, 5);
  out[5 + u.length] = p.length;
  out.set(p, 6 + u.length);
  return out;
}

export function encodePapReply(code: 2 | 3, id: number, message: string): Uint8Array {
  const m = Buffer.from(message, 'utf8').subarray(0, 255);
  const len = 5 + m.length;
  const out = new Uint8Array(len);
  out[0] = code; out[1] = id & 0xff; out[2] = len >> 8; out[3] = len & 0xff; out[4] = m.length;
  out.set(m, 5);
  return out;
}

export class PapAuthenticator implements Authenticator {
  readonly protocol = PAP_PROTOCOL;
  private phase: 'idle' | 'waiting' | 'verifying' | 'done' = 'idle';
  private failures = 0;
  private deadline: Timer | undefined;
  private finished = false;
  private stopped = false;
  private verdict: 2 | 3 = PAP_NAK;

  constructor(private readonly ctx: AuthenticatorContext) {}

  start(): void {
    if (this.phase !== 'idle' || this.stopped) return;
    this.phase = 'waiting';
    if (this.ctx.timeoutMs <= 0) return; // pap-timeout 0: wait as long as the link lasts
    this.deadline = this.ctx.clock.setTimer(this.ctx.timeoutMs, () => {
      this.deadline = undefined;
      this.finish({ ok: false, reason: 'authentication timed out' });
    });
  }

  stop(): void {
    this.stopped = true;
    this.deadline?.cancel();
    this.deadline = undefined;
  }

  input(packet: Uint8Array): void {
    if (this.stopped) return;
    let p;
    try {
      p = decodePap(packet);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.ctx.log.debug({ method: 'pap', code: e.code }, 'malformed PAP packet ignored');
      return;
    }
    if (p.code !== PAP_REQUEST) return;
    if (this.phase === 'done') {
      // The peer did not get our answer: repeat it with the request's id (pppd does).
      this.ctx.send(encodePapReply(this.verdict, p.id, this.verdict === PAP_ACK ? 'Login ok' : 'Authentication failed'));
      return;
    }
    if (this.phase !== 'waiting') return;
    this.phase = 'verifying';
    const user = wireText(p.peerId);
    const password = Uint8Array.from(p.password);
    const id = p.id;
    this.ctx.backend.lookup(user, this.ctx.serverName).then(
      (entry) => this.verify(id, user, password, entry),
      () => this.verify(id, user, password, undefined, 'secret lookup failed'),
    );
  }

  private verify(id: number, user: string, password: Uint8Array, entry: SecretEntry | undefined, lookupError?: string): void {
    if (this.stopped || this.phase !== 'verifying') return;
    if (entry && constantTimeEqual(Buffer.from(entry.secret, 'utf8'), password)) {
      this.verdict = PAP_ACK;
      this.phase = 'done';
      this.ctx.send(encodePapReply(PAP_ACK, id, 'Login ok'));
      // debug: 'session up' / 'session down' carry user and method (see chap-server.ts).
      this.ctx.log.debug({ user: logName(user), method: 'pap' }, 'peer authenticated');
      this.finish({ ok: true, user, entry });
      return;
    }
    const reason = entry ? `authentication failed for user ${logName(user)}` : (lookupError ?? `no secret for user ${logName(user)}`);
    this.failures++;
    const retry = this.failures <= this.ctx.maxRetries;
    this.ctx.log.info({ user: logName(user), method: 'pap', attempt: this.failures, retry, reason }, 'authentication failed');
    this.ctx.send(encodePapReply(PAP_NAK, id, 'Authentication failed'));
    if (retry) {
      this.phase = 'waiting';
      return;
    }
    this.verdict = PAP_NAK;
    this.phase = 'done';
    this.finish({ ok: false, user, reason });
  }

  private finish(outcome: Parameters<AuthenticatorContext['done']>[0]): void {
    if (this.finished || this.stopped) return;
    this.finished = true;
    this.phase = 'done';
    this.deadline?.cancel();
    this.deadline = undefined;
    this.ctx.done(outcome);
  }
}

/**
 * The PAP peer. PAP has no challenge, so it sends its Authenticate-Request
 * as soon as it is created (ctx.send is called from the constructor).
 */
export class PapPeer implements PeerAuthenticator {
  readonly protocol = PAP_PROTOCOL;
  private readonly request: Uint8Array;
  private readonly id: number;
  private sent = 0;
  private timer: Timer | undefined;
  private finished = false;

  constructor(private readonly ctx: PeerAuthContext) {
    this.id = ctx.random(1)[0];
    this.request = encodePapRequest(this.id, Buffer.from(ctx.user, 'utf8'), Buffer.from(ctx.password, 'utf8'));
    this.transmit();
  }

  stop(): void {
    this.finished = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  input(packet: Uint8Array): void {
    if (this.finished) return;
    let p;
    try {
      p = decodePap(packet);
    } catch (e) {
      if (e instanceof ProtocolError) return;
      throw e;
    }
    if (p.code === PAP_REQUEST || p.id !== this.id) return;
    this.stop();
    this.ctx.done(p.code === PAP_ACK ? { ok: true } : { ok: false, reason: `authentication rejected: ${wireText(p.message)}` });
  }

  private transmit(): void {
    this.timer = undefined;
    if (this.finished) return;
    const max = this.ctx.maxTransmits ?? PAP_MAX_REQUESTS;
    if (this.sent >= max) {
      this.finished = true;
      this.ctx.done({ ok: false, reason: `no answer to ${max} PAP request${max === 1 ? '' : 's'}` });
      return;
    }
    this.sent++;
    this.ctx.send(this.request);
    this.timer = this.ctx.clock.setTimer(this.ctx.restartMs ?? PAP_RETRANSMIT_MS, () => this.transmit());
  }
}
