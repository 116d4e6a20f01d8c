# The two ways several ranks sum their gradients (--grad-sum): the node-sharded sums (default)
# and the bucketed allreduce give the same model bit for bit with 2 ranks (both add a + b) and
# within float tolerance with 3 (another summation order); on nodes simulated by
# PTRAIN_RANKS_PER_NODE the sums across nodes run, and uneven nodes fall back to the allreduce,
# saying why. A sharded run with AdamW (two state buffers, each rank keeping a third of them)
# stopped after a checkpoint and resumed ends bit-identical to one that never stopped, and the best
# epoch's model reaches every node's copy of the parameters.
source "$(dirname "$0")/lib.sh"

synth "$WORK/chest_xray" --count 160 --min-size 64 --max-size 96 --seed 8
mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/c.h5" --size 32 --val-frac 0 \
    --quiet >/dev/null
nobn_arch "$WORK/nobn.cfg"
base=(--data "$WORK/c.h5" --arch "$WORK/nobn.cfg" --epochs 2 --batch 16 --lr 0.02 --quiet)
common=("${base[@]}" --threads 1)

mpi 1 "$BIN/ptrain" train "${common[@]}" --run-dir "$WORK/one"
expect_in "$WORK/one/summary.json" '"grad_sum": "none"'
! grep -q "gradient sums:" "$WORK/one/log.txt" || fail "one rank: the log speaks of gradient sums"
mpi 2 "$BIN/ptrain" train "${common[@]}" --run-dir "$WORK/s2"
expect_in "$WORK/s2/log.txt" "gradient sums: sharded: each of a node's 2 rank(s)"
expect_in "$WORK/s2/summary.json" '"grad_sum": "sharded"'
mpi 2 "$BIN/ptrain" train "${common[@]}" --grad-sum allreduce --run-dir "$WORK/a2"
expect_in "$WORK/a2/log.txt" "gradient sums: allreduce in 4 MiB buckets during backward"
expect_in "$WORK/a2/summary.json" '"grad_sum": "allreduce"'
"$PTRAIN_TEST_BIN/model_diff" "$WORK/s2/model.h5" "$WORK/a2/model.h5" ||
    fail "2 ranks: sharded and allreduce sums gave different models"

# 2 threads per rank: the threads' gradients land in the shared slot, as one thread's do
mpi 2 --bind-to none "$BIN/ptrain" train "${base[@]}" --threads 2 --run-dir "$WORK/t2s"
mpi 2 --bind-to none "$BIN/ptrain" train "${base[@]}" --threads 2 --grad-sum allreduce \
    --run-dir "$WORK/t2a"
expect_in "$WORK/t2s/log.txt" "2 rank(s) x 2 thread(s)"
"$PTRAIN_TEST_BIN/model_diff" "$WORK/t2s/model.h5" "$WORK/t2a/model.h5" ||
    fail "2 ranks x 2 threads: sharded and allreduce sums gave different models"

# two simulated nodes of one rank: the slice is summed across them, the same a + b
PTRAIN_RANKS_PER_NODE=1 mpi 2 "$BIN/ptrain" train "${common[@]}" --run-dir "$WORK/n2"
expect_in "$WORK/n2/log.txt" "2 node(s)"
"$PTRAIN_TEST_BIN/model_diff" "$WORK/s2/model.h5" "$WORK/n2/model.h5" ||
    fail "2 ranks on 2 nodes: not the model of one node"

# 3 ranks: slices of uneven size; another summation order than the allreduce's
mpi 3 "$BIN/ptrain" train "${common[@]}" --run-dir "$WORK/s3"
mpi 3 "$BIN/ptrain" train "${common[@]}" --grad-sum allreduce --run-dir "$WORK/a3"
"$PTRAIN_TEST_BIN/model_diff" "$WORK/s3/model.h5" "$WORK/a3/model.h5" 1e-3 ||
    fail "3 ranks: sharded and allreduce sums disagree beyond 1e-3"

# nodes of 2 and 1 ranks: no shards, and the log says why
PTRAIN_RANKS_PER_NODE=2 mpi 3 "$BIN/ptrain" train "${common[@]}" --run-dir "$WORK/u3"
expect_in "$WORK/u3/log.txt" "not sharded: the nodes hold different numbers of ranks (1 to 2)"
"$PTRAIN_TEST_BIN/model_diff" "$WORK/a3/model.h5" "$WORK/u3/model.h5" ||
    fail "uneven nodes: not the allreduce's model"

# AdamW, sharded over 3 ranks, stopped after step 13 (checkpoint at 10) and resumed
adam=("${common[@]}" --opt adamw --lr 0.002 --epochs 3 --ckpt-every 5)
mpi 3 "$BIN/ptrain" train "${adam[@]}" --run-dir "$WORK/whole"
PTRAIN_TEST_STOP_AFTER_STEPS=13 mpi 3 "$BIN/ptrain" train "${adam[@]}" --run-dir "$WORK/cut"
[ -f "$WORK/cut/checkpoints/ckpt-000000010.h5" ] || fail "no checkpoint at step 10"
mpi 3 "$BIN/ptrain" train "${adam[@]}" --run-dir "$WORK/cut" --resume auto
expect_in "$WORK/cut/log.txt" "resume: $WORK/cut/checkpoints/ckpt-000000010.h5"
"$PTRAIN_TEST_BIN/model_diff" "$WORK/whole/model.h5" "$WORK/cut/model.h5" ||
    fail "sharded AdamW: the resumed run differs"
# with validation the best epoch (the first of 3 here) is restored at the end: rank 0 loads it
# into its node's copy and the other node gets it by broadcast; the test set, scored by both
# ranks, then gives one node's numbers
mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/v.h5" --size 32 --quiet >/dev/null
val=(--data "$WORK/v.h5" --arch cxr --epochs 3 --batch 16 --lr 0.05 --quiet --threads 1)
mpi 2 "$BIN/ptrain" train "${val[@]}" --run-dir "$WORK/v1"
PTRAIN_RANKS_PER_NODE=1 mpi 2 "$BIN/ptrain" train "${val[@]}" --run-dir "$WORK/v2"
expect_in "$WORK/v2/summary.json" '"best_epoch": 1,'
test_block() { sed -n '/"test": {/,/}/p' "$1/summary.json"; }
[ -n "$(test_block "$WORK/v1")" ] || fail "no test metrics in summary.json"
[ "$(test_block "$WORK/v1")" = "$(test_block "$WORK/v2")" ] ||
    fail "2 nodes: the restored best model scored the test set otherwise than on one node"
echo "train_grad_sum: ok"
