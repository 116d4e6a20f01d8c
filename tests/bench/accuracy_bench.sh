#!/bin/bash
# Accuracy at equal work: Fashion-MNIST, the `fmnist` preset, ptrain against PyTorch.
# Usage: tests/bench/accuracy_bench.sh BUILD_DIR [EPOCHS]     writes results/accuracy.md
#        (ACCURACY_OUT=FILE writes FILE instead; ACCURACY_MAX_STEPS=N stops both sides after N steps)
# Both train EPOCHS (3) epochs with the same hyperparameters, ptrain's defaults made explicit:
# global batch 64, SGD lr 0.01 momentum 0.9, no weight decay, constant learning rate, no warmup,
# seeds 1, 2, 3 (ACCURACY_SEEDS), last partial batch dropped; no augmentation and no class weights (PyTorch has neither;
# the classes are balanced). Both train on the SAME 54,000 images, the train split ptrain-prep
# carves out of the 60,000 (tests/bench/torch_fmnist.py reads the IDX files and takes the ids of
# the cache's train and val splits with h5py), both pick the epoch with the best validation macro
# AUC (ptrain's rule) and evaluate it once on the 10,000 test images. Layouts: ptrain -np 2 x 1
# thread; PyTorch DistributedDataParallel 2 processes x 1 thread (the same layout), and PyTorch
# 1 process x 2 threads. One run each per seed, one at a time (about 5 minutes per seed on 2 cores).
set -euo pipefail

build="${1:-build}"
epochs="${2:-3}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
data="$build/bench-data"
cache="$data/fmnist.h5"
out="${ACCURACY_OUT:-$root/results/accuracy.md}"
py=/usr/bin/python3
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
if ! "$py" -c "import torch, h5py" 2>/dev/null; then
    sh "$root/slurm/install-deps.sh" --bench --no-slurm
fi

# The cache train_bench.sh and vs_pytorch.sh use (made the same way if missing).
mkdir -p "$data"
[ -f "$cache" ] ||
    mpirun -np 2 "$build/bin/ptrain-prep" --src /usr/share/datasets/fashion-mnist \
        --out "$cache" --quiet >/dev/null

hyper=(--epochs "$epochs" --batch 64 --lr 0.01 --momentum 0.9 --weight-decay 0)
# ACCURACY_MAX_STEPS=N: a smoke test of the script (both sides stop after N steps)
if [ -n "${ACCURACY_MAX_STEPS:-}" ]; then hyper+=(--max-steps "$ACCURACY_MAX_STEPS"); fi
now() { date +%s.%N; }

# torch DIR NAME PROCS THREADS SEED
torch_run() {
    echo "accuracy_bench: seed $5: PyTorch $3 process(es) x $4 thread(s), $epochs epochs" >&2
    local t0 t1
    t0=$(now)
    MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1073741824 OMP_NUM_THREADS="$4" OPENBLAS_NUM_THREADS=1 \
        "$py" tests/bench/torch_fmnist.py --cache "$cache" "${hyper[@]}" --seed "$5" --procs "$3" \
        --threads "$4" --json "$1/$2.json" >&2
    t1=$(now)
    echo "$t0 $t1" | awk '{printf "%.1f\n", $2 - $1}' >"$1/$2.wall"
}

# run_seed SEED DIR: ptrain -np 2, PyTorch DDP 2 x 1 and PyTorch 1 x 2 with this seed, into DIR
run_seed() {
    local seed=$1 dir=$2 t0 t1
    mkdir -p "$dir"
    echo "accuracy_bench: seed $seed: ptrain -np 2 x 1 thread, $epochs epochs" >&2
    t0=$(now)
    mpirun -np 2 "$build/bin/ptrain" train --data "$cache" --arch fmnist "${hyper[@]}" --seed "$seed" \
        --schedule constant --no-augment --class-weights none --threads 1 \
        --run-dir "$dir/ptrain" >"$dir/ptrain.log"
    t1=$(now)
    echo "$t0 $t1" | awk '{printf "%.1f\n", $2 - $1}' >"$dir/ptrain.wall"
    cat "$dir/ptrain.log" >&2
    torch_run "$dir" ddp 2 1 "$seed"
    torch_run "$dir" threads 1 2 "$seed"
}

# The first seed is reported in full; every seed goes into the seed table (seed-to-seed spread is
# about as large as any difference between the two frameworks).
read -r -a seeds <<<"${ACCURACY_SEEDS:-1 2 3}"
run_seed "${seeds[0]}" "$tmp"
for seed in "${seeds[@]:1}"; do
    run_seed "$seed" "$tmp/seed$seed"
done

cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
torchver="$(dpkg-query -W -f='${Version}' python3-torch 2>/dev/null || echo unknown)"
"$py" - "$tmp" "$out" "$build" "$cache" "$epochs" "$cpu" "$(nproc)" "$torchver" "${ACCURACY_MAX_STEPS:-}" "${seeds[*]}" <<'EOF'
import csv, json, os, sys, time

tmp, out, build, cache, epochs, cpu, cores, torchver, max_steps, seeds = sys.argv[1:]
seeds = seeds.split()
summary = json.load(open(tmp + "/ptrain/summary.json"))
ptver = summary["generator"]
metrics = tmp + "/ptrain/metrics.csv"  # absent when --max-steps ends the run inside epoch 1
rows = list(csv.DictReader(open(metrics))) if os.path.exists(metrics) else []
wall = {k: float(open("%s/%s.wall" % (tmp, k)).read()) for k in ("ptrain", "ddp", "threads")}
torch = {k: json.load(open("%s/%s.json" % (tmp, k))) for k in ("ddp", "threads")}


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


runs = [{
    "name": "ptrain", "layout": "2 ranks x 1 thread (mpirun -np 2)",
    "acc": summary["test"]["accuracy"], "loss": summary["test"]["loss"],
    "auc": summary["test"]["macro_auc"], "best": summary["best_epoch"],
    "epoch_s": mean([float(r["epoch_s"]) for r in rows]),
    "ips": mean([float(r["images_per_s"]) for r in rows]) if rows else summary["train_images_per_second"],
    "wall": wall["ptrain"],
    "epochs": [(int(r["epoch"]), float(r["train_loss"]), float(r["train_accuracy"]), float(r["val_loss"]),
                float(r["val_accuracy"]), float(r["val_auc"]), float(r["epoch_s"])) for r in rows],
}]
for key, layout in (("ddp", "DDP 2 processes x 1 thread (gloo)"), ("threads", "1 process x 2 threads")):
    t = torch[key]
    runs.append({
        "name": "PyTorch", "layout": layout, "acc": t["test"]["accuracy"], "loss": t["test"]["loss"],
        "auc": t["test"]["macro_auc"], "best": t["best_epoch"],
        "epoch_s": mean([e["epoch_seconds"] for e in t["epochs"]]),
        "ips": mean([e["images_per_second"] for e in t["epochs"]]), "wall": wall[key],
        "epochs": [(e["epoch"], e["train_loss"], e["train_accuracy"], e["val_loss"], e["val_accuracy"],
                    e["val_macro_auc"], e["epoch_seconds"]) for e in t["epochs"]],
    })

L = []
L.append("# Accuracy at equal work: ptrain vs PyTorch")
L.append("")
L.append("%s, %s, %s cores; %s, python3-torch %s. One run of each per seed, one at a time."
         % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), cpu, cores, ptver, torchver))
if max_steps:
    L.append("")
    L.append("**SMOKE TEST: both sides stopped after %s steps (ACCURACY_MAX_STEPS); not a result.**" % max_steps)
L.append("")
L.append("Fashion-MNIST, the `fmnist` preset, %s epochs, global batch 64, SGD lr 0.01 momentum 0.9, no weight"
         % epochs)
L.append("decay, constant learning rate, no augmentation, no class weights, last partial batch dropped.")
L.append("Both train on the same 54,000 images (the train split ptrain-prep carves from the 60,000; the other")
L.append("6,000 are validation), normalised with the same mean and std; both keep the epoch with the best")
L.append("validation macro AUC and evaluate it once on the 10,000 test images. What differs: the random")
L.append("streams (initial weights drawn by each framework's own generator from the same He-normal law, and")
L.append("the per-epoch shuffles), and the arithmetic (ptrain: Winograd, direct and im2col + OpenBLAS convolutions; PyTorch: oneDNN).")
L.append("")
L.append("")
L.append("## Every seed (test accuracy)")
L.append("")
L.append("| seed | ptrain -np 2 | PyTorch DDP 2 x 1 | PyTorch 1 x 2 |")
L.append("|---:|---:|---:|---:|")
table = {"ptrain": [], "ddp": [], "threads": []}
for i, seed in enumerate(seeds):
    d = tmp if i == 0 else "%s/seed%s" % (tmp, seed)
    row = [json.load(open(d + "/ptrain/summary.json"))["test"]["accuracy"]]
    row += [json.load(open("%s/%s.json" % (d, k)))["test"]["accuracy"] for k in ("ddp", "threads")]
    for k, v in zip(("ptrain", "ddp", "threads"), row):
        table[k].append(v)
    L.append("| %s | %.4f | %.4f | %.4f |" % ((seed,) + tuple(row)))
L.append("| mean | %.4f | %.4f | %.4f |" % tuple(mean(table[k]) for k in ("ptrain", "ddp", "threads")))
L.append("")
L.append("## Seed %s in detail" % seeds[0])
L.append("")
L.append("| framework | layout | test accuracy | test loss | test macro AUC | best epoch | s / epoch | train img/s | wall s |")
L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for r in runs:
    L.append("| %s | %s | %.4f | %.4f | %.4f | %d | %.1f | %.0f | %.1f |"
             % (r["name"], r["layout"], r["acc"], r["loss"], r["auc"], r["best"], r["epoch_s"], r["ips"], r["wall"]))
L.append("")
L.append("s / epoch: training plus the validation pass, averaged over the epochs; train img/s: training")
L.append("images over training seconds; wall s: the whole command (start-up, loading, every epoch, the test")
L.append("pass, and for ptrain the checkpoints, plots and predictions.csv it writes).")
L.append("")
L.append("Per epoch (train loss / accuracy, validation loss / accuracy / macro AUC, seconds):")
L.append("")
L.append("| framework | layout | epoch | train loss | train acc | val loss | val acc | val macro AUC | s |")
L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for r in runs:
    for e in r["epochs"]:
        L.append("| %s | %s | %d | %.4f | %.4f | %.4f | %.4f | %.4f | %.1f |" % ((r["name"], r["layout"]) + tuple(e)))
L.append("")
L.append("## Commands")
L.append("")
L.append("```")
L.append("bash tests/bench/accuracy_bench.sh %s %s    # part of make bench" % (build, epochs))
L.append("mpirun -np 2 %s/bin/ptrain-prep --src /usr/share/datasets/fashion-mnist --out %s" % (build, cache))
L.append("mpirun -np 2 %s/bin/ptrain train --data %s --arch fmnist --epochs %s --batch 64 --lr 0.01 \\" % (build, cache, epochs))
L.append("    --momentum 0.9 --weight-decay 0 --seed S --schedule constant --no-augment --class-weights none \\")
L.append("    --threads 1 --run-dir TMP")
L.append("MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1073741824 OMP_NUM_THREADS=T OPENBLAS_NUM_THREADS=1 \\")
L.append("    /usr/bin/python3 tests/bench/torch_fmnist.py --cache %s --epochs %s --batch 64 --lr 0.01 \\" % (cache, epochs))
L.append("    --momentum 0.9 --weight-decay 0 --seed S --procs P --threads T    # P x T = 2 x 1 and 1 x 2")
L.append("```")
L.append("")
L.append("PyTorch reads the images from the IDX files (`/usr/share/datasets/fashion-mnist`) and only the")
L.append("split (sample ids) from the cache, after checking that the cache's train, val and test images are")
L.append("the IDX images byte for byte. `--procs 2` is DistributedDataParallel over 2 processes (gloo,")
L.append("127.0.0.1), 32 images each per step, so its gradient is the mean over the global batch of 64, as")
L.append("ptrain's 2 ranks compute it.")
open(out, "w").write("\n".join(L) + "\n")
EOF
cat "$out"
