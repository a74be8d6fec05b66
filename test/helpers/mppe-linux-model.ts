// A plain, slow model of one direction of Linux ppp_mppe in stateful mode
// (drivers/net/ppp/ppp_mppe.c), written from its algorithm with the
// one-shot key functions, independent of src/crypto/mppe.ts. Tests pit our
// codec against it to show what the kernel on the other end would do.
import { initialSessionKey, nextSessionKey, type MppeBits } from '../../src/crypto/mppe-keys.js';
import { Rc4 } from '../../src/crypto/rc4.js';

export class LinuxMppeModel {
  session: Uint8Array;
  /** 12-bit coherency count; starts at 4095 so the first packet carries 0. */
  ccount = 0xfff;
  /** Decompressor lost a packet and waits for one with the flushed bit. */
  discard = false;
  /** Key changes done so far (initial key not counted). */
  rekeys = 0;
  private flushNext = false;
  private rc4: Rc4;

  constructor(private readonly start: Uint8Array, private readonly bits: MppeBits) {
    this.session = initialSessionKey(start, bits);
    this.rc4 = new Rc4(this.session);
  }

  private rekey(): void {
    this.session = nextSessionKey(this.start, this.session, this.bits);
    this.rc4 = new Rc4(this.session);
    this.rekeys++;
  }

  /** mppe_comp_reset: our CCP Reset-Ack went out (answering the peer's Reset-Request). */
  compReset(): void {
    this.flushNext = true;
  }

  /** mppe_compress: plain = 2-byte protocol + payload → MPPE header + ciphertext. */
  compress(plain: Uint8Array): Uint8Array {
    this.ccount = (this.ccount + 1) % 0x1000;
    let bits = 0x10;
    if ((this.ccount & 0xff) === 0xff || this.flushNext) {
      this.rekey(); // a full key change, also for a reset
      bits |= 0x80;
    }
    this.flushNext = false;
    const out = new Uint8Array(2 + plain.length);
    out[0] = bits | (this.ccount >> 8);
    out[1] = this.ccount & 0xff;
    this.rc4.process(plain, 0, plain.length, out, 2);
    return out;
  }

  /** mppe_decompress (stateful): the decrypted bytes, or undefined for DECOMP_ERROR. */
  decompress(pkt: Uint8Array): Uint8Array | undefined {
    const cc = ((pkt[0] & 0x0f) << 8) | pkt[1];
    const flushed = (pkt[0] & 0x80) !== 0;
    if ((pkt[0] & 0x10) === 0) return undefined;
    if ((cc & 0xff) === 0xff && !flushed) return undefined;
    if (!this.discard) {
      this.ccount = (this.ccount + 1) % 0x1000;
      if (cc !== this.ccount) {
        this.discard = true;
        return undefined;
      }
    } else {
      if (!flushed) return undefined;
      // One key change per flag packet missed (block of 256 crossed).
      while ((cc & ~0xff) !== (this.ccount & ~0xff)) {
        this.rekey();
        this.ccount = (this.ccount + 256) % 0x1000;
      }
      this.discard = false;
      this.ccount = cc;
    }
    if (flushed) this.rekey();
    const out = new Uint8Array(pkt.length - 2);
    this.rc4.process(pkt, 2, out.length, out, 0);
    return out;
  }
}
