#!/usr/bin/env bash
# Installs everything liveshop needs to build and test on Debian bookworm,
# and unpacks the nginx-rtmp 1.2.2 source (headers only needed at build
# time; never committed) into build/deps/.
#
# Usage: scripts/setup-deps.sh [BUILD_DIR]      (run as root)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
deps=${1:-$top/build}/deps

packages=(
    build-essential cmake pkg-config dpkg-dev ca-certificates curl
    nginx nginx-dev libnginx-mod-rtmp ffmpeg
    libssl-dev libjansson-dev libcurl4-gnutls-dev libcmocka-dev
    python3 python3-pytest
    libobs-dev obs-studio qtbase5-dev qtbase5-dev-tools xvfb xauth
    libgl1-mesa-dri libegl-mesa0 fonts-dejavu-core python3-websocket libx11-dev
    wrk linux-perf
    nodejs chromium chromium-driver fonts-liberation
    clang llvm libclang-rt-14-dev
)

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
        || missing+=("$p")
done

src_list=/etc/apt/sources.list.d/liveshop-deb-src.sources
need_src=0
[ -f "$src_list" ] || need_src=1

if [ ${#missing[@]} -gt 0 ] || [ $need_src = 1 ]; then
    if [ $need_src = 1 ]; then
        # nginx-rtmp ships no headers: its source package provides them.
        as_root tee "$src_list" >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    fi
    as_root apt-get update -q
    if [ ${#missing[@]} -gt 0 ]; then
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

# nginx-rtmp 1.2.2 source, for its headers.
rtmp_dir=$deps/nginx-rtmp-module
if [ ! -f "$rtmp_dir/ngx_rtmp.h" ]; then
    mkdir -p "$deps/src"
    (
        cd "$deps/src"
        # The Debian tarball may 404; the .orig tarball is what we need.
        apt-get source --download-only libnginx-mod-rtmp >/dev/null 2>&1 || true
        orig=$(ls libnginx-mod-rtmp_*.orig.tar.* 2>/dev/null | head -n 1)
        if [ -z "$orig" ]; then
            echo "setup-deps: could not download the libnginx-mod-rtmp source" >&2
            exit 1
        fi
        rm -rf unpacked && mkdir unpacked
        tar -xf "$orig" -C unpacked
    )
    hdr=$(find "$deps/src/unpacked" -name ngx_rtmp.h | head -n 1)
    rm -rf "$rtmp_dir"
    mv "$(dirname "$hdr")" "$rtmp_dir"
fi
echo "setup-deps: ready (nginx-rtmp source in $rtmp_dir)"

# hls.js (player page) and playwright-core (its e2e test) from npm.
"$top/scripts/setup-web.sh" "${1:-$top/build}" ||
    echo "setup-deps: without them the player page and e2e_player cannot run" >&2
