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

digest() {
    "${PTRAIN_TEST_BIN:?}/cache_digest" "$1"
}
