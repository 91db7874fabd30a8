#!/usr/bin/env bash
# Run a command with a syslog socket of our own at /dev/log and keep every datagram sent to it.
# Usage (as root): unshare --mount --propagation private bash syslog_capture.sh <capture file> <command...>
# Inside the private mount namespace, /dev is a tmpfs holding the host's null, zero, random, urandom,
# tty, pts, shm and a listening datagram socket at /dev/log; the host's /dev is untouched. AnsibleModule
# logs through Python's syslog module (glibc syslog(3) -> /dev/log) when there is no journald.
set -euo pipefail
out=$1
shift
d=$(mktemp -d)
mount -t tmpfs -o mode=755 k8s-hardening-devlog "$d"
for n in null zero full random urandom tty; do
  [ -e "/dev/$n" ] || continue
  touch "$d/$n"
  mount --bind "/dev/$n" "$d/$n"
done
for s in pts shm mqueue; do
  [ -d "/dev/$s" ] || continue
  mkdir "$d/$s"
  mount --rbind "/dev/$s" "$d/$s"
done
ln -s /proc/self/fd "$d/fd"
ln -s /proc/self/fd/0 "$d/stdin"
ln -s /proc/self/fd/1 "$d/stdout"
ln -s /proc/self/fd/2 "$d/stderr"
ln -s pts/ptmx "$d/ptmx"
mount --bind "$d" /dev
python3 - "$out" <<'PY' &
import os, socket, sys
out = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind("/dev/log")
os.chmod("/dev/log", 0o666)
open(out + ".ready", "w").close()
with open(out, "ab") as fh:
    while True:
        fh.write(sock.recv(1 << 20) + b"\n")
        fh.flush()
PY
listener=$!
for _ in $(seq 100); do [ -e "$out.ready" ] && break; sleep 0.05; done
rc=0
"$@" || rc=$?
sleep 0.3
kill "$listener"
exit "$rc"
