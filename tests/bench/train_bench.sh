#!/bin/bash
# Training throughput of ptrain against the OpenBLAS sgemm limit of this machine.
# Usage: tests/bench/train_bench.sh BUILD_DIR [REPEATS]     writes results/train_throughput.md
# fmnist (batch 64) on Fashion-MNIST and cxr (batch 32) on synthetic 128x128 films, at -np 1 with
# 1 and 2 OpenBLAS threads and at -np 2 with 1 thread each; images/s are medians of REPEATS runs.
set -euo pipefail

build="${1:-build}"
repeats="${2:-3}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
data="$build/bench-data"
out="$root/results/train_throughput.md"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"
bench_caches "$build" "$data" "$tmp"

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
field() { sed -n "s/^  \"$1\": \([0-9.e+-]*\),*$/\1/p" "$2"; }

# run ARCH CACHE BATCH STEPS NP THREADS ALGO -> "images/s gflop/s"
run() {
    local arch=$1 cache=$2 batch=$3 steps=$4 np=$5 threads=$6 algo=$7
    # each rank bound to as many cores as it has threads (Open MPI binds a rank to one core by
    # default when it starts at most 2)
    mpirun -np "$np" --map-by "slot:PE=$threads" "$build/bin/ptrain" train --data "$cache" \
        --arch "$arch" --batch "$batch" \
        --epochs 1 --max-steps "$steps" --threads "$threads" --no-augment --quiet \
        --conv-algo "$algo" --run-dir "$tmp/run" >/dev/null
    echo "$(field train_images_per_second "$tmp/run/summary.json") $(field train_gflop_per_second "$tmp/run/summary.json")"
    rm -rf "$tmp/run"
}

peak1=$("$build/tests/bin/sgemm_bench" 1 | awk '$1 == "square-2048" {print $5}')
peak2=$("$build/tests/bin/sgemm_bench" 2 | awk '$1 == "square-2048" {print $5}')
cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
{
    echo "# Training throughput"
    echo
    echo "$(date -u +%Y-%m-%d), $cpu, $(nproc) cores. OpenBLAS sgemm (2048^3): $peak1 GFLOP/s on 1 thread, $peak2 on 2."
    echo "Medians of $repeats runs; no augmentation. GFLOP/s are effective: the direct convolution's"
    echo "multiply-adds (training = 3 x forward) over the time, so Winograd, which does fewer, can"
    echo "exceed the sgemm limit. conv algorithm: auto (the default: Winograd for 3x3 stride-1 layers"
    echo "with more than one input channel, direct loops for single-channel ones) or gemm (im2col + sgemm"
    echo "for every layer but the single-channel first one)."
    echo
    echo "| network | batch | ranks x threads | conv algorithm | images/s | GFLOP/s | % of sgemm |"
    echo "|---|---:|---|---|---:|---:|---:|"
} >"$out"
for cfg in "fmnist $data/fmnist.h5 64 300" "cxr $data/cxr128.h5 32 40"; do
    read -r arch cache batch steps <<<"$cfg"
    for layout in "1 1 auto" "1 1 gemm" "1 2 auto" "2 1 auto" "2 1 gemm"; do
        read -r np threads algo <<<"$layout"
        ips="" gfs=""
        for _ in $(seq "$repeats"); do
            read -r i g <<<"$(run "$arch" "$cache" "$batch" "$steps" "$np" "$threads" "$algo")"
            ips+="$i " gfs+="$g "
        done
        i=$(echo "$ips" | tr ' ' '\n' | grep . | median)
        g=$(echo "$gfs" | tr ' ' '\n' | grep . | median)
        cores=$((np * threads))
        peak=$([ "$cores" -eq 1 ] && echo "$peak1" || echo "$peak2")
        pct=$(awk -v g="$g" -v p="$peak" 'BEGIN {printf "%.0f", 100 * g / p}')
        printf '| %s | %s | %s x %s | %s | %.0f | %.1f | %s%% |\n' "$arch" "$batch" "$np" "$threads" "$algo" "$i" "$g" "$pct" >>"$out"
        echo "train_bench: $arch np=$np threads=$threads conv=$algo: $i images/s"
    done
done
echo >>"$out"
echo "Command: \`make bench\` (tests/bench/train_bench.sh)." >>"$out"
cat "$out"
