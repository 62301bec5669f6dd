#!/bin/sh
# Runs COMMAND with /dev/log being SOCKET, for tests of syslog output: glibc's syslog(3),
# which supervisord's Python uses, knows no other path, and the test machine may have no
# syslog daemon (or one the test must not write to).
#
#   tests/peers/with-dev-log.sh SOCKET COMMAND [ARG...]
#
# In a private mount namespace (root), a tmpfs is put over /dev holding the usual device
# nodes (bind-mounted from the real /dev), the /proc/self/fd links, and SOCKET bound at
# /dev/log. COMMAND keeps this process's pid (unshare and sh both exec), so the caller can
# signal and wait for it as it would for COMMAND itself. Nothing changes outside.
set -eu
sock=$1
shift
exec unshare --mount --propagation private /bin/sh -eu -c '
    sock=$1
    shift
    old=$(dirname "$sock")/.real-dev
    mkdir -p "$old"
    mount --bind /dev "$old"
    mount -t tmpfs -o mode=0755,size=64k tmpfs /dev
    for node in null zero full random urandom tty; do
        if [ -e "$old/$node" ]; then
            : > "/dev/$node"
            mount --bind "$old/$node" "/dev/$node"
        fi
    done
    ln -s /proc/self/fd /dev/fd
    ln -s /proc/self/fd/0 /dev/stdin
    ln -s /proc/self/fd/1 /dev/stdout
    ln -s /proc/self/fd/2 /dev/stderr
    : > /dev/log
    mount --bind "$sock" /dev/log
    umount "$old"
    rmdir "$old"
    exec "$@"
' with-dev-log "$sock" "$@"
