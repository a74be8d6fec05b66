/* Proxy ARP entries, as pppd's `proxyarp` makes them (sys-linux.c
 * sifproxyarp): a published, permanent ARP entry for the client's address on
 * the LAN interface whose subnet contains it, answering with that
 * interface's own hardware address. SIOCSARP on an AF_INET socket, so the
 * daemon needs no AF_PACKET. */
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include "common.h"

/* arpProxy(ifname: string, address: string, add: boolean): void */
static napi_value arp_proxy(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (arg_count(env, info, 3, argv, NULL)) return NULL;
  char name[IFNAMSIZ];
  uint32_t addr;
  bool add;
  if (get_ifname(env, argv[0], name, "ifname")) return NULL;
  if (get_ipv4(env, argv[1], &addr, "address")) return NULL;
  if (napi_get_value_bool(env, argv[2], &add) != napi_ok) return throw_type(env, "add must be a boolean");

  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return throw_errno(env, "socket(AF_INET)", errno);
  struct arpreq req;
  memset(&req, 0, sizeof req);
  struct sockaddr_in *pa = (struct sockaddr_in *)&req.arp_pa;
  pa->sin_family = AF_INET;
  pa->sin_addr.s_addr = addr;
  memcpy(req.arp_dev, name, strnlen(name, sizeof req.arp_dev - 1));
  req.arp_flags = ATF_PERM | ATF_PUBL;
  int rc;
  if (add) {
    /* The entry answers with the LAN interface's own hardware address. */
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
    if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
      int err = errno;
      close(s);
      return throw_errno(env, "ioctl(SIOCGIFHWADDR)", err);
    }
    memcpy(&req.arp_ha, &ifr.ifr_hwaddr, sizeof req.arp_ha);
    rc = ioctl(s, SIOCSARP, &req);
  } else {
    rc = ioctl(s, SIOCDARP, &req);
  }
  int err = rc < 0 ? errno : 0;
  close(s);
  if (err) return throw_errno(env, add ? "ioctl(SIOCSARP)" : "ioctl(SIOCDARP)", err);
  return make_undefined(env);
}

void init_arp(napi_env env, napi_value exports) {
  export_fn(env, exports, "arpProxy", arp_proxy);
}
