# ptrain train --profile on 2 ranks: profile.csv names every layer with its algorithm, the parts
# of a step add up, the gradient-sum rows are there (with --grad-sum allreduce also the allreduce
# timed apart); the log has the table. --conv-algo: auto, gemm,
# winograd, winograd2 and winograd4 train to the same model up to float rounding, the same algorithm twice to the same
# bits, and an unknown algorithm is a usage error.
source "$(dirname "$0")/lib.sh"

synth "$WORK/chest_xray" --count 240 --min-size 64 --max-size 96 --seed 4
mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/c.h5" --size 32 --quiet >/dev/null

# train_run NAME ARGS...: 8 steps of cxr on 2 ranks into $WORK/NAME
train_run() {
    local name="$1"
    shift
    mpi 2 "$BIN/ptrain" train --data "$WORK/c.h5" --arch cxr --epochs 1 --batch 16 --max-steps 8 \
        --no-augment --threads 1 --quiet --run-dir "$WORK/$name" "$@" >"$WORK/$name.log"
}

train_run auto --profile
csv="$WORK/auto/profile.csv"
[ -s "$csv" ] || fail "--profile wrote no profile.csv"
expect_in "$csv" "name,type,algo,output,forward_ms,backward_ms,forward_gflops,backward_gflops,gemm_share,step_share"
expect_in "$csv" "conv1,conv,direct,16x32x32,"
expect_in "$csv" "conv2,conv,winograd4,32x16x16," # F(4x4) from 8x8 outputs on
expect_in "$csv" "conv3,conv,winograd4,64x8x8,"
expect_in "$csv" "conv4,conv,smallmap,128x4x4," # 3x3 pad 1 on a 4x4 map (smallconv.h)
expect_in "$WORK/auto/log.txt" "profile over 6 steps"
for row in batchnorm4 maxpool4 dense1 data optimizer allreduce_wait step; do
    grep -q "^$row," "$csv" || fail "profile.csv lacks the $row row"
done
# the sharded sums (the default) run after backward: nothing to hide, no allreduce timed apart
expect_in "$WORK/auto/log.txt" "gradient sums: sharded"
! grep -q "^allreduce_alone," "$csv" || fail "sharded sums, yet an allreduce_alone row"
# the bucketed allreduce: timed apart, and how much of it backward hid
train_run bucketed --profile --grad-sum allreduce
expect_in "$WORK/bucketed/log.txt" "gradient allreduce hidden behind backward"
for row in allreduce_wait allreduce_alone allreduce_exposed; do
    grep -q "^$row," "$WORK/bucketed/profile.csv" || fail "--grad-sum allreduce: no $row row"
done
# every time is a number >= 0; the layers and step parts take at most the whole step
awk -F, 'NR > 1 {
        for (i = 5; i <= 6; i++) if ($i !~ /^[0-9.]+$/) { print "bad time " $i " in " $1; bad = 1 }
        if ($1 != "step" && $10 != "") share += $10
        if ($1 == "step") step = $5
    }
    END {
        if (step <= 0) { print "no step time"; bad = 1 }
        if (share > 1.02) { print "the parts add up to " share " of the step"; bad = 1 }
        if (share < 0.5) { print "the parts explain only " share " of the step"; bad = 1 }
        exit bad
    }' "$csv" || fail "profile.csv does not add up"

# the algorithms agree up to rounding; one algorithm is repeatable bit for bit
train_run gemm --conv-algo gemm
train_run wino --conv-algo winograd
train_run wino2 --conv-algo winograd2
train_run wino4 --conv-algo winograd4
train_run auto2
"$PTRAIN_TEST_BIN/model_diff" "$WORK/auto/model.h5" "$WORK/auto2/model.h5" ||
    fail "the same run (auto, with and without --profile) gave different models"
"$PTRAIN_TEST_BIN/model_diff" "$WORK/auto/model.h5" "$WORK/gemm/model.h5" 1e-3 ||
    fail "auto (Winograd) and gemm models differ by more than rounding"
"$PTRAIN_TEST_BIN/model_diff" "$WORK/auto/model.h5" "$WORK/wino/model.h5" 1e-3 ||
    fail "auto and winograd models differ by more than rounding"
"$PTRAIN_TEST_BIN/model_diff" "$WORK/auto/model.h5" "$WORK/wino2/model.h5" 1e-3 ||
    fail "auto and winograd2 models differ by more than rounding"
# winograd4 also runs F(4x4) on the single-channel first layer (raw pixels), whose rounding is
# 10-20x F(2x2)'s (tests/unit/test_winograd4.c): 2.3e-3 of batchnorm1.bias here, so 1e-2
"$PTRAIN_TEST_BIN/model_diff" "$WORK/auto/model.h5" "$WORK/wino4/model.h5" 1e-2 ||
    fail "auto and winograd4 models differ by more than rounding"
expect_in "$WORK/wino4/config.json" '"conv_algo": "winograd4"'
expect_in "$WORK/gemm/config.json" '"conv_algo": "gemm"'

expect_exit 2 mpi 2 "$BIN/ptrain" train --data "$WORK/c.h5" --conv-algo fft --run-dir "$WORK/bad"
expect_in "$WORK/err" "conv-algo"
echo "ok"
