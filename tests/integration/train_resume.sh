# Resuming always works or says why. --resume auto skips a damaged checkpoint (saying which and
# why) and takes the newest good one; with none good it fails instead of starting from scratch.
# Counters outside the run are refused by name, value and range. An option that cannot change
# on resume is refused by name with both values, never a loop; ranks and --epochs may change and
# are printed; config.json keeps every run's command line. A run directory holding a run is
# refused without --resume or --overwrite. A NaN stop leaves a checkpoint from before the
# explosion and names it.
source "$(dirname "$0")/lib.sh"

synth "$WORK/chest_xray" --count 120 --min-size 64 --max-size 96 --seed 9
mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/c.h5" --size 16 --quiet >/dev/null
# 95 training images, global batch 8: 11 steps per epoch
common=(--data "$WORK/c.h5" --epochs 2 --batch 8 --ckpt-every 3 --keep-ckpts 10 --quiet)
# every resume is bounded: one that loops fails the test instead of hanging it
run() { timeout --kill-after=5 60 "$MPIEXEC" -np "${NP:-2}" "$BIN/ptrain" train "${common[@]}" "$@"; }
ck() { printf '%s/checkpoints/ckpt-%09d.h5' "$1" "$2"; }

mpi 2 "$BIN/ptrain" train "${common[@]}" --run-dir "$WORK/ref"
# stopped after step 14: checkpoints at steps 3, 6, 9, 12 (step 12: epoch 2, step 1 of it)
PTRAIN_TEST_STOP_AFTER_STEPS=14 mpi 2 "$BIN/ptrain" train "${common[@]}" --run-dir "$WORK/stop"
[ -f "$(ck "$WORK/stop" 12)" ] || fail "no checkpoint at step 12"
stopped() { rm -rf "$1" && cp -r "$WORK/stop" "$1"; }

# ---- 1. a damaged newest checkpoint is skipped with its reason; the next one is used -------------
for what in params optim/momentum layout; do
    stopped "$WORK/d"
    "$PTRAIN_TEST_BIN/h5_unlink" "$(ck "$WORK/d" 12)" "$what" || fail "cannot delete $what"
    expect_exit 0 run --run-dir "$WORK/d" --resume auto
    expect_in "$WORK/err" "skipped $(ck "$WORK/d" 12)"
    expect_in "$WORK/d/log.txt" "skipped $(ck "$WORK/d" 12)"
    expect_in "$WORK/d/log.txt" "resume: $(ck "$WORK/d" 9)"
    "$PTRAIN_TEST_BIN/model_diff" "$WORK/ref/model.h5" "$WORK/d/model.h5" ||
        fail "resumed from step 9 after skipping a damaged step 12 ($what): model differs"
done
# none is good: an error naming each, never "starting from scratch"
stopped "$WORK/n"
for f in "$WORK"/n/checkpoints/ckpt-*.h5; do "$PTRAIN_TEST_BIN/h5_set_attr" "$f" complete 0; done
expect_exit 1 run --run-dir "$WORK/n" --resume auto
expect_in "$WORK/err" "no usable checkpoint"
expect_in "$WORK/err" "$(ck "$WORK/n" 3)"
grep -q "starting from scratch" "$WORK/out" "$WORK/n/log.txt" && fail "started from scratch"
# no checkpoint at all: a fresh start, as it says
expect_exit 0 run --run-dir "$WORK/empty" --resume auto
expect_in "$WORK/empty/log.txt" "starting from scratch"

# ---- 2. counters outside the run: refused by name, value and range -------------------------------
while read -r attr value range; do
    stopped "$WORK/k"
    "$PTRAIN_TEST_BIN/h5_set_attr" "$(ck "$WORK/k" 12)" "$attr" "$value"
    expect_exit 1 run --run-dir "$WORK/k" --resume "$(ck "$WORK/k" 12)"
    expect_in "$WORK/err" "$(ck "$WORK/k" 12)"
    expect_in "$WORK/err" "$attr $value is outside $range"
    expect_exit 0 run --run-dir "$WORK/k" --resume auto
    expect_in "$WORK/k/log.txt" "skipped $(ck "$WORK/k" 12): $attr $value is outside $range"
    expect_in "$WORK/k/log.txt" "resume: $(ck "$WORK/k" 9)"
done <<'EOF'
step_in_epoch -50 0..10
step_in_epoch 1000 0..10
epoch 999 0..2
global_step 999999 12..12
EOF

# ---- 3. what may change on resume, and what may not ----------------------------------------------
stopped "$WORK/o"
while read -r option old new; do
    expect_exit 1 run --run-dir "$WORK/o" --resume auto "$option" "$new"
    expect_in "$WORK/err" "$option"
    expect_in "$WORK/err" "$old"
    expect_in "$WORK/err" "$new"
done <<'EOF'
--batch 8 16
--seed 1 2
--opt sgd adamw
--class-weights auto none
EOF
expect_exit 1 run --run-dir "$WORK/o" --resume auto --keep-last
expect_in "$WORK/err" "--keep-last"
expect_exit 1 run --run-dir "$WORK/o" --resume auto --no-augment
expect_in "$WORK/err" "--no-augment"
# another number of ranks and more epochs: allowed, printed, recorded
NP=1 expect_exit 0 run --run-dir "$WORK/o" --resume auto --epochs 3
expect_in "$WORK/o/log.txt" "resume: ranks 2 -> 1"
expect_in "$WORK/o/log.txt" "resume: --epochs 2 -> 3"
[ "$(grep -c '^[0-9]' "$WORK/o/metrics.csv")" -eq 3 ] || fail "3 epochs expected in metrics.csv"
grep -q '"runs"' "$WORK/o/config.json" || fail "config.json has no runs"
[ "$(grep -c '"command"' "$WORK/o/config.json")" -ge 3 ] || fail "config.json lost the first run"
expect_in "$WORK/o/config.json" "\"resumed_from\": \"$(ck "$WORK/o" 12)\""
expect_in "$WORK/o/summary.json" '"runs"'
# --epochs grown on a constant schedule: the same model as a run that had 3 epochs from the start
stopped "$WORK/e"
expect_exit 0 run --run-dir "$WORK/e" --resume auto --epochs 3
mpi 2 "$BIN/ptrain" train "${common[@]}" --epochs 3 --run-dir "$WORK/ref3"
"$PTRAIN_TEST_BIN/model_diff" "$WORK/ref3/model.h5" "$WORK/e/model.h5" ||
    fail "--epochs 2 -> 3 on resume differs from 3 epochs from the start"

# ---- 4. a loss explosion leaves a checkpoint from before it, and names it -----------------------
# the largest magnitude among a checkpoint's parameters
params_max() {
    h5dump -y -d params "$1" | sed -n '/DATA {/,/}/p' | tr ', ' '\n\n' | grep -E '^-?[0-9.]' |
        awk 'BEGIN { m = 0 } { v = $1 + 0; if (v < 0) v = -v; if (v > m) m = v } END { print m }'
}
nan=(--data "$WORK/c.h5" --epochs 3 --batch 8 --ckpt-every 1 --keep-ckpts 2 --quiet --no-augment)
PTRAIN_TEST_STOP_AFTER_STEPS=6 mpi 2 "$BIN/ptrain" train "${nan[@]}" --run-dir "$WORK/nan"
# --lr 100 from step 6 on: the loss explodes within a few steps, then becomes NaN
expect_exit 1 mpi 2 "$BIN/ptrain" train "${nan[@]}" --run-dir "$WORK/nan" --resume auto --lr 100
grep -Eq 'loss became (NaN|infinite) at step [0-9]+' "$WORK/err" || fail "no NaN message"
sane=0
for f in "$WORK"/nan/checkpoints/ckpt-*.h5; do
    m=$(params_max "$f")
    echo "$f: largest parameter $m"
    awk -v m="$m" 'BEGIN { exit !(m < 100) }' && sane=$((sane + 1))
done
[ "$sane" -ge 1 ] || fail "every checkpoint kept holds exploded weights"
good=$(grep -o -- '--resume [^ ]*\.h5' "$WORK/err" | head -n 1 | cut -d' ' -f2)
[ -n "$good" ] || { cat "$WORK/err"; fail "the error names no checkpoint to resume from"; }
m=$(params_max "$good")
awk -v m="$m" 'BEGIN { exit !(m < 100) }' || fail "the named checkpoint $good holds weights up to $m"
expect_exit 0 mpi 2 "$BIN/ptrain" train "${nan[@]}" --run-dir "$WORK/nan" --resume "$good" --lr 0.01

# ---- 6. a run directory that holds a run ---------------------------------------------------------
expect_exit 1 run --run-dir "$WORK/ref"
expect_in "$WORK/err" "$WORK/ref"
expect_in "$WORK/err" "--resume"
expect_in "$WORK/err" "--overwrite"
expect_exit 2 run --run-dir "$WORK/ref" --overwrite --resume auto
expect_exit 0 run --run-dir "$WORK/ref" --overwrite --epochs 1 --ckpt-every 0
[ "$(grep -c '^[0-9]' "$WORK/ref/metrics.csv")" -eq 1 ] || fail "old metrics.csv rows kept"
[ ! -e "$(ck "$WORK/ref" 21)" ] || fail "old checkpoints kept after --overwrite"
[ "$(grep -c '"command"' "$WORK/ref/config.json")" -eq 2 ] || fail "old runs kept after --overwrite"

# ---- 7. a resume on another instruction-set path (a node of another CPU generation) -------------
isa=$(sed -n 's/^  "isa": "\(.*\)",*$/\1/p' "$WORK/ref/config.json" | head -n 1)
if [ "$isa" != sse2 ]; then
    expect_exit 0 mpi 2 "$BIN/ptrain" train "${common[@]}" --run-dir "$WORK/isa" --epochs 1
    PTRAIN_ISA=sse2 expect_exit 0 mpi 2 -x PTRAIN_ISA "$BIN/ptrain" train "${common[@]}" \
        --run-dir "$WORK/isa" --resume auto
    expect_in "$WORK/isa/log.txt" "resume: instruction-set path $isa -> sse2"
else
    echo "# this CPU runs only the sse2 path: no other path to resume on" >&2
fi

echo "train_resume: ok"
