#!/usr/bin/env bash
# Runs a command inside a Debian root made by scripts/release-root.sh, with
# /proc, /sys and /dev mounted and the given folders bound in. The mounts
# live in a mount namespace of their own, so they vanish when the command
# ends, however it ends. The root shares the machine's network: its
# servers listen on loopback like the host's tests do.
#
# Usage: scripts/in-root.sh ROOT [--bind HOST_DIR:ROOT_DIR]... -- COMMAND [ARG]...
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: scripts/in-root.sh ROOT [--bind HOST_DIR:ROOT_DIR]... -- COMMAND..." >&2
    exit 2
fi
root=$(cd "$1" && pwd)
shift
binds=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    case $1 in
        --bind) binds+=("$2"); shift 2 ;;
        *) echo "in-root: unknown option '$1'" >&2; exit 2 ;;
    esac
done
[ "${1:-}" = -- ] && shift
if [ ! -x "$root/bin/sh" ]; then
    echo "in-root: $root is no Debian root (no /bin/sh)" >&2
    exit 2
fi

# Inside the new mount namespace: mount, then chroot. Arguments pass
# through "$@" untouched.
exec unshare --mount --propagation private -- bash -c '
    set -eu
    root=$1; nbinds=$2; shift 2
    # The root a mount point of its own: inside it, "/" then is one, as a
    # root made inside this one needs ("unshare --propagation private"
    # fails on a "/" that is no mount point, as in a plain chroot).
    mount --bind "$root" "$root"
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    mkdir -p "$root/dev/shm"
    mount -t tmpfs -o mode=1777 shm "$root/dev/shm"
    cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    for ((i = 0; i < nbinds; i++)); do
        host=${1%%:*}; inside=${1#*:}; shift
        mkdir -p "$root$inside"
        mount --bind "$host" "$root$inside"
    done
    exec chroot "$root" env -u LD_PRELOAD HOME=/root \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        LANG=C.UTF-8 "$@"
' in-root "$root" "${#binds[@]}" "${binds[@]}" "$@"
