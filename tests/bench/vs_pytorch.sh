#!/bin/bash
# Training throughput of ptrain side by side with PyTorch (Debian's python3-torch, /usr/bin/python3).
# Usage: tests/bench/vs_pytorch.sh BUILD_DIR [REPEATS]     writes results/vs_pytorch.md
# fmnist (batch 64) and cxr (batch 32): ptrain at -np 1 with 1 and 2 threads and at -np 2 with 1
# thread each, against tests/bench/torch_ref.py (the same presets, init and optimizer, in PyTorch's
# tuned configuration: OpenMP threads = T, OpenBLAS at 1 thread, malloc neither mmapping nor
# trimming) at 1 and 2 threads in one process, and as DistributedDataParallel over 2 processes
# with 1 thread each (gloo on 127.0.0.1; the same global batch, half of it per process, as ptrain
# splits --batch over its ranks). Every run is alone on the machine (one after the other); each
# measurement is ~10-20 s; the figures are medians of REPEATS runs, interleaved so drift hits both.
# The -np 2 row is compared twice: with PyTorch on 2 threads and with PyTorch DDP on 2 processes.
set -euo pipefail

build="${1:-build}"
repeats="${2:-3}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
data="$build/bench-data"
out="$root/results/vs_pytorch.md"
py=/usr/bin/python3
ref="$root/tests/bench/torch_ref.py"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"
if ! "$py" -c "import torch" 2>/dev/null; then
    sh "$root/slurm/install-deps.sh" --bench --no-slurm
fi

# The caches train_bench.sh uses (made the same way if missing).
bench_caches "$build" "$data" "$tmp"

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
field() { sed -n "s/^  \"$1\": \([0-9.e+-]*\),*$/\1/p" "$2"; }

# ptrain ARCH CACHE BATCH STEPS NP THREADS -> images/s
ptrain_run() {
    local arch=$1 cache=$2 batch=$3 steps=$4 np=$5 threads=$6
    # each rank bound to as many cores as it has threads (Open MPI binds a rank to one core by
    # default when it starts at most 2)
    mpirun -np "$np" --map-by "slot:PE=$threads" "$build/bin/ptrain" train --data "$cache" \
        --arch "$arch" --batch "$batch" \
        --epochs 1 --max-steps "$steps" --threads "$threads" --no-augment --quiet \
        --run-dir "$tmp/run" >/dev/null
    field train_images_per_second "$tmp/run/summary.json"
    field parameters "$tmp/run/summary.json" >"$tmp/params.$arch"
    sed -n 's/^  "isa": "\(.*\)",*$/\1/p' "$tmp/run/summary.json" >"$tmp/ptrain_isa"
    sed -n 's/^  "blas_core": "\(.*\)",*$/\1/p' "$tmp/run/summary.json" >"$tmp/ptrain_blas_core"
    rm -rf "$tmp/run"
}
# torch ARCH STEPS PROCS THREADS -> global images/s (PROCS > 1: DistributedDataParallel)
# A DistributedDataParallel run now and then loses a process at start-up and the other waits in
# gloo for good (seen here once in 30 runs): each run gets 300 s, and one more try.
torch_run() {
    local attempt result
    for attempt in 1 2; do
        result=$(MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1073741824 OMP_NUM_THREADS="$4" \
            OPENBLAS_NUM_THREADS=1 timeout --kill-after=10 300 \
            "$py" "$ref" "$1" "$4" "$2" --procs "$3" | awk 'NF == 3 {print $3}') || true
        if [ -n "$result" ]; then
            echo "$result"
            return 0
        fi
        echo "vs_pytorch: PyTorch $1 procs=$3 threads=$4 gave no result (try $attempt of 2)" >&2
    done
    return 1
}
torch_label() { if [ "$1" -eq 1 ]; then echo "1 x $2"; else echo "$1 x $2 (DDP)"; fi; }

# Steps per measurement (~10-20 s each on this 2-core machine); doubled when 2 cores work.
# arch cache batch ptrain-steps torch-steps
configs=("fmnist $data/fmnist.h5 64 200 300" "cxr $data/cxr128.h5 32 30 40")
# ptrain np, threads; PyTorch processes, threads of the run that follows it (same cores)
layouts=("1 1 1 1" "1 2 1 2" "2 1 2 1")
# the table's rows: ptrain np, threads against PyTorch processes, threads
rows=("1 1 1 1" "1 2 1 2" "2 1 1 2" "2 1 2 1")
declare -A pt th
for r in $(seq "$repeats"); do
    for cfg in "${configs[@]}"; do
        read -r arch cache batch psteps tsteps <<<"$cfg"
        for layout in "${layouts[@]}"; do
            read -r np threads tp tt <<<"$layout"
            s=$psteps; [ "$np" -eq 2 ] && s=$((2 * psteps))
            i=$(ptrain_run "$arch" "$cache" "$batch" "$s" "$np" "$threads")
            pt[$arch,$np,$threads]+="$i "
            echo "vs_pytorch: repeat $r: ptrain $arch np=$np threads=$threads: $i images/s" >&2
            # PyTorch on the same cores (global steps: 2 processes x 1 thread as many as 2 threads)
            j=$(torch_run "$arch" $((tsteps * tp * tt)) "$tp" "$tt")
            th[$arch,$tp,$tt]+="$j "
            echo "vs_pytorch: repeat $r: torch  $arch procs=$tp threads=$tt: $j images/s" >&2
        done
    done
done

cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
flags="$(grep -m1 '^flags' /proc/cpuinfo | grep -o 'avx512f\|avx2\|fma' | sort -u | tr '\n' ' ')"
blas="$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)"
openblas="$(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo unknown)"
torchver="$(dpkg-query -W -f='${Version}' python3-torch 2>/dev/null || echo unknown)"
config="$("$py" "$ref" fmnist 1 1 0 --config | sed -n 's/^config: //p')"
params=""
for cfg in "${configs[@]}"; do
    read -r arch _ <<<"$cfg"
    n=$("$py" "$ref" "$arch" 1 1 0 --config | sed -n "s/^parameters: $arch //p")
    params+="$arch $(cat "$tmp/params.$arch") in ptrain, $n in PyTorch; "
done
isa="$(DNNL_VERBOSE=1 OMP_NUM_THREADS=1 "$py" "$ref" fmnist 1 1 0 | sed -n 's/^onednn_verbose,info,cpu,isa://p' | head -n 1)"
{
    echo "# Training throughput: ptrain vs PyTorch"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $cpu, $(nproc) cores (flags: ${flags% }), $(uname -r)."
    echo "Medians of $repeats runs each, ptrain and PyTorch interleaved, one run at a time; no augmentation;"
    echo "random input for PyTorch, the cached images for ptrain (the data path is not the bottleneck)."
    echo "The ratio is ptrain / PyTorch; the target is >= 1.5. Trainable parameters: ${params%; }."
    echo "ptrain's kernels: $(cat "$tmp/ptrain_isa") path; OpenBLAS core: $(cat "$tmp/ptrain_blas_core")${OPENBLAS_CORETYPE:+ (OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE set by this machine)}."
    echo
    echo "PyTorch \"1 x T\" is one process with T threads; \"2 x 1 (DDP)\" is DistributedDataParallel over 2"
    echo "processes of 1 thread (gloo, 127.0.0.1), each with half the global batch, as ptrain's 2 ranks."
    echo "The ptrain 2 x 1 figure appears twice, against each PyTorch layout on the same 2 cores."
    echo
    echo "| network | global batch | ptrain ranks x threads | PyTorch processes x threads | ptrain img/s | PyTorch img/s | ratio |"
    echo "|---|---:|---|---|---:|---:|---:|"
    for cfg in "${configs[@]}"; do
        read -r arch cache batch psteps tsteps <<<"$cfg"
        for row in "${rows[@]}"; do
            read -r np threads tp tt <<<"$row"
            i=$(echo "${pt[$arch,$np,$threads]}" | tr ' ' '\n' | grep . | median)
            j=$(echo "${th[$arch,$tp,$tt]}" | tr ' ' '\n' | grep . | median)
            ratio=$(awk -v a="$i" -v b="$j" 'BEGIN {printf "%.2f", a / b}')
            printf '| %s | %s | %s x %s | %s | %.0f | %.0f | %s |\n' "$arch" "$batch" "$np" "$threads" \
                "$(torch_label "$tp" "$tt")" "$i" "$j" "$ratio"
        done
    done
    echo
    echo "All runs (images/s, in order):"
    echo
    for cfg in "${configs[@]}"; do
        read -r arch _ <<<"$cfg"
        for layout in "${layouts[@]}"; do
            read -r np threads tp tt <<<"$layout"
            echo "- ptrain $arch $np x $threads: ${pt[$arch,$np,$threads]% }"
        done
        for layout in "${layouts[@]}"; do
            read -r np threads tp tt <<<"$layout"
            echo "- PyTorch $arch $(torch_label "$tp" "$tt"): ${th[$arch,$tp,$tt]% }"
        done
    done
    echo
    echo "## PyTorch build"
    echo
    echo "python3-torch $torchver; BLAS: $blas (libopenblas0-pthread $openblas); oneDNN ISA at run time: ${isa:-unknown}."
    echo
    echo '```'
    echo "$config"
    echo '```'
    echo
    echo "## Commands"
    echo
    echo '```'
    echo "make bench    # or: bash tests/bench/vs_pytorch.sh $build $repeats"
    echo "mpirun -np NP --map-by slot:PE=T $build/bin/ptrain train --data CACHE --arch A --batch B --epochs 1 --max-steps S \\"
    echo "    --threads T --no-augment --quiet --run-dir TMP     # train_images_per_second of TMP/summary.json"
    echo "MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1073741824 OMP_NUM_THREADS=T OPENBLAS_NUM_THREADS=1 \\"
    echo "    /usr/bin/python3 tests/bench/torch_ref.py A T S [--procs 2]     # --procs 2: DDP, T=1"
    echo '```'
    echo
    echo "Steps: ptrain fmnist 200 / cxr 30 per rank count 1 (doubled at -np 2); PyTorch fmnist 300 / cxr 40"
    echo "per core used (global steps; after 20 / 5 warm-up steps). Caches: $data/fmnist.h5, $data/cxr128.h5."
    echo "DDP: torch.distributed gloo, init_method env:// on 127.0.0.1 (a free port), one process per rank"
    echo "started by tests/bench/torch_common.py with the same tuning, DistributedDataParallel defaults"
    echo "(25 MiB buckets; ptrain's are 4 MiB), per-process batch norm; images/s = global images / the"
    echo "slowest process's time."
    echo "PyTorch: conv3x3 pad 1 with bias, BN eps 1e-5 momentum 0.1, kaiming_normal_ (fan_in) weights, zero"
    echo "biases, SGD momentum 0.9 lr 0.01, cross-entropy; torch.set_num_threads(T); mallopt(M_MMAP_MAX, 0) and"
    echo "mallopt(M_TRIM_THRESHOLD, 1 GiB) via ctypes before torch is imported."
} >"$out"
cat "$out"
