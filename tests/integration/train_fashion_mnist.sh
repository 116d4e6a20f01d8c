# The fmnist preset on real Fashion-MNIST (Debian's dataset-fashion-mnist): a short run of 300
# steps of batch 64 (19,200 images seen, about a third of an epoch) reaches at least 80% test
# accuracy.
source "$(dirname "$0")/lib.sh"

# missing = failure (a declared dependency; see fashion_mnist_dir in lib.sh)
src="$(fashion_mnist_dir)"
mpi 2 "$BIN/ptrain-prep" --src "$src" --out "$WORK/fmnist.h5" --quiet >/dev/null
mpi 2 "$BIN/ptrain" train --data "$WORK/fmnist.h5" --arch fmnist --epochs 1 --max-steps 300 \
    --batch 64 --lr 0.01 --momentum 0.9 --no-augment --class-weights none --quiet \
    --run-dir "$WORK/run"
acc=$(sed -n 's/^    "accuracy": \([0-9.]*\),*$/\1/p' "$WORK/run/summary.json" | head -n 1)
echo "Fashion-MNIST test accuracy after 300 steps: $acc"
awk -v a="$acc" 'BEGIN { exit !(a >= 0.80) }' || fail "test accuracy $acc < 0.80"
echo "train_fashion_mnist: ok"
