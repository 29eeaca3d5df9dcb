#!/bin/sh
# Checks that an OBS can load the live-shop plugin as far as symbols go:
# every symbol the plugin imports from OBS must be exported by that OBS's
# libobs.so.0 or libobs-frontend-api.so.0, and one of the dock functions
# plugin-main.c looks up with dlsym must be there.
#
# Usage: tests/obs/check-symbols.sh [-v] PLUGIN.so LIBOBS_DIR
#   PLUGIN.so    the built plugin (build/obs-plugin/live-shop.so)
#   LIBOBS_DIR   the directory holding that OBS's libobs.so.0 and
#                libobs-frontend-api.so.0 (/usr/lib/x86_64-linux-gnu, or
#                the same directory in another release's root)
#   -v           also list each imported symbol and the library exporting it
#
# The imports from OBS are the plugin's undefined dynamic symbols without
# a symbol version: libobs exports none, while glibc, libstdc++, Qt, curl,
# jansson and OpenSSL version theirs (those, like Qt, are out of scope).
# Weak references (__gmon_start__, _ITM_*) are not needed to load. The
# plugin's other libraries that version nothing (libqrencode) are looked
# up in LIBOBS_DIR too: what they export is not asked of OBS.
# Exit status: 0 all found, 1 something missing (each named), 2 bad usage.
set -eu

verbose=0
if [ "${1:-}" = "-v" ]; then
    verbose=1
    shift
fi
if [ $# -ne 2 ]; then
    sed -n 's/^# \{0,1\}//; 7,13p' "$0" >&2
    exit 2
fi
plugin=$1
dir=$2
libobs=$dir/libobs.so.0
frontend=$dir/libobs-frontend-api.so.0
for f in "$plugin" "$libobs" "$frontend"; do
    if [ ! -r "$f" ]; then
        echo "check-symbols: cannot read $f" >&2
        exit 2
    fi
done
command -v nm >/dev/null || { echo "check-symbols: nm (binutils) is missing" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# "U name" lines; versioned names carry "@VERSION"
nm -D --undefined-only "$plugin" |
    awk '$1 == "U" && $2 !~ /@/ { print $2 }' | sort -u >"$tmp/imports"
exports() {
    nm -D --defined-only "$1" | awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }' |
        sort -u
}
exports "$libobs" >"$tmp/libobs"
exports "$frontend" >"$tmp/frontend"
: >"$tmp/others"
for lib in $(readelf -d "$plugin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    case $lib in libobs.so.*|libobs-frontend-api.so.*) continue ;; esac
    if [ -r "$dir/$lib" ]; then
        exports "$dir/$lib" >>"$tmp/others"
    fi
done

# The version OBS reports (obs_get_version_string's literal), else the
# soname's target (libobs.so.29).
version=$(strings -n 5 "$libobs" |
    grep -m 1 -E '^[0-9]+\.[0-9]+\.[0-9]+([.+~-][0-9A-Za-z.+~-]*)?$' || true)
if [ -z "$version" ]; then
    version=$(basename "$(readlink -f "$libobs")" | sed 's/^libobs\.so\.//')
fi

n=0
missing=0
from_libobs=0
from_frontend=0
from_others=0
while read -r sym; do
    n=$((n + 1))
    if grep -qxF "$sym" "$tmp/libobs"; then
        from_libobs=$((from_libobs + 1))
        where=libobs.so.0
    elif grep -qxF "$sym" "$tmp/frontend"; then
        from_frontend=$((from_frontend + 1))
        where=libobs-frontend-api.so.0
    elif grep -qxF "$sym" "$tmp/others"; then
        from_others=$((from_others + 1))
        where="another library it needs"
    else
        missing=$((missing + 1))
        echo "MISSING: $sym is imported by $(basename "$plugin") but exported" \
             "by neither libobs.so.0 nor libobs-frontend-api.so.0 in $dir"
        continue
    fi
    [ $verbose = 1 ] && printf '  %-44s %s\n' "$sym" "$where"
done <"$tmp/imports"

# Looked up at run time (plugin-main.c), so absent from the imports above.
add_dock=0
for sym in obs_frontend_add_dock_by_id obs_frontend_add_dock \
           obs_frontend_remove_dock; do
    if grep -qxF "$sym" "$tmp/frontend" || grep -qxF "$sym" "$tmp/libobs"; then
        state=exported
        case $sym in obs_frontend_add_*) add_dock=1 ;; esac
    else
        state=absent
    fi
    echo "dlsym: $sym: $state"
done

if [ $add_dock = 0 ]; then
    echo "MISSING: neither obs_frontend_add_dock_by_id nor" \
         "obs_frontend_add_dock: this OBS offers no way to add the dock"
    missing=$((missing + 1))
fi
if [ $missing -gt 0 ]; then
    echo "FAIL: $missing missing for $(basename "$plugin") against libobs" \
         "$version ($dir)"
    exit 1
fi
echo "OK: $n symbols imported ($from_libobs from libobs.so.0," \
     "$from_frontend from libobs-frontend-api.so.0, $from_others from" \
     "other libraries it needs), all exported by" \
     "libobs $version ($dir)"
