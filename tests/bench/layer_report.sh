#!/bin/bash
# What each instruction-set path gains: per-layer GFLOP/s against OpenBLAS sgemm at the layer's
# GEMM shape, and the whole step against the core's peak, for every path this CPU runs.
# Usage: tests/bench/layer_report.sh BUILD_DIR [REPEATS]     writes results/layers.md
#
# fmnist (batch 64, fmnist.h5), cxr (batch 32, cxr128.h5) and resnet18 (batch 32, cxr64.h5: the
# synthetic films at 64x64) each train for a few steps with `ptrain train --profile` on one rank,
# one thread, once per path (PTRAIN_ISA=sse2|avx2|avx512; ~10 s a run here), the paths interleaved,
# REPEATS times (3); every figure is the median over the repeats. From profile.csv:
# - per conv and dense layer, forward and backward GFLOP/s on each path, beside the median
#   OpenBLAS sgemm GFLOP/s (tests/bin/sgemm_bench, 1 thread) at the layer's GEMM shapes: conv
#   forward M = filters, N = batch*P*Q, K = C*R*S (backward: the weight gradient K x CRS x NPQ and,
#   unless it is the first layer, the input gradient CRS x NPQ x K); dense forward M = batch,
#   N = outputs, K = inputs (and its two backward GEMMs). The shapes are those of im2col+GEMM
#   whatever algorithm the layer runs (Winograd and direct layers: "direct-equivalent");
# - per path the whole step: the FLOPs of all layers (forward + backward, as the profile counts
#   them) over the step time, against the peak of the widest multiply-add of the path measured by
#   tests/bin/fma_peak (sse2: SSE multiply + add, avx2: 8-lane FMA, avx512: 16-lane FMA).
# The conv shapes come from the profile itself: C*R*S = forward FLOPs / (2 * batch * K*P*Q), taken
# to the nearest C*R*S with C the channels of an earlier layer (or 1 or 3) and R = S in 1,3,5,7.
# Steps per run: LAYER_STEPS="FMNIST CXR RESNET18" (default "400 55 35").
set -euo pipefail

build="${1:-build}"
repeats="${2:-3}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
data="$build/bench-data"
out="$root/results/layers.md"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"
bench_caches "$build" "$data" "$tmp" # fmnist.h5, cxr128.h5 and cxr64.h5 (resnet18's input here)

read -r steps_fmnist steps_cxr steps_resnet18 <<<"${LAYER_STEPS:-400 55 35}"
# name arch cache batch steps
configs=("fmnist fmnist $data/fmnist.h5 64 $steps_fmnist"
    "cxr cxr $data/cxr128.h5 32 $steps_cxr"
    "resnet18 resnet18 $data/cxr64.h5 32 $steps_resnet18")

# The paths this CPU runs, as src/nn/isa.c decides (x86-64-v3: AVX2+FMA; v4: AVX-512 F BW CD DQ VL).
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { for f in "$@"; do [[ "$flags" == *" $f "* ]] || return 1; done; }
paths=(sse2)
if has avx2 fma; then
    paths+=(avx2)
    has avx512f avx512bw avx512cd avx512dq avx512vl && paths+=(avx512)
fi
# the fma_peak width each path is held against
declare -A peak_width=([sse2]=sse [avx2]=avx2 [avx512]=avx512)

"$build/tests/bin/fma_peak" >"$tmp/peak"
declare -A peak
while read -r w _ _ g _; do peak[$w]=$g; done < <(grep -v '^#' "$tmp/peak" | grep -v skipped)
# the core's own ceiling: its widest FMA (what OpenBLAS's kernels use on every path)
core_width=${peak_width[${paths[-1]}]}

json_string() { sed -n "s/^  \"$1\": \"\(.*\)\",*$/\1/p" "$2"; }

# profile NAME ARCH CACHE BATCH STEPS PATH REPEAT -> $tmp/NAME.PATH.REPEAT.csv, .isa, .blas
profile() {
    local name=$1 arch=$2 cache=$3 batch=$4 steps=$5 path=$6 r=$7 isa
    PTRAIN_ISA=$path mpirun -np 1 -x PTRAIN_ISA "$build/bin/ptrain" train --data "$cache" \
        --arch "$arch" --batch "$batch" --epochs 1 --max-steps "$steps" --threads 1 \
        --no-augment --quiet --profile --run-dir "$tmp/run" >/dev/null
    cp "$tmp/run/profile.csv" "$tmp/$name.$path.$r.csv"
    isa=$(json_string isa "$tmp/run/summary.json")
    json_string blas_core "$tmp/run/summary.json" >"$tmp/$name.$path.$r.blas"
    if [ "$isa" != "$path" ]; then
        echo "layer_report: PTRAIN_ISA=$path ran the $isa path" >&2
        exit 1
    fi
    rm -rf "$tmp/run"
}

# median_profile OUT IN...: one profile.csv whose numbers are the medians over the INs (the same
# network: the same rows). An odd count keeps GFLOP/s x ms exact: the median time is the time of
# the median rate.
median_profile() {
    local out=$1
    shift
    awk -F, -v OFS=, '
        function median(list,   a, k, i, j, t) {
            k = split(list, a, " ")
            for (i = 2; i <= k; i++) {
                t = a[i] + 0
                for (j = i - 1; j > 0 && a[j] + 0 > t; j--) a[j + 1] = a[j]
                a[j + 1] = t
            }
            return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
        }
        FNR == 1 { if (NR == 1) print; next }
        {
            key[FNR] = $1 OFS $2 OFS $3 OFS $4
            for (c = 5; c <= 10; c++) if ($c != "") v[FNR, c] = v[FNR, c] " " $c
            if (FNR > rows) rows = FNR
        }
        END {
            for (r = 2; r <= rows; r++) {
                line = key[r]
                for (c = 5; c <= 10; c++) line = line OFS (((r, c) in v) ? median(v[r, c]) : "")
                print line
            }
        }' "$@" >"$out"
}

for r in $(seq "$repeats"); do
    for cfg in "${configs[@]}"; do
        read -r name arch cache batch steps <<<"$cfg"
        for path in "${paths[@]}"; do
            echo "layer_report: repeat $r: $name on $path ($steps steps)" >&2
            profile "$name" "$arch" "$cache" "$batch" "$steps" "$path" "$r"
        done
    done
done
for cfg in "${configs[@]}"; do
    read -r name _ <<<"$cfg"
    for path in "${paths[@]}"; do
        median_profile "$tmp/$name.$path.csv" "$tmp/$name.$path".[0-9]*.csv
    done
done

# The GEMM shapes of a profile's conv and dense layers, one line each:
#   layer kind algo output M N K first check
# M N K the forward GEMM (conv: K filters, batch*P*Q, C*R*S; dense: batch, outputs, inputs),
# first 1 when backward computes no input gradient (backward FLOPs = forward FLOPs, not 2x),
# check the relative gap between the derived and the chosen C*R*S (or inputs).
shapes() {
    awk -F, -v batch="$2" '
        function abs(x) { return x < 0 ? -x : x }
        BEGIN { chans[1] = 1; chans[3] = 1 }
        NR == 1 || $2 == "step" { next }
        {
            split($4, o, "x"); ch = o[1]; p = o[2]; q = o[3]
            fwd = $5 * $7 * 1e6; bwd = $6 * $8 * 1e6
            if (($2 == "conv" || $2 == "dense") && fwd > 0) {
                first = (bwd < 1.5 * fwd) ? 1 : 0
                if ($2 == "conv") {
                    est = fwd / (2 * batch * ch * p * q); best = -1
                    for (c in chans) for (r = 1; r <= 7; r += 2)
                        if (best < 0 || abs(c * r * r - est) < abs(best - est)) best = c * r * r
                    printf "%s conv %s %s %d %d %d %d %.4f\n", $1, $3, $4, ch, batch * p * q, best, first, abs(best - est) / est
                } else {
                    est = fwd / (2 * batch * ch); best = -1
                    for (s in sizes) if (best < 0 || abs(s - est) < abs(best - est)) best = s
                    printf "%s dense - %s %d %d %d %d %.4f\n", $1, $4, batch, ch, best, first, abs(best - est) / est
                }
            }
            chans[ch] = 1; sizes[ch * p * q] = 1
        }' "$1"
}

# The sgemm calls behind a layer, "M N K OP" each: forward first, then backward.
gemm_calls() { # kind M N K first
    local kind=$1 m=$2 n=$3 k=$4 first=$5
    if [ "$kind" = conv ]; then
        echo "$m $n $k nn"                          # Y = W * col
        echo "$m $k $n nt"                          # dW = G * col^T
        [ "$first" -eq 1 ] || echo "$k $n $m tn"    # dcol = W^T * G
    else
        echo "$m $n $k nt"                          # Y = X * W^T
        echo "$n $k $m tn"                          # dW = G^T * X
        [ "$first" -eq 1 ] || echo "$m $k $n nn"    # dX = G * W
    fi
}

declare -A sgemm
sgemm_rate() { # M N K OP -> GFLOP/s (measured once per shape)
    local key="$*"
    if [ -z "${sgemm[$key]:-}" ]; then
        sgemm[$key]=$("$build/tests/bin/sgemm_bench" 1 "$@" | awk '{print $5}')
    fi
}
for cfg in "${configs[@]}"; do
    read -r name arch cache batch steps <<<"$cfg"
    # from one run: a median of an even count would not keep GFLOP/s x ms
    shapes "$tmp/$name.${paths[0]}.1.csv" "$batch" >"$tmp/$name.shapes"
    while read -r layer kind algo output m n k first check; do
        if awk -v c="$check" 'BEGIN {exit !(c > 0.02)}'; then
            echo "layer_report: $name $layer: GEMM K=$k is $check off the profile's FLOPs" >&2
            exit 1
        fi
        while read -r call; do
            # shellcheck disable=SC2086 # M N K OP: four words
            sgemm_rate $call
        done < <(gemm_calls "$kind" "$m" "$n" "$k" "$first")
    done <"$tmp/$name.shapes"
done
echo "layer_report: $(printf '%s\n' "${!sgemm[@]}" | wc -l) sgemm shapes measured" >&2

# sgemm GFLOP/s of a layer's forward (the first call) or backward (the others, which do the same
# FLOPs each: the rate of doing all of them is their harmonic mean).
layer_sgemm() { # fwd|bwd kind M N K first
    local dir=$1 calls
    shift
    if [ "$dir" = fwd ]; then
        calls=$(gemm_calls "$@" | head -n 1)
    else
        calls=$(gemm_calls "$@" | tail -n +2)
    fi
    while read -r call; do echo "${sgemm[$call]}"; done <<<"$calls" |
        awk '{s += 1 / $1; n++} END {printf "%.1f", n / s}'
}
# A layer's fwd and bwd GFLOP/s in one profile.
layer_gflops() { awk -F, -v l="$2" '$1 == l {printf "%.1f | %.1f", $7, $8}' "$1"; }
# The whole step: "step_ms GFLOP_per_step GFLOP/s share_in_conv_dense", the FLOPs from one run
# (FLOPs1.csv: every run counts the same), the times from the medians (MEDIAN.csv).
whole_step() { # FLOPS1.csv MEDIAN.csv
    awk -F, 'FNR == 1 {file++; next}
        file == 1 && $2 != "step" {f += ($5 * $7 + $6 * $8) * 1e6}
        file == 2 && ($2 == "conv" || $2 == "dense") {s += $10}
        file == 2 && $1 == "step" {t = $5}
        END {printf "%.2f %.3f %.1f %.1f\n", t, f / 1e9, f / t / 1e6, 100 * s}' "$1" "$2"
}

cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
blas_cores="$(cat "$tmp"/*.blas | sort -u | tr '\n' ' ')"
{
    echo "# Per layer and per instruction-set path: GFLOP/s against sgemm and the core's peak"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $cpu, $(nproc) cores, ptrain $(git rev-parse --short HEAD 2>/dev/null || echo '?');"
    echo "\`ptrain train --profile\` on one rank, one thread (after 2 warm-up steps), once per path:"
    echo "PTRAIN_ISA=$(IFS='|'; echo "${paths[*]}") (the paths this CPU runs), which chooses the kernels ptrain"
    echo "compiles once per path (Winograd transforms and, on avx512, most of their tile products;"
    echo "the small-map convolutions, the direct convolution, im2col, batch norm, pooling, the"
    echo "optimizer, the sums of bias and batch-norm gradients). The other GEMMs are OpenBLAS's on"
    echo "every path: it picks its own"
    echo "kernels, core ${blas_cores% } here (summary.json \"blas_core\" of every run), so the sgemm"
    echo "columns hold for every path."
    echo
    echo "GFLOP/s count the direct convolution's multiply-adds (2 FLOPs each) whatever the algorithm, so"
    echo "a Winograd layer (2.25x fewer multiplications) can pass sgemm. The sgemm columns are the median"
    echo "OpenBLAS rate (tests/bin/sgemm_bench, 1 thread) at the layer's im2col GEMM shapes: forward"
    echo "M x N x K as listed; backward the weight-gradient GEMM and, except on the first layer, the"
    echo "input-gradient GEMM (their combined rate). Winograd and direct layers do not run these GEMMs:"
    echo "their shape is the direct-equivalent one."
    echo
    echo "## The core's peak (tests/bin/fma_peak, 1 thread)"
    echo
    echo "| width | lanes | operation | GFLOP/s |"
    echo "|---|---:|---|---:|"
    grep -v '^#' "$tmp/peak" | while read -r w lanes op rest; do
        echo "| $w | $lanes | $op | $rest |"
    done
    echo
    echo "14 independent chains per width, best of 3 windows of 0.1 s. The sse2 path is held against"
    echo "the SSE multiply + add (x86-64 has no FMA before AVX2), avx2 against 8-lane FMA, avx512"
    echo "against 16-lane FMA."
    echo
    echo "## Whole step against the peak"
    echo
    echo "FLOPs per step: every conv and dense layer, forward + backward (2x forward where the layer"
    echo "computes an input gradient, 1x on the first layer), as the profile counts them; other layers"
    echo "(batch norm, pooling, ReLU) and the optimizer count no FLOPs but take time. Every figure is"
    echo "the median of $repeats run(s) per path, the paths interleaved."
    echo
    echo "Read the \"% of path's peak\" column with care: PTRAIN_ISA narrows only ptrain's own kernels."
    echo "The GEMMs of im2col convolutions and dense layers, and those inside Winograd but on avx512,"
    echo "run in OpenBLAS's ${blas_cores% } kernels on every path, and Winograd layers are credited with the"
    echo "direct convolution's FLOPs, so the sse2 path can pass the SSE multiply + add peak. The column"
    echo "against the core's widest FMA ($core_width) is the one ceiling that holds for all paths."
    echo
    echo "| network | batch | path | step ms | GFLOP per step | GFLOP/s | path's peak GFLOP/s (width) | % of path's peak | % of $core_width peak | speed-up over sse2 | step in conv + dense |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for cfg in "${configs[@]}"; do
        read -r name arch cache batch steps <<<"$cfg"
        base_ms=$(whole_step "$tmp/$name.sse2.1.csv" "$tmp/$name.sse2.csv" | awk '{print $1}')
        for path in "${paths[@]}"; do
            read -r ms gflop rate share < <(whole_step "$tmp/$name.$path.1.csv" "$tmp/$name.$path.csv")
            w=${peak_width[$path]}
            awk -v n="$name" -v b="$batch" -v p="$path" -v ms="$ms" -v g="$gflop" -v r="$rate" \
                -v pk="${peak[$w]}" -v w="$w" -v core="${peak[$core_width]}" -v base="$base_ms" \
                -v s="$share" 'BEGIN {
                printf "| %s | %d | %s | %.1f | %.2f | %.1f | %.1f (%s) | %.1f%% | %.1f%% | %.2fx | %.0f%% |\n",
                    n, b, p, ms, g, r, pk, w, 100 * r / pk, 100 * r / core, base / ms, s}'
        done
    done
    for cfg in "${configs[@]}"; do
        read -r name arch cache batch steps <<<"$cfg"
        echo
        echo "## $name (batch $batch), per layer: GFLOP/s"
        echo
        header="| layer | algorithm | output | GEMM M x N x K (forward) | sgemm fwd | sgemm bwd |"
        rule="|---|---|---|---|---:|---:|"
        for path in "${paths[@]}"; do
            header+=" $path fwd | $path bwd |"
            rule+="---:|---:|"
        done
        echo "$header"
        echo "$rule"
        while read -r layer kind algo output m n k first _; do
            label="$kind"
            [ "$kind" = conv ] && label="$algo"
            shape="$m x $n x $k"
            [ "$kind" = conv ] && [ "$algo" != gemm ] && shape+=" (direct-equivalent)"
            row="| $layer | $label | $output | $shape | $(layer_sgemm fwd "$kind" "$m" "$n" "$k" "$first") | $(layer_sgemm bwd "$kind" "$m" "$n" "$k" "$first") |"
            for path in "${paths[@]}"; do
                row+=" $(layer_gflops "$tmp/$name.$path.csv" "$layer") |"
            done
            echo "$row"
        done <"$tmp/$name.shapes"
    done
    echo
    echo "## Commands"
    echo
    echo '```'
    echo "bash tests/bench/layer_report.sh $build    # (make bench runs it)"
    echo "$build/tests/bin/fma_peak"
    echo "$build/tests/bin/sgemm_bench 1 M N K nn|nt|tn"
    echo "PTRAIN_ISA=PATH mpirun -np 1 -x PTRAIN_ISA $build/bin/ptrain train --data CACHE --arch A --batch B \\"
    echo "    --epochs 1 --max-steps S --threads 1 --no-augment --quiet --profile --run-dir RUN   # RUN/profile.csv"
    echo '```'
    echo
    echo "Steps: fmnist $steps_fmnist, cxr $steps_cxr, resnet18 $steps_resnet18 (batch 64 / 32 / 32). Caches: $data/fmnist.h5,"
    echo "$data/cxr128.h5, $data/cxr64.h5 (1,200 synthetic films, ptrain-synth --seed 3, at 128x128 and 64x64)."
} >"$out"
cat "$out"
