# The real Fashion-MNIST IDX files from Debian's dataset-fashion-mnist, at native size.
source "$(dirname "$0")/lib.sh"

# missing = failure (a declared dependency; see fashion_mnist_dir in lib.sh)
src="$(fashion_mnist_dir)"

mpi 2 "$BIN/ptrain-prep" --src "$src" --out "$WORK/fmnist.h5" --quiet >"$WORK/log"
digest "$WORK/fmnist.h5" >"$WORK/digest"
expect_in "$WORK/digest" "shape=1x28x28 classes=10 mode=single layout=idx skipped=0"
expect_in "$WORK/digest" "class 0 t-shirt/top"
expect_in "$WORK/digest" "class 9 ankle boot"
expect_in "$WORK/digest" "train count=54000 "
expect_in "$WORK/digest" "val count=6000 "
expect_in "$WORK/digest" "test count=10000 "
# the published mean of Fashion-MNIST training pixels is 0.2860 (std 0.3530)
grep -Eq '^train mean=0\.28[5-7]' "$WORK/digest" || fail "unexpected mean: $(grep mean "$WORK/digest")"
echo "prep_fashion_mnist: ok"
