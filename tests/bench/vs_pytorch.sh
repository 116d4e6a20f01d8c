#!/bin/bash
# Training and inference throughput of ptrain side by side with PyTorch (Debian's python3-torch,
# /usr/bin/python3).
# Usage: [VS_PYTORCH_NETS="fmnist cxr resnet18"] [VS_PYTORCH_TRAIN=...] [VS_PYTORCH_INFER=...] \
#        tests/bench/vs_pytorch.sh BUILD_DIR [REPEATS]          writes results/vs_pytorch.md
#
# Training: fmnist (batch 64), cxr (batch 32) and resnet18 (batch 32, at 64x64 and at 128x128):
# ptrain at -np 1 with 1 and 2 threads and at -np 2 with 1 thread each, against
# tests/bench/torch_ref.py (the same presets, init and optimizer, in PyTorch's tuned
# configuration: OpenMP threads = T, OpenBLAS at 1 thread, malloc neither mmapping nor trimming)
# at 1 and 2 threads in one process, and as DistributedDataParallel over 2 processes with 1 thread
# each (gloo on 127.0.0.1; the same global batch, half of it per process, as ptrain splits --batch
# over its ranks). The -np 2 row is compared twice: with PyTorch on 2 threads and with PyTorch DDP
# on 2 processes.
# Inference: `ptrain eval --threads 1` (OPENBLAS_NUM_THREADS=1: one core) on a cache split, its
# inference_images_per_second (batches of 64; the model and cache load not counted), against
# torch_ref.py --infer (model.eval(), torch.no_grad(), batches of 64, 1 thread): fmnist, cxr and
# resnet18 at 64x64.
# Every run is alone on the machine (one after the other); each training measurement is ~10-20 s;
# the figures are medians of REPEATS runs, interleaved so drift hits both.
#
# VS_PYTORCH_NETS chooses the networks (default all three); VS_PYTORCH_TRAIN and VS_PYTORCH_INFER
# (default: VS_PYTORCH_NETS) choose them for the training and the inference table separately, ""
# for none. The rows of networks not run this time are carried over from the results/vs_pytorch.md
# already there, with the date they were measured.
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

all_nets="fmnist cxr resnet18"
nets="${VS_PYTORCH_NETS-$all_nets}"
train_nets="${VS_PYTORCH_TRAIN-$nets}"
infer_nets="${VS_PYTORCH_INFER-$nets}"
for n in $train_nets $infer_nets; do
    [[ " $all_nets " == *" $n "* ]] || {
        echo "vs_pytorch: '$n' is not one of: $all_nets" >&2
        exit 2
    }
done
selected() { [[ " $1 " == *" $2 "* ]]; } # LIST ARCH
infer_section="Inference throughput: ptrain eval vs PyTorch" # the heading of the second table

if ! "$py" -c "import torch" 2>/dev/null; then
    sh "$root/slurm/install-deps.sh" --bench --no-slurm
fi

# The caches train_bench.sh uses, and cxr64.h5 (made the same way if missing).
bench_caches "$build" "$data" "$tmp"
[ -f "$out" ] && cp "$out" "$tmp/old.md"

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
field() { sed -n "s/^  \"$1\": \([0-9.e+-]*\),*$/\1/p" "$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
# the table label of a configuration: resnet18-64 -> "resnet18 64x64"
label() { if [[ "$1" == *-* ]]; then echo "${1%-*} ${1#*-}x${1#*-}"; else echo "$1"; fi; }

# ptrain ARCH CACHE BATCH STEPS NP THREADS -> images/s
# --max-steps ends the run; where STEPS exceed an epoch (the caches of 1,200 films have 30 steps
# of 32) the validation between epochs is not in images/s, which counts the training steps only.
ptrain_run() {
    local arch=$1 cache=$2 batch=$3 steps=$4 np=$5 threads=$6
    # each rank bound to as many cores as it has threads (Open MPI binds a rank to one core by
    # default when it starts at most 2)
    mpirun -np "$np" --map-by "slot:PE=$threads" "$build/bin/ptrain" train --data "$cache" \
        --arch "$arch" --batch "$batch" \
        --epochs 100 --max-steps "$steps" --threads "$threads" --no-augment --quiet \
        --run-dir "$tmp/run" >/dev/null
    field train_images_per_second "$tmp/run/summary.json"
    field parameters "$tmp/run/summary.json" >"$tmp/params.$arch"
    sed -n 's/^  "isa": "\(.*\)",*$/\1/p' "$tmp/run/summary.json" >"$tmp/ptrain_isa"
    sed -n 's/^  "blas_core": "\(.*\)",*$/\1/p' "$tmp/run/summary.json" >"$tmp/ptrain_blas_core"
    rm -rf "$tmp/run"
}
# torch ARCH STEPS PROCS THREADS [torch_ref.py options] -> global images/s (PROCS > 1:
# DistributedDataParallel)
# A DistributedDataParallel run now and then loses a process at start-up and the other waits in
# gloo for good (seen here once in 30 runs, and once in a short resnet18 run): each run gets
# 120 s (6 times the longest measurement here), and one more try.
torch_run() {
    local arch=$1 steps=$2 procs=$3 threads=$4 attempt result
    shift 4
    for attempt in 1 2; do
        result=$(MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1073741824 OMP_NUM_THREADS="$threads" \
            OPENBLAS_NUM_THREADS=1 timeout --kill-after=10 120 \
            "$py" "$ref" "$arch" "$threads" "$steps" "$@" --procs "$procs" |
            awk 'NF == 3 {print $3}') || true
        if [ -n "$result" ]; then
            echo "$result"
            return 0
        fi
        echo "vs_pytorch: PyTorch $arch $* procs=$procs threads=$threads gave no result" \
            "(try $attempt of 2)" >&2
    done
    return 1
}
torch_label() { if [ "$1" -eq 1 ]; then echo "1 x $2"; else echo "$1 x $2 (DDP)"; fi; }
# ptrain eval MODEL CACHE SPLIT -> inference images/s on one thread (and $tmp/eval.json)
ptrain_eval() {
    OPENBLAS_NUM_THREADS=1 "$build/bin/ptrain" eval --model "$1" --data "$2" --split "$3" \
        --threads 1 >"$tmp/eval.json"
    local blas
    blas=$(field inference_blas_threads "$tmp/eval.json")
    if [ "$blas" != 1 ]; then # a second core would be in the figure
        echo "vs_pytorch: ptrain eval ran OpenBLAS on ${blas:-?} threads, not 1" >&2
        return 1
    fi
    field inference_images_per_second "$tmp/eval.json"
}
# old_lines SECTION REGEX: the lines of the previous results/vs_pytorch.md in SECTION (the text
# after "## " of its heading; "" for the training part above the first one) that match REGEX
old_lines() {
    [ -f "$tmp/old.md" ] || return 0
    awk -v sec="$1" -v pat="$2" '/^## / {cur = substr($0, 4); next} cur == sec && $0 ~ pat' \
        "$tmp/old.md"
}
# old_measured SECTION ARCH: "DATE, REPEATS" of ARCH's rows in the previous file (from its
# "... rows measured" line, or from its header for a file written before there was one)
old_measured() {
    local m
    m=$(old_lines "$1" "rows measured" | grep -o "$2 [0-9-]* [0-9:]* UTC, [0-9]* repeats" |
        head -n 1 | sed "s/^$2 //")
    if [ -z "$m" ] && [ -f "$tmp/old.md" ]; then
        m="$(sed -n '3s/^\([0-9-]* [0-9:]* UTC\),.*/\1/p' "$tmp/old.md"), $(sed -n \
            's/^Medians of \([0-9]*\) runs each.*/\1/p' "$tmp/old.md" | head -n 1) repeats"
    fi
    echo "$m"
}

# Training: key arch cache side batch ptrain-steps torch-steps torch-warm-up-steps
# Steps per measurement (~10-20 s each on this 2-core machine); doubled when 2 cores work.
all_configs=("fmnist fmnist $data/fmnist.h5 28 64 200 300 20"
    "cxr cxr $data/cxr128.h5 128 32 30 40 5"
    "resnet18-64 resnet18 $data/cxr64.h5 64 32 40 40 2"
    "resnet18-128 resnet18 $data/cxr128.h5 128 32 14 12 2")
# Inference: key arch cache side split (ptrain eval's batch is 64, as PyTorch's here)
all_infer=("fmnist fmnist $data/fmnist.h5 28 test"
    "cxr cxr $data/cxr128.h5 128 train"
    "resnet18-64 resnet18 $data/cxr64.h5 64 train")
configs=() infers=()
for cfg in "${all_configs[@]}"; do
    read -r _ arch _ <<<"$cfg"
    if selected "$train_nets" "$arch"; then configs+=("$cfg"); fi
done
for cfg in "${all_infer[@]}"; do
    read -r _ arch _ <<<"$cfg"
    if selected "$infer_nets" "$arch"; then infers+=("$cfg"); fi
done
# ptrain np, threads; PyTorch processes, threads of the run that follows it (same cores)
layouts=("1 1 1 1" "1 2 1 2" "2 1 2 1")
# the table's rows: ptrain np, threads against PyTorch processes, threads
rows=("1 1 1 1" "1 2 1 2" "2 1 1 2" "2 1 2 1")

# The models ptrain eval runs: a few training steps (the weights do not change the speed), and
# PyTorch's batches: as many images as the split holds, in batches of 64.
declare -A model tsteps_infer
for cfg in "${infers[@]}"; do
    read -r key arch cache _ split <<<"$cfg"
    "$build/bin/ptrain" train --data "$cache" --arch "$arch" --batch 32 --epochs 1 --max-steps 3 \
        --no-augment --quiet --run-dir "$tmp/model-$key" >/dev/null
    model[$key]="$tmp/model-$key/model.h5"
    ptrain_eval "${model[$key]}" "$cache" "$split" >/dev/null
    n=$(field n "$tmp/eval.json")
    tsteps_infer[$key]=$(((n + 63) / 64))
    echo "vs_pytorch: $key: eval on the $split split, $n images;" \
        "PyTorch ${tsteps_infer[$key]} batches of 64" >&2
done

declare -A pt th ev ti
for r in $(seq "$repeats"); do
    for cfg in "${configs[@]}"; do
        read -r key arch cache side batch psteps tsteps twarm <<<"$cfg"
        for layout in "${layouts[@]}"; do
            read -r np threads tp tt <<<"$layout"
            i=$(ptrain_run "$arch" "$cache" "$batch" $((psteps * np * threads)) "$np" "$threads")
            pt[$key,$np,$threads]+="$i "
            echo "vs_pytorch: repeat $r: ptrain $key np=$np threads=$threads: $i images/s" >&2
            # PyTorch on the same cores (global steps: 2 processes x 1 thread as many as 2 threads)
            j=$(torch_run "$arch" $((tsteps * tp * tt)) "$tp" "$tt" "$twarm" --side "$side" \
                --batch "$batch")
            th[$key,$tp,$tt]+="$j "
            echo "vs_pytorch: repeat $r: torch  $key procs=$tp threads=$tt: $j images/s" >&2
        done
    done
    for cfg in "${infers[@]}"; do
        read -r key arch cache side split <<<"$cfg"
        i=$(ptrain_eval "${model[$key]}" "$cache" "$split")
        ev[$key]+="$i "
        echo "vs_pytorch: repeat $r: ptrain eval $key: $i images/s" >&2
        j=$(torch_run "$arch" "${tsteps_infer[$key]}" 1 1 2 --side "$side" --infer --batch 64)
        ti[$key]+="$j "
        echo "vs_pytorch: repeat $r: torch  $key inference: $j images/s" >&2
    done
done

cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
flags="$(grep -m1 '^flags' /proc/cpuinfo | grep -o 'avx512f\|avx2\|fma' | sort -u | tr '\n' ' ')"
blas="$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)"
openblas="$(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo unknown)"
torchver="$(dpkg-query -W -f='${Version}' python3-torch 2>/dev/null || echo unknown)"
config="$("$py" "$ref" fmnist 1 1 0 --config | sed -n 's/^config: //p')"
now="$(date -u '+%Y-%m-%d %H:%M UTC')"
# Per network: its trainable parameters in both, and when its rows were measured.
params="" train_measured="" infer_measured="" old_epochs=0
for arch in $all_nets; do
    if [ -f "$tmp/params.$arch" ]; then
        n=$("$py" "$ref" "$arch" 1 1 0 --config | sed -n "s/^parameters: $arch //p")
        params+="$arch $(cat "$tmp/params.$arch") in ptrain, $n in PyTorch; "
        if [ "$n" != "$(cat "$tmp/params.$arch")" ]; then # not the same network
            echo "vs_pytorch: warning: $arch has $(cat "$tmp/params.$arch") trainable" \
                "parameters in ptrain, $n in PyTorch" >&2
            params+="(NOT THE SAME: the $arch rows compare different networks); "
        fi
    elif [ -f "$tmp/old.md" ] && selected "$all_nets" "$arch"; then
        p=$(grep -o "$arch [0-9]* in ptrain, [0-9]* in PyTorch" "$tmp/old.md" | head -n 1) || true
        [ -z "$p" ] || params+="$p; "
    fi
    if selected "$train_nets" "$arch"; then
        train_measured+="$arch $now, $repeats repeats; "
    elif [ -n "$(old_lines "" "^[|] ${arch}[ |]")" ]; then
        m=$(old_measured "" "$arch")
        train_measured+="$arch $m (carried over, not rerun); "
        [[ "$m" > "2026-11-30" ]] || old_epochs=1
    fi
    if selected "$infer_nets" "$arch"; then
        infer_measured+="$arch $now, $repeats repeats; "
    elif [ -n "$(old_lines "$infer_section" "^[|] ${arch}[ |]")" ]; then
        infer_measured+="$arch $(old_measured "$infer_section" "$arch") (carried over, not rerun); "
    fi
done
isa="$(DNNL_VERBOSE=1 OMP_NUM_THREADS=1 "$py" "$ref" fmnist 1 1 0 | sed -n 's/^onednn_verbose,info,cpu,isa://p' | head -n 1)"
# the table rows and the list of runs of one training network: measured now or carried over
train_rows() {
    local arch=$1 cfg key cache batch np threads tp tt i j
    if ! selected "$train_nets" "$arch"; then
        old_lines "" "^[|] ${arch}[ |]"
        return 0
    fi
    for cfg in "${configs[@]}"; do
        read -r key a _ _ batch _ <<<"$cfg"
        [ "$a" = "$arch" ] || continue
        for row in "${rows[@]}"; do
            read -r np threads tp tt <<<"$row"
            i=$(echo "${pt[$key,$np,$threads]}" | tr ' ' '\n' | grep . | median)
            j=$(echo "${th[$key,$tp,$tt]}" | tr ' ' '\n' | grep . | median)
            printf '| %s | %s | %s x %s | %s | %.0f | %.0f | %s |\n' "$(label "$key")" "$batch" \
                "$np" "$threads" "$(torch_label "$tp" "$tt")" "$i" "$j" "$(ratio "$i" "$j")"
        done
    done
}
train_runs() {
    local arch=$1 cfg key np threads tp tt
    if ! selected "$train_nets" "$arch"; then
        old_lines "" "^- (ptrain|PyTorch) ${arch}[ :]"
        return 0
    fi
    for cfg in "${configs[@]}"; do
        read -r key a _ <<<"$cfg"
        [ "$a" = "$arch" ] || continue
        for layout in "${layouts[@]}"; do
            read -r np threads tp tt <<<"$layout"
            echo "- ptrain $(label "$key") $np x $threads: ${pt[$key,$np,$threads]% }"
        done
        for layout in "${layouts[@]}"; do
            read -r np threads tp tt <<<"$layout"
            echo "- PyTorch $(label "$key") $(torch_label "$tp" "$tt"): ${th[$key,$tp,$tt]% }"
        done
    done
}
infer_rows() {
    local arch=$1 cfg key cache split side i j met
    if ! selected "$infer_nets" "$arch"; then
        old_lines "$infer_section" "^[|] ${arch}[ |]"
        return 0
    fi
    for cfg in "${infers[@]}"; do
        read -r key a _ side _ <<<"$cfg"
        [ "$a" = "$arch" ] || continue
        i=$(echo "${ev[$key]}" | tr ' ' '\n' | grep . | median)
        j=$(echo "${ti[$key]}" | tr ' ' '\n' | grep . | median)
        met=$(awk -v r="$(ratio "$i" "$j")" 'BEGIN {print (r >= 1.5) ? "yes" : "no"}')
        printf '| %s | %sx%s | 64 | 1 | %.0f | %.0f | %s | %s |\n' "$arch" "$side" "$side" "$i" \
            "$j" "$(ratio "$i" "$j")" "$met"
    done
}
infer_runs() {
    local arch=$1 cfg key
    if ! selected "$infer_nets" "$arch"; then
        old_lines "$infer_section" "^- (ptrain eval|PyTorch) ${arch}[ :]"
        return 0
    fi
    for cfg in "${infers[@]}"; do
        read -r key a _ <<<"$cfg"
        [ "$a" = "$arch" ] || continue
        echo "- ptrain eval $(label "$key"): ${ev[$key]% }"
        echo "- PyTorch $(label "$key"): ${ti[$key]% }"
    done
}
{
    echo "# Training throughput: ptrain vs PyTorch"
    echo
    echo "$now, $cpu, $(nproc) cores (flags: ${flags% }), $(uname -r)."
    echo "Medians of repeated runs (how many: below), ptrain and PyTorch interleaved, one run at a time;"
    echo "no augmentation;"
    echo "random input for PyTorch, the cached images for ptrain (the data path is not the bottleneck)."
    echo "Training rows measured: ${train_measured:-none; }" | sed "s/; $/./"
    echo "The ratio is ptrain / PyTorch; the target is >= 1.5. Trainable parameters: ${params%; }."
    if [ -f "$tmp/ptrain_isa" ]; then
        echo "ptrain's kernels: $(cat "$tmp/ptrain_isa") path; OpenBLAS core: $(cat "$tmp/ptrain_blas_core")${OPENBLAS_CORETYPE:+ (OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE set by this machine)}."
    else # no training run this time: the line of the rows carried over
        old_lines "" "^ptrain's kernels: "
    fi
    echo
    echo "PyTorch \"1 x T\" is one process with T threads; \"2 x 1 (DDP)\" is DistributedDataParallel over 2"
    echo "processes of 1 thread (gloo, 127.0.0.1), each with half the global batch, as ptrain's 2 ranks."
    echo "The ptrain 2 x 1 figure appears twice, against each PyTorch layout on the same 2 cores."
    echo "resnet18 is ptrain's preset (the standard ResNet-18 with a 1-channel stem, 2 classes) on the"
    echo "synthetic films at 64x64 (cxr64.h5) and at 128x128 (cxr128.h5)."
    echo
    echo "| network | global batch | ptrain ranks x threads | PyTorch processes x threads | ptrain img/s | PyTorch img/s | ratio |"
    echo "|---|---:|---|---|---:|---:|---:|"
    for arch in $all_nets; do train_rows "$arch"; done
    echo
    echo "All runs (images/s, in order):"
    echo
    for arch in $all_nets; do train_runs "$arch"; done
    echo
    echo "## $infer_section"
    echo
    echo "Inference images/s on one core, batches of 64, medians of repeated runs, interleaved."
    echo "Inference rows measured: ${infer_measured:-none; }" | sed "s/; $/./"
    echo "ptrain: \`OPENBLAS_NUM_THREADS=1 ptrain eval --threads 1\` (the script checks that eval's"
    echo "inference_blas_threads is 1: with --threads 1 alone OpenBLAS would thread the GEMMs on every"
    echo "core), its inference_images_per_second: the images of the split over the time of the inference"
    echo "call (uint8 -> float normalisation, forward passes of 64 in eval mode, softmax, the finite"
    echo "check; the last batch smaller; the first, cold batch included), not the model or cache load."
    echo "The model is a 3-step \`ptrain train\` run (the weights do not change the speed)."
    echo "PyTorch: the same network, \`model.eval()\` and \`torch.no_grad()\`, forward + softmax on a"
    echo "random float batch of 64, 1 thread (OMP_NUM_THREADS=1, OpenBLAS 1 thread), the tuned malloc,"
    echo "eager mode (no TorchScript, default memory format), as many images as ptrain's split after 2"
    echo "warm-up batches. The ratio is ptrain / PyTorch; the target is >= 1.5."
    echo
    echo "| network | input | batch | threads | ptrain eval img/s | PyTorch img/s | ratio | >= 1.5 |"
    echo "|---|---|---:|---:|---:|---:|---:|---|"
    for arch in $all_nets; do infer_rows "$arch"; done
    echo
    echo "All runs (images/s, in order):"
    echo
    for arch in $all_nets; do infer_runs "$arch"; done
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
    echo "make bench    # or: bash tests/bench/vs_pytorch.sh $build REPEATS"
    echo "VS_PYTORCH_NETS=resnet18 bash tests/bench/vs_pytorch.sh $build 3   # one network (both tables)"
    echo "VS_PYTORCH_TRAIN=resnet18 VS_PYTORCH_INFER=\"fmnist cxr resnet18\" bash tests/bench/vs_pytorch.sh $build 3"
    echo "mpirun -np NP --map-by slot:PE=T $build/bin/ptrain train --data CACHE --arch A --batch B --epochs 100 \\"
    echo "    --max-steps S --threads T --no-augment --quiet --run-dir TMP   # train_images_per_second of TMP/summary.json"
    echo "MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1073741824 OMP_NUM_THREADS=T OPENBLAS_NUM_THREADS=1 \\"
    echo "    /usr/bin/python3 tests/bench/torch_ref.py A T S W --side N --batch B [--procs 2]   # --procs 2: DDP, T=1"
    echo "OPENBLAS_NUM_THREADS=1 $build/bin/ptrain eval --model MODEL --data CACHE --split SPLIT --threads 1"
    echo "    # inference_images_per_second of its JSON"
    echo "MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1073741824 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\"
    echo "    /usr/bin/python3 tests/bench/torch_ref.py A 1 BATCHES 2 --side N --infer --batch 64"
    echo '```'
    echo
    echo "Training steps (S, ptrain / PyTorch, per core used: doubled when 2 cores work; PyTorch's count"
    echo "global steps, after W warm-up steps): fmnist 200 / 300 (W 20), cxr 30 / 40 (W 5), resnet18"
    echo "64x64 40 / 40 (W 2), resnet18 128x128 14 / 12 (W 2). The films' caches have 30 steps of 32 per"
    echo "epoch: ptrain runs --epochs 100 and --max-steps S ends it, and the validation between epochs"
    echo "is not in train_images_per_second (the training steps only, their first, cold steps included)."
    if [ "$old_epochs" = 1 ]; then
        echo "The rows carried over from before 2026-11-30 ran ptrain with --epochs 1 (which"
        echo "ended the cxr -np 2 runs after 30 steps) and 1 x 2 threads at the 1-core step count."
    fi
    echo "Inference: fmnist on its test split (10,000 images), cxr on the 128x128 films' training split"
    echo "(971), resnet18 on the 64x64 films' training split (971)."
    echo "Caches: $data/fmnist.h5, $data/cxr128.h5, $data/cxr64.h5 (the same 1,200 synthetic films)."
    echo "DDP: torch.distributed gloo, init_method env:// on 127.0.0.1 (a free port), one process per rank"
    echo "started by tests/bench/torch_common.py with the same tuning, DistributedDataParallel defaults"
    echo "(25 MiB buckets; ptrain's are 4 MiB), per-process batch norm; images/s = global images / the"
    echo "slowest process's time."
    echo "PyTorch: conv3x3 pad 1 with bias (resnet18: no conv bias, as ptrain's preset), BN eps 1e-5"
    echo "momentum 0.1, kaiming_normal_ (fan_in) weights, zero biases, SGD momentum 0.9 lr 0.01,"
    echo "cross-entropy; torch.set_num_threads(T); mallopt(M_MMAP_MAX, 0) and mallopt(M_TRIM_THRESHOLD,"
    echo "1 GiB) via ctypes before torch is imported."
} >"$out"
cat "$out"
