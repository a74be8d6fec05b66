/* Minimal SHA-1, RC4 and stateless MPPE-128 (RFC 3174, RFC 3078/3079) for
 * the benchmark's C reference programs. Written for speed and brevity, not
 * reuse: one translation unit includes it. */
#ifndef MPPE_REF_H
#define MPPE_REF_H
#include <stdint.h>
#include <string.h>

typedef struct { uint32_t h[5]; uint8_t buf[64]; uint64_t len; } sha1_t;

static inline uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(sha1_t *c, const uint8_t *p) {
  uint32_t w[80], a = c->h[0], b = c->h[1], d = c->h[3], e = c->h[4], cc = c->h[2];
  for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20) { f = (b & cc) | (~b & d); k = 0x5a827999; }
    else if (i < 40) { f = b ^ cc ^ d; k = 0x6ed9eba1; }
    else if (i < 60) { f = (b & cc) | (b & d) | (cc & d); k = 0x8f1bbcdc; }
    else { f = b ^ cc ^ d; k = 0xca62c1d6; }
    uint32_t t = rol(a, 5) + f + e + k + w[i];
    e = d; d = cc; cc = rol(b, 30); b = a; a = t;
  }
  c->h[0] += a; c->h[1] += b; c->h[2] += cc; c->h[3] += d; c->h[4] += e;
}

static void sha1_init(sha1_t *c) {
  c->h[0] = 0x67452301; c->h[1] = 0xefcdab89; c->h[2] = 0x98badcfe; c->h[3] = 0x10325476; c->h[4] = 0xc3d2e1f0;
  c->len = 0;
}

static void sha1_update(sha1_t *c, const uint8_t *p, size_t n) {
  while (n > 0) {
    size_t used = c->len % 64, take = 64 - used < n ? 64 - used : n;
    memcpy(c->buf + used, p, take);
    c->len += take; p += take; n -= take;
    if (c->len % 64 == 0) sha1_block(c, c->buf);
  }
}

static void sha1_final(sha1_t *c, uint8_t out[20]) {
  uint64_t bits = c->len * 8;
  uint8_t pad = 0x80, zero = 0, lb[8];
  sha1_update(c, &pad, 1);
  while (c->len % 64 != 56) sha1_update(c, &zero, 1);
  for (int i = 0; i < 8; i++) lb[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha1_update(c, lb, 8);
  for (int i = 0; i < 5; i++) {
    out[4 * i] = c->h[i] >> 24; out[4 * i + 1] = c->h[i] >> 16; out[4 * i + 2] = c->h[i] >> 8; out[4 * i + 3] = c->h[i];
  }
}

typedef struct { uint8_t s[256]; uint8_t i, j; } rc4_t;

static void rc4_key(rc4_t *r, const uint8_t *k, int len) {
  for (int i = 0; i < 256; i++) r->s[i] = (uint8_t)i;
  uint8_t j = 0;
  for (int i = 0; i < 256; i++) {
    uint8_t t = r->s[i];
    j = (uint8_t)(j + t + k[i % len]);
    r->s[i] = r->s[j]; r->s[j] = t;
  }
  r->i = r->j = 0;
}

static void rc4_run(rc4_t *r, const uint8_t *in, uint8_t *out, size_t n) {
  uint8_t i = r->i, j = r->j, *s = r->s;
  for (size_t k = 0; k < n; k++) {
    i++;
    uint8_t si = s[i];
    j = (uint8_t)(j + si);
    uint8_t sj = s[j];
    s[i] = sj; s[j] = si;
    out[k] = in[k] ^ s[(uint8_t)(si + sj)];
  }
  r->i = i; r->j = j;
}

/* One direction of stateless MPPE-128. */
typedef struct { uint8_t start[16], session[16]; rc4_t rc4; int ccount; } mppe_dir_t;

static const uint8_t PAD1[40] = {0};
static const uint8_t PAD2[40] = {
  0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2,
  0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2};

static void mppe_sha(const mppe_dir_t *d, const uint8_t *key, uint8_t out[20]) {
  sha1_t c;
  sha1_init(&c);
  sha1_update(&c, d->start, 16); sha1_update(&c, PAD1, 40);
  sha1_update(&c, key, 16); sha1_update(&c, PAD2, 40);
  sha1_final(&c, out);
}

/* Initial session key: the SHA step only, as Linux ppp_mppe. Count 4095: the first packet carries 0. */
static void mppe_init(mppe_dir_t *d, const uint8_t start[16]) {
  uint8_t dg[20];
  memcpy(d->start, start, 16);
  mppe_sha(d, d->start, dg);
  memcpy(d->session, dg, 16);
  rc4_key(&d->rc4, d->session, 16);
  d->ccount = 4095;
}

static void mppe_rekey(mppe_dir_t *d) {
  uint8_t dg[20];
  mppe_sha(d, d->session, dg);
  rc4_key(&d->rc4, dg, 16);
  rc4_run(&d->rc4, dg, d->session, 16);
  rc4_key(&d->rc4, d->session, 16);
}
#endif
