// Turns a TCP byte stream into complete PPTP control messages.
//
// PPTP messages have fixed lengths, so the framer reads the 2-byte length
// first and rejects anything that is not the length of some control type
// BEFORE buffering the body: a hostile peer can make us hold at most
// MAX_MESSAGE_LENGTH (220) bytes. After a framing error the stream cannot be
// resynchronised (there is no delimiter), so the framer refuses further input
// and the connection must be closed.
import { ProtocolError } from '../../util/errors.js';
import { MAX_MESSAGE_LENGTH, MESSAGE_LENGTH } from './constants.js';

/** KNOWN_LENGTH[n] === 1 when n is the fixed length of some control type. */
const KNOWN_LENGTH = new Uint8Array(MAX_MESSAGE_LENGTH + 1);
for (let t = 1; t < MESSAGE_LENGTH.length; t++) KNOWN_LENGTH[MESSAGE_LENGTH[t]!] = 1;

/** True when `length` is the fixed length of a control message type. */
export function isKnownMessageLength(length: number): boolean {
  return length >= 0 && length <= MAX_MESSAGE_LENGTH && KNOWN_LENGTH[length] === 1;
}

export type MessageSink = (message: Uint8Array) => void;

export class PptpFramer {
  /** Holds one partial message at most. */
  private readonly buf = new Uint8Array(MAX_MESSAGE_LENGTH);
  private have = 0;
  /** Length of the message being assembled; 0 while its length is not yet known. */
  private need = 0;
  private failed = false;

  /** Bytes held back waiting for the rest of a message (≤ MAX_MESSAGE_LENGTH). */
  get buffered(): number {
    return this.have;
  }

  /** True after a framing error: the stream is unusable. */
  get broken(): boolean {
    return this.failed;
  }

  /**
   * Feeds one chunk; calls `onMessage` for every complete message in order.
   * The message view is only valid during the call (it may point into the
   * chunk or into the framer's buffer). Throws ProtocolError ERR_PPTP_LENGTH on
   * an impossible length and ERR_PPTP_STREAM_BROKEN for input after that. If
   * onMessage throws, the framer stays consistent but the rest of the chunk is
   * dropped.
   */
  push(chunk: Uint8Array, onMessage: MessageSink): void {
    if (this.failed) throw new ProtocolError('ERR_PPTP_STREAM_BROKEN', 'PPTP stream unusable after a framing error');
    const n = chunk.length;
    let off = 0;
    while (off < n) {
      if (this.have === 0) {
        if (n - off < 2) {
          this.buf[0] = chunk[off]!;
          this.have = 1;
          this.need = 0;
          return;
        }
        const len = (chunk[off]! << 8) | chunk[off + 1]!;
        this.check(len);
        if (n - off >= len) {
          // Fast path: the whole message is in this chunk, no copy.
          const m = chunk.subarray(off, off + len);
          off += len;
          onMessage(m);
          continue;
        }
        this.buf.set(chunk.subarray(off), 0);
        this.have = n - off;
        this.need = len;
        return;
      }
      if (this.need === 0) {
        // One byte of the length was held back.
        this.buf[1] = chunk[off++]!;
        this.have = 2;
        const len = (this.buf[0]! << 8) | this.buf[1]!;
        this.check(len);
        this.need = len;
        continue;
      }
      const take = Math.min(this.need - this.have, n - off);
      this.buf.set(chunk.subarray(off, off + take), this.have);
      this.have += take;
      off += take;
      if (this.have === this.need) {
        const m = this.buf.subarray(0, this.need);
        this.have = 0;
        this.need = 0;
        onMessage(m);
      }
    }
  }

  private check(len: number): void {
    if (!isKnownMessageLength(len)) {
      this.failed = true;
      this.have = 0;
      this.need = 0;
      throw new ProtocolError('ERR_PPTP_LENGTH', `impossible PPTP message length ${len}`);
    }
  }
}
