#!/usr/bin/env bash
# Fuzzes the core's parsers and encoders (among them the SSE parser that
# the OBS plugin and liveshopctl share) with libFuzzer + AddressSanitizer +
# UndefinedBehaviorSanitizer
# (docs/security.md, "Fuzzing and sanitizers").
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS  how long each target runs (default 60)
#   TARGET   offer, order, ... (default: all; see fuzz/CMakeLists.txt)
# Environment:
#   FUZZ_BUILD  build directory (default build/fuzz)
#   FUZZ_JOBS   targets run at the same time (default 1)
#   FUZZ_CC     the clang to build with (default clang)
#
# Each target starts from fuzz/corpus/TARGET (never written to) and keeps
# what it finds in $FUZZ_BUILD/corpus/TARGET, so a second run goes on
# from there. A crash leaves its input in $FUZZ_BUILD/artifacts/TARGET/
# and makes the script fail: copy it into fuzz/regressions/TARGET/, fix
# the bug, and the ctest fuzz_regress_TARGET keeps it fixed.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
[ $# -gt 0 ] && shift
build=${FUZZ_BUILD:-$top/build/fuzz}
jobs=${FUZZ_JOBS:-1}
cc=${FUZZ_CC:-clang}

cmake -S "$top/fuzz" -B "$build" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target fuzz_all -j "$(nproc)" >/dev/null

if [ $# -gt 0 ]; then
    targets=("$@")
else
    read -r -a targets <<<"$(sed -n '/^set(LIVESHOP_FUZZ_TARGETS/,/CACHE/p' \
        "$top/fuzz/CMakeLists.txt" | sed '1d;$d' | tr '\n' ' ')"
fi

run_one() {
    local t=$1 log dict=$top/fuzz/json.dict
    log=$build/logs/$t.log
    # a target's own dictionary when it reads no JSON (fuzz/vtt.dict)
    [ -f "$top/fuzz/$t.dict" ] && dict=$top/fuzz/$t.dict
    mkdir -p "$build/corpus/$t" "$build/artifacts/$t" "$build/logs"
    rm -f "$build/logs/$t.result"
    # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a leak
    # or an allocation out of bounds. Only the build's corpus grows.
    if "$build/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 \
        -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -dict="$dict" \
        -artifact_prefix="$build/artifacts/$t/" \
        "$build/corpus/$t" "$top/fuzz/corpus/$t" >"$log" 2>&1; then
        echo ok >"$build/logs/$t.result"
    else
        echo CRASH >"$build/logs/$t.result"
    fi
}

export -f run_one
export build seconds top
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, $jobs at a time"
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}'

status=0
printf '%-16s %8s %12s %9s %7s %7s %7s  %s\n' \
    target seconds executions exec/s cov ft corpus result
for t in "${targets[@]}"; do
    log=$build/logs/$t.log
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    # The last status line: "#N DONE cov: C ft: F corp: U/SIZE ..."
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
    result=$(cat "$build/logs/$t.result" 2>/dev/null || echo "did not run")
    if [ "$result" != ok ]; then
        status=1
        result="CRASH: $(ls "$build/artifacts/$t" | head -1) (log $log)"
    fi
    printf '%-16s %8s %12s %9s %7s %7s %7s  %s\n' "$t" "$seconds" \
        "${execs:--}" "${rate:--}" "${cov:--}" "${ft:--}" "${corp:--}" \
        "$result"
done
exit $status
