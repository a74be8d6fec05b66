/* Entry point and shared helpers of the pptpd native addon. */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include "common.h"

static const char *errno_name(int err) {
  switch (err) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(EBADF)
    E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(ENODEV)
    E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY) E(ENOSPC)
    E(EPIPE) E(ERANGE) E(ENAMETOOLONG) E(ENOSYS) E(ENOTSOCK) E(EDESTADDRREQ)
    E(EMSGSIZE) E(EPROTOTYPE) E(ENOPROTOOPT) E(EPROTONOSUPPORT)
    E(ESOCKTNOSUPPORT) E(EOPNOTSUPP) E(EPFNOSUPPORT) E(EAFNOSUPPORT)
    E(EADDRINUSE) E(EADDRNOTAVAIL) E(ENETDOWN) E(ENETUNREACH) E(ECONNRESET)
    E(ENOBUFS) E(EISCONN) E(ENOTCONN) E(ETIMEDOUT) E(ECONNREFUSED)
    E(EHOSTUNREACH) E(EALREADY) E(EINPROGRESS) E(EOVERFLOW) E(EBADFD) E(EPROTO) E(ENOMSG)
#undef E
    default: return "EUNKNOWN";
  }
}

napi_value make_errno_error(napi_env env, const char *op, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s failed: %s (%s)", op, strerror(err), errno_name(err));
  napi_value m, c, e, o, n;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &c);
  napi_create_error(env, c, m, &e);
  napi_create_string_utf8(env, op, NAPI_AUTO_LENGTH, &o);
  napi_set_named_property(env, e, "syscall", o);
  napi_create_int32(env, err, &n);
  napi_set_named_property(env, e, "errno", n);
  return e;
}

napi_value throw_errno(napi_env env, const char *op, int err) {
  napi_throw(env, make_errno_error(env, op, err));
  return NULL;
}

napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG", msg);
  return NULL;
}

int arg_count(napi_env env, napi_callback_info info, size_t want, napi_value *argv, napi_value *self) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, self, NULL) != napi_ok) return -1;
  if (argc < want) {
    char msg[96];
    snprintf(msg, sizeof msg, "expected %zu arguments, got %zu", want, argc);
    throw_type(env, msg);
    return -1;
  }
  return 0;
}

int get_string(napi_env env, napi_value v, char *buf, size_t cap, const char *what) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, buf, cap, &len) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a string", what);
    throw_type(env, msg);
    return -1;
  }
  if (len >= cap - 1) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s is too long", what);
    throw_type(env, msg);
    return -1;
  }
  return 0;
}

int get_int32(napi_env env, napi_value v, int32_t *out, const char *what) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a number", what);
    throw_type(env, msg);
    return -1;
  }
  return 0;
}

int get_uint32(napi_env env, napi_value v, uint32_t *out, const char *what) {
  if (napi_get_value_uint32(env, v, out) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a number", what);
    throw_type(env, msg);
    return -1;
  }
  return 0;
}

int get_buffer(napi_env env, napi_value v, void **data, size_t *len, const char *what) {
  bool ok = false;
  napi_is_typedarray(env, v, &ok);
  if (ok) {
    napi_typedarray_type t; napi_value ab; size_t off;
    if (napi_get_typedarray_info(env, v, &t, len, data, &ab, &off) == napi_ok && t == napi_uint8_array) return 0;
  }
  napi_is_buffer(env, v, &ok);
  if (ok && napi_get_buffer_info(env, v, data, len) == napi_ok) return 0;
  char msg[96];
  snprintf(msg, sizeof msg, "%s must be a Buffer or Uint8Array", what);
  throw_type(env, msg);
  return -1;
}

int get_ipv4(napi_env env, napi_value v, uint32_t *out_be, const char *what) {
  char buf[INET_ADDRSTRLEN + 1];
  size_t len;
  struct in_addr a;
  if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) != napi_ok ||
      len >= sizeof buf - 1 || inet_pton(AF_INET, buf, &a) != 1) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a dotted-quad IPv4 address", what);
    throw_type(env, msg);
    return -1;
  }
  *out_be = a.s_addr;
  return 0;
}

int get_ifname(napi_env env, napi_value v, char *buf, const char *what) {
  /* get_string wants room for one byte more than the longest accepted. */
  char tmp[IFNAMSIZ + 1];
  if (get_string(env, v, tmp, sizeof tmp, what)) return -1;
  if (tmp[0] == '\0' || strchr(tmp, '/') != NULL) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a non-empty interface name", what);
    throw_type(env, msg);
    return -1;
  }
  memcpy(buf, tmp, IFNAMSIZ);
  return 0;
}

napi_value make_int(napi_env env, int64_t v) { napi_value r; napi_create_int64(env, v, &r); return r; }
napi_value make_bool(napi_env env, int v) { napi_value r; napi_get_boolean(env, v != 0, &r); return r; }
napi_value make_undefined(napi_env env) { napi_value r; napi_get_undefined(env, &r); return r; }

void export_fn(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f);
  napi_set_named_property(env, exports, name, f);
}

static napi_value init(napi_env env, napi_value exports) {
  init_notify(env, exports);
  init_kppp(env, exports);
  init_arp(env, exports);
  init_tun(env, exports);
  init_ifconf(env, exports);
  init_raw(env, exports);
  init_poll(env, exports);
  init_netns(env, exports);
  init_mppe(env, exports);
  init_fastrx(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
