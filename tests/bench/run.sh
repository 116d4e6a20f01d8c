#!/bin/bash
# make bench: every benchmark, one after the other (never two at once: they share the cores),
# then results/BENCHMARKS.md from their reports.
# Tables are printed and written under results/.
set -euo pipefail
build="${1:-build}"
cd "$(dirname "$0")/../.."
bash tests/bench/prep_bench.sh "$build" "${PREP_BENCH_COUNT:-2000}" "${BENCH_REPEATS:-3}"
bash tests/bench/train_bench.sh "$build" "${BENCH_REPEATS:-3}"
bash tests/bench/vs_pytorch.sh "$build" "${BENCH_REPEATS:-3}"
bash tests/bench/accuracy_bench.sh "$build" "${ACCURACY_EPOCHS:-3}"
bash tests/bench/profile_bench.sh "$build"
bash tests/bench/layer_report.sh "$build" "${BENCH_REPEATS:-3}"
bash tests/bench/projection.sh "$build"
bash tests/bench/serve_bench.sh "$build" "${SERVE_BENCH_PER_CLIENT:-40}"
bash tests/bench/report.sh "$build"
