/* Shared helpers for the N-API addon: every wrapper throws a JS Error whose
 * `code` is the errno name and whose message names the operation. */
#ifndef PPTPD_NATIVE_COMMON_H
#define PPTPD_NATIVE_COMMON_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* Throws an Error for `op` failing with `err`; always returns NULL so callers
 * can `return throw_errno(env, "op", errno);`. */
napi_value throw_errno(napi_env env, const char *op, int err);
napi_value throw_type(napi_env env, const char *msg);

/* Argument helpers: return 0 on success, or throw and return -1. */
int arg_count(napi_env env, napi_callback_info info, size_t want, napi_value *argv, napi_value *self);
int get_string(napi_env env, napi_value v, char *buf, size_t cap, const char *what);
int get_int32(napi_env env, napi_value v, int32_t *out, const char *what);
int get_uint32(napi_env env, napi_value v, uint32_t *out, const char *what);
int get_buffer(napi_env env, napi_value v, void **data, size_t *len, const char *what);

napi_value make_int(napi_env env, int64_t v);
napi_value make_bool(napi_env env, int v);
napi_value make_undefined(napi_env env);
/* Builds (without throwing) the same Error throw_errno would throw. */
napi_value make_errno_error(napi_env env, const char *op, int err);
/* Parses a dotted-quad IPv4 address into network byte order; throws a
 * TypeError and returns -1 when it is not one. */
int get_ipv4(napi_env env, napi_value v, uint32_t *out_be, const char *what);
/* Interface name argument (< IFNAMSIZ bytes, non-empty). */
int get_ifname(napi_env env, napi_value v, char *buf, const char *what);

/* poll.c's receive arena of this environment (created on first use), for
 * fastrx.c, which consumes a batch in place before JS sees it. Returns 0, or
 * throws and returns -1. The memory never moves while the environment lives. */
typedef struct {
  uint8_t *data;
  size_t data_len;
  uint32_t *offsets, *lengths, *sources;
  uint32_t slots;
} rx_arena_view_t;
int rx_arena_view(napi_env env, rx_arena_view_t *out);

void export_fn(napi_env env, napi_value exports, const char *name, napi_callback fn);

/* Module registration hooks, one per source file. */
void init_notify(napi_env env, napi_value exports);
void init_kppp(napi_env env, napi_value exports);
void init_arp(napi_env env, napi_value exports);
void init_tun(napi_env env, napi_value exports);
void init_ifconf(napi_env env, napi_value exports);
void init_raw(napi_env env, napi_value exports);
void init_poll(napi_env env, napi_value exports);
void init_netns(napi_env env, napi_value exports);
void init_mppe(napi_env env, napi_value exports);
void init_fastrx(napi_env env, napi_value exports);

#endif
