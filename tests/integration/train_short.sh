# What a newcomer meets in short or small runs: a global batch smaller than the ranks is refused
# with the same words as slurm/train.sbatch; a --max-steps run shorter than an epoch still
# validates (one partial row in metrics.csv, a best epoch, curves) and says so; --profile on a
# run too short to profile says why there is no profile.csv.
source "$(dirname "$0")/lib.sh"

synth "$WORK/chest_xray" --count 120 --min-size 64 --max-size 96 --seed 9
mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/c.h5" --size 16 --quiet >/dev/null
train() { mpi "$1" "$BIN/ptrain" train --data "$WORK/c.h5" --epochs 2 "${@:2}"; }

# ---- a global batch smaller than the ranks -------------------------------------------------------
expect_exit 2 train 3 --batch 2 --quiet --run-dir "$WORK/b2"
expect_in "$WORK/err" "the global batch --batch 2 is smaller than the 3 rank(s) of this job"
[ "$(grep -c 'error' "$WORK/err")" -eq 1 ] || fail "expected one error line"
expect_in "$WORK/err" "rank(s) of this job: raise --batch to at least 3 or run with fewer ranks"
grep -q 'rank(s) of this job: raise PTRAIN_BATCH to at least' "$PTRAIN_SOURCE_DIR/slurm/train.sbatch" ||
    fail "slurm/train.sbatch words the rule differently"
expect_exit 0 train 3 --batch 3 --quiet --max-steps 2 --run-dir "$WORK/b3"

# ---- --max-steps shorter than an epoch (11 steps) ------------------------------------------------
expect_exit 0 train 2 --batch 8 --max-steps 3 --run-dir "$WORK/short"
[ "$(grep -c '^[0-9]' "$WORK/short/metrics.csv" 2>/dev/null)" = 1 ] ||
    fail "a 3-step run has no row in metrics.csv"
[ -f "$WORK/short/learning_curves.png" ] || fail "no learning curves"
grep -q '"best_epoch": 1' "$WORK/short/summary.json" || fail "best epoch is not 1"
grep -q '"best_validation_score": null' "$WORK/short/summary.json" && fail "no validation score"
expect_in "$WORK/out" "3 of 11 steps"

# ---- --profile on a run of 2 steps: all warm-up ----------------------------------------------------
expect_exit 0 train 2 --batch 8 --max-steps 2 --profile --quiet --run-dir "$WORK/prof"
[ -f "$WORK/prof/profile.csv" ] || expect_in "$WORK/err" "no profile.csv"
echo "train_short: ok"
