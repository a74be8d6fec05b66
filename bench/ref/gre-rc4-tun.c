/* The data-path benchmark's C reference ("the practical limit"): one raw GRE
 * socket → enhanced-GRE parse → stateless MPPE-128 decrypt (rekey per packet)
 * → write() to the session's TUN interface, recvmmsg 64 at a time. No acks,
 * no reordering, no control plane: the least work the datapath can do.
 *   gre-rc4-tun BIND_ADDR SESSIONS   (TUN names gref0..; keys as the blaster's)
 * Prints READY once the interfaces exist; on SIGTERM prints counters. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "mppe-ref.h"

#define BATCH 64
#define SLOT 2048

static volatile sig_atomic_t stop;
static void on_term(int s) { (void)s; stop = 1; }

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: %s BIND_ADDR SESSIONS\n", argv[0]); return 2; }
  int n = atoi(argv[2]);
  if (n < 1 || n > 4096) return 2;
  int *tun = calloc(n, sizeof *tun);
  mppe_dir_t *rx = calloc(n, sizeof *rx);
  for (int i = 0; i < n; i++) {
    tun[i] = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, IFNAMSIZ, "gref%d", i);
    if (tun[i] < 0 || ioctl(tun[i], TUNSETIFF, &ifr) < 0) { perror("tun"); return 1; }
    uint8_t key[16];
    for (int j = 0; j < 16; j++) key[j] = (uint8_t)(i * 31 + j * 7 + 1);
    mppe_init(&rx[i], key);
  }
  int s = socket(AF_INET, SOCK_RAW, IPPROTO_GRE);
  struct sockaddr_in sin = {.sin_family = AF_INET};
  inet_pton(AF_INET, argv[1], &sin.sin_addr);
  int rcv = 4 << 20;
  setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  if (s < 0 || bind(s, (struct sockaddr *)&sin, sizeof sin) < 0) { perror("raw"); return 1; }
  struct sigaction sa = {.sa_handler = on_term};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  static uint8_t bufs[BATCH][SLOT], out[SLOT];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  unsigned long long got = 0, written = 0, dropped = 0;
  printf("READY\n");
  fflush(stdout);
  while (!stop) {
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = SLOT;
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int r = recvmmsg(s, msgs, BATCH, MSG_WAITFORONE, NULL);
    if (r <= 0) continue;
    for (int m = 0; m < r; m++) {
      got++;
      const uint8_t *p = bufs[m];
      int len = (int)msgs[m].msg_len, ihl = (p[0] & 15) * 4;
      const uint8_t *g = p + ihl;
      int glen = len - ihl;
      /* Enhanced GRE: C R K S s Recur A Flags Ver = 0x30 0x81 (+A 0x80), proto 0x880B. */
      if (glen < 8 || (g[1] & 7) != 1 || g[2] != 0x88 || g[3] != 0x0b) { dropped++; continue; }
      int plen = g[4] << 8 | g[5], call = g[6] << 8 | g[7], h = 8;
      if (g[0] & 0x10) h += 4;
      if (g[1] & 0x80) h += 4;
      if (call < 1 || call > n || h + plen > glen || plen < 4) { dropped++; continue; }
      const uint8_t *f = g + h;
      int q = (f[0] == 0xff && f[1] == 0x03) ? 2 : 0;
      if (f[q] == 0xfd) q += 1; else if (f[q] == 0x00 && f[q + 1] == 0xfd) q += 2; else { dropped++; continue; }
      mppe_dir_t *d = &rx[call - 1];
      int cc = (f[q] & 15) << 8 | f[q + 1];
      int ahead = (cc - d->ccount) & 0xfff;
      if (!(f[q] & 0x80) || ahead == 0 || ahead > 2048) { dropped++; continue; }
      for (int k = 0; k < ahead; k++) mppe_rekey(d);
      d->ccount = cc;
      int ct = plen - q - 2;
      rc4_run(&d->rc4, f + q + 2, out, (size_t)ct);
      if (ct < 3 || out[0] != 0x00 || out[1] != 0x21) { dropped++; continue; }
      if (write(tun[call - 1], out + 2, (size_t)ct - 2) > 0) written++; else dropped++;
    }
  }
  printf("received %llu written %llu dropped %llu\n", got, written, dropped);
  return 0;
}
