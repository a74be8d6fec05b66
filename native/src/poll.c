/* Batched, readiness-driven I/O for raw sockets and TUN fds.
 *
 * One uv_poll_t per fd. On readability the fd is drained (recvmmsg for raw
 * sockets, read() in a loop for TUN) into ONE receive arena per JS
 * environment, shared by every poller: callbacks run one at a time on the
 * loop thread, and JS must consume a batch before its callback returns. The
 * callback gets (count, error?) — no per-packet JS objects or calls — and
 * reads offsets/lengths/sources from typed arrays created once (rxArena()).
 * 10,000 TUN pollers thus cost a poll handle each, not an arena each. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <uv.h>
#include "common.h"

#define RX_SLOTS 64
#define RX_SLOT_SIZE 2048
/* Packets one poller may take per wakeup before yielding to the loop, so a
 * flooded fd cannot starve the others. */
#define RX_BUDGET (4 * RX_SLOTS)
#define TX_CHUNK 64
#define POLLER_MAGIC 0x504f4c4cu

enum { KIND_RAW = 0, KIND_TUN = 1 };

typedef struct {
  napi_ref info_ref;
  uint8_t *data;
  uint32_t *offsets, *lengths, *sources;
  struct mmsghdr msgs[RX_SLOTS];
  struct iovec iov[RX_SLOTS];
  struct sockaddr_in addrs[RX_SLOTS];
} rx_arena_t;

struct poller_box;

typedef struct poller {
  uv_poll_t handle;
  napi_env env;
  rx_arena_t *arena;
  napi_ref cb_ref;
  napi_async_context actx;
  struct poller_box *box;
  int fd, kind;
  int stopped;     /* no more callbacks; handle is closing */
  int in_cb;       /* inside the JS callback: defer releasing JS state */
  int released;    /* cb_ref/actx already released */
} poller_t;

/* What JS holds. Outlives the poller so a second pollerStop is harmless. */
typedef struct poller_box {
  uint32_t magic;
  poller_t *p;
} poller_box_t;

static void arena_finalize(napi_env env, void *data, void *hint) {
  rx_arena_t *a = data;
  if (a->info_ref) napi_delete_reference(env, a->info_ref);
  free(a);
}

/* The per-environment arena, created on first use. Returns NULL after
 * throwing. */
static rx_arena_t *get_arena(napi_env env) {
  void *d = NULL;
  if (napi_get_instance_data(env, &d) == napi_ok && d) return d;
  rx_arena_t *a = calloc(1, sizeof *a);
  if (!a) { throw_errno(env, "calloc(rx arena)", ENOMEM); return NULL; }
  napi_value data_ab, meta_ab, data, off, len, src, obj, n;
  void *dp, *mp;
  if (napi_create_arraybuffer(env, RX_SLOTS * RX_SLOT_SIZE, &dp, &data_ab) != napi_ok ||
      napi_create_arraybuffer(env, 3 * RX_SLOTS * sizeof(uint32_t), &mp, &meta_ab) != napi_ok) {
    free(a);
    throw_errno(env, "napi_create_arraybuffer(rx arena)", ENOMEM);
    return NULL;
  }
  a->data = dp;
  a->offsets = mp;
  a->lengths = a->offsets + RX_SLOTS;
  a->sources = a->lengths + RX_SLOTS;
  napi_create_typedarray(env, napi_uint8_array, RX_SLOTS * RX_SLOT_SIZE, data_ab, 0, &data);
  napi_create_typedarray(env, napi_uint32_array, RX_SLOTS, meta_ab, 0, &off);
  napi_create_typedarray(env, napi_uint32_array, RX_SLOTS, meta_ab, RX_SLOTS * 4, &len);
  napi_create_typedarray(env, napi_uint32_array, RX_SLOTS, meta_ab, 2 * RX_SLOTS * 4, &src);
  napi_create_object(env, &obj);
  napi_set_named_property(env, obj, "data", data);
  napi_set_named_property(env, obj, "offsets", off);
  napi_set_named_property(env, obj, "lengths", len);
  napi_set_named_property(env, obj, "sources", src);
  napi_create_uint32(env, RX_SLOTS, &n);
  napi_set_named_property(env, obj, "slots", n);
  napi_create_uint32(env, RX_SLOT_SIZE, &n);
  napi_set_named_property(env, obj, "slotSize", n);
  napi_create_reference(env, obj, 1, &a->info_ref);
  for (int i = 0; i < RX_SLOTS; i++) {
    a->iov[i].iov_base = a->data + (size_t)i * RX_SLOT_SIZE;
    a->iov[i].iov_len = RX_SLOT_SIZE;
  }
  napi_set_instance_data(env, a, arena_finalize, NULL);
  return a;
}

int rx_arena_view(napi_env env, rx_arena_view_t *out) {
  rx_arena_t *a = get_arena(env);
  if (!a) return -1;
  out->data = a->data;
  out->data_len = (size_t)RX_SLOTS * RX_SLOT_SIZE;
  out->offsets = a->offsets;
  out->lengths = a->lengths;
  out->sources = a->sources;
  out->slots = RX_SLOTS;
  return 0;
}

/* rxArena(): { data: Uint8Array, offsets, lengths, sources: Uint32Array,
 *   slots: number, slotSize: number } — the same object every call. */
static napi_value rx_arena(napi_env env, napi_callback_info info) {
  rx_arena_t *a = get_arena(env);
  if (!a) return NULL;
  napi_value obj;
  napi_get_reference_value(env, a->info_ref, &obj);
  return obj;
}

static void release_js(poller_t *p) {
  if (p->released) return;
  p->released = 1;
  napi_delete_reference(p->env, p->cb_ref);
  napi_async_destroy(p->env, p->actx);
}

static void on_close(uv_handle_t *h) { free(h->data); }

static void env_cleanup(void *arg);

/* Stops polling now; memory goes in the close callback. Safe from inside
 * the poller's own JS callback. */
static void stop_poller(poller_t *p, int from_hook) {
  if (p->stopped) return;
  p->stopped = 1;
  if (p->box) { p->box->p = NULL; p->box = NULL; }
  if (!from_hook) napi_remove_env_cleanup_hook(p->env, env_cleanup, p);
  uv_poll_stop(&p->handle);
  if (!p->in_cb && !from_hook) release_js(p);
  uv_close((uv_handle_t *)&p->handle, on_close);
}

/* The environment is going away (worker exit): close the handle, no JS. */
static void env_cleanup(void *arg) {
  poller_t *p = arg;
  p->released = 1;
  stop_poller(p, 1);
}

static void call_js(poller_t *p, napi_value count, napi_value err) {
  napi_env env = p->env;
  napi_value cb, recv, argv[2], result;
  if (napi_get_reference_value(env, p->cb_ref, &cb) != napi_ok || cb == NULL) return;
  napi_value undef;
  napi_get_undefined(env, &undef);
  /* napi_make_callback converts the receiver to an object: use globalThis. */
  napi_get_global(env, &recv);
  argv[0] = count;
  argv[1] = err ? err : undef;
  p->in_cb = 1;
  napi_status st = napi_make_callback(env, p->actx, recv, cb, 2, argv, &result);
  p->in_cb = 0;
  if (st != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      /* Surfaces as process 'uncaughtException', like an EventEmitter's. */
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
      napi_fatal_exception(env, exc);
    }
  }
}

/* Errors after which the fd will never work again. */
static int fatal_errno(int err) {
  return err == EBADF || err == EBADFD || err == ENOTSOCK || err == EINVAL || err == EFAULT;
}

/* Fills the arena once; returns packets received (>= 0) or -errno when the
 * very first receive failed. *drained is set when the fd had no more. */
static int receive_once(poller_t *p, int want, int *drained) {
  rx_arena_t *a = p->arena;
  int count = 0;
  if (p->kind == KIND_RAW) {
    for (int i = 0; i < want; i++) {
      memset(&a->msgs[i].msg_hdr, 0, sizeof a->msgs[i].msg_hdr);
      a->iov[i].iov_len = RX_SLOT_SIZE;
      a->msgs[i].msg_hdr.msg_iov = &a->iov[i];
      a->msgs[i].msg_hdr.msg_iovlen = 1;
      a->msgs[i].msg_hdr.msg_name = &a->addrs[i];
      a->msgs[i].msg_hdr.msg_namelen = sizeof a->addrs[i];
    }
    int n;
    do n = recvmmsg(p->fd, a->msgs, (unsigned)want, MSG_DONTWAIT, NULL);
    while (n < 0 && errno == EINTR);
    if (n < 0) { *drained = 1; return errno == EAGAIN ? 0 : -errno; }
    *drained = n < want;
    for (int i = 0; i < n; i++) {
      /* A packet longer than a slot is dropped, never handed out cut. */
      if (a->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
      a->offsets[count] = (uint32_t)i * RX_SLOT_SIZE;
      a->lengths[count] = a->msgs[i].msg_len;
      a->sources[count] = ntohl(a->addrs[i].sin_addr.s_addr);
      count++;
    }
    return count;
  }
  *drained = 0;
  for (int i = 0; i < want; i++) {
    ssize_t n = read(p->fd, a->data + (size_t)i * RX_SLOT_SIZE, RX_SLOT_SIZE);
    if (n < 0) {
      if (errno == EINTR) { i--; continue; }
      *drained = 1;
      if (errno == EAGAIN || count > 0) return count;
      return -errno;
    }
    if (n == 0) { *drained = 1; break; }
    a->offsets[count] = (uint32_t)i * RX_SLOT_SIZE;
    a->lengths[count] = (uint32_t)n;
    a->sources[count] = 0;
    count++;
  }
  return count;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  poller_t *p = h->data;
  if (p->stopped) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (status < 0) {
    /* libuv reports errors as negative errno values on Unix. */
    call_js(p, make_int(env, 0), make_errno_error(env, "uv_poll", -status));
    if (!p->stopped) stop_poller(p, 0);
  } else {
    int budget = RX_BUDGET;
    while (!p->stopped && budget > 0) {
      int drained = 0;
      int want = budget < RX_SLOTS ? budget : RX_SLOTS;
      int n = receive_once(p, want, &drained);
      if (n > 0) {
        call_js(p, make_int(env, n), NULL);
        budget -= n;
      } else if (n < 0) {
        int err = -n;
        call_js(p, make_int(env, 0),
                make_errno_error(env, p->kind == KIND_RAW ? "recvmmsg" : "read(tun)", err));
        if (fatal_errno(err) && !p->stopped) stop_poller(p, 0);
        break;
      } else if (!drained) {
        budget -= want; /* all truncated: still progress */
      }
      if (drained) break;
    }
  }
  if (p->stopped) release_js(p);
  napi_close_handle_scope(env, scope);
}

static void box_finalize(napi_env env, void *data, void *hint) {
  poller_box_t *b = data;
  if (b->p) b->p->box = NULL;
  free(b);
}

/* pollerStart(fd: number, kind: 'raw' | 'tun', callback): handle */
static napi_value poller_start(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (arg_count(env, info, 3, argv, NULL)) return NULL;
  int32_t fd;
  char kind_s[8];
  if (get_int32(env, argv[0], &fd, "fd")) return NULL;
  if (fd < 0) return throw_type(env, "fd must be >= 0");
  if (get_string(env, argv[1], kind_s, sizeof kind_s, "kind")) return NULL;
  int kind;
  if (strcmp(kind_s, "raw") == 0) kind = KIND_RAW;
  else if (strcmp(kind_s, "tun") == 0) kind = KIND_TUN;
  else return throw_type(env, "kind must be 'raw' or 'tun'");
  napi_valuetype t;
  napi_typeof(env, argv[2], &t);
  if (t != napi_function) return throw_type(env, "callback must be a function");
  rx_arena_t *a = get_arena(env);
  if (!a) return NULL;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return throw_errno(env, "napi_get_uv_event_loop", EINVAL);

  poller_t *p = calloc(1, sizeof *p);
  poller_box_t *b = calloc(1, sizeof *b);
  if (!p || !b) { free(p); free(b); return throw_errno(env, "calloc(poller)", ENOMEM); }
  int rc = uv_poll_init(loop, &p->handle, fd);
  if (rc < 0) { free(p); free(b); return throw_errno(env, "uv_poll_init", -rc); }
  p->handle.data = p;
  p->env = env;
  p->arena = a;
  p->fd = fd;
  p->kind = kind;
  p->box = b;
  b->magic = POLLER_MAGIC;
  b->p = p;
  napi_value name, ext;
  napi_create_string_utf8(env, kind == KIND_RAW ? "pptpd:raw" : "pptpd:tun", NAPI_AUTO_LENGTH, &name);
  napi_create_reference(env, argv[2], 1, &p->cb_ref);
  napi_async_init(env, NULL, name, &p->actx);
  rc = uv_poll_start(&p->handle, UV_READABLE, on_poll);
  if (rc < 0) {
    p->box = NULL;
    p->stopped = 1;
    release_js(p);
    uv_close((uv_handle_t *)&p->handle, on_close);
    free(b);
    return throw_errno(env, "uv_poll_start", -rc);
  }
  napi_add_env_cleanup_hook(env, env_cleanup, p);
  if (napi_create_external(env, b, box_finalize, NULL, &ext) != napi_ok) {
    stop_poller(p, 0);
    free(b);
    return throw_errno(env, "napi_create_external", ENOMEM);
  }
  return ext;
}

/* pollerStop(handle): void — idempotent; the fd may be closed right after. */
static napi_value poller_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (arg_count(env, info, 1, argv, NULL)) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  poller_box_t *b = NULL;
  if (t != napi_external || napi_get_value_external(env, argv[0], (void **)&b) != napi_ok ||
      b == NULL || b->magic != POLLER_MAGIC)
    return throw_type(env, "handle must come from pollerStart");
  if (b->p) stop_poller(b->p, 0);
  return make_undefined(env);
}

static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data,
                     size_t *len, const char *what) {
  bool ok = false;
  napi_typedarray_type tt;
  napi_value ab;
  size_t off;
  napi_is_typedarray(env, v, &ok);
  if (ok && napi_get_typedarray_info(env, v, &tt, len, data, &ab, &off) == napi_ok && tt == want)
    return 0;
  char msg[96];
  snprintf(msg, sizeof msg, "%s must be a %s", what,
           want == napi_uint32_array ? "Uint32Array" : "Int32Array");
  throw_type(env, msg);
  return -1;
}

typedef struct {
  uint8_t *arena;
  size_t arena_len;
  uint32_t *offsets, *lengths;
  void *targets; /* Uint32Array dests or Int32Array fds */
  uint32_t count;
} tx_args_t;

/* Validates (arena, offsets, lengths, targets, count) starting at argv[0]:
 * every packet must lie inside the arena. */
static int get_tx_args(napi_env env, napi_value *argv, napi_typedarray_type ttype,
                       const char *tname, tx_args_t *o) {
  size_t n_off, n_len, n_tgt;
  if (get_buffer(env, argv[0], (void **)&o->arena, &o->arena_len, "arena")) return -1;
  if (get_typed(env, argv[1], napi_uint32_array, (void **)&o->offsets, &n_off, "offsets")) return -1;
  if (get_typed(env, argv[2], napi_uint32_array, (void **)&o->lengths, &n_len, "lengths")) return -1;
  if (get_typed(env, argv[3], ttype, &o->targets, &n_tgt, tname)) return -1;
  if (get_uint32(env, argv[4], &o->count, "count")) return -1;
  if (o->count > n_off || o->count > n_len || o->count > n_tgt) {
    throw_type(env, "count exceeds the length of offsets/lengths/targets");
    return -1;
  }
  for (uint32_t i = 0; i < o->count; i++) {
    if ((uint64_t)o->offsets[i] + o->lengths[i] > o->arena_len) {
      throw_type(env, "a packet lies outside the arena");
      return -1;
    }
  }
  return 0;
}

/* Transient: the caller may retry later or drop. */
static int would_block(int err) { return err == EAGAIN || err == ENOBUFS; }

/* sendBatch(fd, arena: Uint8Array, offsets: Uint32Array, lengths: Uint32Array,
 *   dests: Uint32Array, count): number
 * dests are IPv4 addresses as host-order uint32 (sendmmsg on a raw socket),
 * or all 0 for a TUN fd (one write() per packet). Returns how many packets
 * from the start went out; stops at EAGAIN/ENOBUFS. Another error throws if
 * it hits the first packet, else the count so far is returned (the next
 * call, starting at the failed packet, throws it). */
static napi_value send_batch(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (arg_count(env, info, 6, argv, NULL)) return NULL;
  int32_t fd;
  if (get_int32(env, argv[0], &fd, "fd")) return NULL;
  if (fd < 0) return throw_type(env, "fd must be >= 0");
  tx_args_t a;
  if (get_tx_args(env, argv + 1, napi_uint32_array, "dests", &a)) return NULL;
  uint32_t *dests = a.targets;
  if (a.count == 0) return make_int(env, 0);
  int tun = dests[0] == 0;
  for (uint32_t i = 0; i < a.count; i++)
    if ((dests[i] == 0) != tun) return throw_type(env, "dests must be all 0 (TUN) or all non-zero (raw)");

  uint32_t sent = 0;
  if (tun) {
    while (sent < a.count) {
      ssize_t r = write(fd, a.arena + a.offsets[sent], a.lengths[sent]);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (would_block(errno) || sent > 0) break;
        return throw_errno(env, "write(tun)", errno);
      }
      sent++;
    }
    return make_int(env, sent);
  }

  struct mmsghdr msgs[TX_CHUNK];
  struct iovec iov[TX_CHUNK];
  struct sockaddr_in sins[TX_CHUNK];
  while (sent < a.count) {
    uint32_t k = a.count - sent < TX_CHUNK ? a.count - sent : TX_CHUNK;
    memset(msgs, 0, sizeof(struct mmsghdr) * k);
    for (uint32_t j = 0; j < k; j++) {
      uint32_t i = sent + j;
      iov[j].iov_base = a.arena + a.offsets[i];
      iov[j].iov_len = a.lengths[i];
      memset(&sins[j], 0, sizeof sins[j]);
      sins[j].sin_family = AF_INET;
      sins[j].sin_addr.s_addr = htonl(dests[i]);
      msgs[j].msg_hdr.msg_iov = &iov[j];
      msgs[j].msg_hdr.msg_iovlen = 1;
      msgs[j].msg_hdr.msg_name = &sins[j];
      msgs[j].msg_hdr.msg_namelen = sizeof sins[j];
    }
    int r = sendmmsg(fd, msgs, k, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (would_block(errno) || sent > 0) break;
      return throw_errno(env, "sendmmsg", errno);
    }
    sent += (uint32_t)r;
  }
  return make_int(env, sent);
}

/* tunWriteBatch(arena, offsets, lengths, fds: Int32Array, count): number
 * Writes packets destined to many TUN fds in one call. A TUN write does not
 * block, so a failed packet is dropped and the rest still go; returns how
 * many were written (count - written = dropped). */
static napi_value tun_write_batch(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (arg_count(env, info, 5, argv, NULL)) return NULL;
  tx_args_t a;
  if (get_tx_args(env, argv, napi_int32_array, "fds", &a)) return NULL;
  int32_t *fds = a.targets;
  for (uint32_t i = 0; i < a.count; i++)
    if (fds[i] < 0) return throw_type(env, "fds must be >= 0");
  uint32_t written = 0;
  for (uint32_t i = 0; i < a.count; i++) {
    ssize_t r;
    do r = write(fds[i], a.arena + a.offsets[i], a.lengths[i]);
    while (r < 0 && errno == EINTR);
    if (r >= 0) written++;
  }
  return make_int(env, written);
}

void init_poll(napi_env env, napi_value exports) {
  export_fn(env, exports, "rxArena", rx_arena);
  export_fn(env, exports, "pollerStart", poller_start);
  export_fn(env, exports, "pollerStop", poller_stop);
  export_fn(env, exports, "sendBatch", send_batch);
  export_fn(env, exports, "tunWriteBatch", tun_write_batch);
}
