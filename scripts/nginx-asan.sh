#!/usr/bin/env bash
# Debian's nginx with AddressSanitizer's runtime preloaded, so that a
# ngx_live_shop_module.so built with -fsanitize=address,undefined
# (scripts/test.sh, LIVESHOP_NGX_CC_OPT) loads into it. The nginx tests
# use it through LIVESHOP_NGINX=scripts/nginx-asan.sh; it stands in for
# /usr/sbin/nginx everywhere (start, -t, -s), keeping the process
# (exec) and any LD_PRELOAD a test adds (faultfs) after the runtime,
# which must come first.
#
# ASan reports go to files $LIVESHOP_ASAN_LOG.PID (default
# /tmp/liveshop-asan.PID), which scripts/test.sh looks for afterwards:
# a report in a worker is otherwise only a worker nginx respawns.
# detect_leaks=0: nginx frees its cycle's pools by exiting, by design
# (docs/security.md, "Suppressions").
set -euo pipefail

asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
export LD_PRELOAD="$asan $ubsan${LD_PRELOAD:+ $LD_PRELOAD}"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=${LIVESHOP_ASAN_LOG:-/tmp/liveshop-asan}${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=${LIVESHOP_ASAN_LOG:-/tmp/liveshop-asan}${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
exec "${LIVESHOP_NGINX_BIN:-/usr/sbin/nginx}" "$@"
