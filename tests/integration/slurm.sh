# The SLURM batch scripts (slurm/submit.sh, prep.sbatch, train.sbatch) on a real SLURM: a
# single-node cluster (munged, slurmctld, slurmd on 127.0.0.1) started and stopped by this test,
# the real scripts submitted with sbatch --wait. Checks: the chain prep -> train; preemption
# (signalled mid-run, requeued, resumed: a bit-identical model) under srun and under mpirun; a
# rank that fails or dies ends the job promptly with a message; bad input stops a job before
# anything is launched. Skipped (exit 77, loudly; ctest reports "Not Run" and counts it as
# skipped, not failed) only when SLURM cannot run here: not root, or slurm-wlm / munge not
# installed, or the daemons would not start. PTRAIN_SLURM_REQUIRED=1 turns that skip into a
# failure (exit 1); .ci/run sets it, so CI cannot pass without this test (tests/README.md).
# shellcheck shell=bash source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
SRC="${PTRAIN_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}"
# shellcheck source=slurm_cluster.sh
source "$HERE/slurm_cluster.sh"

skip() {
    {
        echo "################################################################################"
        echo "# SKIPPED: the SLURM test cannot run on this machine:"
        echo "#   $*"
        echo "# Install the packages with 'slurm/install-deps.sh' (as root) and run it as root."
        echo "################################################################################"
    } >&2
    [ "${PTRAIN_SLURM_REQUIRED:-0}" = 1 ] &&
        fail "PTRAIN_SLURM_REQUIRED=1 (.ci/run sets it): this test must run, but SLURM cannot" \
            "run here (see above)"
    exit 77
}

if ! why="$(slurm_cluster_check)"; then
    skip "$why"
fi

# A SLURM job's variables (if this runs inside one) must not leak into the jobs submitted here.
while read -r var; do
    unset "$var"
done < <(compgen -e | grep '^SLURM_' || true)

# munged runs as the munge user and must reach its socket and key inside $WORK
chmod 755 "$WORK"
CLUSTER="$WORK/slurm"
# PTRAIN_KEEP_WORK=1 keeps the logs, runs and the cluster's state for a post-mortem
trap 'slurm_cluster_stop "$CLUSTER"; [ "${PTRAIN_KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK"' EXIT
# a timeout (ctest) or ^C must still stop the daemons: turn the signal into an exit
trap 'exit 143' TERM
trap 'exit 130' INT
if ! slurm_cluster_start "$CLUSTER" 2>"$WORK/start.err"; then
    cat "$WORK/start.err" >&2
    skip "the SLURM daemons did not start (their logs are above)"
fi
echo "slurm: single-node SLURM up ($(sinfo -V 2>&1)), SLURM_CONF=$SLURM_CONF"
JOBCOMP="$CLUSTER/jobcomp.txt"
LOGS="$WORK/logs"
mkdir -p "$LOGS"

# sbatch_wait LABEL [VAR=VALUE...] -- [SBATCH OPTIONS...] SCRIPT: submits with sbatch --wait and
# sets JOB (the id), JOB_RC (the job's exit status), JOB_LOG (its output) and JOB_SECONDS.
sbatch_wait() {
    local label="$1"
    shift
    local -a vars=()
    while [ "$1" != "--" ]; do
        vars+=("$1")
        shift
    done
    shift
    local t0=$SECONDS
    set +e
    env "${vars[@]}" timeout 300 sbatch --parsable --wait --output="$LOGS/$label-%j.out" "$@" \
        >"$WORK/sbatch-$label.out" 2>"$WORK/sbatch-$label.err"
    JOB_RC=$?
    set -e
    JOB="$(head -n 1 "$WORK/sbatch-$label.out")"
    JOB="${JOB%%;*}"
    [ -n "$JOB" ] || { cat "$WORK/sbatch-$label.err" >&2; fail "$label: sbatch did not submit"; }
    JOB_LOG="$LOGS/$label-$JOB.out"
    JOB_SECONDS=$((SECONDS - t0))
}

# job_field JOBID FIELD: FIELD (JobState, ExitCode, StartTime, ...) of the job's LAST completion
# record (a requeued job has one per run).
job_field() {
    local line
    line="$(grep "^JobId=$1 " "$JOBCOMP" | tail -n 1)"
    sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$line"
}

# show_job: the log of the last job, for a failure message.
show_job() {
    echo "--- job $JOB (exit $JOB_RC, ${JOB_SECONDS}s): $JOB_LOG" >&2
    cat "$JOB_LOG" >&2 2>/dev/null || true
    grep "^JobId=$JOB " "$JOBCOMP" >&2 2>/dev/null || true
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s; false when time runs out.
wait_for() {
    local n=$(($1 * 10))
    shift
    local i
    for ((i = 0; i < n; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

# ---- data: a tiny synthetic Kermany set ----------------------------------------------------------
synth "$WORK/data/chest_xray" --count 120 --min-size 64 --max-size 96 --seed 7
CACHE="$WORK/cache/c.h5"
# everything about training that must match between runs for bit-identical models
TRAIN=(PTRAIN_CACHE="$CACHE" PTRAIN_ARCH=cxr PTRAIN_EPOCHS=30 PTRAIN_BATCH=16
    PTRAIN_TRAIN_ARGS="--lr 0.02 --quiet")

# ---- 1. the chain: submit.sh -> prep.sbatch -> (afterok) train.sbatch -----------------------------
t0=$SECONDS
set +e
env PTRAIN_SRC="$WORK/data/chest_xray" PTRAIN_SIZE=32 PTRAIN_PREP_ARGS=--quiet \
    PTRAIN_RUN_DIR="$WORK/runs/ref" "${TRAIN[@]}" \
    "$SRC/slurm/submit.sh" --wait --ntasks=2 --cpus-per-task=1 --output="$LOGS/%x-%j.out" \
    >"$WORK/submit.out" 2>&1
code=$?
set -e
cat "$WORK/submit.out"
prep_job="$(sed -n 's/^submit.sh: prep job \([0-9]*\):.*/\1/p' "$WORK/submit.out")"
train_job="$(sed -n '/waiting for the training job/{n;p}' "$WORK/submit.out")"
if [ "$code" -ne 0 ]; then
    cat "$LOGS"/*.out >&2
    fail "submit.sh --wait exited $code"
fi
if [ -z "$prep_job" ] || [ -z "$train_job" ]; then
    fail "submit.sh did not print both job ids"
fi
expect_in "$LOGS/ptrain-prep-$prep_job.out" "cache ready: $CACHE"
expect_in "$LOGS/ptrain-prep-$prep_job.out" "srun --mpi=pmix"
for f in model.h5 summary.json metrics.csv config.json log.txt; do
    [ -s "$WORK/runs/ref/$f" ] || fail "the chain left no $f in the run directory"
done
[ "$(grep -c '^[0-9]' "$WORK/runs/ref/metrics.csv")" -eq 30 ] || fail "metrics.csv of the chain"
# the ranks, and the threads taken from --cpus-per-task
expect_in "$WORK/runs/ref/log.txt" "2 rank(s) x 1 thread(s)"
expect_in "$LOGS/ptrain-train-$train_job.out" "--threads 1"
expect_in "$LOGS/ptrain-train-$train_job.out" "done: $WORK/runs/ref"
# afterok: training started only once prep had ended
[ "$(job_field "$train_job" StartTime)" \> "$(job_field "$prep_job" EndTime)" ] ||
    [ "$(job_field "$train_job" StartTime)" = "$(job_field "$prep_job" EndTime)" ] ||
    fail "the training job started before prep ended"
[ "$(job_field "$prep_job" JobState)" = COMPLETED ] || fail "prep job state"
[ "$(job_field "$train_job" JobState)" = COMPLETED ] || fail "train job state"
echo "slurm: chain prep -> train ok ($((SECONDS - t0)) s)"

# ---- 2. preemption: signalled mid-run, requeued, resumed, bit-identical -------------------------
# the previous run of a requeued job has left the node (its step's sockets are gone): starting
# it again before that fails (srun: PMIx cannot bind its socket)
step_gone() {
    compgen -G "$CLUSTER/spool/*_$1.*" >/dev/null && return 1
    compgen -G "$CLUSTER/spool/*pmix.$1.*" >/dev/null && return 1
    return 0
}
requeued() {
    scontrol show job "$1" >"$WORK/show" 2>/dev/null || return 1
    grep -q 'JobState=PENDING' "$WORK/show" && grep -q 'Restarts=1' "$WORK/show"
}

# preempt LABEL SIGNAL GEOMETRY [VAR=VALUE...]: a training job with the chain's settings is sent
# SIGNAL (to the batch shell, as --signal=B:USR1 and preemption do) after epoch 3 has been
# logged; it must checkpoint, requeue itself, resume, and end with the chain's model.
preempt() {
    local label="$1" sig="$2" geometry="$3"
    shift 3
    local run="$WORK/runs/$label"
    local t0=$SECONDS
    (
        sbatch_wait "$label" "${TRAIN[@]}" PTRAIN_RUN_DIR="$run" "$@" -- \
            "$geometry" --cpus-per-task=1 "$SRC/slurm/train.sbatch"
        echo "$JOB_RC" >"$WORK/$label.rc"
    ) &
    local waiter=$!
    wait_for 60 grep -q '^epoch 3/' "$run/log.txt" 2>/dev/null ||
        fail "$label: training never reached epoch 3"
    local jid
    jid="$(head -n 1 "$WORK/sbatch-$label.out")"
    scancel --signal="$sig" --batch "$jid"
    # a requeued job may only start again after ~120 s; do not wait that long here
    wait_for 60 requeued "$jid" || { cat "$WORK/show" >&2; fail "$label: job $jid was not requeued"; }
    wait_for 30 step_gone "$jid" || fail "$label: the first run of job $jid did not leave the node"
    # slurmd revokes the credential of the first run when it ends, to the second: a run
    # started within the same second is refused ("Job credential revoked"). SLURM's own ~120 s
    # delay before a requeued job may start avoids that; here 2 s do.
    sleep 2
    scontrol update JobId="$jid" StartTime=now
    wait "$waiter" || true
    # sbatch_wait ran in a subshell: take its results from the files it left
    JOB="$jid"
    JOB_LOG="$LOGS/$label-$jid.out"
    JOB_RC="$(cat "$WORK/$label.rc")"
    JOB_SECONDS=$((SECONDS - t0))
    [ "$JOB_RC" -eq 0 ] || { show_job; fail "$label: sbatch --wait exited $JOB_RC"; }
    [ "$(job_field "$jid" JobState)" = COMPLETED ] || { show_job; fail "$label: not COMPLETED"; }
    expect_in "$JOB_LOG" "SIG$sig received"
    expect_in "$JOB_LOG" "requeueing job $jid"
    expect_in "$JOB_LOG" "restart 1 of this job"
    expect_in "$JOB_LOG" "--resume auto"
    expect_in "$run/log.txt" "stopped by a signal after step"
    expect_in "$run/log.txt" "resume: $run/checkpoints/ckpt-"
    [ "$(grep -c '^[0-9]' "$run/metrics.csv")" -eq 30 ] || fail "$label: metrics.csv"
    "$PTRAIN_TEST_BIN/model_diff" "$WORK/runs/ref/model.h5" "$run/model.h5" ||
        { show_job; fail "$label: the preempted run's model differs from the uninterrupted one"; }
    echo "slurm: $label: SIG$sig mid-run, requeued, resumed, bit-identical model ($JOB_SECONDS s)"
}
# srun (the default launcher) with SLURM's USR1 warning; mpirun with the TERM of a preemption
preempt preempt-srun USR1 --ntasks=2
preempt preempt-mpirun TERM --ntasks-per-node=2 PTRAIN_LAUNCHER=mpirun
expect_in "$JOB_LOG" "running: mpirun -np 2 --map-by ppr:2:node --bind-to none"

# ---- 3. a rank that fails or dies ends the job promptly, with a message ---------------------------
# a corrupt cache: every rank fails to read it; ptrain says why, once
head -c 20000 "$CACHE" >"$WORK/cache/corrupt.h5"
sbatch_wait corrupt PTRAIN_CACHE="$WORK/cache/corrupt.h5" PTRAIN_RUN_DIR="$WORK/runs/corrupt" -- \
    --ntasks=2 --cpus-per-task=1 "$SRC/slurm/train.sbatch"
[ "$JOB_RC" -ne 0 ] || { show_job; fail "a job on a corrupt cache succeeded"; }
[ "$(job_field "$JOB" JobState)" = FAILED ] || { show_job; fail "corrupt cache: not FAILED"; }
[ "$JOB_SECONDS" -lt 60 ] || { show_job; fail "corrupt cache: took ${JOB_SECONDS}s"; }
expect_in "$JOB_LOG" "ptrain train: error:"
expect_in "$JOB_LOG" "ptrain train failed (exit"
echo "slurm: corrupt cache: FAILED after ${JOB_SECONDS}s with the error in the log"
# the same under mpirun: the log holds ptrain's one line and the script's verdict, not mpirun's
# banner after a non-zero exit
sbatch_wait corrupt-mpirun PTRAIN_CACHE="$WORK/cache/corrupt.h5" PTRAIN_LAUNCHER=mpirun \
    PTRAIN_RUN_DIR="$WORK/runs/corrupt-mpirun" -- --ntasks=2 --cpus-per-task=1 \
    "$SRC/slurm/train.sbatch"
[ "$(job_field "$JOB" JobState)" = FAILED ] || { show_job; fail "corrupt cache, mpirun: not FAILED"; }
[ "$(grep -c 'ptrain train: error:' "$JOB_LOG")" -eq 1 ] || { show_job; fail "mpirun: error lines"; }
if grep -q "terminated normally, but\|MPI_ABORT" "$JOB_LOG"; then
    show_job
    fail "corrupt cache, mpirun: mpirun's banner in the log"
fi
echo "slurm: corrupt cache under mpirun: one error line, no mpirun banner"

# one rank killed (SIGKILL, as the OOM killer would) mid-run: srun --kill-on-bad-exit ends the rest
run="$WORK/runs/killed"
(
    sbatch_wait killed "${TRAIN[@]}" PTRAIN_EPOCHS=1000 PTRAIN_RUN_DIR="$run" -- \
        --ntasks=2 --cpus-per-task=1 "$SRC/slurm/train.sbatch"
    echo "$JOB_RC" >"$WORK/killed.rc"
) &
waiter=$!
wait_for 60 grep -q '^epoch 2/' "$run/log.txt" 2>/dev/null || fail "killed: never reached epoch 2"
jid="$(head -n 1 "$WORK/sbatch-killed.out")"
# the PID of global task 1 of step 0 (ptrain itself: srun starts it directly)
scontrol listpids "$jid" >"$WORK/pids"
victim="$(awk '$3 == "0" && $5 == "1" { print $1 }' "$WORK/pids" | head -n 1)"
[ -n "$victim" ] || { cat "$WORK/pids" >&2; fail "killed: no PID for rank 1"; }
[ "$(cat "/proc/$victim/comm")" = ptrain ] || fail "killed: PID $victim is not ptrain"
t0=$SECONDS
kill -KILL "$victim"
wait "$waiter" || true
JOB="$jid"
JOB_LOG="$LOGS/killed-$jid.out"
JOB_RC="$(cat "$WORK/killed.rc")"
JOB_SECONDS=$((SECONDS - t0))
[ "$JOB_RC" -ne 0 ] || { show_job; fail "killed rank: sbatch --wait exited 0"; }
[ "$(job_field "$jid" JobState)" = FAILED ] || { show_job; fail "killed rank: not FAILED"; }
[ "$JOB_SECONDS" -lt 60 ] || { show_job; fail "killed rank: the job took ${JOB_SECONDS}s to end"; }
expect_in "$JOB_LOG" "task 1"
expect_in "$JOB_LOG" "ptrain train failed: a rank was killed by signal 9 (KILL"
[ ! -f "$run/summary.json" ] || fail "killed rank: a summary was written"
echo "slurm: killed rank: job FAILED ${JOB_SECONDS}s after the kill, with a message"

# a failing prep: the chained training job is cancelled, not left pending forever
mkdir -p "$WORK/junk/NORMAL"
echo "not an image" >"$WORK/junk/NORMAL/x.jpeg"
set +e
env PTRAIN_SRC="$WORK/junk" PTRAIN_CACHE="$WORK/cache/junk.h5" PTRAIN_RUN_DIR="$WORK/runs/junk" \
    "$SRC/slurm/submit.sh" --wait --ntasks=2 --output="$LOGS/junk-%x-%j.out" \
    >"$WORK/submit.out" 2>&1
code=$?
set -e
[ "$code" -ne 0 ] || { cat "$WORK/submit.out"; fail "a chain whose prep fails succeeded"; }
expect_in "$WORK/submit.out" "was CANCELLED: the prep job"
prep_job="$(sed -n 's/^submit.sh: prep job \([0-9]*\):.*/\1/p' "$WORK/submit.out")"
train_job="$(sed -n '/waiting for the training job/{n;p}' "$WORK/submit.out")"
[ "$(job_field "$prep_job" JobState)" = FAILED ] || fail "failing prep: prep job not FAILED"
expect_in "$LOGS/junk-ptrain-prep-$prep_job.out" "ptrain-prep failed (exit"
[ "$(job_field "$train_job" JobState)" = CANCELLED ] ||
    fail "failing prep: the training job is $(job_field "$train_job" JobState), not CANCELLED"
[ ! -e "$WORK/cache/junk.h5" ] || fail "failing prep: a cache was left behind"
echo "slurm: failing prep: FAILED, and the chained training job was cancelled"

# ---- 4. bad input: the job stops before launching anything, saying what to fix ---------------------
# bad LABEL MESSAGE [VAR=VALUE...] -- [SBATCH OPTIONS...] SCRIPT (run in parallel, checked after)
bad_labels=()
bad_pids=()
bad() {
    local label="$1" msg="$2"
    shift 2
    echo "$msg" >"$WORK/bad-$label.msg"
    bad_labels+=("$label")
    (
        sbatch_wait "bad-$label" "$@"
        echo "$JOB $JOB_RC" >"$WORK/bad-$label.res"
    ) &
    bad_pids+=($!)
}
touch "$WORK/afile"
bad nosrc "PTRAIN_SRC=$WORK/nope does not exist" PTRAIN_SRC="$WORK/nope" \
    PTRAIN_CACHE="$WORK/cache/x.h5" -- "$SRC/slurm/prep.sbatch"
mkdir -p "$WORK/empty"
bad emptysrc "PTRAIN_SRC=$WORK/empty is an empty folder" PTRAIN_SRC="$WORK/empty" \
    PTRAIN_CACHE="$WORK/cache/x.h5" -- "$SRC/slurm/prep.sbatch"
bad unsetsrc "PTRAIN_SRC is not set" PTRAIN_CACHE="$WORK/cache/x.h5" -- "$SRC/slurm/prep.sbatch"
bad nocache "PTRAIN_CACHE=$WORK/cache/none.h5 does not exist" \
    PTRAIN_CACHE="$WORK/cache/none.h5" -- "$SRC/slurm/train.sbatch"
bad rundir "PTRAIN_RUN_DIR: cannot create the folder $WORK/afile/run" PTRAIN_CACHE="$CACHE" \
    PTRAIN_RUN_DIR="$WORK/afile/run" -- "$SRC/slurm/train.sbatch"
bad batch "the global batch PTRAIN_BATCH=1 is smaller than the 2 rank(s)" PTRAIN_CACHE="$CACHE" \
    PTRAIN_BATCH=1 PTRAIN_RUN_DIR="$WORK/runs/bad" -- --ntasks=2 "$SRC/slurm/train.sbatch"
bad ntasks "PTRAIN_NTASKS=4 but this job has 2 task(s)" PTRAIN_CACHE="$CACHE" PTRAIN_NTASKS=4 \
    PTRAIN_RUN_DIR="$WORK/runs/bad" -- --ntasks=2 "$SRC/slurm/train.sbatch"
bad threads "PTRAIN_THREADS=2 but each task has 1 CPU(s)" PTRAIN_CACHE="$CACHE" PTRAIN_THREADS=2 \
    PTRAIN_RUN_DIR="$WORK/runs/bad" -- --cpus-per-task=1 "$SRC/slurm/train.sbatch"
bad launcher "PTRAIN_LAUNCHER=ssh: use srun or mpirun" PTRAIN_CACHE="$CACHE" \
    PTRAIN_LAUNCHER=ssh PTRAIN_RUN_DIR="$WORK/runs/bad" -- "$SRC/slurm/train.sbatch"
bad mpi "this SLURM's srun has no 'pmi9' MPI plugin" PTRAIN_CACHE="$CACHE" PTRAIN_MPI=pmi9 \
    PTRAIN_RUN_DIR="$WORK/runs/bad" -- "$SRC/slurm/train.sbatch"
# (not a bare `wait`: the SLURM daemons are children of this shell too)
wait "${bad_pids[@]}"
for label in "${bad_labels[@]}"; do
    [ -s "$WORK/bad-$label.res" ] || fail "bad input '$label': the job was not submitted"
    read -r JOB JOB_RC <"$WORK/bad-$label.res"
    JOB_LOG="$LOGS/bad-$label-$JOB.out"
    JOB_SECONDS=0
    [ "$JOB_RC" -eq 2 ] || { show_job; fail "bad input '$label': exit $JOB_RC, expected 2"; }
    expect_in "$JOB_LOG" "error: $(cat "$WORK/bad-$label.msg")"
    if grep -q 'running:' "$JOB_LOG"; then
        show_job
        fail "bad input '$label': something was launched"
    fi
done
[ ! -e "$WORK/cache/x.h5" ] || fail "bad input: a cache was written"
echo "slurm: bad input: ${#bad_labels[@]} jobs stopped before launching, each saying what to fix"

# submit.sh refuses bad input before anything reaches the queue
before="$(grep -c '^JobId=' "$JOBCOMP")"
expect_exit 2 env PTRAIN_SRC="$WORK/nope" PTRAIN_CACHE="$WORK/cache/y.h5" "$SRC/slurm/submit.sh"
expect_in "$WORK/err" "PTRAIN_SRC=$WORK/nope does not exist"
expect_exit 2 env PTRAIN_SRC="$WORK/data/chest_xray" PTRAIN_CACHE="$WORK/afile/c.h5" \
    "$SRC/slurm/submit.sh"
expect_in "$WORK/err" "cannot create the folder $WORK/afile"
expect_exit 2 env PTRAIN_CACHE="$CACHE" PTRAIN_RUN_DIR="$WORK/afile/run" "$SRC/slurm/submit.sh" \
    --no-prep
expect_in "$WORK/err" "PTRAIN_RUN_DIR: cannot create the folder $WORK/afile/run"
expect_exit 2 env PTRAIN_CACHE="$CACHE" PTRAIN_EPOCHS=ten "$SRC/slurm/submit.sh" --no-prep
expect_in "$WORK/err" "PTRAIN_EPOCHS=ten is not a positive whole number"
[ -z "$(squeue -h)" ] || fail "submit.sh queued a job despite bad input"
[ "$(grep -c '^JobId=' "$JOBCOMP")" -eq "$before" ] || fail "submit.sh ran a job despite bad input"
echo "slurm: submit.sh: bad input refused before submission"

# ---- 5. log folders: submit.sh creates the folder of --output (sbatch does not, and a job whose
# log folder is missing fails at launch, leaving no log) --------------------------------------------
mkdir -p "$WORK/fresh"
set +e
(cd "$WORK/fresh" && env "${TRAIN[@]}" PTRAIN_EPOCHS=1 PTRAIN_RUN_DIR="$WORK/runs/logdir" \
    "$SRC/slurm/submit.sh" --no-prep --wait --ntasks=1 --cpus-per-task=1 \
    --output=newlogs/%x-%j.out) >"$WORK/submit.out" 2>&1
code=$?
set -e
train_job="$(sed -n '/waiting for the training job/{n;p}' "$WORK/submit.out")"
[ "$code" -eq 0 ] || { cat "$WORK/submit.out"; fail "submit.sh --output=newlogs/...: exit $code"; }
[ -s "$WORK/fresh/newlogs/ptrain-train-$train_job.out" ] ||
    { cat "$WORK/submit.out"; ls -R "$WORK/fresh"; fail "no log in the folder submit.sh was to create"; }
expect_exit 2 env PTRAIN_CACHE="$CACHE" "$SRC/slurm/submit.sh" --no-prep \
    --output="$WORK/per-job-%j/train.out"
expect_in "$WORK/err" "depends on the job"
[ ! -e "$WORK/per-job-%j" ] || fail "submit.sh created a folder named after a pattern"
echo "slurm: submit.sh creates the log folder of --output, refuses one that depends on the job"

echo "slurm: ok ($SECONDS s)"
