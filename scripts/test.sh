#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 or 13 machine: installs what
# it needs, builds everything, runs every test under ctest; then the same
# code again under AddressSanitizer + UndefinedBehaviorSanitizer, and each
# fuzz target for a while (docs/security.md, "Fuzzing and sanitizers").
#
# Usage: scripts/test.sh [BUILD_DIR]      (as root, or with sudo)
# Environment:
#   LIVESHOP_SANITIZERS=0     skip the sanitizer stage
#   LIVESHOP_FUZZ_SECONDS=N   seconds per fuzz target (default 30; 0 skips)
#   LIVESHOP_RELEASES="…"     release stages to run (default on Debian 12:
#                             "bookworm trixie sid"; elsewhere the machine's
#                             own, its packages only; 0 skips)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}

stage() {
    echo
    echo "=== test.sh: $* ($(date -u +%H:%M:%S))"
}

"$top/scripts/setup-deps.sh" "$build"

stage "build and ctest"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j "$(nproc)"

(cd "$build" && ctest --output-on-failure --timeout 1200)

# ---- Sanitizers: the core, liveshopctl, the plugin's own logic (shop_link)
# and the fuzz regressions under ASan + UBSan, built with gcc in a build
# directory of their own; then the nginx tests with the module built the
# same way, in Debian's stock nginx with the ASan runtime preloaded
# (scripts/nginx-asan.sh). The libobs-linked tests are not run there.
if [ "${LIVESHOP_SANITIZERS:-1}" != 0 ]; then
    stage "sanitizers: build"
    asan=$build/asan
    san="-fsanitize=address,undefined -fno-omit-frame-pointer"
    san="$san -fno-sanitize-recover=all"
    ld="-fsanitize=address,undefined"
    cmake -S "$top" -B "$asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" \
        -DCMAKE_EXE_LINKER_FLAGS="$ld" -DCMAKE_SHARED_LINKER_FLAGS="$ld" \
        -DCMAKE_MODULE_LINKER_FLAGS="$ld" \
        -DLIVESHOP_NGINX=ON -DLIVESHOP_OBS=ON \
        -DLIVESHOP_RTMP_SRC="$build/deps/nginx-rtmp-module" \
        -DLIVESHOP_WEB_DEPS_DIR="$build/web-deps"
    # The module as strict, built by nginx's configure (nginx-module/build.sh)
    LIVESHOP_NGX_CC_OPT="$san" LIVESHOP_NGX_LD_OPT="$ld" \
        cmake --build "$asan" -j "$(nproc)"
    # faultfs is preloaded into the nginx wrapper (a shell) too, where an
    # ASan-linked copy aborts it: the test tool comes from the first build.
    if [ -f "$build/tests/nginx/liveshop_faultfs.so" ]; then
        cp "$build/tests/nginx/liveshop_faultfs.so" "$asan/tests/nginx/"
    fi

    stage "sanitizers: core, liveshopctl, plugin logic, fuzz regressions"
    # exitcode 86: a report can never pass for an expected exit status.
    (cd "$asan" &&
        ASAN_OPTIONS=detect_leaks=1:exitcode=86 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86 \
        ctest --output-on-failure --timeout 1200 \
            -R 'unit|cli|plugin_unit|fuzz_regress')

    stage "sanitizers: nginx tests, module under ASan + UBSan"
    # Workers run as nobody: the report directory is world-writable, or
    # their reports would fall back to stderr (which is error.log).
    asan_log=$asan/asan-reports
    rm -rf "$asan_log" && mkdir -m 1777 "$asan_log"
    nginx_ok=1
    # Not under ASan: the RSS check of the 1,000-client SSE test, as
    # ASan's quarantine keeps freed memory (it runs in the first stage).
    (cd "$asan" &&
        LIVESHOP_NGINX="$top/scripts/nginx-asan.sh" \
        LIVESHOP_ASAN_LOG="$asan_log/nginx" \
        PYTEST_ADDOPTS="-k 'not test_sse_1000_clients_and_memory'" \
        ctest --output-on-failure --timeout 1200 \
            -R '^nginx_|plugin_link_nginx') || nginx_ok=0
    # A report in a worker may pass unseen by the tests (nginx respawns
    # the worker): every report fails the stage.
    if compgen -G "$asan_log/nginx.*" >/dev/null; then
        echo "test.sh: sanitizer reports from nginx:" >&2
        for f in "$asan_log"/nginx.*; do
            echo "--- $f" >&2
            head -n 60 "$f" >&2
        done
        nginx_ok=0
    fi
    [ $nginx_ok = 1 ] || exit 1
fi

# ---- Fuzzing: each target for LIVESHOP_FUZZ_SECONDS from its seeds
# (libFuzzer, clang, ASan + UBSan); a crash fails the run and leaves its
# input in $build/fuzz/artifacts/TARGET/.
fuzz_seconds=${LIVESHOP_FUZZ_SECONDS:-30}
if [ "$fuzz_seconds" != 0 ]; then
    stage "fuzz: every target ${fuzz_seconds} s"
    FUZZ_BUILD=$build/fuzz FUZZ_JOBS=${FUZZ_JOBS:-$(nproc)} \
        "$top/scripts/fuzz.sh" "$fuzz_seconds"
fi
# ---- Other releases and the packages (scripts/release-stage.sh): on
# Debian 12, its own packages in a clean root, then Debian 13 (the suite
# against its nginx and OBS 30, its packages, each release's packages
# refused by the other) and sid (OBS 32 loads the plugin built on 13), each
# in a debootstrap root cached in /var/cache/liveshop/roots.
. "$top/scripts/lib/apt-sources.sh"
if [ "$(debian_codename)" = bookworm ]; then
    releases=${LIVESHOP_RELEASES-bookworm trixie sid}
else
    releases=${LIVESHOP_RELEASES-$(debian_codename)}
fi
[ "$releases" = 0 ] && releases=
for release in $releases; do
    stage "release $release"
    "$top/scripts/release-stage.sh" "$release" "$build"
done
stage "done"
