/* TUN devices: one non-persistent IFF_TUN|IFF_NO_PI interface per fd.
 * Closing the fd removes the interface, so a crashed daemon leaves nothing. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include "common.h"

/* Sets MTU through an AF_INET socket; 0 on success, else errno. */
int if_set_mtu_raw(const char *name, int mtu);

/* tunOpen(name: string, mtu?: number): { fd: number, name: string }
 * `name` is exact ("ppp3") or a kernel template ("ppp%d": the kernel picks
 * the lowest free number atomically under RTNL, which is pppd's naming).
 * An existing name throws EBUSY: a device attached elsewhere, a device that
 * is not a TUN, or a persistent TUN someone else left (never hijack it). */
static napi_value tun_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1) return throw_type(env, "expected 1 or 2 arguments");
  char name[IFNAMSIZ];
  if (get_ifname(env, argv[0], name, "name")) return NULL;
  int32_t mtu = 0;
  if (argc > 1) {
    napi_valuetype t;
    napi_typeof(env, argv[1], &t);
    if (t != napi_undefined) {
      if (get_int32(env, argv[1], &mtu, "mtu")) return NULL;
      if (mtu < 68 || mtu > 65535) return throw_type(env, "mtu must be 68..65535");
    }
  }

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, "open(/dev/net/tun)", errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  memcpy(ifr.ifr_name, name, IFNAMSIZ);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    /* The kernel says EINVAL when the name belongs to a non-TUN device. */
    if (err == EINVAL && strchr(name, '%') == NULL && if_nametoindex(name) != 0) err = EBUSY;
    return throw_errno(env, "ioctl(TUNSETIFF)", err);
  }
  struct ifreq got;
  memset(&got, 0, sizeof got);
  if (ioctl(fd, TUNGETIFF, &got) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "ioctl(TUNGETIFF)", err);
  }
  if (got.ifr_flags & IFF_PERSIST) {
    close(fd);
    return throw_errno(env, "ioctl(TUNSETIFF) on a persistent device", EBUSY);
  }
  if (mtu > 0) {
    int err = if_set_mtu_raw(ifr.ifr_name, mtu);
    if (err) {
      close(fd);
      return throw_errno(env, "ioctl(SIOCSIFMTU)", err);
    }
  }

  napi_value res, v;
  napi_create_object(env, &res);
  napi_create_int32(env, fd, &v);
  napi_set_named_property(env, res, "fd", v);
  ifr.ifr_name[IFNAMSIZ - 1] = '\0';
  napi_create_string_utf8(env, ifr.ifr_name, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, res, "name", v);
  return res;
}

/* closeFd(fd: number): void — for TUN and raw fds; stop their poller first. */
static napi_value close_fd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (arg_count(env, info, 1, argv, NULL)) return NULL;
  int32_t fd;
  if (get_int32(env, argv[0], &fd, "fd")) return NULL;
  if (fd < 0) return throw_type(env, "fd must be >= 0");
  /* Linux always releases the fd, even when close() reports EINTR. */
  if (close(fd) < 0 && errno != EINTR) return throw_errno(env, "close", errno);
  return make_undefined(env);
}

/* Closing a TUN fd unregisters its netdev under RTNL (synchronize_net,
 * 10-30 ms each): done on the loop thread, tearing down thousands of
 * sessions would freeze the daemon for minutes. closeFdAsync runs close()
 * on libuv's thread pool and settles a promise when the interface is gone.
 * The fd number stays allocated until then, so it cannot be reused early. */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int fd;
  int err;
} close_job_t;

static void close_execute(napi_env env, void *data) {
  close_job_t *j = data;
  j->err = (close(j->fd) < 0 && errno != EINTR) ? errno : 0;
}

static void close_complete(napi_env env, napi_status status, void *data) {
  close_job_t *j = data;
  if (status == napi_ok && j->err == 0) {
    napi_resolve_deferred(env, j->deferred, make_undefined(env));
  } else {
    napi_reject_deferred(env, j->deferred, make_errno_error(env, "close", j->err ? j->err : EIO));
  }
  napi_delete_async_work(env, j->work);
  free(j);
}

/* closeFdAsync(fd: number): Promise<void> */
static napi_value close_fd_async(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (arg_count(env, info, 1, argv, NULL)) return NULL;
  int32_t fd;
  if (get_int32(env, argv[0], &fd, "fd")) return NULL;
  if (fd < 0) return throw_type(env, "fd must be >= 0");
  close_job_t *j = calloc(1, sizeof *j);
  if (!j) return throw_errno(env, "calloc(close job)", ENOMEM);
  j->fd = fd;
  napi_value promise, name;
  napi_create_string_utf8(env, "pptpd:close", NAPI_AUTO_LENGTH, &name);
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok ||
      napi_create_async_work(env, NULL, name, close_execute, close_complete, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok) {
    /* Could not queue: close here rather than leak the interface. */
    close(fd);
    free(j);
    return throw_errno(env, "napi_queue_async_work(close)", ENOMEM);
  }
  return promise;
}

void init_tun(napi_env env, napi_value exports) {
  export_fn(env, exports, "tunOpen", tun_open);
  export_fn(env, exports, "closeFd", close_fd);
  export_fn(env, exports, "closeFdAsync", close_fd_async);
}
