/* Traffic source of the data-path benchmark: enhanced-GRE packets carrying
 * stateless MPPE-128 encrypted IPv4/UDP, as a PPTP client would send them,
 * round robin over SESSIONS calls (call id i+1, start key as the receivers
 * derive it), at RATE packets/s (0 = as fast as sendmmsg allows) for SECONDS.
 * Stateless MPPE punishes loss (a receiver rekeys once per missed count,
 * and gives up beyond 2048), so the benchmark searches the highest
 * loss-free rate instead of flooding. Frames are
 * encrypted up front, so sending
 * costs no crypto; only the GRE sequence number is patched per packet. The
 * stateless key chain never repeats, so every packet of the run is encrypted
 * up front (RATE x SECONDS frames, at most MAX_FRAMES; then sending stops).
 *   gre-blast BIND_ADDR DST_ADDR SESSIONS IP_SIZE SECONDS RATE
 * Prints "sent N" at the end. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include "mppe-ref.h"

#define MAX_FRAMES 2000000
#define BATCH 64

static uint16_t csum(const uint8_t *p, int n) {
  uint32_t s = 0;
  for (int i = 0; i + 1 < n; i += 2) s += (uint32_t)p[i] << 8 | p[i + 1];
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 7) { fprintf(stderr, "usage: %s BIND DST SESSIONS IP_SIZE SECONDS RATE\n", argv[0]); return 2; }
  double rate = atof(argv[6]);
  int n = atoi(argv[3]), ipsize = atoi(argv[4]);
  double secs = atof(argv[5]);
  if (n < 1 || n > 4096 || ipsize < 28 || ipsize > 1450) return 2;
  int flen = 16 + 4 + 2 + 2 + ipsize; /* GRE(seq) + FF03 00FD + MPPE hdr + 00 21 + IP */
  size_t stride = (size_t)((flen + 15) & ~15);
  double want = rate > 0 ? rate * secs + 64 : 4096.0 * n;
  if (want > MAX_FRAMES) want = MAX_FRAMES;
  int per = (int)(want / n) + 1; /* frames per session */
  uint8_t *frames = malloc((size_t)n * per * stride);
  uint32_t *seq = calloc(n, sizeof *seq);
  if (!frames || !seq) { perror("malloc"); return 1; }
  uint8_t *plain = malloc(2 + ipsize);
  for (int i = 0; i < n; i++) {
    uint8_t key[16];
    for (int j = 0; j < 16; j++) key[j] = (uint8_t)(i * 31 + j * 7 + 1);
    mppe_dir_t tx;
    mppe_init(&tx, key);
    /* 00 21, then IPv4/UDP 10.201.(i/250).(i%250+1) → 10.250.0.1:9 */
    memset(plain, 0, 2 + ipsize);
    plain[1] = 0x21;
    uint8_t *ip = plain + 2;
    ip[0] = 0x45; ip[2] = ipsize >> 8; ip[3] = ipsize & 255; ip[8] = 64; ip[9] = 17;
    ip[12] = 10; ip[13] = 201; ip[14] = (uint8_t)(i / 250); ip[15] = (uint8_t)(i % 250 + 1);
    ip[16] = 10; ip[17] = 250; ip[18] = 0; ip[19] = 1;
    uint16_t c = csum(ip, 20);
    ip[10] = c >> 8; ip[11] = c & 255;
    ip[20] = 0x30; ip[21] = 0x39; ip[23] = 9; ip[24] = (ipsize - 20) >> 8; ip[25] = (ipsize - 20) & 255;
    for (int k = 0; k < per; k++) {
      uint8_t *f = frames + ((size_t)i * per + k) * stride;
      int plen = flen - 16;
      f[0] = 0x30; f[1] = 0x01; f[2] = 0x88; f[3] = 0x0b; f[4] = plen >> 8; f[5] = plen & 255;
      f[6] = (i + 1) >> 8; f[7] = (i + 1) & 255;
      f[12] = 0; f[13] = 0; f[14] = 0; f[15] = 0; /* ack number unused (A clear) */
      uint8_t *q = f + 12;
      q[0] = 0xff; q[1] = 0x03; q[2] = 0x00; q[3] = 0xfd;
      tx.ccount = (tx.ccount + 1) & 0xfff;
      mppe_rekey(&tx);
      q[4] = 0x90 | (tx.ccount >> 8); q[5] = tx.ccount & 255;
      rc4_run(&tx.rc4, plain, q + 6, (size_t)(2 + ipsize));
    }
  }
  /* GRE header with S: 8 bytes + seq (4) = 12; the PPP frame starts at 12. */
  flen -= 4;
  int s = socket(AF_INET, SOCK_RAW, IPPROTO_GRE);
  struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
  inet_pton(AF_INET, argv[1], &src.sin_addr);
  inet_pton(AF_INET, argv[2], &dst.sin_addr);
  int snd = 4 << 20;
  setsockopt(s, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
  if (s < 0 || bind(s, (struct sockaddr *)&src, sizeof src) < 0) { perror("raw"); return 1; }
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  memset(msgs, 0, sizeof msgs);
  unsigned long long sent = 0;
  uint32_t *pos = calloc(n, sizeof *pos);
  int next = 0;
  double start = now(), end = start + secs;
  int exhausted = 0;
  while (now() < end && !exhausted) {
    if (rate > 0) {
      double due = start + (double)sent / rate;
      double wait = due - now();
      if (wait > 0) {
        struct timespec ts = {.tv_sec = (time_t)wait, .tv_nsec = (long)((wait - (time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
      }
    }
    int count = 0, first = next;
    for (; count < BATCH; count++) {
      int i = (first + count) % n;
      uint32_t k = pos[i] + (uint32_t)(count / n); /* sessions recur every n packets */
      if (k >= (uint32_t)per) { exhausted = 1; break; } /* every frame of the run is out */
      uint8_t *f = frames + ((size_t)i * per + k) * stride;
      uint32_t sq = seq[i] + (uint32_t)(count / n);
      f[8] = sq >> 24; f[9] = sq >> 16; f[10] = sq >> 8; f[11] = sq;
      iov[count].iov_base = f;
      iov[count].iov_len = (size_t)flen;
      msgs[count].msg_hdr.msg_iov = &iov[count];
      msgs[count].msg_hdr.msg_iovlen = 1;
      msgs[count].msg_hdr.msg_name = &dst;
      msgs[count].msg_hdr.msg_namelen = sizeof dst;
    }
    if (count == 0) break;
    int r = sendmmsg(s, msgs, (unsigned)count, 0);
    if (r < 0) r = 0;
    sent += (unsigned)r;
    /* Only what went out advances; the rest is sent again next time. */
    for (int b = 0; b < r; b++) {
      int i = (first + b) % n;
      pos[i]++;
      seq[i]++;
    }
    next = (first + r) % n;
  }
  printf("sent %llu\n", sent);
  return 0;
}
