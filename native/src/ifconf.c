/* Interface configuration by ioctl/netlink, the way pppd's sys-linux.c does
 * it: no `ip` process per session, so 10,000 sessions stay cheap. Every call
 * opens its socket on the calling thread, so it acts in that thread's network
 * namespace (see netns.c). */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include "common.h"

static int inet_sock(void) { return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); }

/* Runs one ifreq ioctl on a fresh AF_INET socket; 0 or errno. */
static int if_ioctl(unsigned long req, struct ifreq *ifr) {
  int s = inet_sock();
  if (s < 0) return errno;
  int rc = ioctl(s, req, ifr);
  int err = rc < 0 ? errno : 0;
  close(s);
  return err;
}

int if_set_mtu_raw(const char *name, int mtu) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  ifr.ifr_mtu = mtu;
  return if_ioctl(SIOCSIFMTU, &ifr);
}

static void set_sin(struct sockaddr *sa, uint32_t be) {
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = be;
  memcpy(sa, &sin, sizeof sin);
}

/* ifSetMtu(name: string, mtu: number): void */
static napi_value if_set_mtu(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (arg_count(env, info, 2, argv, NULL)) return NULL;
  char name[IFNAMSIZ];
  int32_t mtu;
  if (get_ifname(env, argv[0], name, "name")) return NULL;
  if (get_int32(env, argv[1], &mtu, "mtu")) return NULL;
  if (mtu < 68 || mtu > 65535) return throw_type(env, "mtu must be 68..65535");
  int err = if_set_mtu_raw(name, mtu);
  if (err) return throw_errno(env, "ioctl(SIOCSIFMTU)", err);
  return make_undefined(env);
}

/* ifSetAddrs(name: string, local: string, peer: string): void
 * Point-to-point /32: local address, peer (destination) address, and the
 * all-ones netmask, as pppd's sifaddr() sets them. */
static napi_value if_set_addrs(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (arg_count(env, info, 3, argv, NULL)) return NULL;
  char name[IFNAMSIZ];
  uint32_t local, peer;
  if (get_ifname(env, argv[0], name, "name")) return NULL;
  if (get_ipv4(env, argv[1], &local, "local")) return NULL;
  if (get_ipv4(env, argv[2], &peer, "peer")) return NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, IFNAMSIZ);
  int s = inet_sock();
  if (s < 0) return throw_errno(env, "socket(AF_INET)", errno);
  set_sin(&ifr.ifr_addr, local);
  if (ioctl(s, SIOCSIFADDR, &ifr) < 0) goto fail_addr;
  set_sin(&ifr.ifr_dstaddr, peer);
  if (ioctl(s, SIOCSIFDSTADDR, &ifr) < 0) goto fail_dst;
  set_sin(&ifr.ifr_netmask, 0xffffffffu);
  if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0) goto fail_mask;
  close(s);
  return make_undefined(env);
  int err;
fail_addr:
  err = errno; close(s); return throw_errno(env, "ioctl(SIOCSIFADDR)", err);
fail_dst:
  err = errno; close(s); return throw_errno(env, "ioctl(SIOCSIFDSTADDR)", err);
fail_mask:
  err = errno; close(s); return throw_errno(env, "ioctl(SIOCSIFNETMASK)", err);
}

/* ifSetUp(name: string, up: boolean): void — toggles IFF_UP only; TUN
 * devices are already POINTOPOINT|NOARP and RUNNING is the kernel's. */
static napi_value if_set_up(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (arg_count(env, info, 2, argv, NULL)) return NULL;
  char name[IFNAMSIZ];
  bool up;
  if (get_ifname(env, argv[0], name, "name")) return NULL;
  if (napi_get_value_bool(env, argv[1], &up) != napi_ok) return throw_type(env, "up must be a boolean");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, IFNAMSIZ);
  int s = inet_sock();
  if (s < 0) return throw_errno(env, "socket(AF_INET)", errno);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
    int err = errno; close(s); return throw_errno(env, "ioctl(SIOCGIFFLAGS)", err);
  }
  if (up) ifr.ifr_flags |= IFF_UP; else ifr.ifr_flags &= ~IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
    int err = errno; close(s); return throw_errno(env, "ioctl(SIOCSIFFLAGS)", err);
  }
  close(s);
  return make_undefined(env);
}

/* ifExists(name: string): boolean */
static napi_value if_exists(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (arg_count(env, info, 1, argv, NULL)) return NULL;
  char name[IFNAMSIZ];
  if (get_ifname(env, argv[0], name, "name")) return NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, IFNAMSIZ);
  int err = if_ioctl(SIOCGIFINDEX, &ifr);
  if (err == 0) return make_bool(env, 1);
  if (err == ENODEV) return make_bool(env, 0);
  return throw_errno(env, "ioctl(SIOCGIFINDEX)", err);
}

static void set_num(napi_env env, napi_value obj, const char *key, uint64_t v) {
  napi_value n;
  napi_create_double(env, (double)v, &n);
  napi_set_named_property(env, obj, key, n);
}

#define STATS_BUF 32768

/* Asks rtnetlink for one link's IFLA_STATS64; 0 or errno. Netlink rather than
 * /sys because sysfs shows the namespace it was mounted in, not ours. */
static int link_stats(const char *name, struct rtnl_link_stats64 *out) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, IFNAMSIZ);
  int err = if_ioctl(SIOCGIFINDEX, &ifr);
  if (err) return err;
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) return errno;
  struct { struct nlmsghdr nh; struct ifinfomsg ifi; } req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_GETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = ifr.ifr_ifindex;
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  if (sendto(s, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
    err = errno; close(s); return err;
  }
  char *buf = malloc(STATS_BUF);
  if (!buf) { close(s); return ENOMEM; }
  ssize_t n = recv(s, buf, STATS_BUF, 0);
  err = n < 0 ? errno : ENOMSG;
  close(s);
  if (n > 0) {
    struct nlmsghdr *nh = (struct nlmsghdr *)buf;
    size_t left = (size_t)n;
    if (NLMSG_OK(nh, left)) {
      if (nh->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(nh);
        err = nh->nlmsg_len >= NLMSG_LENGTH(sizeof *e) && e->error < 0 ? -e->error : EPROTO;
      } else if (nh->nlmsg_type == RTM_NEWLINK && nh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg))) {
        struct rtattr *rta = IFLA_RTA(NLMSG_DATA(nh));
        int alen = (int)IFLA_PAYLOAD(nh);
        for (; RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen)) {
          if (rta->rta_type == IFLA_STATS64 && RTA_PAYLOAD(rta) >= sizeof *out) {
            memcpy(out, RTA_DATA(rta), sizeof *out);
            err = 0;
            break;
          }
        }
      }
    }
  }
  free(buf);
  return err;
}

/* ifStats(name: string): { rxPackets, rxBytes, txPackets, txBytes,
 *   rxErrors, txErrors, rxDropped, txDropped } */
static napi_value if_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (arg_count(env, info, 1, argv, NULL)) return NULL;
  char name[IFNAMSIZ];
  if (get_ifname(env, argv[0], name, "name")) return NULL;
  struct rtnl_link_stats64 st;
  int err = link_stats(name, &st);
  if (err) return throw_errno(env, "netlink(RTM_GETLINK)", err);
  napi_value r;
  napi_create_object(env, &r);
  set_num(env, r, "rxPackets", st.rx_packets);
  set_num(env, r, "rxBytes", st.rx_bytes);
  set_num(env, r, "txPackets", st.tx_packets);
  set_num(env, r, "txBytes", st.tx_bytes);
  set_num(env, r, "rxErrors", st.rx_errors);
  set_num(env, r, "txErrors", st.tx_errors);
  set_num(env, r, "rxDropped", st.rx_dropped);
  set_num(env, r, "txDropped", st.tx_dropped);
  return r;
}

void init_ifconf(napi_env env, napi_value exports) {
  export_fn(env, exports, "ifSetMtu", if_set_mtu);
  export_fn(env, exports, "ifSetAddrs", if_set_addrs);
  export_fn(env, exports, "ifSetUp", if_set_up);
  export_fn(env, exports, "ifExists", if_exists);
  export_fn(env, exports, "ifStats", if_stats);
}
