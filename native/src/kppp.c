/* Kernel PPP primitives: the AF_PPPOX/PX_PROTO_PPTP channel (the kernel's
 * pptp.ko does GRE), /dev/ppp channel and unit fds (ppp_generic gives the
 * pppN interface) and kernel MPPE keys (ppp_mppe). Each export is a thin
 * system-call wrapper; failures throw the errno name + operation.
 *
 * Frame format on /dev/ppp fds (both channel and unit, read and write): the
 * PPP protocol field (2 bytes, never compressed) then the information field;
 * no FF 03 address/control, no FCS. pptp.ko strips a received FF 03 and
 * re-expands a PFC-compressed protocol; on transmit it adds FF 03 unless
 * SC_COMP_AC is set on the channel (and always for LCP).
 *
 * Which fd carries what once the channel is connected to a unit
 * (ppp_generic ppp_input): protocols >= 0xC000 (LCP, PAP, CHAP, EAP) and
 * CCP-fragments stay on the CHANNEL fd; everything else that is not a data
 * protocol (CCP 0x80FD, IPCP 0x8021, IPV6CP 0x8057) goes to the UNIT fd.
 * Kernel MPPE only starts when the CCP Configure-Ack frames pass through
 * the unit (ppp_ccp_peek), so CCP must be read from / written to the unit. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_pppox.h>
#include <linux/ppp-ioctl.h>
#include <linux/ppp_defs.h>
#include "common.h"

#ifndef CI_MPPE
#define CI_MPPE 18
#endif
#define CILEN_MPPE 6
#define MPPE_KEY_LEN 16
/* Longest frame accepted by pppWrite: a control frame never comes close;
 * this only stops an absurd length reaching the kernel's allocator. */
#define MAX_WRITE 65535

/* ---- argument and result helpers (every export below is built from them) ---- */

/* A TypeError with a formatted message; returns -1 for `return throw_typef(...)`. */
static int throw_typef(napi_env env, const char *fmt, ...) {
  char msg[128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  throw_type(env, msg);
  return -1;
}

static int get_fd(napi_env env, napi_value v, int32_t *fd) {
  if (get_int32(env, v, fd, "fd")) return -1;
  if (*fd < 0) { throw_type(env, "fd must be >= 0"); return -1; }
  return 0;
}

/* Exactly `n` arguments, the first a file descriptor. */
static int fd_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, int32_t *fd) {
  if (arg_count(env, info, n, argv, NULL)) return -1;
  return get_fd(env, argv[0], fd);
}

/* An int32 argument in min..max; `range` says which in the TypeError
 * ("unit must be >= 0"), so each caller keeps its own wording. */
static int get_int_in(napi_env env, napi_value v, int32_t *out, const char *what, int32_t min, int32_t max, const char *range) {
  if (get_int32(env, v, out, what)) return -1;
  if (*out < min || *out > max) { throw_type(env, range); return -1; }
  return 0;
}

static int get_call_id(napi_env env, napi_value v, uint32_t *out, uint32_t min, const char *what) {
  if (get_uint32(env, v, out, what)) return -1;
  if (*out < min || *out > 0xFFFF) return throw_typef(env, "%s must be %u..65535", what, min);
  return 0;
}

/* An ioctl whose only result is success: undefined, or the errno thrown
 * as `op` (errno is read before anything else can change it). */
static napi_value ioctl_done(napi_env env, int rc, const char *op) {
  if (rc < 0) return throw_errno(env, op, errno);
  return make_undefined(env);
}

/* A set-up step failed on a fresh fd: close it (keeping errno) and throw. */
static napi_value close_and_throw(napi_env env, int fd, const char *op) {
  int err = errno;
  close(fd);
  return throw_errno(env, op, err);
}

/* A read()/write() result: the byte count, -1 when the fd would block, or throw. */
static napi_value io_result(napi_env env, ssize_t n, const char *op) {
  if (n >= 0) return make_int(env, n);
  if (errno == EAGAIN) return make_int(env, -1);
  return throw_errno(env, op, errno);
}

/* (fd, buffer) arguments of pppRead/pppWrite. */
static int fd_buffer_args(napi_env env, napi_callback_info info, int32_t *fd, void **buf, size_t *len, const char *what) {
  napi_value argv[2];
  if (fd_args(env, info, 2, argv, fd)) return -1;
  return get_buffer(env, argv[1], buf, len, what);
}

static void pptp_addr(struct sockaddr_pppox *sp, uint32_t call_id, uint32_t ip_be) {
  memset(sp, 0, sizeof *sp);
  sp->sa_family = AF_PPPOX;
  sp->sa_protocol = PX_PROTO_PPTP;
  /* pptp.ko compares call_id in HOST byte order (it converts the GRE key). */
  sp->sa_addr.pptp.call_id = (uint16_t)call_id;
  sp->sa_addr.pptp.sin_addr.s_addr = ip_be;
}

/* pptpChannelOpen(localIp, localCallId, peerIp, peerCallId): fd
 * localCallId 1..65535 (pptp.ko keeps ONE global bitmap: a local call id is
 * unique per host, whatever the peer — EBUSY if taken); peerCallId 0..65535
 * (EALREADY if this peer+call id is already connected). */
static napi_value pptp_channel_open(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (arg_count(env, info, 4, argv, NULL)) return NULL;
  uint32_t local_ip, peer_ip, local_id, peer_id;
  if (get_ipv4(env, argv[0], &local_ip, "localIp")) return NULL;
  if (get_call_id(env, argv[1], &local_id, 1, "localCallId")) return NULL;
  if (get_ipv4(env, argv[2], &peer_ip, "peerIp")) return NULL;
  if (get_call_id(env, argv[3], &peer_id, 0, "peerCallId")) return NULL;
  if (local_ip == 0 || peer_ip == 0) return throw_type(env, "localIp and peerIp must not be 0.0.0.0");

  int fd = socket(AF_PPPOX, SOCK_STREAM | SOCK_CLOEXEC, PX_PROTO_PPTP);
  if (fd < 0) return throw_errno(env, "socket(AF_PPPOX, PX_PROTO_PPTP)", errno);
  struct sockaddr_pppox sp;
  pptp_addr(&sp, local_id, local_ip);
  if (bind(fd, (struct sockaddr *)&sp, sizeof sp) < 0) return close_and_throw(env, fd, "bind(pptp)");
  pptp_addr(&sp, peer_id, peer_ip);
  if (connect(fd, (struct sockaddr *)&sp, sizeof sp) < 0) return close_and_throw(env, fd, "connect(pptp)");
  return make_int(env, fd);
}

/* pptpChannelIndex(fd): number — the ppp_generic channel index. */
static napi_value pptp_channel_index(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (fd_args(env, info, 1, argv, &fd)) return NULL;
  int idx = -1;
  if (ioctl(fd, PPPIOCGCHAN, &idx) < 0) return throw_errno(env, "ioctl(PPPIOCGCHAN)", errno);
  return make_int(env, idx);
}

/* (fd, int in min..max) → ioctl(fd, req, &int) → undefined. */
static napi_value fd_int_ioctl(napi_env env, napi_callback_info info, unsigned long req, const char *op,
                               const char *what, int32_t min, int32_t max, const char *range) {
  napi_value argv[2];
  int32_t fd, v;
  if (fd_args(env, info, 2, argv, &fd) || get_int_in(env, argv[1], &v, what, min, max, range)) return NULL;
  return ioctl_done(env, ioctl(fd, req, &v), op);
}

/* A /dev/ppp fd made into a channel or unit fd by one ioctl taking an int
 * (which the kernel may update); -1 after throwing. */
static int open_ppp(napi_env env, unsigned long req, int32_t *arg, const char *op) {
  int fd = open("/dev/ppp", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    throw_errno(env, "open(/dev/ppp)", errno);
    return -1;
  }
  if (ioctl(fd, req, arg) < 0) {
    close_and_throw(env, fd, op);
    return -1;
  }
  return fd;
}

/* pppOpenChannel(chanIndex): fd — a /dev/ppp fd attached to the channel. */
static napi_value ppp_open_channel(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t idx;
  if (arg_count(env, info, 1, argv, NULL) ||
      get_int_in(env, argv[0], &idx, "chanIndex", 0, INT32_MAX, "chanIndex must be >= 0"))
    return NULL;
  int fd = open_ppp(env, PPPIOCATTCHAN, &idx, "ioctl(PPPIOCATTCHAN)");
  return fd < 0 ? NULL : make_int(env, fd);
}

/* pppNewUnit(unit): { fd, unit } — unit -1 = the lowest free. The interface is
 * 'ppp' + unit; it lives as long as this fd stays open. */
static napi_value ppp_new_unit(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t unit;
  if (arg_count(env, info, 1, argv, NULL) ||
      get_int_in(env, argv[0], &unit, "unit", -1, INT32_MAX, "unit must be -1 (any) or >= 0"))
    return NULL;
  int fd = open_ppp(env, PPPIOCNEWUNIT, &unit, "ioctl(PPPIOCNEWUNIT)");
  if (fd < 0) return NULL;
  napi_value res;
  napi_create_object(env, &res);
  napi_set_named_property(env, res, "fd", make_int(env, fd));
  napi_set_named_property(env, res, "unit", make_int(env, unit));
  return res;
}

/* pppConnect(chanFd, unit): void */
static napi_value ppp_connect(napi_env env, napi_callback_info info) {
  return fd_int_ioctl(env, info, PPPIOCCONNECT, "ioctl(PPPIOCCONNECT)", "unit", 0, INT32_MAX, "unit must be >= 0");
}

/* pppDisconnect(chanFd): void */
static napi_value ppp_disconnect(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (fd_args(env, info, 1, argv, &fd)) return NULL;
  return ioctl_done(env, ioctl(fd, PPPIOCDISCONN), "ioctl(PPPIOCDISCONN)");
}

/* pppSetMru(unitFd, mru): void */
static napi_value ppp_set_mru(napi_env env, napi_callback_info info) {
  return fd_int_ioctl(env, info, PPPIOCSMRU, "ioctl(PPPIOCSMRU)", "mru", 64, 65535, "mru must be 64..65535");
}

/* pppGetFlags(fd): number — unit fd: SC_CCP_OPEN/UP, SC_COMP_RUN, SC_DC_*…;
 * channel fd: the channel driver's SC_COMP_PROT/SC_COMP_AC. */
static napi_value ppp_get_flags(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (fd_args(env, info, 1, argv, &fd)) return NULL;
  int flags = 0;
  if (ioctl(fd, PPPIOCGFLAGS, &flags) < 0) return throw_errno(env, "ioctl(PPPIOCGFLAGS)", errno);
  return make_int(env, (uint32_t)flags);
}

/* pppSetFlags(fd, flags): void — replaces the flags word (read-modify-write
 * in JS). Clearing SC_CCP_OPEN on a unit frees its MPPE state. */
static napi_value ppp_set_flags(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  uint32_t flags;
  if (fd_args(env, info, 2, argv, &fd) || get_uint32(env, argv[1], &flags, "flags")) return NULL;
  int v = (int)flags;
  return ioctl_done(env, ioctl(fd, PPPIOCSFLAGS, &v), "ioctl(PPPIOCSFLAGS)");
}

/* pppSetNpMode(unitFd, protocol, mode): void — protocol e.g. 0x21 (IPv4),
 * 0x57 (IPv6); mode 0 pass, 1 drop, 2 error, 3 queue. */
static napi_value ppp_set_np_mode(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  uint32_t proto, mode;
  if (fd_args(env, info, 3, argv, &fd) ||
      get_uint32(env, argv[1], &proto, "protocol") || get_uint32(env, argv[2], &mode, "mode"))
    return NULL;
  if (proto > 0xFFFF) return throw_type(env, "protocol must be 0..0xffff");
  if (mode > NPMODE_QUEUE) return throw_type(env, "mode must be 0..3");
  struct npioctl np;
  memset(&np, 0, sizeof np);
  np.protocol = (int)proto;
  np.mode = (enum NPmode)mode;
  return ioctl_done(env, ioctl(fd, PPPIOCSNPMODE, &np), "ioctl(PPPIOCSNPMODE)");
}

static int get_prop(napi_env env, napi_value obj, const char *name, napi_value *out) {
  bool has = false;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) {
    return throw_typef(env, "options.%s is required", name);
  }
  return napi_get_named_property(env, obj, name, out) == napi_ok ? 0 : -1;
}

static int get_bool_prop(napi_env env, napi_value obj, const char *name, bool *out) {
  napi_value v;
  if (get_prop(env, obj, name, &v)) return -1;
  if (napi_get_value_bool(env, v, out) != napi_ok) return throw_typef(env, "options.%s must be a boolean", name);
  return 0;
}

/* pppSetCompress(unitFd, { transmit, key: 16 bytes, bits: 40|128, stateless }):
 * installs an MPPE (de)compressor state with its start key (ppp_mppe
 * mppe_alloc: option CI_MPPE, CILEN_MPPE, 4 option bytes, then the key).
 * It only RUNS after SC_CCP_OPEN is set and a CCP Configure-Ack carrying
 * the MPPE option alone passes through the unit fd (outbound ack →
 * transmit side, inbound ack → receive side). The key bytes are wiped
 * from the C stack before returning. */
static napi_value ppp_set_compress(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  if (fd_args(env, info, 2, argv, &fd)) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t != napi_object) return throw_type(env, "options must be an object");
  bool transmit, stateless;
  napi_value kv, bv;
  void *key;
  size_t key_len;
  uint32_t bits;
  if (get_bool_prop(env, argv[1], "transmit", &transmit) ||
      get_bool_prop(env, argv[1], "stateless", &stateless) ||
      get_prop(env, argv[1], "key", &kv) || get_buffer(env, kv, &key, &key_len, "options.key") ||
      get_prop(env, argv[1], "bits", &bv) || get_uint32(env, bv, &bits, "options.bits"))
    return NULL;
  if (key_len != MPPE_KEY_LEN) return throw_type(env, "options.key must be 16 bytes");
  if (bits != 40 && bits != 128) return throw_type(env, "options.bits must be 40 or 128");

  unsigned char opt[CILEN_MPPE + MPPE_KEY_LEN];
  /* RFC 3078 option bytes: H (stateless) in the first, S/L in the last. */
  opt[0] = CI_MPPE;
  opt[1] = CILEN_MPPE;
  opt[2] = stateless ? 0x01 : 0x00;
  opt[3] = 0;
  opt[4] = 0;
  opt[5] = bits == 128 ? 0x40 : 0x20;
  memcpy(opt + CILEN_MPPE, key, MPPE_KEY_LEN);
  struct ppp_option_data d;
  memset(&d, 0, sizeof d);
  d.ptr = opt;
  d.length = sizeof opt;
  d.transmit = transmit ? 1 : 0;
  int rc = ioctl(fd, PPPIOCSCOMPRESS, &d);
  int err = errno;
  explicit_bzero(opt, sizeof opt);
  /* ENOBUFS from the kernel means mppe_alloc refused (also: FIPS mode). */
  if (rc < 0) return throw_errno(env, transmit ? "ioctl(PPPIOCSCOMPRESS, transmit)" : "ioctl(PPPIOCSCOMPRESS, receive)", err);
  return make_undefined(env);
}

/* pppGetIdle(unitFd): { xmit, recv } — seconds since the last data
 * (network-protocol) packet each way. */
static napi_value ppp_get_idle(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (fd_args(env, info, 1, argv, &fd)) return NULL;
  struct ppp_idle64 idle;
  memset(&idle, 0, sizeof idle);
  if (ioctl(fd, PPPIOCGIDLE64, &idle) < 0) return throw_errno(env, "ioctl(PPPIOCGIDLE)", errno);
  napi_value res;
  napi_create_object(env, &res);
  napi_set_named_property(env, res, "xmit", make_int(env, idle.xmit_idle));
  napi_set_named_property(env, res, "recv", make_int(env, idle.recv_idle));
  return res;
}

/* pppRead(fd, buf): number — one frame (protocol field first) into buf;
 * -1 when nothing is queued (EAGAIN); 0 at end of file: the channel died
 * (its socket closed) or, on a unit fd, no channel is connected. A frame
 * longer than buf is dropped by the kernel and throws EOVERFLOW. */
static napi_value ppp_read(napi_env env, napi_callback_info info) {
  int32_t fd;
  void *buf;
  size_t cap;
  if (fd_buffer_args(env, info, &fd, &buf, &cap, "buf")) return NULL;
  ssize_t n;
  do n = read(fd, buf, cap);
  while (n < 0 && errno == EINTR);
  return io_result(env, n, "read(ppp)");
}

/* pppWrite(fd, frame): number — frame = protocol (2 bytes) + information. */
static napi_value ppp_write(napi_env env, napi_callback_info info) {
  int32_t fd;
  void *buf;
  size_t len;
  if (fd_buffer_args(env, info, &fd, &buf, &len, "frame")) return NULL;
  if (len < 2 || len > MAX_WRITE) return throw_type(env, "frame must be 2..65535 bytes (protocol field first)");
  ssize_t n;
  do n = write(fd, buf, len);
  while (n < 0 && errno == EINTR);
  return io_result(env, n, "write(ppp)");
}

static void set_compstat(napi_env env, napi_value obj, const char *name, const struct compstat *c) {
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "uncBytes", make_int(env, c->unc_bytes));
  napi_set_named_property(env, o, "uncPackets", make_int(env, c->unc_packets));
  napi_set_named_property(env, o, "compBytes", make_int(env, c->comp_bytes));
  napi_set_named_property(env, o, "compPackets", make_int(env, c->comp_packets));
  napi_set_named_property(env, o, "incBytes", make_int(env, c->inc_bytes));
  napi_set_named_property(env, o, "incPackets", make_int(env, c->inc_packets));
  napi_set_named_property(env, obj, name, o);
}

/* pppCompStats(ifname): { compress, decompress } — the (de)compressor
 * counters of a ppp interface (SIOCGPPPCSTATS); all 0 until MPPE runs. */
static napi_value ppp_comp_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char name[IFNAMSIZ];
  if (arg_count(env, info, 1, argv, NULL) || get_ifname(env, argv[0], name, "ifname")) return NULL;
  struct ppp_comp_stats cs;
  memset(&cs, 0, sizeof cs);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, IFNAMSIZ);
  ifr.ifr_data = (void *)&cs;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return throw_errno(env, "socket(AF_INET)", errno);
  int rc = ioctl(s, SIOCGPPPCSTATS, &ifr);
  int err = errno;
  close(s);
  if (rc < 0) return throw_errno(env, "ioctl(SIOCGPPPCSTATS)", err);
  napi_value res;
  napi_create_object(env, &res);
  set_compstat(env, res, "compress", &cs.c);
  set_compstat(env, res, "decompress", &cs.d);
  return res;
}

void init_kppp(napi_env env, napi_value exports) {
  export_fn(env, exports, "pptpChannelOpen", pptp_channel_open);
  export_fn(env, exports, "pptpChannelIndex", pptp_channel_index);
  export_fn(env, exports, "pppOpenChannel", ppp_open_channel);
  export_fn(env, exports, "pppNewUnit", ppp_new_unit);
  export_fn(env, exports, "pppConnect", ppp_connect);
  export_fn(env, exports, "pppDisconnect", ppp_disconnect);
  export_fn(env, exports, "pppSetMru", ppp_set_mru);
  export_fn(env, exports, "pppGetFlags", ppp_get_flags);
  export_fn(env, exports, "pppSetFlags", ppp_set_flags);
  export_fn(env, exports, "pppSetNpMode", ppp_set_np_mode);
  export_fn(env, exports, "pppSetCompress", ppp_set_compress);
  export_fn(env, exports, "pppGetIdle", ppp_get_idle);
  export_fn(env, exports, "pppRead", ppp_read);
  export_fn(env, exports, "pppWrite", ppp_write);
  export_fn(env, exports, "pppCompStats", ppp_comp_stats);
}
