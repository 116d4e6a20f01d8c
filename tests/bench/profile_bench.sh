#!/bin/bash
# Where a training step's time goes, against the hardware limit.
# Usage: tests/bench/profile_bench.sh BUILD_DIR      writes results/profile.md
# OpenBLAS sgemm GFLOP/s (square and conv-shaped, tests/bin/sgemm_bench), then `ptrain train
# --profile` for fmnist (batch 64) and cxr (batch 32) on one rank with one thread, and cxr at
# -np 2 (batch 64, 32 per rank) for the allreduce: per-layer GFLOP/s against sgemm, and the share
# of the step in conv GEMMs, im2col/col2im, batch norm, ReLU, pooling, dense, optimizer,
# allreduce and data.
set -euo pipefail

build="${1:-build}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
data="$build/bench-data"
out="$root/results/profile.md"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"
bench_caches "$build" "$data" "$tmp"

"$build/tests/bin/sgemm_bench" 1 >"$tmp/sgemm1"
peak=$(awk '$1 == "square-2048" {print $5}' "$tmp/sgemm1")

# profile NAME ARCH CACHE BATCH STEPS NP [ALGO] -> $tmp/NAME.csv
# (the -np 2 run studies the bucketed allreduce: --grad-sum allreduce)
profile() {
    local name=$1 arch=$2 cache=$3 batch=$4 steps=$5 np=$6 algo=${7:-auto}
    mpirun -np "$np" "$build/bin/ptrain" train --data "$cache" --arch "$arch" --batch "$batch" \
        --epochs 1 --max-steps "$steps" --threads 1 --no-augment --quiet --profile \
        --conv-algo "$algo" --grad-sum allreduce --run-dir "$tmp/run" >/dev/null
    cp "$tmp/run/profile.csv" "$tmp/$name.csv"
    rm -rf "$tmp/run"
}
profile fmnist fmnist "$data/fmnist.h5" 64 150 1
profile fmnist-gemm fmnist "$data/fmnist.h5" 64 150 1 gemm
profile cxr cxr "$data/cxr128.h5" 32 25 1
profile cxr-gemm cxr "$data/cxr128.h5" 32 25 1 gemm
profile cxr-np2 cxr "$data/cxr128.h5" 64 25 2

# The layer table of one profile: GFLOP/s as a share of the sgemm peak for conv and dense layers.
layer_table() {
    echo "| layer | algorithm | output | fwd ms | bwd ms | fwd GFLOP/s | bwd GFLOP/s | fwd % of sgemm | bwd % of sgemm | time in sgemm | share of step |"
    echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F, -v peak="$peak" 'NR > 1 && $2 != "step" {
        pf = ($7 > 0) ? sprintf("%.0f%%", 100 * $7 / peak) : ""
        pb = ($8 > 0) ? sprintf("%.0f%%", 100 * $8 / peak) : ""
        gf = ($7 > 0) ? sprintf("%.1f", $7) : ""
        gb = ($8 > 0) ? sprintf("%.1f", $8) : ""
        gs = ($9 != "") ? sprintf("%.0f%%", 100 * $9) : ""
        printf "| %s | %s | %s | %.2f | %.2f | %s | %s | %s | %s | %s | %.1f%% |\n", $1, $3, $4, $5, $6, gf, gb, pf, pb, gs, 100 * $10
    }' "$1"
}

# The step split by kind: conv time inside sgemm vs around it (im2col, col2im, layout copies),
# each element-wise layer type, dense, and the step-level parts.
split_row() {
    awk -F, -v name="$2" 'NR > 1 {
        t = $5 + $6
        if ($3 == "gemm") { gemm += t * $9; copies += t * (1 - $9) }
        else if ($3 == "winograd") wino += t
        else if ($3 == "direct") direct += t
        else if ($2 == "batchnorm") bn += t
        else if ($2 == "relu") relu += t
        else if ($2 == "maxpool" || $2 == "avgpool") pool += t
        else if ($2 == "dense") dense += t
        else if ($1 == "optimizer") opt = $5
        else if ($1 == "allreduce_wait") ar = $5
        else if ($1 == "data") dat = $5
        else if ($1 == "step") step = $5
    } END {
        rest = step - gemm - copies - wino - direct - bn - relu - pool - dense - opt - ar - dat
        printf "| %s | %.1f | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% |\n",
            name, step, 100 * wino / step, 100 * direct / step, 100 * gemm / step, 100 * copies / step,
            100 * bn / step, 100 * relu / step, 100 * pool / step, 100 * dense / step,
            100 * opt / step, 100 * ar / step, 100 * dat / step, 100 * rest / step
    }' "$1"
}

cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
{
    echo "# Where the step time goes"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $cpu, $(nproc) cores; \`ptrain train --profile\` (after 2 warm-up steps)."
    echo "One rank, one OpenBLAS thread unless stated. GFLOP/s count the direct convolution's"
    echo "multiply-adds (2 per MAC) whatever the algorithm (effective GFLOP/s: Winograd does 2.25x fewer"
    echo "multiplications, so it can pass the sgemm limit); backward of the first layer has no input"
    echo "gradient (half the work)."
    echo
    echo "## The limit: OpenBLAS sgemm, 1 thread"
    echo
    echo "| GEMM | M | N | K | GFLOP/s | % of square-2048 |"
    echo "|---|---:|---:|---:|---:|---:|"
    awk -v peak="$peak" '{printf "| %s | %s | %s | %s | %.1f | %.0f%% |\n", $1, $2, $3, $4, $5, 100 * $5 / peak}' "$tmp/sgemm1"
    echo
    echo "## Step split"
    echo
    echo "| run | step ms | conv Winograd | conv direct | conv sgemm | conv im2col/copies | batch norm | ReLU | pooling | dense | optimizer | allreduce wait | data | other |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    split_row "$tmp/fmnist.csv" "fmnist b64, 1 rank"
    split_row "$tmp/fmnist-gemm.csv" "fmnist b64, 1 rank, --conv-algo gemm"
    split_row "$tmp/cxr.csv" "cxr b32, 1 rank"
    split_row "$tmp/cxr-gemm.csv" "cxr b32, 1 rank, --conv-algo gemm"
    split_row "$tmp/cxr-np2.csv" "cxr b64, 2 ranks (rank 0)"
    echo
    for name in fmnist fmnist-gemm cxr cxr-gemm; do
        echo "## $name, per layer (1 rank, 1 thread)"
        echo
        layer_table "$tmp/$name.csv"
        echo
    done
    echo "## Gradient allreduce, cxr at -np 2"
    echo
    awk -F, '$1 == "allreduce_wait" {w = $5} $1 == "allreduce_alone" {a = $5} $1 == "allreduce_exposed" {e = $5} $1 == "step" {s = $5}
        END {
            printf "Per step: %.2f ms waited on rank 0, %.2f ms by the last rank to finish backward (the exposed\n", w, e
            printf "communication), %.2f ms for a blocking allreduce of all gradients alone; step %.1f ms.\n", a, s
            printf "The cxr gradient is 98k floats (383 KiB), less than one 4 MiB bucket: it is sent whole when\n"
            printf "backward ends, so nothing of it can hide behind backward; what matters is that it is %.2f%% of the step.\n", 100 * e / s
        }' "$tmp/cxr-np2.csv"
    echo
    echo "## Commands"
    echo
    echo '```'
    echo "bash tests/bench/profile_bench.sh build"
    echo "mpirun -np NP build/bin/ptrain train --data CACHE --arch A --batch B --epochs 1 --max-steps S \\"
    echo "    --threads 1 --no-augment --quiet --profile --run-dir RUN     # RUN/profile.csv"
    echo '```'
} >"$out"
cat "$out"
