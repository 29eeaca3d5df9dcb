#!/usr/bin/env bash
# A Debian root of another release (debootstrap, minbase), for proving
# liveshop on releases other than the machine's own. The apt entries come
# from the machine's own configured Debian mirror (scripts/lib/apt-sources.sh).
#
# Usage:
#   scripts/release-root.sh RELEASE GROUPS   prints the path of a root with
#       the release's packages for those setup-deps.sh groups installed
#       ("build nginx obs"); cached between runs, keyed on the release, the
#       groups and the scripts that choose the packages
#   scripts/release-root.sh RELEASE --clean DIR   makes DIR a new minbase
#       root of the release (a copy of the cached one), with nothing of
#       liveshop's installed: for the package tests
#
# Exit status 3: the release itself could not be installed (debootstrap or
# apt failed on Debian's side), as distinct from a failure of ours.
# Environment: LIVESHOP_ROOTS (default /var/cache/liveshop/roots);
#   LIVESHOP_ROOTS_MAX_AGE days after which a cached root is made anew (7).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/apt-sources.sh"

release=${1:?usage: scripts/release-root.sh RELEASE GROUPS | --clean DIR}
shift
cache=${LIVESHOP_ROOTS:-/var/cache/liveshop/roots}
max_age=${LIVESHOP_ROOTS_MAX_AGE:-7}
mkdir -p "$cache"

say() { echo "release-root: $*" >&2; }
unavailable() {
    say "$release cannot be installed: $*"
    exit 3
}

# One root at a time per cache: two runs must not build the same root.
exec 9>"$cache/.lock"
flock 9

# Drops roots older than max_age days, and half-made ones.
for old in "$cache"/*; do
    [ -d "$old" ] || continue
    if [ ! -e "$old/.liveshop-ready" ] ||
            [ -n "$(find "$old/.liveshop-ready" -mtime +"$max_age" 2>/dev/null)" ]; then
        rm -rf --one-file-system "$old"
    fi
done

# The minbase root of the release: debootstrap from the machine's mirror.
base=$cache/$release-base
if [ ! -e "$base/.liveshop-ready" ]; then
    mirror=$(debian_mirror)
    keyring=$(debian_keyring)
    tmp=$cache/.tmp-$release-base
    rm -rf --one-file-system "$tmp"
    say "debootstrap $release (minbase) from $mirror"
    opts=(--variant=minbase)
    [ -n "$keyring" ] && [ -r "$keyring" ] && opts+=(--keyring="$keyring")
    if ! debootstrap "${opts[@]}" "$release" "$tmp" "$mirror" \
            >"$cache/.debootstrap-$release.log" 2>&1; then
        tail -n 20 "$cache/.debootstrap-$release.log" >&2
        rm -rf --one-file-system "$tmp"
        unavailable "debootstrap failed (log above)"
    fi
    # No service of a package starts inside a root.
    printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
    chmod +x "$tmp/usr/sbin/policy-rc.d"
    touch "$tmp/.liveshop-ready"
    mv "$tmp" "$base"
fi

if [ "${1:-}" = --clean ]; then
    dest=${2:?usage: scripts/release-root.sh RELEASE --clean DIR}
    rm -rf --one-file-system "$dest"
    mkdir -p "$(dirname "$dest")"
    cp -a "$base" "$dest"
    rm -f "$dest/.liveshop-ready"
    echo "$dest"
    exit 0
fi

groups="$*"
[ -n "$groups" ] || { say "name the setup-deps.sh groups"; exit 2; }
key=$( { echo "$release"; echo "$groups";
         cat "$top/scripts/setup-deps.sh" "$top/scripts/lib/apt-sources.sh"; } |
       sha256sum | cut -c1-12)
root=$cache/$release-$key
if [ -e "$root/.liveshop-ready" ]; then
    say "$release root for '$groups' cached: $root"
    echo "$root"
    exit 0
fi

tmp=$cache/.tmp-$release-$key
rm -rf --one-file-system "$tmp"
say "making the $release root for '$groups'"
cp -a "$base" "$tmp"
rm -f "$tmp/.liveshop-ready"
mkdir -p "$tmp/var/tmp/liveshop-setup/scripts/lib"
cp "$top/scripts/setup-deps.sh" "$tmp/var/tmp/liveshop-setup/scripts/"
cp "$top/scripts/lib/apt-sources.sh" "$tmp/var/tmp/liveshop-setup/scripts/lib/"
# A mirror that is a snapshot (as on machines without the internet) can
# serve a Release file past its Valid-Until (sid's and testing's carry
# one; stable's do not). apt then refuses the whole suite. The root
# accepts it, loudly: a freeze attack is not what a throwaway test root
# guards against, and the packages are still checked against the key.
if ! update_log=$("$top/scripts/in-root.sh" "$tmp" -- apt-get update 2>&1); then
    printf '%s\n' "$update_log" | tail -n 5 >&2
fi
if printf '%s\n' "$update_log" | grep -q 'is expired'; then
    cat >&2 <<EOF
release-root: WARNING: the mirror's $release Release file has expired:
release-root: WARNING:   $(printf '%s\n' "$update_log" | grep -m1 'is expired')
release-root: WARNING: this $release root is made from it all the same
release-root: WARNING: (Acquire::Check-Valid-Until "false" in the root only).
EOF
    echo 'Acquire::Check-Valid-Until "false";' \
        >"$tmp/etc/apt/apt.conf.d/99liveshop-snapshot-mirror"
fi

# setup-deps.sh chooses the packages inside, for the root's own release.
# apt-get's failures (exit 100: a package missing or broken in the
# release) are the release's; any other failure is ours.
status=0
"$top/scripts/in-root.sh" "$tmp" -- env LIVESHOP_DEPS="$groups" \
    DEBIAN_FRONTEND=noninteractive \
    bash /var/tmp/liveshop-setup/scripts/setup-deps.sh /var/tmp/liveshop-setup/build \
    >"$cache/.setup-$release.log" 2>&1 || status=$?
if [ $status != 0 ]; then
    tail -n 30 "$cache/.setup-$release.log" >&2
    rm -rf --one-file-system "$tmp"
    [ $status = 100 ] && unavailable "apt-get failed (log above)"
    say "scripts/setup-deps.sh failed in the $release root (exit $status)"
    exit 1
fi
rm -rf "$tmp/var/tmp/liveshop-setup"
"$top/scripts/in-root.sh" "$tmp" -- apt-get clean
made_for=$(printf '%s\n%s' "$release" "$groups")
printf '%s\n' "$made_for" >"$tmp/.liveshop-groups"
touch "$tmp/.liveshop-ready"
# Roots made for the same release and groups by older scripts are stale.
for old in "$cache/$release"-*; do
    [ "$old" != "$base" ] && [ -d "$old" ] || continue
    if [ ! -e "$old/.liveshop-groups" ] ||
            [ "$(cat "$old/.liveshop-groups")" = "$made_for" ]; then
        say "dropping the stale root $old"
        rm -rf --one-file-system "$old"
    fi
done
mv "$tmp" "$root"
say "$release root ready: $root"
echo "$root"
