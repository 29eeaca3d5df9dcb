#!/usr/bin/env bash
# The whole test suite, from a fresh Debian bookworm machine: installs what
# it needs, builds everything, runs every test under ctest.
#
# Usage: scripts/test.sh [BUILD_DIR]      (as root, or with sudo)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}

"$top/scripts/setup-deps.sh" "$build"

cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j "$(nproc)"

cd "$build"
ctest --output-on-failure --timeout 1200
