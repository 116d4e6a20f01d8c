# Reproducibility: same seed and -np give a bit-identical model; a run stopped after a
# checkpoint and resumed ends bit-identical to one that never stopped; -np 1 and -np 2 with the
# same global batch agree within float tolerance (a network without batch norm); likewise for
# threads per rank.
source "$(dirname "$0")/lib.sh"

synth "$WORK/chest_xray" --count 200 --min-size 64 --max-size 128 --seed 6
mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/c.h5" --size 32 --quiet >/dev/null
common=(--data "$WORK/c.h5" --arch cxr --epochs 3 --batch 16 --lr 0.02 --quiet)

# same seed, same -np: bit-identical
mpi 2 "$BIN/ptrain" train "${common[@]}" --run-dir "$WORK/a"
mpi 2 "$BIN/ptrain" train "${common[@]}" --run-dir "$WORK/b"
"$PTRAIN_TEST_BIN/model_diff" "$WORK/a/model.h5" "$WORK/b/model.h5" || fail "same seed, different model"
mpi 2 "$BIN/ptrain" train "${common[@]}" --run-dir "$WORK/s2" --seed 2
"$PTRAIN_TEST_BIN/model_diff" "$WORK/a/model.h5" "$WORK/s2/model.h5" >/dev/null &&
    fail "another seed gave the same model"

# stopped after step 17 (last checkpoint at step 15, mid-epoch 2), resumed: bit-identical
PTRAIN_TEST_STOP_AFTER_STEPS=17 mpi 2 "$BIN/ptrain" train "${common[@]}" --run-dir "$WORK/c" --ckpt-every 5
[ -f "$WORK/c/checkpoints/ckpt-000000015.h5" ] || fail "no checkpoint at step 15"
[ ! -f "$WORK/c/summary.json" ] || fail "a stopped run must not write its summary"
mpi 2 "$BIN/ptrain" train "${common[@]}" --run-dir "$WORK/c" --ckpt-every 5 --resume auto
expect_in "$WORK/c/log.txt" "resume: $WORK/c/checkpoints/ckpt-000000015.h5"
"$PTRAIN_TEST_BIN/model_diff" "$WORK/a/model.h5" "$WORK/c/model.h5" || fail "resumed run differs"
[ "$(grep -c '^[0-9]' "$WORK/c/metrics.csv")" -eq 3 ] || fail "metrics.csv of the resumed run"

# SIGUSR1 (what SLURM sends before preemption) mid-run: the step finishes, a checkpoint is
# written, exit status 3; --resume auto then ends bit-identical to the uninterrupted run
long=(--data "$WORK/c.h5" --arch cxr --epochs 12 --batch 16 --lr 0.02 --quiet)
mpi 2 "$BIN/ptrain" train "${long[@]}" --run-dir "$WORK/u"
"$MPIEXEC" -np 2 "$BIN/ptrain" train "${long[@]}" --run-dir "$WORK/p" >/dev/null 2>&1 &
job=$!
for _ in $(seq 300); do
    grep -q '^epoch 2/12' "$WORK/p/log.txt" 2>/dev/null && break
    sleep 0.1
done
kill -USR1 "$job"
set +e
wait "$job"
code=$?
set -e
[ "$code" -eq 3 ] || fail "a run stopped by SIGUSR1 exited $code, expected 3"
expect_in "$WORK/p/log.txt" "stopped by a signal after step"
mpi 2 "$BIN/ptrain" train "${long[@]}" --run-dir "$WORK/p" --resume auto
"$PTRAIN_TEST_BIN/model_diff" "$WORK/u/model.h5" "$WORK/p/model.h5" || fail "preempted run differs"

# -np 1 vs -np 2, no batch norm (per-rank statistics differ by design): float tolerance 1e-3 of
# each tensor's largest magnitude after 3 epochs (30 steps) of summation-order differences
nobn_arch "$WORK/nobn.cfg"
# without a validation split the model kept is the last one, whatever tiny differences do to
# the choice of a best epoch
mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/noval.h5" --size 32 --val-frac 0 \
    --quiet >/dev/null
nobn=(--data "$WORK/noval.h5" --arch "$WORK/nobn.cfg" --epochs 3 --batch 16 --lr 0.02 --quiet)
mpi 1 "$BIN/ptrain" train "${nobn[@]}" --run-dir "$WORK/n1"
mpi 2 "$BIN/ptrain" train "${nobn[@]}" --run-dir "$WORK/n2"
"$PTRAIN_TEST_BIN/model_diff" "$WORK/n1/model.h5" "$WORK/n2/model.h5" 1e-3 ||
    fail "-np 1 and -np 2 disagree beyond 1e-3"

# one rank with several threads, every layer split over them: the same threads twice give a
# bit-identical model (batch norm included); another thread count sums the gradients over other
# slices of the batch, so it agrees with one thread as -np 2 does with -np 1
mpi 1 --bind-to none "$BIN/ptrain" train "${common[@]}" --threads 2 --run-dir "$WORK/t2a"
mpi 1 --bind-to none "$BIN/ptrain" train "${common[@]}" --threads 2 --run-dir "$WORK/t2b"
"$PTRAIN_TEST_BIN/model_diff" "$WORK/t2a/model.h5" "$WORK/t2b/model.h5" ||
    fail "2 threads twice, different models"
expect_in "$WORK/t2a/log.txt" "1 rank(s) x 2 thread(s)"
mpi 1 --bind-to none "$BIN/ptrain" train "${nobn[@]}" --threads 3 --run-dir "$WORK/n1t3" 2>/dev/null
"$PTRAIN_TEST_BIN/model_diff" "$WORK/n1/model.h5" "$WORK/n1t3/model.h5" 1e-3 ||
    fail "1 and 3 threads disagree beyond 1e-3"
"$PTRAIN_TEST_BIN/model_diff" "$WORK/n1/model.h5" "$WORK/n1t3/model.h5" >/dev/null &&
    fail "3 threads gave one thread's exact model: was the batch split?"
echo "train_reproducible: ok"
