/* Native receive fast path of the TUN datapath (issue 9).
 *
 * The common data frame — in-order GRE, stateless MPPE one count ahead,
 * IPv4 inside — is decrypted and written to its TUN fd here, straight from
 * poll.c's receive arena, and never reaches JavaScript. Everything else is
 * declined untouched and JS handles it as before, in arrival order: once a
 * packet of an entry is declined, every later packet of that entry in the
 * same run is declined too.
 *
 * The per-call state stays owned by JS (GreCall.rxState, the MppeCodec state
 * array); we keep references and data pointers to both (plain ArrayBuffers,
 * which never move) and advance them exactly as src/gre/engine.ts and
 * src/crypto/mppe.ts would for the same packet. Per packet: no allocation,
 * no JS call; every offset or length from JS or the wire is bounded first.
 * All calls run synchronously on the loop thread. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common.h"
#include "mppe.h"

/* One record per entry touched in a run; a run handles ≤ arena slots packets. */
#define FR_RECORDS 64
#define FR_REC_WORDS 8
#define FR_REPORT_WORDS (1 + FR_RECORDS * FR_REC_WORDS)
/* A GRE payload fits an arena slot (2048); +16 for the PFC byte and slack. */
#define FR_SCRATCH (2048 + 16)
#define FR_MAX_ENTRIES (1u << 20)
#define FR_NONE (-1)

/* GreCall.rxState (src/gre/engine.ts GRX_*): keep both in step. */
enum { GRX_FLAGS = 0, GRX_LAST = 1, GRX_MASK = 2, GRX_HELD = 3, GRX_ACK = 4, GRX_MAX_PAYLOAD = 5, GRX_MIN_WORDS = 8 };
enum { GRX_STARTED = 1, GRX_CANDIDATE = 2, GRX_ACK_SEEN = 4 };

/* GRE flag/version word (src/protocol/gre/codec.ts). */
enum {
  GF_C = 0x8000, GF_R = 0x4000, GF_K = 0x2000, GF_S = 0x1000, GF_SSR = 0x0800,
  GF_RECUR = 0x0700, GF_A = 0x0080, GF_FLAGS = 0x0078, GF_VERSION = 0x0007,
};

/* Report record words. */
enum { R_ID, R_FRAMES, R_FRAME_BYTES, R_IP_PACKETS, R_IP_BYTES, R_DROPPED, R_WRITE_FAILED };

typedef struct {
  uint32_t src;        /* host order */
  int32_t next;        /* next entry of the same call id, or of the free list */
  uint32_t *gre;
  uint8_t *mppe;
  size_t gre_len, mppe_len; /* elements when added: both arrays are re-checked once per run */
  napi_ref gre_ref, mppe_ref;
  int32_t fd;
  uint32_t rx_dir, hist, hist_slots, rx_max;
  /* Run numbers (t->gen) of: the last decline, the last liveness check, the last record. */
  uint32_t declined_gen, checked_gen, rec_gen;
  uint32_t rec;
  uint16_t call_id;
  uint8_t used;
} fr_entry_t;

typedef struct {
  fr_entry_t *e;
  uint32_t cap, high; /* allocated, ever used (ids are < high) */
  int32_t free_head;
  int32_t *heads;     /* per call id, first entry or FR_NONE; NULL until the first add */
  uint32_t *report;
  napi_ref report_ref;
  uint32_t gen, nrec;
  rx_arena_view_t arena;
  uint8_t out[FR_SCRATCH];
} fr_table_t;

/* Tells our External from any other (a poller handle, another addon's). */
static const napi_type_tag FR_TAG = { 0x7074707464667278ull, 0x6661737472780001ull };

static napi_value range_error(napi_env env, const char *msg) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
  return NULL;
}

/* An integral number in [min, max]: TypeError for a non-number, RangeError
 * otherwise (napi_get_value_int32 would silently wrap 2^32 + 5 to 5). */
static int get_int_in(napi_env env, napi_value v, double min, double max, int64_t *out, const char *what) {
  double d;
  char msg[112];
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    snprintf(msg, sizeof msg, "fastRx: %s must be a number", what);
    throw_type(env, msg);
    return -1;
  }
  if (!(d >= min && d <= max) || d != floor(d)) {
    snprintf(msg, sizeof msg, "fastRx: %s must be an integer in %.0f..%.0f", what, min, max);
    range_error(env, msg);
    return -1;
  }
  *out = (int64_t)d;
  return 0;
}

/* A typed array of `want` on a plain, fixed-length ArrayBuffer: its data
 * pointer stays valid as long as we reference it (a SharedArrayBuffer could
 * change under us from another thread, a resizable one could shrink). */
static int get_fixed_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len,
                           const char *what) {
  bool is = false, ok = false;
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  char msg[112];
  napi_is_typedarray(env, v, &is);
  if (is && napi_get_typedarray_info(env, v, &t, len, data, &ab, &off) == napi_ok && t == want) {
    bool plain = false, resizable = false;
    napi_value r;
    napi_is_arraybuffer(env, ab, &plain);
    if (plain && napi_get_named_property(env, ab, "resizable", &r) == napi_ok) napi_get_value_bool(env, r, &resizable);
    ok = plain && !resizable && *data != NULL;
  }
  if (!ok) {
    snprintf(msg, sizeof msg, "fastRx: %s must be a %s on a fixed-length ArrayBuffer", what,
             want == napi_uint32_array ? "Uint32Array" : "Uint8Array");
    throw_type(env, msg);
    return -1;
  }
  return 0;
}

static fr_table_t *get_table(napi_env env, napi_value v) {
  bool tagged = false;
  void *p = NULL;
  napi_valuetype vt;
  napi_typeof(env, v, &vt);
  if (vt == napi_external && napi_check_object_type_tag(env, v, &FR_TAG, &tagged) == napi_ok && tagged &&
      napi_get_value_external(env, v, &p) == napi_ok && p != NULL)
    return p;
  throw_type(env, "fastRx: table must come from fastRxCreate");
  return NULL;
}

static void release_entry(napi_env env, fr_entry_t *e) {
  if (e->gre_ref) napi_delete_reference(env, e->gre_ref);
  if (e->mppe_ref) napi_delete_reference(env, e->mppe_ref);
  e->gre_ref = e->mppe_ref = NULL;
  e->gre = NULL;
  e->mppe = NULL;
  e->used = 0;
}

static void table_finalize(napi_env env, void *data, void *hint) {
  fr_table_t *t = data;
  for (uint32_t k = 0; k < t->high; k++)
    if (t->e[k].used) release_entry(env, &t->e[k]);
  if (t->report_ref) napi_delete_reference(env, t->report_ref);
  free(t->heads);
  free(t->e);
  free(t);
}

/* fastRxCreate(): { table: External, report: Uint32Array } */
static napi_value fr_create(napi_env env, napi_callback_info info) {
  fr_table_t *t = calloc(1, sizeof *t);
  if (!t) return throw_errno(env, "calloc(fastrx table)", ENOMEM);
  t->free_head = FR_NONE;
  if (rx_arena_view(env, &t->arena)) { free(t); return NULL; }
  napi_value ab, report, ext, obj;
  void *mem;
  if (napi_create_arraybuffer(env, FR_REPORT_WORDS * sizeof(uint32_t), &mem, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_uint32_array, FR_REPORT_WORDS, ab, 0, &report) != napi_ok) {
    free(t);
    return throw_errno(env, "napi_create_arraybuffer(fastrx report)", ENOMEM);
  }
  t->report = mem;
  memset(mem, 0, FR_REPORT_WORDS * sizeof(uint32_t));
  /* The table keeps the report alive, so its memory stays put for it. */
  if (napi_create_reference(env, report, 1, &t->report_ref) != napi_ok) {
    free(t);
    return throw_errno(env, "napi_create_reference(fastrx report)", ENOMEM);
  }
  if (napi_create_external(env, t, table_finalize, NULL, &ext) != napi_ok) {
    napi_delete_reference(env, t->report_ref);
    free(t);
    return throw_errno(env, "napi_create_external(fastrx)", ENOMEM);
  }
  napi_type_tag_object(env, ext, &FR_TAG);
  napi_create_object(env, &obj);
  napi_set_named_property(env, obj, "table", ext);
  napi_set_named_property(env, obj, "report", report);
  return obj;
}

static fr_entry_t *lookup(const fr_table_t *t, uint32_t src, uint32_t call_id) {
  if (!t->heads) return NULL;
  for (int32_t k = t->heads[call_id]; k != FR_NONE; k = t->e[k].next)
    if (t->e[k].src == src) return &t->e[k];
  return NULL;
}

/* fastRxAdd(table, src, callId, fd, gre: Uint32Array, mppe: Uint8Array,
 *   rxDir, hist, histSlots, rxMax) → id */
static napi_value fr_add(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  if (arg_count(env, info, 10, argv, NULL)) return NULL;
  fr_table_t *t = get_table(env, argv[0]);
  if (!t) return NULL;
  int64_t src, cid, fd, rx_dir, hist, slots, rx_max;
  uint32_t *gre;
  uint8_t *st;
  size_t gre_len, st_len;
  if (get_int_in(env, argv[1], 0, 4294967295.0, &src, "src") ||
      get_int_in(env, argv[2], 0, 65535, &cid, "callId") ||
      get_int_in(env, argv[3], 0, 2147483647.0, &fd, "fd") ||
      get_fixed_typed(env, argv[4], napi_uint32_array, (void **)&gre, &gre_len, "gre") ||
      get_fixed_typed(env, argv[5], napi_uint8_array, (void **)&st, &st_len, "mppe") ||
      get_int_in(env, argv[6], 0, 2147483647.0, &rx_dir, "rxDir") ||
      get_int_in(env, argv[7], 0, 2147483647.0, &hist, "hist") ||
      get_int_in(env, argv[8], 1, 64, &slots, "histSlots") ||
      get_int_in(env, argv[9], 1, 65535, &rx_max, "rxMax"))
    return NULL;
  if (gre_len < GRX_MIN_WORDS) return range_error(env, "fastRx: gre must have at least 8 words");
  if (st_len < MPPE_ST_DIRS) return range_error(env, "fastRx: mppe state shorter than its header");
  uint8_t keylen = st[MPPE_ST_KEYLEN], salt = st[MPPE_ST_SALT];
  if ((keylen != 8 && keylen != 16) || (salt != 5 && salt != 7 && salt != 16))
    return range_error(env, "fastRx: mppe state header is not a codec's");
  if (st[MPPE_ST_STREAM] != 0) return range_error(env, "fastRx: only stateless MPPE takes the fast path");
  if (rx_dir < MPPE_ST_DIRS || (uint64_t)rx_dir + MPPE_DIR_STATELESS > st_len)
    return range_error(env, "fastRx: rxDir outside the mppe state");
  /* History inside the array and past the header (its rxCount/histPos). */
  if (hist < MPPE_ST_DIRS || (uint64_t)hist + (uint64_t)slots * MPPE_HIST_SLOT > st_len)
    return range_error(env, "fastRx: history outside the mppe state");
  if (lookup(t, (uint32_t)src, (uint32_t)cid))
    return range_error(env, "fastRx: an entry for this source and call id exists");

  if (!t->heads) {
    t->heads = malloc(65536 * sizeof(int32_t));
    if (!t->heads) return throw_errno(env, "malloc(fastrx index)", ENOMEM);
    for (uint32_t k = 0; k < 65536; k++) t->heads[k] = FR_NONE;
  }
  int32_t id;
  if (t->free_head != FR_NONE) {
    id = t->free_head;
  } else {
    if (t->high >= FR_MAX_ENTRIES) return range_error(env, "fastRx: too many entries");
    if (t->high == t->cap) {
      uint32_t cap = t->cap ? t->cap * 2 : 64;
      fr_entry_t *e = realloc(t->e, cap * sizeof *e);
      if (!e) return throw_errno(env, "realloc(fastrx entries)", ENOMEM);
      t->e = e;
      t->cap = cap;
    }
    id = (int32_t)t->high;
  }
  fr_entry_t *e = &t->e[id];
  fr_entry_t fresh = { 0 };
  if (napi_create_reference(env, argv[4], 1, &fresh.gre_ref) != napi_ok) return throw_errno(env, "napi_create_reference", ENOMEM);
  if (napi_create_reference(env, argv[5], 1, &fresh.mppe_ref) != napi_ok) {
    napi_delete_reference(env, fresh.gre_ref);
    return throw_errno(env, "napi_create_reference", ENOMEM);
  }
  /* Nothing can fail from here: take the id. */
  if (id == t->free_head) t->free_head = e->next;
  else t->high++;
  fresh.src = (uint32_t)src;
  fresh.call_id = (uint16_t)cid;
  fresh.fd = (int32_t)fd;
  fresh.gre = gre;
  fresh.gre_len = gre_len;
  fresh.mppe = st;
  fresh.mppe_len = st_len;
  fresh.rx_dir = (uint32_t)rx_dir;
  fresh.hist = (uint32_t)hist;
  fresh.hist_slots = (uint32_t)slots;
  fresh.rx_max = (uint32_t)rx_max;
  fresh.used = 1;
  fresh.next = t->heads[cid];
  *e = fresh;
  t->heads[cid] = id;
  return make_int(env, id);
}

/* fastRxRemove(table, id) → boolean */
static napi_value fr_remove(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (arg_count(env, info, 2, argv, NULL)) return NULL;
  fr_table_t *t = get_table(env, argv[0]);
  if (!t) return NULL;
  double d;
  if (napi_get_value_double(env, argv[1], &d) != napi_ok) return throw_type(env, "fastRx: id must be a number");
  if (!(d >= 0 && d < t->high) || d != floor(d) || !t->e[(uint32_t)d].used) return make_bool(env, 0);
  int32_t id = (int32_t)d;
  fr_entry_t *e = &t->e[id];
  int32_t *link = &t->heads[e->call_id];
  while (*link != id) link = &t->e[*link].next;
  *link = e->next;
  release_entry(env, e);
  e->next = t->free_head;
  t->free_head = id;
  return make_bool(env, 1);
}

/* Once per entry per run: JS may have detached (transferred) an array since
 * the add; then its memory is no longer ours to touch. */
static int entry_alive(napi_env env, const fr_entry_t *e) {
  napi_value v, ab;
  napi_typedarray_type tt;
  size_t len, off;
  void *d;
  if (napi_get_reference_value(env, e->gre_ref, &v) != napi_ok || v == NULL ||
      napi_get_typedarray_info(env, v, &tt, &len, &d, &ab, &off) != napi_ok || d != e->gre || len < e->gre_len)
    return 0;
  if (napi_get_reference_value(env, e->mppe_ref, &v) != napi_ok || v == NULL ||
      napi_get_typedarray_info(env, v, &tt, &len, &d, &ab, &off) != napi_ok || d != e->mppe || len < e->mppe_len)
    return 0;
  return 1;
}

static inline uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* GreCall.noteAck: keep the newest ack, wrap-aware. */
static void note_ack(uint32_t *w, uint32_t ack) {
  uint32_t d = ack - w[GRX_ACK];
  if (!(w[GRX_FLAGS] & GRX_ACK_SEEN) || (d != 0 && d < 0x80000000u)) {
    w[GRX_FLAGS] |= GRX_ACK_SEEN;
    w[GRX_ACK] = ack;
  }
}

static uint32_t *record(fr_table_t *t, fr_entry_t *e) {
  if (e->rec_gen != t->gen) {
    e->rec_gen = t->gen;
    e->rec = t->nrec++; /* < FR_RECORDS: at most one new record per handled packet */
    uint32_t *r = t->report + 1 + e->rec * FR_REC_WORDS;
    memset(r, 0, FR_REC_WORDS * sizeof(uint32_t));
    r[R_ID] = (uint32_t)(e - t->e);
  }
  return t->report + 1 + e->rec * FR_REC_WORDS;
}

/* The entry's part: returns 0 to decline (nothing touched), 1 when handled.
 * `f` is the GRE payload (plen > 0 bytes, inside the arena). */
static int fast_entry(napi_env env, fr_table_t *t, fr_entry_t *e, const uint8_t *f, uint32_t plen, uint32_t seq,
                      int has_ack, uint32_t ack) {
  if (e->checked_gen != t->gen) {
    if (!entry_alive(env, e)) return 0;
    e->checked_gen = t->gen;
  }
  /* GRE: GreCall.input's in-order branch with nothing held. */
  uint32_t *w = e->gre;
  if ((w[GRX_FLAGS] & (GRX_STARTED | GRX_CANDIDATE)) != GRX_STARTED || w[GRX_HELD] != 0 ||
      seq != w[GRX_LAST] + 1u || plen > w[GRX_MAX_PAYLOAD])
    return 0;
  /* PPP: PppLink.dispatch to rxCompressed (protocol 0x00FD or PFC 0xFD). */
  uint32_t p = 0;
  if (plen >= 2 && f[0] == 0xff && f[1] == 0x03) p = 2;
  if (p >= plen) return 0;
  if (f[p] & 1) {
    if (f[p] != 0xfd) return 0;
    p += 1;
  } else {
    if (p + 2 > plen || f[p] != 0x00 || f[p + 1] != 0xfd) return 0;
    p += 2;
  }
  uint32_t m = plen - p; /* MPPE header + ciphertext */
  if (m < 3 || m - 1 > e->rx_max || m - 1 > FR_SCRATCH) return 0;
  /* MPPE: MppeCodec.decrypt's stateless branch with ahead == 1. The header
   * is JS-writable: re-read and bound it now. */
  uint8_t *st = e->mppe;
  size_t keylen = st[MPPE_ST_KEYLEN];
  uint8_t salt = st[MPPE_ST_SALT];
  if ((keylen != 8 && keylen != 16) || (salt != 5 && salt != 7 && salt != 16) || st[MPPE_ST_STREAM] != 0) return 0;
  const uint8_t *in = f + p;
  if ((in[0] & 0x90) != 0x90) return 0; /* encrypted and flushed */
  uint32_t cc = ((uint32_t)(in[0] & 0x0f) << 8) | in[1];
  uint8_t cnt_hi = st[MPPE_ST_RXCOUNT], cnt_lo = st[MPPE_ST_RXCOUNT + 1];
  uint32_t rx_count = ((uint32_t)cnt_hi << 8) | cnt_lo;
  if (((cc - rx_count) & 0xfff) != 1) return 0;
  uint32_t slot = st[MPPE_ST_HISTPOS];
  if (slot >= e->hist_slots) return 0;

  /* Commit. GRE first (GreCall.input: noteAck, then deliverNext). */
  if (has_ack) note_ack(w, ack);
  w[GRX_LAST] = seq;
  w[GRX_MASK] = (w[GRX_MASK] << 1) | 1u;
  /* remember(rxCount, seen): the key in use so far serves late packets of that count. */
  uint8_t *h = st + e->hist + slot * MPPE_HIST_SLOT;
  uint8_t *dir = st + e->rx_dir;
  memcpy(h, dir + MPPE_DIR_SESSION, keylen);
  h[16] = cnt_hi;
  h[17] = cnt_lo;
  h[18] = MPPE_H_USED | MPPE_H_SEEN;
  st[MPPE_ST_HISTPOS] = (uint8_t)((slot + 1) % e->hist_slots);
  st[MPPE_ST_RXCOUNT] = (uint8_t)(cc >> 8);
  st[MPPE_ST_RXCOUNT + 1] = (uint8_t)cc;
  /* One key change, a fresh schedule of the new key, decrypt with PFC expansion. */
  mppe_rc4_t r;
  mppe_rekey(&r, dir, keylen, salt);
  mppe_rc4_key(&r, dir + MPPE_DIR_SESSION, keylen);
  uint8_t *out = t->out;
  size_t n = mppe_rc4_xor_pfc(&r, in + 2, out, m - 2);

  uint32_t *rec = record(t, e);
  rec[R_FRAMES]++;
  rec[R_FRAME_BYTES] += plen;
  if (n >= 3 && out[0] == 0x00 && out[1] == 0x21) {
    ssize_t wr;
    do wr = write(e->fd, out + 2, n - 2);
    while (wr < 0 && errno == EINTR);
    if (wr < 0) rec[R_WRITE_FAILED]++;
    rec[R_IP_PACKETS]++;
    rec[R_IP_BYTES] += (uint32_t)(n - 2);
  } else {
    rec[R_DROPPED]++; /* as PppLink.decryptedIpv4: only non-empty IPv4 */
  }
  return 1;
}

/* Packet i of the arena: 1 when handled (its length is then set to 0). */
static int fast_one(napi_env env, fr_table_t *t, uint32_t i) {
  const rx_arena_view_t *a = &t->arena;
  uint32_t off = a->offsets[i], len = a->lengths[i];
  if (len < 20 || off > a->data_len || len > a->data_len - off) return 0;
  /* IPv4 as tryStripIpv4. */
  const uint8_t *ip = a->data + off;
  if ((ip[0] >> 4) != 4) return 0;
  uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
  if (ihl < 20 || ihl > len) return 0;
  uint32_t total = ((uint32_t)ip[2] << 8) | ip[3];
  if (total < ihl || total > len || ip[9] != 47) return 0;
  /* GRE as tryDecodeGre, data packets only (S set, payload present). */
  const uint8_t *g = ip + ihl;
  uint32_t glen = total - ihl;
  if (glen < 8) return 0;
  uint32_t fv = ((uint32_t)g[0] << 8) | g[1];
  if ((fv & GF_VERSION) != 1 || !(fv & GF_K) || (fv & (GF_C | GF_R | GF_SSR | GF_RECUR | GF_FLAGS)) ||
      (((uint32_t)g[2] << 8) | g[3]) != 0x880b || !(fv & GF_S))
    return 0;
  int has_ack = (fv & GF_A) != 0;
  uint32_t hl = has_ack ? 16 : 12;
  if (glen < hl) return 0;
  uint32_t plen = ((uint32_t)g[4] << 8) | g[5];
  if (plen == 0 || plen > glen - hl) return 0;
  uint32_t call_id = ((uint32_t)g[6] << 8) | g[7];
  fr_entry_t *e = lookup(t, a->sources[i], call_id);
  if (!e || e->declined_gen == t->gen) return 0;
  if (!fast_entry(env, t, e, g + hl, plen, be32(g + 8), has_ack, has_ack ? be32(g + 12) : 0)) {
    e->declined_gen = t->gen; /* JS takes the rest of this entry's packets, in order */
    return 0;
  }
  a->lengths[i] = 0;
  return 1;
}

/* fastRxRun(table, count) → packets handled of arena packets [0, count) */
static napi_value fr_run(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (arg_count(env, info, 2, argv, NULL)) return NULL;
  fr_table_t *t = get_table(env, argv[0]);
  if (!t) return NULL;
  int64_t count;
  if (get_int_in(env, argv[1], 0, t->arena.slots, &count, "count")) return NULL;
  if (++t->gen == 0) {
    /* 2^32 runs later: forget every old run number rather than alias one. */
    for (uint32_t k = 0; k < t->high; k++) t->e[k].declined_gen = t->e[k].checked_gen = t->e[k].rec_gen = 0;
    t->gen = 1;
  }
  t->nrec = 0;
  uint32_t handled = 0;
  if (t->heads)
    for (uint32_t i = 0; i < (uint32_t)count; i++) handled += (uint32_t)fast_one(env, t, i);
  t->report[0] = t->nrec;
  return make_int(env, handled);
}

void init_fastrx(napi_env env, napi_value exports) {
  export_fn(env, exports, "fastRxCreate", fr_create);
  export_fn(env, exports, "fastRxAdd", fr_add);
  export_fn(env, exports, "fastRxRemove", fr_remove);
  export_fn(env, exports, "fastRxRun", fr_run);
}
