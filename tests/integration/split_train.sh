# Sub-communicators: mpirun -np 4 runs two trainers of 2 ranks each, on disjoint halves of the
# job (pt_comm_split). Neither sees the other's messages: both models are bit-identical to the
# model of a plain 2-rank `ptrain train` with the same options.
source "$(dirname "$0")/lib.sh"

synth "$WORK/chest_xray" --count 120 --min-size 48 --max-size 96 --seed 3
mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/c.h5" --size 32 --quiet >/dev/null

mpi 4 "$PTRAIN_TEST_BIN/split_train" "$WORK/c.h5" "$WORK/half" ||
    fail "two trainers on halves of -np 4 did not both succeed"
mpi 2 "$BIN/ptrain" train --data "$WORK/c.h5" --arch cxr --epochs 2 --batch 16 --lr 0.02 \
    --threads 1 --quiet --run-dir "$WORK/plain"

for half in 0 1; do
    [ -f "$WORK/half$half/model.h5" ] || fail "half $half wrote no model"
    "$PTRAIN_TEST_BIN/model_diff" "$WORK/plain/model.h5" "$WORK/half$half/model.h5" ||
        fail "the trainer on half $half differs from a plain 2-rank run"
done
echo "split_train: ok"
