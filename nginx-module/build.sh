#!/usr/bin/env bash
# Builds ngx_live_shop_module.so against Debian's nginx (nginx-dev) with
# Debian's own configure flags, so the module loads into the packaged
# nginx. Called by CMake; configure runs again only when `config` changes.
#
# Usage: build.sh OUT_DIR MODULE_DIR CORE_INC CORE_LIB RTMP_SRC
set -euo pipefail

out=$1 module=$2
export LIVESHOP_CORE_INC=$3 LIVESHOP_CORE_LIB=$4 LIVESHOP_RTMP_SRC=$5

nginx_src=/usr/share/nginx/src
if [ ! -f "$nginx_src/conf_flags" ]; then
    echo "build.sh: $nginx_src/conf_flags missing: install nginx-dev" >&2
    exit 1
fi
if [ ! -f "$LIVESHOP_RTMP_SRC/ngx_rtmp.h" ]; then
    echo "build.sh: no nginx-rtmp source in $LIVESHOP_RTMP_SRC:" \
         "run scripts/setup-deps.sh" >&2
    exit 1
fi

# shellcheck source=/dev/null
. "$nginx_src/conf_flags"     # defines NGX_CONF_FLAGS

# Optional extra flags for the module, e.g. a sanitizer build
# (scripts/test.sh): LIVESHOP_NGX_CC_OPT and LIVESHOP_NGX_LD_OPT, given
# to configure as --with-cc-opt / --with-ld-opt (Debian's flags have none).
opts=()
[ -n "${LIVESHOP_NGX_CC_OPT:-}" ] && opts+=(--with-cc-opt="$LIVESHOP_NGX_CC_OPT")
[ -n "${LIVESHOP_NGX_LD_OPT:-}" ] && opts+=(--with-ld-opt="$LIVESHOP_NGX_LD_OPT")

tree=$out/nginx
stamp=$tree/.liveshop-configured
if [ ! -f "$tree/objs/Makefile" ] || [ "$module/config" -nt "$stamp" ] ||
   [ "$(cat "$stamp" 2>/dev/null)" != "${opts[*]}" ]; then
    rm -rf "$tree"
    cp -a "$nginx_src" "$tree"
    (cd "$tree" && ./configure "${NGX_CONF_FLAGS[@]}" "${opts[@]}" \
        --add-dynamic-module="$module" >configure.log 2>&1) || {
        tail -n 30 "$tree/configure.log" >&2
        exit 1
    }
    echo "${opts[*]}" >"$stamp"
fi

# nginx's Makefile knows the module's own files, not the core's: a newer
# core header recompiles the module, a newer core library relinks it.
so=$tree/objs/ngx_live_shop_module.so
if [ -f "$so" ]; then
    if [ -n "$(find "$LIVESHOP_CORE_INC" -name '*.h' -newer "$so" -print -quit)" ]
    then
        find "$tree/objs/addon" -name "*.o" -delete
    fi
    if [ "$LIVESHOP_CORE_LIB" -nt "$so" ]; then
        rm -f "$so"
    fi
fi
make -s -C "$tree" -f objs/Makefile modules
# a new inode: an nginx running the old module keeps its mapping intact
cp "$tree/objs/ngx_live_shop_module.so" "$out/.ngx_live_shop_module.so.new"
mv -f "$out/.ngx_live_shop_module.so.new" "$out/ngx_live_shop_module.so"
