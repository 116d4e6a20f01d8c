# shellcheck shell=bash
# Shared by slurm/prep.sbatch, slurm/train.sbatch and slurm/submit.sh: checks that stop a job
# BEFORE it launches anything, with a message saying what to fix, and the launch command.
# Sourced, not run. Every function prints "<who>: error: <what to fix>" and exits 2 on bad input.
# The variables set here (PTRAIN_LAUNCH, PTRAIN_RANKS, ...) are read by the sourcing script.
# shellcheck disable=SC2034

# Who speaks in messages (set by the sourcing script).
PTRAIN_WHO="${PTRAIN_WHO:-ptrain-slurm}"

ptrain_say() {
    echo "$PTRAIN_WHO: $*"
}

ptrain_die() {
    echo "$PTRAIN_WHO: error: $*" >&2
    exit 2
}

# ptrain_find_bin: sets PTRAIN_BIN to the folder holding ptrain and ptrain-prep, the first of:
#   $PTRAIN_BIN                    if set (it must hold an executable ptrain)
#   $PTRAIN_HOME/build/bin         a checkout built with `make build` (PTRAIN_HOME = the checkout)
#   $PTRAIN_HOME/../../bin         an installed tree: `cmake --install build --prefix P` puts these
#                                  scripts in P/share/ptrain/slurm (PTRAIN_HOME = P/share/ptrain)
#                                  and the programs in P/bin
#   the folder of `ptrain` on PATH (e.g. from `module load ptrain`)
# The scripts' own tree comes before PATH, so a script runs the programs of its own version.
ptrain_find_bin() {
    local installed="" # the bin folder of an installed tree, if PTRAIN_HOME is one
    case "${PTRAIN_HOME%/}" in
    */share/ptrain) installed="${PTRAIN_HOME%/}" && installed="${installed%/share/ptrain}/bin" ;;
    esac
    if [ -n "${PTRAIN_BIN:-}" ]; then
        [ -x "$PTRAIN_BIN/ptrain" ] ||
            ptrain_die "PTRAIN_BIN=$PTRAIN_BIN has no executable 'ptrain': point it at build/bin" \
                "of a built checkout or the bin folder of an installed ptrain"
    elif [ -x "$PTRAIN_HOME/build/bin/ptrain" ]; then
        PTRAIN_BIN="$PTRAIN_HOME/build/bin"
    elif [ -n "$installed" ] && [ -x "$installed/ptrain" ]; then
        PTRAIN_BIN="$installed"
    elif command -v ptrain >/dev/null 2>&1; then
        PTRAIN_BIN="$(dirname "$(command -v ptrain)")"
    else
        ptrain_die "no ptrain programs in $PTRAIN_HOME/build/bin (a checkout), in the bin folder" \
            "of an installed tree, nor on PATH: run 'make build' in the checkout (on storage the" \
            "compute nodes see), load the ptrain module, or set PTRAIN_BIN"
    fi
    export PTRAIN_BIN
}

# ptrain_require_var NAME HINT: NAME must be set and not empty.
ptrain_require_var() {
    [ -n "${!1:-}" ] || ptrain_die "$1 is not set: $2"
}

# ptrain_check_count NAME VALUE: VALUE must be a positive integer.
ptrain_check_count() {
    case "$2" in
    '' | *[!0-9]* | 0*) ptrain_die "$1=$2 is not a positive whole number" ;;
    esac
}

# ptrain_check_source PATH: the images (a folder, or an IDX / CSV file) must exist and be readable.
ptrain_check_source() {
    [ -e "$1" ] ||
        ptrain_die "PTRAIN_SRC=$1 does not exist: set PTRAIN_SRC to the folder of X-rays" \
            "(e.g. .../chest_xray) on storage every node can read"
    [ -r "$1" ] || ptrain_die "PTRAIN_SRC=$1 is not readable by $(id -un)"
    if [ -d "$1" ] && [ -z "$(find "$1" -mindepth 1 -maxdepth 1 -print -quit 2>/dev/null)" ]; then
        ptrain_die "PTRAIN_SRC=$1 is an empty folder: copy or sync the images there first"
    fi
}

# ptrain_check_writable_dir NAME DIR: creates DIR if needed and proves it writable by writing a
# file there (test -w says yes to root even where a write would fail, e.g. on a read-only or
# root-squashed NFS mount).
ptrain_check_writable_dir() {
    local name="$1" dir="$2" probe
    if ! mkdir -p -- "$dir" 2>/dev/null; then
        ptrain_die "$name: cannot create the folder $dir:" \
            "choose a path on writable (shared) storage"
    fi
    if ! probe="$(mktemp "$dir/.ptrain-write-test.XXXXXX" 2>/dev/null)"; then
        ptrain_die "$name: the folder $dir is not writable by $(id -un):" \
            "choose another path or fix its permissions"
    fi
    rm -f -- "$probe"
}

# ptrain_check_cache PATH: the cache written by ptrain-prep must exist and be readable.
ptrain_check_cache() {
    [ -f "$1" ] ||
        ptrain_die "PTRAIN_CACHE=$1 does not exist: run slurm/prep.sbatch first (slurm/submit.sh" \
            "chains both) or point PTRAIN_CACHE at an existing cache"
    [ -r "$1" ] || ptrain_die "PTRAIN_CACHE=$1 is not readable by $(id -un)"
}

# ptrain_check_allocation: inside a SLURM job, with a sane number of tasks.
ptrain_check_allocation() {
    [ -n "${SLURM_JOB_ID:-}" ] ||
        ptrain_die "not inside a SLURM job:" \
            "submit with 'sbatch $0' or 'slurm/submit.sh' (or run inside salloc)"
    local ntasks="${SLURM_NTASKS:-${SLURM_NPROCS:-1}}"
    if [ -n "${PTRAIN_NTASKS:-}" ]; then
        ptrain_check_count PTRAIN_NTASKS "$PTRAIN_NTASKS"
        [ "$PTRAIN_NTASKS" -eq "$ntasks" ] ||
            ptrain_die "PTRAIN_NTASKS=$PTRAIN_NTASKS but this job has $ntasks task(s): submit" \
                "with --ntasks=$PTRAIN_NTASKS (or --nodes/--ntasks-per-node giving that many)," \
                "or unset PTRAIN_NTASKS"
    fi
    PTRAIN_RANKS="$ntasks"
}

# ptrain_threads: threads per rank: PTRAIN_THREADS, else the CPUs SLURM gives each task
# (--cpus-per-task), else 1. More threads than CPUs per task would make the ranks on a node fight
# over cores, so that is refused.
ptrain_threads() {
    local cpus="${SLURM_CPUS_PER_TASK:-1}"
    PTRAIN_THREADS="${PTRAIN_THREADS:-$cpus}"
    ptrain_check_count PTRAIN_THREADS "$PTRAIN_THREADS"
    [ "$PTRAIN_THREADS" -le "$cpus" ] ||
        ptrain_die "PTRAIN_THREADS=$PTRAIN_THREADS but each task has $cpus CPU(s): submit with" \
            "--cpus-per-task=$PTRAIN_THREADS or lower PTRAIN_THREADS"
}

# ptrain_launcher_setup: sets the array PTRAIN_LAUNCH to the command that starts one MPI rank per
# SLURM task, after checking that it can work here.
#   PTRAIN_LAUNCHER=srun (default): srun --mpi=$PTRAIN_MPI (pmix: Debian's and most Open MPI
#     builds; pmi2 works for MPICH/Intel MPI); --kill-on-bad-exit so one dead rank ends the step.
#   PTRAIN_LAUNCHER=mpirun: the MPI's own launcher, which reads the allocation from SLURM.
# PTRAIN_LAUNCH_ARGS: extra options for srun or mpirun (e.g. "--overcommit", "--mca btl ^openib").
ptrain_launcher_setup() {
    local threads="${1:-1}" list
    PTRAIN_LAUNCHER="${PTRAIN_LAUNCHER:-srun}"
    PTRAIN_MPI="${PTRAIN_MPI:-pmix}"
    local -a extra=()
    # shellcheck disable=SC2206  # word splitting of user-given options is intended
    [ -n "${PTRAIN_LAUNCH_ARGS:-}" ] && extra=(${PTRAIN_LAUNCH_ARGS})
    case "$PTRAIN_LAUNCHER" in
    srun)
        command -v srun >/dev/null 2>&1 || ptrain_die "srun is not on PATH on $(hostname -s)"
        list="$(mktemp)"
        srun --mpi=list >"$list" 2>&1 || true
        if ! grep -qw -- "$PTRAIN_MPI" "$list"; then
            rm -f "$list"
            ptrain_die "this SLURM's srun has no '$PTRAIN_MPI' MPI plugin (see 'srun --mpi=list'):" \
                "set PTRAIN_MPI to one it lists that your MPI supports, or PTRAIN_LAUNCHER=mpirun"
        fi
        rm -f "$list"
        # SLURM >= 22.05 no longer passes the job's --cpus-per-task on to srun: say it again
        PTRAIN_LAUNCH=(srun "--mpi=$PTRAIN_MPI" --kill-on-bad-exit=1
            "--cpus-per-task=${SLURM_CPUS_PER_TASK:-$threads}" "${extra[@]}")
        ;;
    mpirun)
        command -v mpirun >/dev/null 2>&1 ||
            ptrain_die "PTRAIN_LAUNCHER=mpirun but mpirun is not on PATH on $(hostname -s):" \
                "load your MPI module or use PTRAIN_LAUNCHER=srun"
        # one rank per SLURM task; no binding, so a rank's OpenBLAS threads may use the task's
        # other CPUs (Open MPI binds each rank to one core by default). With whole nodes Open MPI
        # counts a slot per CPU and would fill the first node: give it the ranks per node.
        local -a map=()
        if [ -n "${SLURM_NTASKS_PER_NODE:-}" ]; then
            map=(--map-by "ppr:$SLURM_NTASKS_PER_NODE:node")
        fi
        # Open MPI's mpirun follows a rank's non-zero exit with a banner of its own ("Primary job
        # terminated normally, but 1 process returned a non-zero exit code ...") between ptrain's
        # one-line error and this script's verdict: -q, which only Open MPI's mpirun knows, drops it
        local -a quiet=()
        if mpirun --version 2>/dev/null | grep -q "Open MPI"; then
            quiet=(-q)
        fi
        PTRAIN_LAUNCH=(mpirun -np "$PTRAIN_RANKS" "${map[@]}" --bind-to none "${quiet[@]}"
            "${extra[@]}")
        ;;
    *)
        ptrain_die "PTRAIN_LAUNCHER=$PTRAIN_LAUNCHER: use srun or mpirun"
        ;;
    esac
}

# ptrain_written_since FILE EPOCH: FILE exists and was modified after EPOCH (seconds), give or
# take two minutes: on NFS and Lustre the file server's clock sets mtime, not this node's.
ptrain_written_since() {
    local mtime
    mtime="$(stat -c %Y -- "$1" 2>/dev/null)" || return 1
    [ "$mtime" -ge $(($2 - 120)) ]
}
