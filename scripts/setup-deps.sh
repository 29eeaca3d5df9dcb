#!/usr/bin/env bash
# Installs what liveshop needs to build and test, on Debian 12 (bookworm),
# Debian 13 (trixie) or sid, choosing package names for the release it runs
# on, and unpacks the nginx-rtmp source (its headers are needed at build
# time; never committed) into BUILD_DIR/deps/.
#
# Usage: scripts/setup-deps.sh [BUILD_DIR]      (run as root)
# Environment:
#   LIVESHOP_DEPS="build nginx obs …"   the groups to install (default: all)
#     build    compiler, CMake, the core's libraries (hiredis …), pytest
#     nginx    nginx, nginx-dev, nginx-rtmp, ffmpeg (and nginx-rtmp's
#              source), and a key-value server for the cluster tests:
#              valkey-server where apt has it (bookworm: from
#              bookworm-backports, added from the machine's own source),
#              else redis-server
#     obs      libobs, obs-studio and the Qt its libobs is built with, Xvfb
#     web      Node.js, npm, Chromium and its driver (and the npm packages)
#     sanitize clang, llvm and clang's runtime (ASan, UBSan, libFuzzer)
#     bench    wrk, perf, nchan (libnginx-mod-nchan: the peer of bench/
#              sse_peer.py)
#     package  debhelper, lintian (scripts/package.sh)
#     roots    debootstrap (the other releases' stages of scripts/test.sh)
#   LIVESHOP_DEPS_LIST=1   print the packages and exit, installing nothing
#       (one taken from another suite is printed PACKAGE/SUITE, as
#       apt-get install takes it)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
deps=$build/deps
groups=" ${LIVESHOP_DEPS:-build nginx obs web sanitize bench package roots} "
. "$top/scripts/lib/apt-sources.sh"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}
want() { [[ $groups == *" $1 "* ]]; }
installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}

codename=$(debian_codename)

# A fresh machine's package lists may be missing or old: the choices below
# ask apt-cache, so update once when a package is missing. (apt's output
# goes to stderr: stdout is the package list with LIVESHOP_DEPS_LIST=1.)
lists_fresh=0
update_lists() {
    if [ $lists_fresh = 0 ]; then
        as_root apt-get update -q >&2
        lists_fresh=1
    fi
}

# The version apt would use of PACKAGE: the installed one, else the
# candidate ("" when apt knows none).
version_of() {
    local v
    v=$(dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true)
    if [ -z "$v" ]; then
        v=$(apt-cache policy "$1" 2>/dev/null |
            awk '/Candidate:/ && $2 != "(none)" { print $2 }')
    fi
    echo "${v#*:}"
}

# Qt for the OBS frontend: Qt 5 for OBS 29, Qt 6 for OBS 30 and later
# (the plugin's CMake picks the same from the libobs it finds).
qt_packages() {
    local v major
    v=$(version_of libobs-dev)
    if [ -z "$v" ]; then
        update_lists
        v=$(version_of libobs-dev)
    fi
    major=${v%%.*}
    if [ -n "$major" ] && [ "$major" -ge 30 ] 2>/dev/null; then
        echo qt6-base-dev qt6-base-dev-tools
    else
        echo qtbase5-dev qtbase5-dev-tools
    fi
}

# clang's runtime (ASan, UBSan, libFuzzer) is versioned: libclang-rt-14-dev
# on bookworm, -19 on trixie; follow what the release's clang depends on.
clang_rt_package() {
    local n
    n=$(apt-cache depends clang 2>/dev/null |
        sed -n 's/^ *Depends: clang-\([0-9][0-9]*\)$/\1/p' | head -n 1)
    if [ -z "$n" ]; then
        update_lists
        n=$(apt-cache depends clang 2>/dev/null |
            sed -n 's/^ *Depends: clang-\([0-9][0-9]*\)$/\1/p' | head -n 1)
    fi
    if [ -z "$n" ]; then
        echo "setup-deps: apt knows no clang package on $codename" >&2
        return 1
    fi
    echo "libclang-rt-$n-dev"
}

# The key-value server for the tests (they look for valkey-server, then
# redis-server): valkey-server from the release (trixie, sid), else from
# its backports suite (bookworm), else redis-server. A backports suite
# the machine's sources lack is asked first without touching them (the
# mirror may be a snapshot, or lack it); only an install adds it, to
# backports_list, pinned nothing (its priority stays 100).
backports=$codename-backports
backports_list=/etc/apt/sources.list.d/liveshop-backports.sources
backports_entry=""
kv_package=""
choose_kv_server() {
    local suites why="" version
    if installed valkey-server; then
        kv_package=valkey-server
        echo "setup-deps: key-value server: valkey-server (installed)" >&2
        return 0
    fi
    suites=$(apt_candidate_suites valkey-server)
    # Lists missing or old when apt knows neither server.
    if [ -z "$suites" ] && [ -z "$(apt_candidate_suites redis-server)" ]; then
        update_lists
        suites=$(apt_candidate_suites valkey-server)
    fi
    if [ -n "$suites" ] && grep -qvx "$backports" <<<"$suites"; then
        kv_package=valkey-server
        echo "setup-deps: key-value server: valkey-server" \
             "$(version_of valkey-server) from $codename" >&2
        return 0
    fi
    if [ -n "$suites" ]; then
        kv_package=valkey-server/$backports
        echo "setup-deps: key-value server: valkey-server" \
             "$(version_of valkey-server) from $backports" \
             "(none in $codename)" >&2
        return 0
    fi
    why="valkey-server is not in $codename"
    if grep -qx "$backports" <<<"$(apt_deb_sources | cut -f2)"; then
        why="$why nor in its configured $backports"
    elif backports_entry=$(debian_backports_entry) && [ -n "$backports_entry" ]; then
        # On success it prints the version alone.
        if version=$(apt_probe_source "$backports_entry" valkey-server 2>&1); then
            kv_package=valkey-server/$backports
            echo "setup-deps: key-value server: valkey-server $version" \
                 "from $backports (none in $codename; $backports" \
                 "from $(debian_mirror), to go in $backports_list)" >&2
            return 0
        fi
        backports_entry=""
        why="$why, and $backports from $(debian_mirror) is no help:"
        why="$why $(head -n 1 <<<"$version")"
    else
        backports_entry=""
        why="$why, which has no backports suite"
    fi
    if [ -z "$(apt_candidate_suites redis-server)" ] && ! installed redis-server; then
        echo "setup-deps: no key-value server for the tests on $codename:" \
             "$why; and apt knows no redis-server" >&2
        return 1
    fi
    kv_package=redis-server
    echo "setup-deps: key-value server: redis-server $(version_of redis-server)" \
         "($why)" >&2
}
want nginx && { choose_kv_server || exit 1; }

packages=()
want build && packages+=(
    build-essential cmake pkg-config dpkg-dev ca-certificates curl
    libssl-dev libjansson-dev libcurl4-gnutls-dev libcmocka-dev libhiredis-dev
    libqrencode-dev
    python3 python3-pytest python3-icalendar)
want nginx && packages+=(nginx nginx-dev libnginx-mod-rtmp ffmpeg "$kv_package")
want obs && packages+=(
    libobs-dev obs-studio $(qt_packages) xvfb xauth
    libgl1-mesa-dri libegl-mesa0 fonts-dejavu-core python3-websocket libx11-dev
    zbar-tools)
want web && packages+=(chromium chromium-driver fonts-liberation)
want web && ! command -v node >/dev/null && packages+=(nodejs npm)
want sanitize && packages+=(clang llvm $(clang_rt_package))
want bench && packages+=(wrk linux-perf libnginx-mod-nchan)
want package && packages+=(debhelper lintian fakeroot git)
want roots && packages+=(debootstrap)

if [ "${LIVESHOP_DEPS_LIST:-0}" = 1 ]; then
    printf '%s\n' "${packages[@]}"
    exit 0
fi

missing=()
for p in "${packages[@]}"; do
    installed "${p%%/*}" || missing+=("$p")
done

# nginx-rtmp ships no headers: its source package provides them. The
# deb-src entries are those of the machine's own Debian sources.
src_list=/etc/apt/sources.list.d/liveshop-deb-src.sources
need_src=0
if want nginx; then
    src_entries=$(debian_src_entries)
    if [ -z "$src_entries" ]; then
        echo "setup-deps: no apt source for '$codename' to derive deb-src from" >&2
        exit 1
    fi
    if [ "$(cat "$src_list" 2>/dev/null)" != "$src_entries" ]; then
        printf '%s\n' "$src_entries" | as_root tee "$src_list" >/dev/null
        need_src=1
        lists_fresh=0
    fi
fi

# valkey-server from a backports suite the machine's sources lack: its
# entry (the one asked above) in a file of its own, pinned nothing. Should
# apt not fetch it after all, the file goes and redis-server is installed.
need_backports=0
if [ -n "$backports_entry" ] &&
        [ "$(cat "$backports_list" 2>/dev/null)" != "$backports_entry" ]; then
    printf '%s\n' "$backports_entry" | as_root tee "$backports_list" >/dev/null
    need_backports=1
fi

if [ ${#missing[@]} -gt 0 ] || [ $need_src = 1 ] || [ $need_backports = 1 ]; then
    if [ $need_backports = 1 ]; then
        if ! as_root apt-get update -q ||
                ! grep -qx "$backports" <<<"$(apt_candidate_suites valkey-server)"; then
            as_root rm -f "$backports_list"
            lists_fresh=0
            for i in "${!missing[@]}"; do
                if [ "${missing[$i]}" = "valkey-server/$backports" ]; then
                    unset 'missing[i]'
                    installed redis-server || missing+=(redis-server)
                fi
            done
            missing=("${missing[@]}")
            echo "setup-deps: key-value server: redis-server after all" \
                 "(apt-get update failed on $backports or found no" \
                 "valkey-server there; $backports_list removed)" >&2
        else
            lists_fresh=1
        fi
    fi
    update_lists
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup-deps: installing on $codename: ${missing[*]}"
        # Keep the packaged nginx from starting a system instance on :80.
        policy=/usr/sbin/policy-rc.d
        made_policy=0
        if [ ! -e $policy ]; then
            printf '#!/bin/sh\nexit 101\n' | as_root tee $policy >/dev/null
            as_root chmod +x $policy
            made_policy=1
        fi
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q \
            --no-install-recommends "${missing[@]}"
        [ $made_policy = 1 ] && as_root rm -f $policy
    fi
fi

# The nginx-rtmp source of this release, for its headers.
if want nginx; then
    rtmp_dir=$deps/nginx-rtmp-module
    rtmp_version=$(dpkg-query -W -f='${Version}' libnginx-mod-rtmp)
    if [ ! -f "$rtmp_dir/ngx_rtmp.h" ] ||
            [ "$(cat "$rtmp_dir/.liveshop-version" 2>/dev/null)" != "$rtmp_version" ]; then
        rm -rf "$deps/src" && mkdir -p "$deps/src"
        (
            cd "$deps/src"
            # Only the .orig tarball is needed: the Debian part may be
            # missing on a mirror without failing us.
            apt-get source --download-only libnginx-mod-rtmp \
                >download.log 2>&1 || true
            orig=$(ls libnginx-mod-rtmp_*.orig.tar.* 2>/dev/null | head -n 1)
            if [ -z "$orig" ]; then
                cat download.log >&2
                echo "setup-deps: could not download the source of" \
                     "libnginx-mod-rtmp $rtmp_version (deb-src entries in $src_list)" >&2
                exit 1
            fi
            rm -rf unpacked && mkdir unpacked
            tar -xf "$orig" -C unpacked
        )
        hdr=$(find "$deps/src/unpacked" -name ngx_rtmp.h | head -n 1)
        rm -rf "$rtmp_dir"
        mv "$(dirname "$hdr")" "$rtmp_dir"
        echo "$rtmp_version" >"$rtmp_dir/.liveshop-version"
    fi
    echo "setup-deps: ready on $codename (nginx-rtmp $rtmp_version source in $rtmp_dir)"
fi

# hls.js (player page) and playwright-core (its e2e test) from npm.
if want web; then
    "$top/scripts/setup-web.sh" "$build" ||
        echo "setup-deps: without them the player page and e2e_player cannot run" >&2
fi
