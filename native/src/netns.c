/* Network namespace switching for tests and tools (never the daemon's
 * normal path). setns(2) moves only the CALLING THREAD: libuv's threadpool
 * stays in the old namespace, so only sockets/fds created synchronously on
 * the main thread (all of this addon's calls, spawn of child processes) land
 * in the new one. /sys keeps showing the namespace it was mounted in. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include "common.h"

/* netnsEnter(path: string): number — enters the namespace at `path` (e.g.
 * /run/netns/NAME) and returns an fd of the one left, for netnsReturn. */
static napi_value netns_enter(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (arg_count(env, info, 1, argv, NULL)) return NULL;
  char path[4096];
  if (get_string(env, argv[0], path, sizeof path, "path")) return NULL;
  int old = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (old < 0) return throw_errno(env, "open(/proc/thread-self/ns/net)", errno);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    close(old);
    return throw_errno(env, "open(netns)", err);
  }
  if (setns(fd, CLONE_NEWNET) < 0) {
    int err = errno;
    close(fd);
    close(old);
    return throw_errno(env, "setns", err);
  }
  close(fd);
  return make_int(env, old);
}

/* netnsReturn(fd: number): void — enters the namespace fd and closes it. */
static napi_value netns_return(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (arg_count(env, info, 1, argv, NULL)) return NULL;
  int32_t fd;
  if (get_int32(env, argv[0], &fd, "fd")) return NULL;
  if (fd < 0) return throw_type(env, "fd must be >= 0");
  int rc = setns(fd, CLONE_NEWNET);
  int err = errno;
  close(fd);
  if (rc < 0) return throw_errno(env, "setns", err);
  return make_undefined(env);
}

void init_netns(napi_env env, napi_value exports) {
  export_fn(env, exports, "netnsEnter", netns_enter);
  export_fn(env, exports, "netnsReturn", netns_return);
}
