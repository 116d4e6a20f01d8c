#!/bin/bash
# Runs the libFuzzer harnesses of build-fuzz (make fuzz; .ci/run) for SECONDS each and prints one
# plain line per harness. Exits non-zero when any harness found a crash, leak, UBSan report or
# timeout: the input that did it is kept in BUILD/fuzz-artifacts/ (add it to tests/fuzz/corpus/
# once fixed, so that it stays a regression test).
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS [HARNESS...]      (default: all six)
#
# `cache` names both cache harnesses: fuzz_cache (a recipe written as a well-formed HDF5 cache)
# runs SECONDS like the others, and fuzz_cache_bytes (raw HDF5 bytes) follows it. The latter only
# replays its corpus (seeds and regression inputs): libhdf5 1.10 itself overflows buffers on
# corrupt attribute messages within seconds of mutation (README.md here).
# FUZZ_CACHE_BYTES_MUTATE=1 fuzzes it for real, for someone hunting in libhdf5's parser.
#
# Each harness starts from its committed seeds (tests/fuzz/corpus/<name>) plus what earlier runs
# in the same build directory found (BUILD/fuzz-corpus/<name>, never committed).
set -uo pipefail
build="${1:?usage: run.sh BUILD_DIR SECONDS [HARNESS...]}"
seconds="${2:?usage: run.sh BUILD_DIR SECONDS [HARNESS...]}"
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
requested=("$@")
[ ${#requested[@]} -gt 0 ] || requested=(image idx csv arch cache v2)
# `cache` brings the raw-bytes replay along (the Makefile's list names `cache` only).
harnesses=()
for h in "${requested[@]}"; do
    harnesses+=("$h")
    if [ "$h" = cache ] && [[ " ${requested[*]} " != *" cache_bytes "* ]]; then
        harnesses+=(cache_bytes)
    fi
done

# Most inputs worth finding are small; the cache_bytes seeds are HDF5 files of about 17 KB, the
# cache recipes a few hundred bytes at most.
max_len() {
    case "$1" in
        image) echo 65536 ;;
        cache_bytes) echo 32768 ;;
        cache) echo 2048 ;;
        *) echo 16384 ;;
    esac
}

failed=0
for h in "${harnesses[@]}"; do
    bin="$build/fuzz/fuzz_$h"
    seeds="$here/corpus/$h"
    work="$build/fuzz-corpus/$h"
    artifacts="$build/fuzz-artifacts/$h"
    log="$build/fuzz-logs/$h.log"
    mkdir -p "$work" "$artifacts" "$(dirname "$log")"
    if [ ! -x "$bin" ]; then
        echo "fuzz $h: FAILED: $bin is missing (cmake --build $build --target fuzzers)"
        failed=$((failed + 1))
        continue
    fi
    mode=(-max_total_time="$seconds")
    what="${seconds} s"
    if [ "$h" = cache_bytes ] && [ "${FUZZ_CACHE_BYTES_MUTATE:-0}" != 1 ]; then
        mode=(-runs=0)
        what="replay of the corpus only (FUZZ_CACHE_BYTES_MUTATE=1 mutates)"
    fi
    # -timeout: one input taking 10 s is a hang; -rss_limit_mb: one input using 2 GiB is a bug.
    # detect_leaks stays on: a leak on an error path is a bug like any other.
    ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" LSAN_OPTIONS="suppressions=$here/lsan.supp" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        "$bin" "${mode[@]}" -timeout=10 -rss_limit_mb=2048 \
        -max_len="$(max_len "$h")" -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$work" "$seeds" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    corpus=$(find "$work" -type f | wc -l)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz $h: ok: ${runs:-?} inputs, ${what} (${rate:-?} execs/s), corpus $corpus"
    else
        failed=$((failed + 1))
        crash=$(ls -t "$artifacts" 2>/dev/null | head -n 1)
        echo "fuzz $h: FAILED (exit $rc): ${runs:-?} inputs; input kept in" \
            "$artifacts/${crash:-?}; log $log:"
        grep -E "ERROR: |SUMMARY: |runtime error:" "$log" | head -n 5 | sed 's/^/    /'
    fi
done
if [ "$failed" -gt 0 ]; then
    echo "fuzz: $failed of ${#harnesses[@]} harnesses FAILED"
    exit 1
fi
echo "fuzz: all ${#harnesses[@]} harnesses ran without a finding"
