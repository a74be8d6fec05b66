#!/bin/sh
# PID 1 of a User-Mode Linux interop guest (see shared/UML.md).
#
# The guest's root is the host's / through hostfs, read-only, so everything
# writable is a tmpfs, and the only way results leave the guest is the host
# directory mounted at $RESULTS via hostfs. Kernel command-line words KEY=VALUE
# arrive here as environment variables:
#   RESULTS_HOST  host directory for results (required; holds scenario.sh, env.sh)
#   GUEST_IP      address/prefix for eth0, e.g. 10.77.5.10/24 (optional)
#   GW            default gateway (optional)
#   GUEST_NAME    name used in log lines (optional)
# Everything a scenario needs beyond that comes from $RESULTS/env.sh, written
# by the host (the kernel command line cannot carry spaces or many variables).
#
# Files written to $RESULTS: init.log (this script), syslog.log (/dev/log),
# ready (network is up), scenario.log, exit (scenario exit code, written last).

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
RESULTS=/run/results
export RESULTS
NAME=${GUEST_NAME:-guest}

say() { echo "guest-init[$NAME]: $*"; }

# Stops the guest without going through any init system (there is none).
stop_guest() {
  sync
  # halt/poweroff are systemctl here; -f twice means "reboot(2) right now".
  poweroff -f -f >/dev/null 2>&1
  halt -f -f >/dev/null 2>&1
  echo o > /proc/sysrq-trigger
  sleep 5
  echo b > /proc/sysrq-trigger
}

fail() {
  say "FATAL: $*"
  if [ -d "$RESULTS" ] && [ -w "$RESULTS" ]; then
    echo "guest-init: $*" >> "$RESULTS/init.log"
    echo 125 > "$RESULTS/exit.tmp" && mv "$RESULTS/exit.tmp" "$RESULTS/exit"
  fi
  stop_guest
}

mount -t proc proc /proc || fail "mount proc"
mount -t sysfs sysfs /sys
# The root is read-only: every directory a daemon writes to gets a tmpfs.
mount -t tmpfs -o mode=0755 tmpfs /run || fail "mount /run"
mkdir -p /run/lock /run/results
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /etc/ppp
mount -t tmpfs -o mode=0755 tmpfs /var/log
mount -t tmpfs -o mode=0755 tmpfs /var/lib 2>/dev/null
# /dev: the kernel may already have mounted devtmpfs (DEVTMPFS_MOUNT).
if ! grep -q ' /dev devtmpfs ' /proc/mounts; then
  mount -t devtmpfs devtmpfs /dev || mount -t tmpfs -o mode=0755 tmpfs /dev
fi
mkdir -p /dev/pts /dev/shm /dev/net
mount -t devpts -o mode=0620,ptmxmode=0666 devpts /dev/pts
[ -c /dev/ptmx ] || ln -sf pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
[ -c /dev/null ] || mknod -m 666 /dev/null c 1 3
[ -c /dev/zero ] || mknod -m 666 /dev/zero c 1 5
[ -c /dev/random ] || mknod -m 666 /dev/random c 1 8
[ -c /dev/urandom ] || mknod -m 666 /dev/urandom c 1 9
[ -c /dev/tty ] || mknod -m 666 /dev/tty c 5 0
[ -c /dev/ppp ] || mknod -m 600 /dev/ppp c 108 0
[ -c /dev/net/tun ] || mknod -m 666 /dev/net/tun c 10 200
[ -e /dev/fd ] || ln -sf /proc/self/fd /dev/fd

[ -n "$RESULTS_HOST" ] || fail "RESULTS_HOST missing on the kernel command line"
mount -t hostfs -o "$RESULTS_HOST" none "$RESULTS" || fail "mount hostfs $RESULTS_HOST"
exec 3>>"$RESULTS/init.log"
say "results at $RESULTS_HOST" >&3

# The checkout may sit under a directory covered by a tmpfs above (CI clones
# into /tmp): mount it again, read-only, at the same path.
if [ -n "$PROJECT_ROOT" ] && [ ! -e "$PROJECT_ROOT/package.json" ]; then
  mkdir -p "$PROJECT_ROOT" && mount -r -t hostfs -o "$PROJECT_ROOT" none "$PROJECT_ROOT" || fail "mount hostfs $PROJECT_ROOT"
  say "project mounted at $PROJECT_ROOT" >&3
fi

# Host-written environment for the scenario (shell-quoted exports).
if [ -f "$RESULTS/env.sh" ]; then
  . "$RESULTS/env.sh"
fi

# Modules: there is no /lib/modules on the host, so give modprobe a private
# root whose lib/modules/<uname -r> points at the UML package's modules.
KVER=$(uname -r)
mkdir -p /run/kmod/lib/modules
ln -s "/usr/lib/uml/modules/$KVER" "/run/kmod/lib/modules/$KVER"
for m in ppp_generic ppp_async ppp_mppe slhc pppox gre pptp tun ipv6 ${GUEST_MODULES:-}; do
  modprobe -d /run/kmod "$m" >&3 2>&1 || say "modprobe $m failed" >&3
done
[ -c /dev/ppp ] || mknod -m 600 /dev/ppp c 108 0

hostname "$NAME" 2>/dev/null
ip link set lo up
if [ -n "$GUEST_IP" ]; then
  ip addr add "$GUEST_IP" dev eth0 || fail "ip addr add $GUEST_IP dev eth0"
  ip link set eth0 up || fail "ip link set eth0 up"
  if [ -n "$GW" ]; then ip route add default via "$GW" >&3 2>&1; fi
fi

# pppd, pptp and pptpd log only to syslog: keep their lines in syslog.log.
SYSLOG_OUT="$RESULTS/syslog.log"
export SYSLOG_OUT
rm -f /dev/log
if [ -x /usr/bin/python3 ]; then
  /usr/bin/python3 -c '
import os, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
with open(os.environ["SYSLOG_OUT"], "ab", buffering=0) as f:
    while True:
        d = s.recv(65536)
        f.write(d.rstrip(b"\0\n") + b"\n")
' >&3 2>&1 &
else
  # Node has no AF_UNIX datagram sockets; without python3 syslog is lost.
  say "no /usr/bin/python3: syslog lines are not captured" >&3
fi
i=0
while [ ! -S /dev/log ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done

echo ok > "$RESULTS/ready"
say "ready; running scenario" >&3

# The scenario runs in the background so that this shell (PID 1) can still
# take signals; its exit code is written last, after everything else.
if [ -f "$RESULTS/scenario.sh" ]; then
  ( cd "$RESULTS" && exec /bin/sh "$RESULTS/scenario.sh" ) > "$RESULTS/scenario.log" 2>&1 < /dev/null &
  wait $!
  rc=$?
else
  say "no scenario.sh" >&3
  rc=126
fi
say "scenario exited $rc" >&3
sync
echo "$rc" > "$RESULTS/exit.tmp"
mv "$RESULTS/exit.tmp" "$RESULTS/exit"
stop_guest
