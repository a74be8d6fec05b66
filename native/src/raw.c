/* Raw IPv4 sockets for GRE (protocol 47): received packets carry the IPv4
 * header; sent packets get theirs from the kernel (no IP_HDRINCL). */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>
#include "common.h"

/* 4 MiB: a burst from hundreds of sessions must not overflow between two
 * turns of the event loop. */
#define RAW_BUF_BYTES (4 * 1024 * 1024)

static void big_buffer(int fd, int force_opt, int opt) {
  int v = RAW_BUF_BYTES;
  /* The FORCE variants ignore rmem_max/wmem_max but need CAP_NET_ADMIN. */
  if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof v) < 0)
    (void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v);
}

/* rawOpen(protocol: number, bindAddress?: string): number (fd) */
static napi_value raw_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1) return throw_type(env, "expected 1 or 2 arguments");
  int32_t proto;
  if (get_int32(env, argv[0], &proto, "protocol")) return NULL;
  if (proto < 1 || proto > 254) return throw_type(env, "protocol must be 1..254");
  uint32_t bind_be = 0;
  int do_bind = 0;
  if (argc > 1) {
    napi_valuetype t;
    napi_typeof(env, argv[1], &t);
    if (t != napi_undefined) {
      if (get_ipv4(env, argv[1], &bind_be, "bindAddress")) return NULL;
      do_bind = 1;
    }
  }
  int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) return throw_errno(env, "socket(AF_INET, SOCK_RAW)", errno);
  big_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
  big_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
  if (do_bind) {
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = bind_be;
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
      int err = errno;
      close(fd);
      return throw_errno(env, "bind(SOCK_RAW)", err);
    }
  }
  return make_int(env, fd);
}

void init_raw(napi_env env, napi_value exports) {
  export_fn(env, exports, "rawOpen", raw_open);
}
