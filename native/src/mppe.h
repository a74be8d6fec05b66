/* MPPE primitives of mppe.c shared with the native receive fast path
 * (fastrx.c): RC4 on a word-sized S-box and the RFC 3078 §7.3 key change.
 * The state layout is src/crypto/mppe-cipher.ts's (keep both in step). */
#ifndef PPTPD_NATIVE_MPPE_H
#define PPTPD_NATIVE_MPPE_H

#include <stddef.h>
#include <stdint.h>

enum {
  /* Codec header: key length, salt code, stream flag, 0, then (stateless
   * receive) rxCount big-endian at 4..5 and the next history slot at 6. */
  MPPE_ST_KEYLEN = 0, MPPE_ST_SALT = 1, MPPE_ST_STREAM = 2,
  MPPE_ST_RXCOUNT = 4, MPPE_ST_HISTPOS = 6, MPPE_ST_DIRS = 8,
  /* Direction record: start key [0,16), session key [16,32). */
  MPPE_DIR_SESSION = 16, MPPE_DIR_STATELESS = 32,
  /* Stateless history slot: key [0,16), count hi, count lo, flags. */
  MPPE_HIST_SLOT = 20, MPPE_H_USED = 1, MPPE_H_SEEN = 2,
};

typedef struct { uint32_t s[256]; uint32_t i, j; } mppe_rc4_t;

void mppe_rc4_key(mppe_rc4_t *r, const uint8_t *key, size_t len);
void mppe_rc4_xor(mppe_rc4_t *r, const uint8_t *in, uint8_t *out, size_t len);
/* XOR of len ≥ 1 bytes where an odd first plaintext byte is a compressed PPP
 * protocol, expanded to 00 xx: out needs len + 1 bytes. Returns bytes written. */
size_t mppe_rc4_xor_pfc(mppe_rc4_t *r, const uint8_t *in, uint8_t *out, size_t len);
/* One key change of the session key of the direction record at `dir`
 * (keylen 8 or 16, salt code 5, 7 or 16). `r` is scratch. */
void mppe_rekey(mppe_rc4_t *r, uint8_t *dir, size_t keylen, uint8_t salt_code);

#endif
