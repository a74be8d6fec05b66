/* MPPE crypto primitives for the TUN datapath: RFC 3078 §7.3 key changes
 * (SHA-1 + RC4) and RC4 over a packet. Why C: a stateless MPPE packet costs
 * one SHA-1 of ~100 bytes and two RC4 key schedules before its payload, and in
 * JavaScript that dominated the data path's per-packet time. Node 20's
 * OpenSSL hides RC4, so both primitives are written here, small and plain.
 *
 * One call, mppeCrypt, mirrors src/crypto/mppe-cipher.ts cryptJs byte for
 * byte (that file is the reference and documents the state layout); the MPPE
 * protocol logic stays in TypeScript. Every offset and length from JS is
 * checked against its array before memory is touched. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "mppe.h"

/* State layout (keep in sync with src/crypto/mppe-cipher.ts and mppe.h):
 * directions start at 8, after the stateless receiver's rxCount and history
 * position (header bytes 4..6), which fastrx.c advances without JS. */
enum {
  ST_KEYLEN = MPPE_ST_KEYLEN, ST_SALT = MPPE_ST_SALT, ST_STREAM = MPPE_ST_STREAM, ST_DIRS = MPPE_ST_DIRS,
  DIR_SESSION = MPPE_DIR_SESSION, DIR_I = 32, DIR_J = 33, DIR_SBOX = 34,
  DIR_STATELESS = MPPE_DIR_STATELESS, DIR_STATEFUL = 34 + 256,
  CRYPT_PFC = 1, CRYPT_RESTART = 2,
  MAX_REKEYS = 4096,
};

/* ---- SHA-1 (FIPS 180-4) of the one message shape the key change hashes ---- */

static inline uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

/* Five rounds with the variables' roles rotated instead of moved. */
#define ROUND(a, b, c, d, e, f, k, x) do { e += rol(a, 5) + (f) + (k) + (x); b = rol(b, 30); } while (0)
#define FIVE(F, K, i) do { \
    ROUND(a, b, c, d, e, F(b, c, d), K, w[(i)]); \
    ROUND(e, a, b, c, d, F(a, b, c), K, w[(i) + 1]); \
    ROUND(d, e, a, b, c, F(e, a, b), K, w[(i) + 2]); \
    ROUND(c, d, e, a, b, F(d, e, a), K, w[(i) + 3]); \
    ROUND(b, c, d, e, a, F(c, d, e), K, w[(i) + 4]); \
  } while (0)
#define F_CH(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define F_PAR(x, y, z) ((x) ^ (y) ^ (z))
#define F_MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))

static void sha1_compress(uint32_t h[5], const uint8_t *p) {
  uint32_t w[80];
  for (int i = 0; i < 16; i++)
    w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16) | ((uint32_t)p[4 * i + 2] << 8) | p[4 * i + 3];
  for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int i = 0; i < 20; i += 5) FIVE(F_CH, 0x5a827999u, i);
  for (int i = 20; i < 40; i += 5) FIVE(F_PAR, 0x6ed9eba1u, i);
  for (int i = 40; i < 60; i += 5) FIVE(F_MAJ, 0x8f1bbcdcu, i);
  for (int i = 60; i < 80; i += 5) FIVE(F_PAR, 0xca62c1d6u, i);
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

/* OpenSSL's SHA1_Transform, which the node binary exports (its OpenSSL is
 * linked in): SHA-NI/AVX2 assembly, ~7x the plain C above on this project's
 * machine, and SHA-1 was ~1/3 of the per-packet crypto. Declared weak with
 * OpenSSL's SHA_CTX layout (only h0..h4 are used by a transform): a node
 * without the symbol leaves it NULL and sha1_compress runs instead. */
typedef struct { uint32_t h[5]; uint32_t nl, nh; uint32_t data[16]; unsigned int num; } ossl_sha_ctx_t;
extern void SHA1_Transform(ossl_sha_ctx_t *c, const unsigned char *data) __attribute__((weak));
/* Tests switch to the plain C to check both give the same digests. */
static int use_builtin_sha = 0;

/* SHA1(start | pad1 | session | pad2) for keylen 8 or 16: 96 or 112 bytes,
 * so with its padding always exactly two blocks, built in place. */
static void mppe_sha(const uint8_t *start, const uint8_t *session, size_t keylen, uint8_t digest[20]) {
  uint8_t m[128];
  size_t n = 0;
  memcpy(m, start, keylen); n += keylen;
  memset(m + n, 0, 40); n += 40;
  memcpy(m + n, session, keylen); n += keylen;
  memset(m + n, 0xf2, 40); n += 40;
  m[n] = 0x80;
  memset(m + n + 1, 0, 128 - 8 - n - 1);
  uint64_t bits = (uint64_t)n * 8;
  for (int i = 0; i < 8; i++) m[120 + i] = (uint8_t)(bits >> (56 - 8 * i));
  ossl_sha_ctx_t c = { .h = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 } };
  uint32_t *h = c.h;
  if (SHA1_Transform && !use_builtin_sha) {
    SHA1_Transform(&c, m);
    SHA1_Transform(&c, m + 64);
  } else {
    sha1_compress(h, m);
    sha1_compress(h, m + 64);
  }
  for (int i = 0; i < 5; i++) {
    digest[i * 4] = (uint8_t)(h[i] >> 24); digest[i * 4 + 1] = (uint8_t)(h[i] >> 16);
    digest[i * 4 + 2] = (uint8_t)(h[i] >> 8); digest[i * 4 + 3] = (uint8_t)h[i];
  }
}

/* ---- RC4, on a word-sized S-box (~1/3 faster than bytes: no partial-register
 * and store-forwarding stalls); a stateful stream is stored as bytes in JS's
 * state buffer and widened for the call. ---- */

typedef mppe_rc4_t rc4_t;

void mppe_rc4_key(rc4_t *r, const uint8_t *key, size_t len) {
  uint32_t *s = r->s;
  for (uint32_t k = 0; k < 256; k++) s[k] = k;
  uint32_t j = 0;
  size_t ki = 0;
  for (uint32_t k = 0; k < 256; k++) {
    uint32_t t = s[k];
    j = (j + t + key[ki]) & 0xff;
    s[k] = s[j];
    s[j] = t;
    if (++ki == len) ki = 0;
  }
  r->i = 0;
  r->j = 0;
}

void mppe_rc4_xor(rc4_t *r, const uint8_t *in, uint8_t *out, size_t len) {
  uint32_t *s = r->s, i = r->i, j = r->j;
  for (size_t n = 0; n < len; n++) {
    i = (i + 1) & 0xff;
    uint32_t si = s[i];
    j = (j + si) & 0xff;
    uint32_t sj = s[j];
    s[i] = sj;
    s[j] = si;
    out[n] = in[n] ^ (uint8_t)s[(si + sj) & 0xff];
  }
  r->i = i;
  r->j = j;
}

size_t mppe_rc4_xor_pfc(rc4_t *r, const uint8_t *in, uint8_t *out, size_t len) {
  /* First byte alone: odd = a compressed PPP protocol, expanded to 00 xx. */
  mppe_rc4_xor(r, in, out, 1);
  uint8_t *o = out + 1;
  size_t n = len;
  if (out[0] & 1) {
    out[1] = out[0];
    out[0] = 0;
    o++;
    n++;
  }
  mppe_rc4_xor(r, in + 1, o, len - 1);
  return n;
}

static void rc4_load(rc4_t *r, const uint8_t *d) {
  for (int k = 0; k < 256; k++) r->s[k] = d[DIR_SBOX + k];
  r->i = d[DIR_I];
  r->j = d[DIR_J];
}

static void rc4_store(const rc4_t *r, uint8_t *d) {
  for (int k = 0; k < 256; k++) d[DIR_SBOX + k] = (uint8_t)r->s[k];
  d[DIR_I] = (uint8_t)r->i;
  d[DIR_J] = (uint8_t)r->j;
}

/* ---- MPPE ---- */

static void salt(uint8_t *key, uint8_t s) {
  if (s == 5) { key[0] = 0xd1; key[1] = 0x26; key[2] = 0x9e; }
  else if (s == 7) key[0] = 0xd1;
}

/* RFC 3078 §7.3: interim = SHA1(start | pad1 | session | pad2); session =
 * RC4(interim) of interim; salt. `r` is scratch. */
void mppe_rekey(rc4_t *r, uint8_t *dir, size_t keylen, uint8_t salt_code) {
  uint8_t digest[20];
  mppe_sha(dir, dir + DIR_SESSION, keylen, digest);
  mppe_rc4_key(r, digest, keylen);
  mppe_rc4_xor(r, digest, dir + DIR_SESSION, keylen);
  salt(dir + DIR_SESSION, salt_code);
}

static int get_u8array(napi_env env, napi_value v, uint8_t **data, size_t *len, const char *what) {
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  void *p;
  if (napi_get_typedarray_info(env, v, &t, len, &p, &ab, &off) != napi_ok || t != napi_uint8_array) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a Uint8Array", what);
    throw_type(env, msg);
    return -1;
  }
  /* An empty array may have no backing store: never dereferenced then (len 0). */
  *data = p;
  return 0;
}

static napi_value range(napi_env env, const char *what) {
  char msg[96];
  snprintf(msg, sizeof msg, "mppe crypt: %s out of range", what);
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
  return NULL;
}

/* One packet's crypto once the arguments are unpacked (both entry points). */
static napi_value crypt_core(napi_env env, uint8_t *st, size_t stlen, uint8_t *in, size_t inlen, uint8_t *out, size_t outlen,
                             int32_t dir, int32_t rekeys, int32_t keyoff, int32_t inoff, int32_t len, int32_t outoff, int32_t flags) {
  /* The same checks as checkCrypt in mppe-cipher.ts; sizes in size_t so no sum overflows. */
  if (stlen < ST_DIRS) return range(env, "state");
  size_t keylen = st[ST_KEYLEN];
  uint8_t salt_code = st[ST_SALT], stream = st[ST_STREAM];
  if ((keylen != 8 && keylen != 16) || (salt_code != 5 && salt_code != 7 && salt_code != 16) || stream > 1)
    return range(env, "state header");
  size_t dirsize = stream ? DIR_STATEFUL : DIR_STATELESS;
  if (dir < ST_DIRS || (size_t)dir + dirsize > stlen) return range(env, "direction");
  if (rekeys < 0 || rekeys > MAX_REKEYS) return range(env, "rekeys");
  if (keyoff >= 0 ? (size_t)keyoff + keylen > stlen : !stream) return range(env, "key offset");
  if (len < 0 || inoff < 0 || outoff < 0) return range(env, "length");
  int pfc = (flags & CRYPT_PFC) != 0;
  if ((size_t)inoff + (size_t)len > inlen) return range(env, "input");
  if ((size_t)outoff + (size_t)len + (pfc && len > 0 ? 1 : 0) > outlen) return range(env, "output");

  uint8_t *d = st + dir;
  rc4_t r;
  for (int32_t k = 0; k < rekeys; k++) mppe_rekey(&r, d, keylen, salt_code);
  int keyed = 0; /* r holds the direction's stream */
  if (stream && (rekeys > 0 || (flags & CRYPT_RESTART))) {
    mppe_rc4_key(&r, d + DIR_SESSION, keylen);
    keyed = 1;
  }
  if (len == 0) {
    if (keyed) rc4_store(&r, d);
    return make_int(env, 0);
  }
  if (keyoff >= 0) {
    if (keyed) rc4_store(&r, d); /* the restarted stream stays for later calls */
    mppe_rc4_key(&r, st + keyoff, keylen);
  } else if (!keyed) {
    rc4_load(&r, d);
  }
  in += inoff;
  out += outoff;
  int32_t n = len;
  if (!pfc) {
    mppe_rc4_xor(&r, in, out, (size_t)len);
  } else {
    n = (int32_t)mppe_rc4_xor_pfc(&r, in, out, (size_t)len);
  }
  if (keyoff < 0) rc4_store(&r, d);
  return make_int(env, n);
}

/* mppeCrypt(st, dir, rekeys, keyOff, input, inOff, len, out, outOff, flags) → bytes written */
static napi_value mppe_crypt(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  if (arg_count(env, info, 10, argv, NULL)) return NULL;
  uint8_t *st, *in, *out;
  size_t stlen, inlen, outlen;
  int32_t dir, rekeys, keyoff, inoff, len, outoff, flags;
  if (get_u8array(env, argv[0], &st, &stlen, "state") || get_int32(env, argv[1], &dir, "dir") ||
      get_int32(env, argv[2], &rekeys, "rekeys") || get_int32(env, argv[3], &keyoff, "keyOff") ||
      get_u8array(env, argv[4], &in, &inlen, "input") || get_int32(env, argv[5], &inoff, "inOff") ||
      get_int32(env, argv[6], &len, "len") || get_u8array(env, argv[7], &out, &outlen, "out") ||
      get_int32(env, argv[8], &outoff, "outOff") || get_int32(env, argv[9], &flags, "flags"))
    return NULL;
  return crypt_core(env, st, stlen, in, inlen, out, outlen, dir, rekeys, keyoff, inoff, len, outoff, flags);
}

/* The packed entry point: the seven integers in an Int32Array the addon
 * allocated (mppeCryptArgs: dir, rekeys, keyOff, inOff, len, outOff, flags),
 * set by JS before each call, so a call converts 3 arguments instead of 10
 * (the N-API conversions were ~1/3 of a call's fixed cost). The block is
 * per addon instance (the function's data), never moved (C-allocated). */
enum { PACKED_ARGS = 8 };
typedef struct { int32_t *args; napi_ref keep; } packed_t;

/* mppeCryptPacked(st, input, out) → bytes written */
static napi_value mppe_crypt_packed(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t argc = 3;
  void *data;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok) return NULL;
  if (argc < 3) {
    throw_type(env, "expected 3 arguments");
    return NULL;
  }
  const int32_t *a = ((packed_t *)data)->args;
  uint8_t *st, *in, *out;
  size_t stlen, inlen, outlen;
  if (get_u8array(env, argv[0], &st, &stlen, "state") || get_u8array(env, argv[1], &in, &inlen, "input") ||
      get_u8array(env, argv[2], &out, &outlen, "out"))
    return NULL;
  return crypt_core(env, st, stlen, in, inlen, out, outlen, a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
}

/* mppeSha1Impl(builtin?: boolean) → 'openssl' | 'builtin': which SHA-1
 * compression runs (after switching to the plain C when builtin is true). */
static napi_value mppe_sha1_impl(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1) {
    bool b;
    if (napi_get_value_bool(env, argv[0], &b) != napi_ok) return throw_type(env, "builtin must be a boolean");
    use_builtin_sha = b;
  }
  napi_value r;
  napi_create_string_utf8(env, SHA1_Transform && !use_builtin_sha ? "openssl" : "builtin", NAPI_AUTO_LENGTH, &r);
  return r;
}

void init_mppe(napi_env env, napi_value exports) {
  export_fn(env, exports, "mppeCrypt", mppe_crypt);
  export_fn(env, exports, "mppeSha1Impl", mppe_sha1_impl);
  /* One per addon instance, as long as it lives (a few bytes, never freed). */
  packed_t *packed = calloc(1, sizeof *packed);
  napi_value ab, arr, fn;
  void *mem;
  if (!packed || napi_create_arraybuffer(env, PACKED_ARGS * sizeof(int32_t), &mem, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_int32_array, PACKED_ARGS, ab, 0, &arr) != napi_ok ||
      napi_create_reference(env, ab, 1, &packed->keep) != napi_ok)
    return;
  packed->args = mem;
  memset(mem, 0, PACKED_ARGS * sizeof(int32_t));
  if (napi_create_function(env, "mppeCryptPacked", NAPI_AUTO_LENGTH, mppe_crypt_packed, packed, &fn) != napi_ok) return;
  napi_set_named_property(env, exports, "mppeCryptArgs", arr);
  napi_set_named_property(env, exports, "mppeCryptPacked", fn);
}
