#!/bin/bash
# One command for the whole pipeline on SLURM: submits slurm/prep.sbatch, then
# slurm/train.sbatch to start only if prep succeeded (--dependency=afterok); if prep fails, SLURM
# cancels the training job instead of leaving it pending forever.
#
#   PTRAIN_SRC=/shared/data/chest_xray PTRAIN_CACHE=/shared/cache/kermany128.h5 \
#   PTRAIN_RUN_DIR=/shared/runs/cxr-1 PTRAIN_EPOCHS=30 PTRAIN_BATCH=64 \
#       slurm/submit.sh --nodes=2 --ntasks-per-node=2 --cpus-per-task=4 --partition=compute
#
#   slurm/submit.sh [--no-prep] [--wait] [SBATCH OPTIONS...]
#
# SBATCH OPTIONS go to both jobs (partition, account, geometry, --output=logs/%x-%j.out, ...);
# PTRAIN_PREP_SBATCH and PTRAIN_TRAIN_SBATCH hold options for one job only, e.g.
# PTRAIN_TRAIN_SBATCH="--time=12:00:00 --signal=B:USR1@600". The PTRAIN_* variables of
# prep.sbatch and train.sbatch (see the top of each) are passed on to the jobs.
#   --no-prep   the cache exists already: submit the training job only
#   --wait      return when the training job has ended, with its exit status
#
# The inputs are checked here first, on the submitting node, so that a typo fails in a second
# instead of after a wait in the queue; the jobs check again on the compute node.
set -euo pipefail
PTRAIN_WHO="submit.sh"
PTRAIN_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PTRAIN_HOME
# shellcheck source=slurm/common.sh
source "$PTRAIN_HOME/slurm/common.sh"

usage() {
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
}

prep=1
wait_train=0
sbatch_args=()
for arg in "$@"; do
    case "$arg" in
    --no-prep) prep=0 ;;
    --wait) wait_train=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) sbatch_args+=("$arg") ;;
    esac
done

command -v sbatch >/dev/null 2>&1 || ptrain_die "sbatch is not on PATH: run this on a SLURM login node"

# absolute paths: the jobs may start in another directory (and on other nodes)
abspath() {
    case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
    esac
}

ptrain_find_bin
ptrain_require_var PTRAIN_CACHE "export PTRAIN_CACHE=/shared/path/cache.h5 (written by prep, read by training)"
PTRAIN_CACHE="$(abspath "$PTRAIN_CACHE")"
export PTRAIN_CACHE
if [ "$prep" -eq 1 ]; then
    ptrain_require_var PTRAIN_SRC \
        "export PTRAIN_SRC=/path/to/chest_xray (the images), or pass --no-prep if PTRAIN_CACHE exists"
    PTRAIN_SRC="$(abspath "$PTRAIN_SRC")"
    export PTRAIN_SRC
    ptrain_check_source "$PTRAIN_SRC"
    ptrain_check_writable_dir PTRAIN_CACHE "$(dirname "$PTRAIN_CACHE")"
else
    ptrain_check_cache "$PTRAIN_CACHE"
fi
if [ -n "${PTRAIN_RUN_DIR:-}" ]; then
    PTRAIN_RUN_DIR="$(abspath "$PTRAIN_RUN_DIR")"
    export PTRAIN_RUN_DIR
    ptrain_check_writable_dir PTRAIN_RUN_DIR "$PTRAIN_RUN_DIR"
fi
for name in PTRAIN_EPOCHS PTRAIN_BATCH PTRAIN_SIZE PTRAIN_THREADS PTRAIN_NTASKS; do
    if [ -n "${!name:-}" ]; then
        ptrain_check_count "$name" "${!name}"
    fi
done
if [ -n "${PTRAIN_ARCH:-}" ]; then
    case "$PTRAIN_ARCH" in
    fmnist | cxr | resnet18) ;;
    *)
        PTRAIN_ARCH="$(abspath "$PTRAIN_ARCH")"
        export PTRAIN_ARCH
        [ -r "$PTRAIN_ARCH" ] ||
            ptrain_die "PTRAIN_ARCH=$PTRAIN_ARCH is neither a preset (fmnist, cxr, resnet18) nor" \
                "a readable network file"
        ;;
    esac
fi

# shellcheck disable=SC2206  # word splitting of user-given options is intended
prep_only=(${PTRAIN_PREP_SBATCH:-})
# shellcheck disable=SC2206
train_only=(${PTRAIN_TRAIN_SBATCH:-})

dependency=()
if [ "$prep" -eq 1 ]; then
    prep_id="$(sbatch --parsable "${sbatch_args[@]}" "${prep_only[@]}" "$PTRAIN_HOME/slurm/prep.sbatch")"
    prep_id="${prep_id%%;*}" # --parsable prints "id" or "id;cluster"
    ptrain_say "prep job $prep_id: $PTRAIN_SRC -> $PTRAIN_CACHE"
    dependency=("--dependency=afterok:$prep_id" --kill-on-invalid-dep=yes)
fi

train_cmd=(sbatch --parsable "${dependency[@]}" "${sbatch_args[@]}" "${train_only[@]}")
if [ "$wait_train" -eq 0 ]; then
    train_id="$("${train_cmd[@]}" "$PTRAIN_HOME/slurm/train.sbatch")"
    ptrain_say "train job ${train_id%%;*}: run directory" \
        "${PTRAIN_RUN_DIR:-results/ptrain-train-${train_id%%;*} under $PWD}"
    ptrain_say "follow with: squeue -u $(id -un); logs: ptrain-*-<job id>.out unless you set --output"
    exit 0
fi

# --wait: sbatch prints the id at once, then blocks until the job ends and exits with its status
ptrain_say "waiting for the training job"
out="$(mktemp)"
set +e
"${train_cmd[@]}" --wait "$PTRAIN_HOME/slurm/train.sbatch" | tee "$out"
code="${PIPESTATUS[0]}"
set -e
train_id="$(head -n 1 "$out")"
train_id="${train_id%%;*}"
rm -f "$out"
# sbatch --wait exits 0 for a job cancelled before it ran (e.g. because prep failed): ask SLURM
# how it ended (scontrol remembers for MinJobAge seconds, sacct for longer where it is set up)
state=""
if [ -n "$train_id" ]; then
    state="$(scontrol show job "$train_id" 2>/dev/null |
        sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n 1)"
    if [ -z "$state" ] && command -v sacct >/dev/null 2>&1; then
        state="$(sacct -n -X -P -o State -j "$train_id" 2>/dev/null | head -n 1 | cut -d' ' -f1)"
    fi
fi
if [ -n "$state" ] && [ "$state" != COMPLETED ]; then
    [ "$code" -ne 0 ] || code=1
    if [ "$state" = CANCELLED ] && [ -n "${prep_id:-}" ]; then
        ptrain_say "training job $train_id was CANCELLED:" \
            "the prep job $prep_id failed (see its log)" >&2
    else
        ptrain_say "training job $train_id ended $state (see its log)" >&2
    fi
    exit "$code"
fi
ptrain_say "training job ${train_id:-?} ended with status $code"
exit "$code"
