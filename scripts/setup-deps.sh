#!/usr/bin/env bash
# Installs what liveshop needs to build and test, on Debian 12 (bookworm),
# Debian 13 (trixie) or sid, choosing package names for the release it runs
# on, and unpacks the nginx-rtmp source (its headers are needed at build
# time; never committed) into BUILD_DIR/deps/.
#
# Usage: scripts/setup-deps.sh [BUILD_DIR]      (run as root)
# Environment:
#   LIVESHOP_DEPS="build nginx obs …"   the groups to install (default: all)
#     build    compiler, CMake, the core's libraries, pytest
#     nginx    nginx, nginx-dev, nginx-rtmp, ffmpeg (and nginx-rtmp's source)
#     obs      libobs, obs-studio and the Qt its libobs is built with, Xvfb
#     web      Node.js, npm, Chromium and its driver (and the npm packages)
#     sanitize clang, llvm and clang's runtime (ASan, UBSan, libFuzzer)
#     bench    wrk, perf
#     package  debhelper, lintian (scripts/package.sh)
#     roots    debootstrap (the other releases' stages of scripts/test.sh)
#   LIVESHOP_DEPS_LIST=1   print the packages and exit, installing nothing
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
# ask apt-cache, so update once when a package is missing.
lists_fresh=0
update_lists() {
    if [ $lists_fresh = 0 ]; then
        as_root apt-get update -q
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

packages=()
want build && packages+=(
    build-essential cmake pkg-config dpkg-dev ca-certificates curl
    libssl-dev libjansson-dev libcurl4-gnutls-dev libcmocka-dev
    python3 python3-pytest)
want nginx && packages+=(nginx nginx-dev libnginx-mod-rtmp ffmpeg)
want obs && packages+=(
    libobs-dev obs-studio $(qt_packages) xvfb xauth
    libgl1-mesa-dri libegl-mesa0 fonts-dejavu-core python3-websocket libx11-dev)
want web && packages+=(chromium chromium-driver fonts-liberation)
want web && ! command -v node >/dev/null && packages+=(nodejs npm)
want sanitize && packages+=(clang llvm $(clang_rt_package))
want bench && packages+=(wrk linux-perf)
want package && packages+=(debhelper lintian fakeroot git)
want roots && packages+=(debootstrap)

if [ "${LIVESHOP_DEPS_LIST:-0}" = 1 ]; then
    printf '%s\n' "${packages[@]}"
    exit 0
fi

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
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

if [ ${#missing[@]} -gt 0 ] || [ $need_src = 1 ]; then
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
