# Errors under mpirun -np 2: ptrain prints one error line for the whole job, calls no MPI_Abort
# (its banner "MPI_ABORT was invoked" would follow), and every rank exits with the status the job
# agreed on: 2 for a usage error, 1 for a runtime error. With mpirun -q (which the SLURM scripts
# use with Open MPI) that line is all there is on stderr: mpirun's own banner after a non-zero
# exit is left out.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/empty"
# one_line QUIET: stderr holds one error line from ptrain and no abort banner; with mpirun -q,
# nothing else
one_line() {
    [ "$(grep -c '^ptrain[a-z -]*: error: ' "$WORK/err")" -eq 1 ] ||
        { cat "$WORK/err"; fail "expected one error line"; }
    if grep -q 'MPI_ABORT' "$WORK/err"; then
        cat "$WORK/err"
        fail "MPI_Abort was called for an error every rank knew"
    fi
    if [ -n "$1" ] && [ "$(wc -l <"$WORK/err")" -ne 1 ]; then
        cat "$WORK/err"
        fail "mpirun -q: more than the error line on stderr"
    fi
}
for quiet in "" -q; do
    run=(timeout --kill-after=10 60 "$MPIEXEC" $quiet -np 2)
    expect_exit 2 "${run[@]}" "$BIN/ptrain" train --data "$WORK/c.h5" --bogus
    one_line "$quiet"
    expect_exit 1 "${run[@]}" "$BIN/ptrain" train --data "$WORK/missing.h5"
    expect_in "$WORK/err" "$WORK/missing.h5"
    one_line "$quiet"
    expect_exit 2 "${run[@]}" "$BIN/ptrain-prep" --src "$WORK/empty"
    one_line "$quiet"
    expect_exit 1 "${run[@]}" "$BIN/ptrain-prep" --src "$WORK/empty" --out "$WORK/e.h5"
    expect_in "$WORK/err" "no image files found"
    one_line "$quiet"
    expect_exit 2 "${run[@]}" "$BIN/ptrain" nosuchcommand
    [ "$(grep -c 'error' "$WORK/err")" -eq 1 ] || { cat "$WORK/err"; fail "unknown command"; }
done
echo "cli_errors: ok"
