/* TUN devices: one non-persistent IFF_TUN|IFF_NO_PI interface per fd.
 * Closing the fd removes the interface, so a crashed daemon leaves nothing. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
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


/* Opening a TUN interface (TUNSETIFF registers a netdev under RTNL) and
 * configuring it (MTU, addresses, up: each a netdev notifier chain under
 * RTNL) costs ~2 ms of kernel time per session; on the loop thread that
 * caps set-up at a few hundred sessions/s and stalls every other session.
 * These jobs run on libuv's thread pool: tunOpenAsync (open only),
 * ifConfigureAsync (configure only) and tunOpenConfiguredAsync (both).
 * The /dev/net/tun fd and the AF_INET ioctl socket are created HERE, on the
 * calling thread: a device lives in its opener's network namespace and the
 * ioctls act in the socket's, so a caller that moved its thread with
 * netnsEnter gets its interface there, not in the pool thread's namespace. */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int fd;   /* -1: configure an existing interface by name */
  int sock;
  int mtu;  /* 0: open only */
  uint32_t local_be, peer_be;
  char name[IFNAMSIZ];
  const char *failed_op; /* static string naming the failed step */
  int err;
} tun_job_t;

static int set_addr(int s, struct ifreq *ifr, unsigned long req, uint32_t be) {
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = be;
  memcpy(&ifr->ifr_addr, &sin, sizeof sin); /* ifr_addr/dstaddr/netmask share the union */
  return ioctl(s, req, ifr);
}

#define FAIL(op) do { j->failed_op = op; j->err = errno; return -1; } while (0)

/* TUNSETIFF on j->fd; j->name becomes the kernel's name. 0 or -1 (j->err set). */
static int job_open(tun_job_t *j) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  memcpy(ifr.ifr_name, j->name, IFNAMSIZ);
  if (ioctl(j->fd, TUNSETIFF, &ifr) < 0) {
    j->failed_op = "ioctl(TUNSETIFF)";
    j->err = errno;
    if (j->err == EINVAL && strchr(j->name, '%') == NULL) {
      /* Not if_nametoindex(): that would ask this pool thread's namespace. */
      struct ifreq q;
      memset(&q, 0, sizeof q);
      memcpy(q.ifr_name, j->name, IFNAMSIZ);
      if (ioctl(j->sock, SIOCGIFINDEX, &q) == 0) j->err = EBUSY;
    }
    return -1;
  }
  struct ifreq got;
  memset(&got, 0, sizeof got);
  if (ioctl(j->fd, TUNGETIFF, &got) < 0) FAIL("ioctl(TUNGETIFF)");
  if (got.ifr_flags & IFF_PERSIST) {
    j->failed_op = "ioctl(TUNSETIFF) on a persistent device";
    j->err = EBUSY;
    return -1;
  }
  ifr.ifr_name[IFNAMSIZ - 1] = '\0';
  memcpy(j->name, ifr.ifr_name, IFNAMSIZ);
  return 0;
}

/* MTU, /32 point-to-point addresses, IFF_UP on j->name via j->sock. */
static int job_configure(tun_job_t *j) {
  struct ifreq r;
  memset(&r, 0, sizeof r);
  memcpy(r.ifr_name, j->name, IFNAMSIZ);
  r.ifr_mtu = j->mtu;
  if (ioctl(j->sock, SIOCSIFMTU, &r) < 0) FAIL("ioctl(SIOCSIFMTU)");
  if (set_addr(j->sock, &r, SIOCSIFADDR, j->local_be) < 0) FAIL("ioctl(SIOCSIFADDR)");
  if (set_addr(j->sock, &r, SIOCSIFDSTADDR, j->peer_be) < 0) FAIL("ioctl(SIOCSIFDSTADDR)");
  if (set_addr(j->sock, &r, SIOCSIFNETMASK, 0xffffffffu) < 0) FAIL("ioctl(SIOCSIFNETMASK)");
  memset(&r, 0, sizeof r);
  memcpy(r.ifr_name, j->name, IFNAMSIZ);
  if (ioctl(j->sock, SIOCGIFFLAGS, &r) < 0) FAIL("ioctl(SIOCGIFFLAGS)");
  r.ifr_flags |= IFF_UP;
  if (ioctl(j->sock, SIOCSIFFLAGS, &r) < 0) FAIL("ioctl(SIOCSIFFLAGS)");
  return 0;
}
#undef FAIL

/* Runs on a pool thread: no napi calls here. */
static void tun_job_execute(napi_env env, void *data) {
  tun_job_t *j = data;
  int rc = 0;
  if (j->fd >= 0) rc = job_open(j);
  if (rc == 0 && j->mtu > 0) rc = job_configure(j);
  close(j->sock);
  j->sock = -1;
  if (rc < 0 && j->fd >= 0) {
    /* Closing the fd removes a half-made interface; still off the loop. */
    close(j->fd);
    j->fd = -1;
  }
}

static void tun_job_complete(napi_env env, napi_status status, void *data) {
  tun_job_t *j = data;
  if (status == napi_ok && j->err == 0) {
    napi_value res, v;
    napi_create_object(env, &res);
    napi_create_int32(env, j->fd, &v);
    napi_set_named_property(env, res, "fd", v);
    napi_create_string_utf8(env, j->name, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, res, "name", v);
    napi_resolve_deferred(env, j->deferred, res);
  } else {
    /* status != napi_ok: cancelled before running (environment teardown). */
    if (status != napi_ok && j->fd >= 0) close(j->fd);
    if (j->sock >= 0) close(j->sock);
    napi_reject_deferred(env, j->deferred,
                         make_errno_error(env, j->failed_op ? j->failed_op : "tun job", j->err ? j->err : ECANCELED));
  }
  napi_delete_async_work(env, j->work);
  free(j);
}

/* Parses (name, [mtu, local, peer]) and queues a job; returns its promise or
 * NULL after throwing. open: make a new TUN; conf: configure it. */
static napi_value tun_job_start(napi_env env, napi_callback_info info, int open_it, int conf) {
  napi_value argv[4];
  size_t want = conf ? 4 : 1;
  if (arg_count(env, info, want, argv, NULL)) return NULL;
  char name[IFNAMSIZ];
  int32_t mtu = 0;
  uint32_t local = 0, peer = 0;
  if (get_ifname(env, argv[0], name, "name")) return NULL;
  if (conf) {
    if (get_int32(env, argv[1], &mtu, "mtu")) return NULL;
    if (mtu < 68 || mtu > 65535) return throw_type(env, "mtu must be 68..65535");
    if (get_ipv4(env, argv[2], &local, "local")) return NULL;
    if (get_ipv4(env, argv[3], &peer, "peer")) return NULL;
  }
  tun_job_t *j = calloc(1, sizeof *j);
  if (!j) return throw_errno(env, "calloc(tun job)", ENOMEM);
  memcpy(j->name, name, IFNAMSIZ);
  j->mtu = mtu;
  j->local_be = local;
  j->peer_be = peer;
  j->fd = -1;
  if (open_it) {
    j->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (j->fd < 0) {
      int err = errno;
      free(j);
      return throw_errno(env, "open(/dev/net/tun)", err);
    }
  }
  j->sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (j->sock < 0) {
    int err = errno;
    if (j->fd >= 0) close(j->fd);
    free(j);
    return throw_errno(env, "socket(AF_INET)", err);
  }
  napi_value promise, rname;
  napi_create_string_utf8(env, "pptpd:tun-job", NAPI_AUTO_LENGTH, &rname);
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok ||
      napi_create_async_work(env, NULL, rname, tun_job_execute, tun_job_complete, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok) {
    close(j->sock);
    if (j->fd >= 0) close(j->fd);
    free(j);
    return throw_errno(env, "napi_queue_async_work(tun job)", ENOMEM);
  }
  return promise;
}

/* tunOpenConfiguredAsync(name, mtu, local, peer): Promise<{ fd, name }>
 * As tunOpen + ifSetMtu + ifSetAddrs + ifSetUp(true), off the event loop.
 * On any failure the interface is removed and the promise rejects with the
 * errno Error of the failing step. */
static napi_value tun_open_configured_async(napi_env env, napi_callback_info info) {
  return tun_job_start(env, info, 1, 1);
}

/* tunOpenAsync(name): Promise<{ fd, name }> — tunOpen off the event loop. */
static napi_value tun_open_async(napi_env env, napi_callback_info info) {
  return tun_job_start(env, info, 1, 0);
}

/* ifConfigureAsync(name, mtu, local, peer): Promise<{ fd: -1, name }> —
 * ifSetMtu + ifSetAddrs + ifSetUp(true) off the event loop. */
static napi_value if_configure_async(napi_env env, napi_callback_info info) {
  return tun_job_start(env, info, 0, 1);
}

void init_tun(napi_env env, napi_value exports) {
  export_fn(env, exports, "tunOpen", tun_open);
  export_fn(env, exports, "closeFd", close_fd);
  export_fn(env, exports, "closeFdAsync", close_fd_async);
  export_fn(env, exports, "tunOpenConfiguredAsync", tun_open_configured_async);
  export_fn(env, exports, "tunOpenAsync", tun_open_async);
  export_fn(env, exports, "ifConfigureAsync", if_configure_async);
}
