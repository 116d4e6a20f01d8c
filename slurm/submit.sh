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
# the folders of --output and --error are created here (sbatch would not create them);
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

# ---- the jobs' log files -----------------------------------------------------------------------
# sbatch does not create the folder of --output / --error: a job whose log folder is missing
# fails at launch and leaves no log at all. submit.sh knows the patterns, so it creates the
# folders here (relative ones from --chdir, else from here, as sbatch does), and refuses a folder
# that depends on the job id, which only SLURM knows.

# sbatch_opt NAMES... -- SBATCH OPTIONS...: the value of the last of the options NAMES (long names
# as --name, short ones as -x) among the sbatch options, or nothing.
sbatch_opt() {
    local -a names=()
    while [ "$1" != "--" ]; do
        names+=("$1")
        shift
    done
    shift
    local value="" take=0 arg name
    for arg in "$@"; do
        if [ "$take" = 1 ]; then
            value="$arg"
            take=0
            continue
        fi
        for name in "${names[@]}"; do
            case "$arg" in
            "$name") take=1 ;;
            "$name"=*) [ "${name#--}" != "$name" ] && value="${arg#*=}" ;;
            "$name"?*) [ "${name#--}" = "$name" ] && value="${arg#"$name"}" ;;
            esac
        done
    done
    printf '%s' "$value"
}

# log_path JOB_NAME PATTERN JOB_ID BASE: the file SLURM makes of PATTERN (%x the job name, %u the
# user, %j and %A the id, %% a percent sign), relative to BASE unless absolute.
log_path() {
    local p="$2"
    p="${p//%%/$'\001'}"
    p="${p//%x/$1}"
    p="${p//%u/$(id -un)}"
    p="${p//%j/$3}"
    p="${p//%A/$3}"
    p="${p//$'\001'/%}"
    case "$p" in
    /*) printf '%s' "$p" ;;
    *) printf '%s/%s' "$4" "$p" ;;
    esac
}

# log_folders DEFAULT_NAME DEFAULT_OUTPUT SBATCH OPTIONS...: creates the folders of the job's
# --output and --error, and sets LOG_PATTERN, LOG_NAME and LOG_BASE for log_path.
log_folders() {
    local default_name="$1" default_output="$2"
    shift 2
    LOG_NAME="$(sbatch_opt --job-name -J -- "$@")"
    LOG_NAME="${LOG_NAME:-$default_name}"
    LOG_BASE="$(sbatch_opt --chdir -D -- "$@")"
    LOG_BASE="$(abspath "${LOG_BASE:-$PWD}")"
    LOG_PATTERN="$(sbatch_opt --output -o -- "$@")"
    LOG_PATTERN="${LOG_PATTERN:-$default_output}"
    local pattern dir
    for pattern in "$LOG_PATTERN" "$(sbatch_opt --error -e -- "$@")"; do
        [ -n "$pattern" ] || continue
        dir="$(dirname "$(log_path "$LOG_NAME" "$pattern" JOBID "$LOG_BASE")")"
        case "$dir" in
        *JOBID* | *%*)
            [ -d "$dir" ] || ptrain_die "the log folder of '$pattern' depends on the job" \
                "(a % pattern other than %x and %u), so it cannot be created before" \
                "submission: put the pattern in the file name (logs/%x-%j.out)"
            ;;
        *)
            mkdir -p "$dir" 2>/dev/null ||
                ptrain_die "cannot create the log folder $dir (for '$pattern')"
            ;;
        esac
    done
}

# shellcheck disable=SC2034  # prep_log and train_log are read through see_log's nameref
if [ "$prep" -eq 1 ]; then
    log_folders ptrain-prep "ptrain-prep-%j.out" "${sbatch_args[@]}" "${prep_only[@]}"
    prep_log=("$LOG_NAME" "$LOG_PATTERN" "$LOG_BASE")
fi
log_folders ptrain-train "ptrain-train-%j.out" "${sbatch_args[@]}" "${train_only[@]}"
train_log=("$LOG_NAME" "$LOG_PATTERN" "$LOG_BASE")

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
    ptrain_say "follow with: squeue -u $(id -un); log: $(log_path "${train_log[0]}" \
        "${train_log[1]}" "${train_id%%;*}" "${train_log[2]}")"
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
# see_log LOG_ARRAY_NAME JOB_ID: where to look, saying so when the job left no log
see_log() {
    local -n spec="$1"
    local path
    path="$(log_path "${spec[0]}" "${spec[1]}" "$2" "${spec[2]}")"
    if [ -e "$path" ]; then
        printf 'see its log, %s' "$path"
    else
        printf 'it left no log at %s: ask SLURM why with scontrol show job %s or sacct -j %s' \
            "$path" "$2" "$2"
    fi
}
if [ -n "$state" ] && [ "$state" != COMPLETED ]; then
    [ "$code" -ne 0 ] || code=1
    if [ "$state" = CANCELLED ] && [ -n "${prep_id:-}" ]; then
        ptrain_say "training job $train_id was CANCELLED:" \
            "the prep job $prep_id failed ($(see_log prep_log "$prep_id"))" >&2
    else
        ptrain_say "training job $train_id ended $state ($(see_log train_log "$train_id"))" >&2
    fi
    exit "$code"
fi
ptrain_say "training job ${train_id:-?} ended with status $code"
exit "$code"
