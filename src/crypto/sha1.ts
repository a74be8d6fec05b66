// Allocation-free SHA-1 (FIPS 180-4) for MPPE's per-packet rekey in stateless
// mode: node:crypto's createHash allocates a Hash object and a digest Buffer
// per call, which the data path must not do. Everything else uses node:crypto.

export class Sha1 {
  private readonly h = new Int32Array(5);
  private readonly w = new Int32Array(80);
  private readonly block = new Uint8Array(64);
  private used = 0;
  private total = 0;

  constructor() {
    this.reset();
  }

  reset(): this {
    const h = this.h;
    h[0] = 0x67452301; h[1] = 0xefcdab89 | 0; h[2] = 0x98badcfe | 0; h[3] = 0x10325476; h[4] = 0xc3d2e1f0 | 0;
    this.used = 0;
    this.total = 0;
    return this;
  }

  update(data: Uint8Array, off = 0, len = data.length - off): this {
    const block = this.block;
    this.total += len;
    for (let n = 0; n < len; n++) {
      block[this.used++] = data[off + n];
      if (this.used === 64) {
        this.compress();
        this.used = 0;
      }
    }
    return this;
  }

  /** Writes the 20-byte digest to out[outOff..] and resets. */
  digestInto(out: Uint8Array, outOff = 0): void {
    const block = this.block;
    const bits = this.total * 8;
    block[this.used++] = 0x80;
    if (this.used > 56) {
      block.fill(0, this.used);
      this.compress();
      this.used = 0;
    }
    block.fill(0, this.used, 56);
    const hi = Math.floor(bits / 0x100000000);
    block[56] = hi >>> 24; block[57] = hi >>> 16; block[58] = hi >>> 8; block[59] = hi;
    block[60] = bits >>> 24; block[61] = bits >>> 16; block[62] = bits >>> 8; block[63] = bits;
    this.compress();
    const h = this.h;
    for (let i = 0; i < 5; i++) {
      out[outOff + i * 4] = h[i] >>> 24;
      out[outOff + i * 4 + 1] = h[i] >>> 16;
      out[outOff + i * 4 + 2] = h[i] >>> 8;
      out[outOff + i * 4 + 3] = h[i];
    }
    this.reset();
  }

  private compress(): void {
    const w = this.w, b = this.block, h = this.h;
    for (let i = 0; i < 16; i++) {
      w[i] = (b[i * 4] << 24) | (b[i * 4 + 1] << 16) | (b[i * 4 + 2] << 8) | b[i * 4 + 3];
    }
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
      w[i] = (x << 1) | (x >>> 31);
    }
    let a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
    for (let i = 0; i < 80; i++) {
      let f: number, k: number;
      if (i < 20) { f = (bb & c) | (~bb & d); k = 0x5a827999; }
      else if (i < 40) { f = bb ^ c ^ d; k = 0x6ed9eba1; }
      else if (i < 60) { f = (bb & c) | (bb & d) | (c & d); k = 0x8f1bbcdc | 0; }
      else { f = bb ^ c ^ d; k = 0xca62c1d6 | 0; }
      const t = (((a << 5) | (a >>> 27)) + f + e + k + w[i]) | 0;
      e = d; d = c; c = (bb << 30) | (bb >>> 2); bb = a; a = t;
    }
    h[0] = (h[0] + a) | 0; h[1] = (h[1] + bb) | 0; h[2] = (h[2] + c) | 0;
    h[3] = (h[3] + d) | 0; h[4] = (h[4] + e) | 0;
  }
}
