/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. */
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "common.h"

/* sdNotify(socketPath: string, message: string): boolean
 * A path starting with '@' is an abstract socket. Returns false when the
 * path is empty (not run under systemd); throws on a send failure. */
static napi_value sd_notify(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (arg_count(env, info, 2, argv, NULL)) return NULL;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
  char msg[4096];
  if (get_string(env, argv[0], path, sizeof path, "socketPath")) return NULL;
  if (get_string(env, argv[1], msg, sizeof msg, "message")) return NULL;
  size_t plen = strlen(path);
  if (plen == 0) return make_bool(env, 0);

  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (plen > sizeof sa.sun_path) return throw_errno(env, "sd_notify path", ENAMETOOLONG);
  memcpy(sa.sun_path, path, plen);
  if (path[0] == '@') sa.sun_path[0] = '\0';
  socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket(AF_UNIX)", errno);
  ssize_t n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
  int err = errno;
  close(fd);
  if (n < 0) return throw_errno(env, "sendto($NOTIFY_SOCKET)", err);
  return make_bool(env, 1);
}

void init_notify(napi_env env, napi_value exports) {
  export_fn(env, exports, "sdNotify", sd_notify);
}
