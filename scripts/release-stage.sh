#!/usr/bin/env bash
# Proves liveshop on a Debian release other than the machine's own, in a
# debootstrap root of that release (scripts/release-root.sh), with the
# release's own nginx, nginx-rtmp, ffmpeg, libobs and obs-studio.
#
# Usage: scripts/release-stage.sh RELEASE [BUILD_DIR]   (as root)
#
#   (the machine's own release) builds its Debian packages with
#           scripts/package.sh and proves them in a clean root of it
#           (tests/packages/check-install.sh); the suite itself ran on
#           the machine.
#   trixie  builds everything against the release's packages (nginx 1.26,
#           OBS 30 with Qt 6) and runs the ctest suite there (all but the
#           browser and bench tests, whose tools the root lacks), checks
#           the plugin's imported symbols against its libobs, builds the
#           Debian packages with scripts/package.sh and proves them in a
#           clean root (tests/packages/check-install.sh), and proves that
#           the packages of each release refuse to install on the other
#           (tests/packages/check-refused.sh).
#   sid     builds the module there, then loads the plugin built on trixie
#           into sid's obs-studio (OBS 32) under Xvfb (tests/obs/
#           test_obs_studio.py) and checks its symbols against that libobs.
#           Run after the trixie stage. When sid itself cannot be installed
#           today (debootstrap or apt fails on Debian's side) the stage
#           says so loudly and passes; a failure of ours fails it.
#
# Results in BUILD_DIR/releases/RELEASE (the build, packages/, and
# artifacts/ with the OBS screenshot and logs); the packages of the
# machine's own release, for the cross-release check, in
# BUILD_DIR/packages (made here when missing).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
release=${1:?usage: scripts/release-stage.sh RELEASE [BUILD_DIR]}
build=$(mkdir -p "${2:-$top/build}" && cd "${2:-$top/build}" && pwd)
out=$build/releases/$release
mkdir -p "$out/artifacts"
. "$top/scripts/lib/apt-sources.sh"
host_release=$(debian_codename)

say() { printf '%s: %s\n' "release-stage $release" "$*"; }
die() { printf '%s: FAILED: %s\n' "release-stage $release" "$*" >&2; exit 1; }
proved=()
proved() { proved+=("$*"); say "proved: $*"; }

# in_root ROOT CMD...: the repository at /liveshop, this release's build
# directory at /build; nothing is written into the repository
# (PYTHONDONTWRITEBYTECODE, builds in /build).
in_root() {
    local root=$1
    shift
    "$top/scripts/in-root.sh" "$root" \
        --bind "$top:/liveshop" --bind "$out:/build" \
        -- env PYTHONDONTWRITEBYTECODE=1 "$@"
}

# root_of RELEASE GROUPS: sets root to the cached root; for sid only, a
# release that cannot be installed today ends the stage with a loud pass.
# (Not called in a subshell, so that the skip ends the stage.)
root_of() {
    local rel=$1 groups=$2 status=0
    root=$("$top/scripts/release-root.sh" "$rel" $groups) || status=$?
    if [ $status = 3 ] && [ "$rel" = sid ]; then
        cat >&2 <<EOF

!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!!! SKIPPED: Debian sid cannot be installed today (Debian's side: see
!!! the log above). Nothing of liveshop's was tried on sid in this run.
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!

EOF
        exit 0
    fi
    [ $status = 0 ] || die "no $rel root (scripts/release-root.sh exit $status)"
}

# Versions in a root, for the record.
versions() {
    in_root "$1" dpkg-query -W -f='${Package} ${Version}\n' \
        nginx libnginx-mod-rtmp ffmpeg libobs0t64 libobs0 obs-studio \
        libqt6widgets6 libqt5widgets5 2>/dev/null | sed 's/^/  /' || true
}

# clean_check RELEASE DEBDIR SCRIPT: runs a tests/packages script in a new
# clean root of RELEASE with the .debs of DEBDIR at /debs.
clean_check() {
    local rel=$1 debs=$2 script=$3 root
    root=$build/releases/.clean-$rel
    "$top/scripts/release-root.sh" "$rel" --clean "$root" >/dev/null ||
        die "no clean $rel root"
    local status=0
    "$top/scripts/in-root.sh" "$root" --bind "$debs:/debs" \
        --bind "$top/tests/packages:/checks" -- sh "/checks/$script" /debs ||
        status=$?
    rm -rf --one-file-system "$root"
    return $status
}

host_packages() {
    if ! ls "$build/packages"/*.deb >/dev/null 2>&1; then
        say "building the packages of $host_release (scripts/package.sh)"
        "$top/scripts/package.sh" "$build/packages"
    fi
}

stage_trixie() {
    local root
    root_of trixie "build nginx obs package"
    say "root $root:"
    versions "$root"

    say "build (cmake) against the release's nginx and libobs"
    in_root "$root" bash -c '
        set -e
        LIVESHOP_DEPS="build nginx obs package" /liveshop/scripts/setup-deps.sh /build
        cmake -S /liveshop -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DLIVESHOP_RTMP_SRC=/build/deps/nginx-rtmp-module
        cmake --build /build -j "$(nproc)"' || die "build"
    grep -q 'Qt 6\|Qt6' "$out/CMakeCache.txt" || die "the plugin is not built with Qt 6"
    proved "module and plugin build against the release (Qt 6 chosen from libobs)"

    say "ctest (all but the e2e tests and bench_smoke: no browser, no wrk here)"
    rm -rf "$out/test-artifacts"
    in_root "$root" bash -c 'cd /build && ctest --output-on-failure \
        --timeout 1200 -E "^(e2e_.*|bench_smoke)$"' ||
        die "ctest (artifacts in $out/test-artifacts)"
    proved "ctest: nginx (RTMP cues, HLS, SSE, webhooks in and out, kill -9," \
        "faults), plugin and OBS 30 tests pass"
    cp "$out/test-artifacts/obs-studio/obs-studio.png" \
        "$out/artifacts/obs-studio-$release.png"
    cp "$out/test-artifacts/obs-studio/obs-log.txt" "$out/artifacts/obs-log-$release.txt"

    say "the plugin's imported symbols against this libobs"
    in_root "$root" sh -c 'sh /liveshop/tests/obs/check-symbols.sh \
        /build/obs-plugin/live-shop.so /usr/lib/$(gcc -print-multiarch)' ||
        die "symbols"
    proved "every symbol the plugin imports is exported by OBS 30's libobs"

    say "Debian packages (scripts/package.sh in the root)"
    in_root "$root" env LIVESHOP_PKG_BUILD=/build/pkg-build \
        /liveshop/scripts/package.sh /build/packages || die "package.sh"
    ls -l "$out/packages"
    clean_check trixie "$out/packages" check-install.sh ||
        die "the packages in a clean trixie root"
    proved "packages install, serve, upgrade and purge in a clean trixie root"

    host_packages
    clean_check "$host_release" "$out/packages" check-refused.sh ||
        die "trixie's packages on $host_release"
    clean_check trixie "$build/packages" check-refused.sh ||
        die "$host_release's packages on trixie"
    proved "apt refuses trixie's packages on $host_release and $host_release's on trixie"
}

stage_sid() {
    local root plugin=$build/releases/trixie/obs-plugin/live-shop.so
    [ -f "$plugin" ] || die "no plugin built on trixie ($plugin): run the trixie stage first"
    root_of sid "build nginx obs"
    say "root $root:"
    versions "$root"

    say "build the module against sid's nginx (the plugin comes from trixie)"
    in_root "$root" bash -c '
        set -e
        LIVESHOP_DEPS="build nginx obs" /liveshop/scripts/setup-deps.sh /build
        cmake -S /liveshop -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DLIVESHOP_OBS=OFF -DLIVESHOP_RTMP_SRC=/build/deps/nginx-rtmp-module
        cmake --build /build -j "$(nproc)"' || die "build"
    proved "the module builds against sid's nginx" \
        "$(in_root "$root" dpkg-query -W -f='${Version}' nginx) (the nginx of the OBS test)"
    cp "$plugin" "$out/live-shop.so"

    say "the trixie-built plugin's imported symbols against sid's libobs"
    in_root "$root" sh -c 'sh /liveshop/tests/obs/check-symbols.sh \
        /build/live-shop.so /usr/lib/$(gcc -print-multiarch)' || die "symbols"
    proved "every symbol the trixie-built plugin imports is exported by sid's libobs"

    say "sid's obs-studio under Xvfb loads the trixie-built plugin"
    rm -rf "$out/test-artifacts"
    in_root "$root" env \
        LIVESHOP_MODULE=/build/nginx-module/ngx_live_shop_module.so \
        LIVESHOP_ARTIFACTS=/build/test-artifacts \
        LIVE_SHOP_PLUGIN=/build/live-shop.so \
        LIVE_SHOP_PLUGIN_DATA=/liveshop/obs-plugin/data \
        python3 -m pytest -v -s -p no:cacheprovider \
        /liveshop/tests/obs/test_obs_studio.py || die "obs-studio on sid"
    cp "$out/test-artifacts/obs-studio/obs-studio.png" \
        "$out/artifacts/obs-studio-$release.png"
    cp "$out/test-artifacts/obs-studio/obs-log.txt" "$out/artifacts/obs-log-$release.txt"
    proved "OBS $(in_root "$root" dpkg-query -W -f='${Version}' obs-studio) loads" \
        "the plugin without warnings, adds the dock, a vendor pin reaches nginx"
}

# The machine's own release: its packages, in a clean root of it.
stage_host() {
    rm -rf "$build/packages"
    host_packages
    ls -l "$build/packages"
    clean_check "$host_release" "$build/packages" check-install.sh ||
        die "the packages in a clean $host_release root"
    proved "packages install, serve, upgrade and purge in a clean $host_release root"
}

start=$(date +%s)
case $release in
"$host_release") stage_host ;;
trixie) stage_trixie ;;
sid) stage_sid ;;
*) die "no stage for release '$release' on $host_release" ;;
esac
say "done in $(($(date +%s) - start)) s; what it proved:"
printf '  - %s\n' "${proved[@]}"
ls "$out/artifacts"
