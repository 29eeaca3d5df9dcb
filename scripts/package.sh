#!/usr/bin/env bash
# Builds liveshop's Debian packages (libnginx-mod-live-shop, liveshopctl,
# obs-live-shop) for the Debian release this runs on, from debian/ with
# debhelper, and runs lintian on them (SPEC §11).
#
# Usage: scripts/package.sh [OUTDIR]          (default build/packages)
#
# The source tree is left as it is: the build runs in a copy under
# $LIVESHOP_PKG_BUILD (default build-pkg/), and only OUTDIR receives the
# results: the .debs, and in source/ the source package, .buildinfo,
# .changes and lintian's report. Needs root (or sudo) the first time, for setup-deps.sh.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$top/build/packages}" && cd "${1:-$top/build/packages}" && pwd)
build=${LIVESHOP_PKG_BUILD:-$top/build-pkg}
start=$(date +%s)

say() { printf 'package: %s\n' "$*"; }
die() { printf 'package: %s\n' "$*" >&2; exit 1; }

. /etc/os-release
say "building for Debian ${VERSION_ID:-?} (${VERSION_CODENAME:-?})"

# The upstream version is CMake's; debian/changelog must agree.
upstream=$(sed -n 's/^project(liveshop VERSION \([0-9.]*\).*/\1/p' \
    "$top/CMakeLists.txt")
version=$(cd "$top" && dpkg-parsechangelog -SVersion)
[ "${version%-*}" = "$upstream" ] ||
    die "debian/changelog says $version, CMakeLists.txt $upstream"

# Build dependencies, and the nginx-rtmp headers (no Debian package
# ships them: setup-deps.sh unpacks its source).
mkdir -p "$build"
LIVESHOP_DEPS="build nginx obs package" \
    "$top/scripts/setup-deps.sh" "$build" >"$build/setup-deps.log" 2>&1 || {
    tail -n 20 "$build/setup-deps.log" >&2
    die "scripts/setup-deps.sh $build failed (log: $build/setup-deps.log)"
}
rtmp=$build/deps/nginx-rtmp-module
[ -f "$rtmp/ngx_rtmp.h" ] || die "no nginx-rtmp source in $rtmp"

# A clean copy of the tree as git sees it (tracked and new files, not
# what .gitignore leaves out), as liveshop-VERSION/ beside its
# .orig tarball.
work=$build/debian-build
src=$work/liveshop-$upstream
rm -rf "$work"
mkdir -p "$src"
(
    cd "$top"
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' f; do
                [ -e "$f" ] && printf '%s\0' "$f"
            done
    else
        find . -path ./.git -prune -o -path ./build -prune -o \
            -path './build-*' -prune -o \
            -type f -print0
    fi
) | tar -C "$top" --null -T - -cf - | tar -C "$src" -xf -
tar -C "$work" --exclude="liveshop-$upstream/debian" \
    -cJf "$work/liveshop_$upstream.orig.tar.xz" "liveshop-$upstream"

cd "$src"
dpkg-checkbuilddeps || die "build dependencies missing (see above)"
say "dpkg-buildpackage in $src"
LIVESHOP_RTMP_SRC=$rtmp dpkg-buildpackage -us -uc -j"$(nproc)" \
    >"$work/build.log" 2>&1 || {
    tail -n 40 "$work/build.log" >&2
    die "dpkg-buildpackage failed (log: $work/build.log)"
}

cd "$work"
changes=$(ls liveshop_*_"$(dpkg-architecture -qDEB_HOST_ARCH)".changes)

# lintian: errors fail the build; anything else is printed (each tag
# that remains is explained in debian/*lintian-overrides).
status=0
lintian --info --display-info --fail-on error "$changes" \
    >"$work/lintian.txt" 2>&1 || status=$?
grep -v '^running with root privileges' "$work/lintian.txt" || true
[ $status = 0 ] || die "lintian found errors (see $work/lintian.txt)"

# OUTDIR: the packages to install (apt-get install ./*.deb); the debug
# symbols and the source package beside them in dbgsym/ and source/.
rm -rf "$out"/*.deb "$out/dbgsym" "$out/source"
mkdir -p "$out/dbgsym" "$out/source"
for deb in *.deb; do
    case $deb in
    *-dbgsym_*) cp -- "$deb" "$out/dbgsym/" ;;
    *) cp -- "$deb" "$out/" ;;
    esac
done
cp -- *.dsc *.tar.* *.buildinfo "$changes" lintian.txt "$out/source/"

ls -l "$out"/*.deb
say "done in $(( $(date +%s) - start ))s: $out"
