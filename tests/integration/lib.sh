# Shared set-up for the integration tests: the real programs, real mpirun, a scratch directory.
# ctest sets PTRAIN_BIN, MPIEXEC and the Open MPI variables (root, oversubscription).
set -euo pipefail

BIN="${PTRAIN_BIN:?run through ctest, which sets PTRAIN_BIN}"
MPIEXEC="${MPIEXEC:-mpirun}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ptrain-it.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# mpi NP PROGRAM ARGS...: runs under mpirun with a hang guard.
mpi() {
    local np="$1"
    shift
    timeout --kill-after=10 300 "$MPIEXEC" -np "$np" "$@"
}

# expect_exit CODE COMMAND...: runs the command, fails unless it exits with CODE.
# Its stdout and stderr are kept in $WORK/out and $WORK/err for later checks.
expect_exit() {
    local want="$1"
    shift
    set +e
    "$@" >"$WORK/out" 2>"$WORK/err"
    local got=$?
    set -e
    if [ "$got" -ne "$want" ]; then
        echo "--- stdout" >&2; cat "$WORK/out" >&2
        echo "--- stderr" >&2; cat "$WORK/err" >&2
        fail "'$*' exited $got, expected $want"
    fi
}

# expect_in FILE TEXT: fails unless FILE contains TEXT.
expect_in() {
    grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 does not contain '$2'"; }
}

# synth DIR ARGS...: a small synthetic Kermany set.
synth() {
    local dir="$1"
    shift
    "$BIN/ptrain-synth" --out "$dir" "$@" >/dev/null
}

# fashion_mnist_dir: prints the folder of the real Fashion-MNIST IDX files (Debian's
# dataset-fashion-mnist, or PTRAIN_FASHION_MNIST_DIR). The data set is a declared dependency that
# slurm/install-deps.sh installs (and `make test` runs it first), so a missing file is a failure,
# never a skip, here and in the unit test idx::real_fashion_mnist, with the same message: a green
# run must include the one check on real data (tests/README.md).
fashion_mnist_dir() {
    local dir="${PTRAIN_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}" f
    for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
        t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
        [ -r "$dir/$f" ] ||
            fail "Fashion-MNIST is missing: no $dir/$f. Install Debian's dataset-fashion-mnist" \
                "(slurm/install-deps.sh does) or set PTRAIN_FASHION_MNIST_DIR to a folder holding" \
                "the four IDX .gz files"
    done
    echo "$dir"
}

digest() {
    "${PTRAIN_TEST_BIN:?}/cache_digest" "$1"
}

# make_nih_tree KERMANY_DIR OUT_DIR: an NIH ChestX-ray14-style source from synthetic films:
# Data_Entry_2017.csv with multi-label findings (Atelectasis, Effusion, Pneumonia, No Finding),
# images in nested images_00N/images/ folders, and a test_list.txt naming every fifth patient.
make_nih_tree() {
    local src="$1" out="$2" i=0 name labels
    mkdir -p "$out/images_001/images" "$out/images_002/images"
    echo "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age" >"$out/Data_Entry_2017.csv"
    : >"$out/test_list.txt"
    for f in "$src"/*/*/*; do
        i=$((i + 1))
        name=$(printf '%08d_%03d.png' $((i / 2)) $((i % 2)))
        # the file keeps its JPEG or PNG content under a .png name: decoders sniff the format
        cp "$f" "$out/images_00$((i % 2 + 1))/images/$name"
        case $((i % 4)) in
            0) labels="No Finding" ;;
            1) labels="Effusion" ;;
            2) labels="Effusion|Pneumonia" ;;
            3) labels="Atelectasis" ;;
        esac
        echo "$name,$labels,0,$((i / 2)),50" >>"$out/Data_Entry_2017.csv"
        if [ $((i / 2 % 5)) -eq 0 ]; then echo "$name" >>"$out/test_list.txt"; fi
    done
}

# rank_pid RANK PATTERN: the pid of the rank RANK among the processes whose command line starts
# with PATTERN
rank_pid() {
    local pid
    for pid in $(pgrep -f "^$2" || true); do
        if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then
            echo "$pid"
            return
        fi
    done
}
# wait_job PID SECONDS: waits for a background job, killing it and failing after SECONDS; its
# exit status is left in $code
wait_job() {
    local start
    start=$(date +%s)
    while kill -0 "$1" 2>/dev/null; do
        if [ $(($(date +%s) - start)) -ge "$2" ]; then
            kill -9 "$1" 2>/dev/null || true
            fail "still running after $2 s"
        fi
        sleep 0.1
    done
    set +e
    wait "$1"
    code=$?
    set -e
    echo "    ended $(($(date +%s) - start)) s later"
}

# nobn_arch FILE: a small network without batch norm (per-rank batch statistics differ by
# design), for comparing runs that sum their gradients in another order.
nobn_arch() {
    cat >"$1" <<'CFG'
[conv]
filters=8
[relu]
[maxpool]
[conv]
filters=16
[relu]
[maxpool]
[dense]
outputs=32
[relu]
[dense]
outputs=classes
CFG
}
