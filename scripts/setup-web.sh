#!/usr/bin/env bash
# The web pages' npm packages (hls.js for the player page, uPlot for the
# dashboard; playwright-core for the e2e tests, which drive Debian's
# /usr/bin/chromium and never download a browser) from the npm registry
# into BUILD/web-deps/node_modules. Never committed. Does nothing when
# they are there already.
#
# Usage: scripts/setup-web.sh [BUILD_DIR]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$top/build}/web-deps
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

have() {
    [ -f "$dest/node_modules/hls.js/dist/hls.min.js" ] &&
        [ -f "$dest/node_modules/uplot/dist/uPlot.iife.min.js" ] &&
        [ -f "$dest/node_modules/uplot/dist/uPlot.min.css" ] &&
        [ -f "$dest/node_modules/playwright-core/package.json" ] &&
        cmp -s "$top/web/package.json" "$dest/package.json"
}

if have; then
    echo "setup-web: ready ($dest/node_modules)"
    exit 0
fi

if ! command -v npm >/dev/null; then
    # Debian's npm; a nodejs from elsewhere (NodeSource) brings its own.
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends npm
    else
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends npm
    fi
fi

mkdir -p "$dest"
cp "$top/web/package.json" "$dest/package.json"
if ! (cd "$dest" && npm install --no-audit --no-fund --loglevel=error \
        --no-package-lock); then
    registry=$(npm config get registry 2>/dev/null || echo "the npm registry")
    echo "setup-web: npm install failed; is $registry reachable?" \
         "hls.js, uPlot and playwright-core are needed for the player" \
         "page, the dashboard and their e2e tests (nothing else needs" \
         "them)" >&2
    rm -f "$dest/package.json"
    exit 1
fi
echo "setup-web: ready ($dest/node_modules)"
