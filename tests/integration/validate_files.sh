# Caches, checkpoints and models are checked before they are trusted. A dataset of the wrong
# shape, an attribute out of range, a flipped byte or a model whose output is not finite ends
# the run with one line naming the file and what is wrong (exit 1): never a crash, a silent
# wrong answer or a NaN probability. A split or a class that is missing but not fatal is a
# warning. Strings are UTF-8, and a cache without checksums (an older ptrain) still opens.
source "$(dirname "$0")/lib.sh"

EDIT="${PTRAIN_TEST_BIN:?}/h5_edit"
synth "$WORK/src" --count 60 --min-size 48 --max-size 64 --seed 21
name="IM-0999-0001 M$(printf '\xc3\xbc')ller.jpeg" # a non-ASCII file name, in the test split
mv "$(ls "$WORK"/src/test/NORMAL/*.jpeg | head -n 1)" "$WORK/src/test/NORMAL/$name"
mpi 2 "$BIN/ptrain-prep" --src "$WORK/src" --out "$WORK/c.h5" --size 16 --quiet >/dev/null
count() { "$PTRAIN_TEST_BIN/cache_digest" "$1" | awk -v s="$2" '$1 == s && $2 ~ /^count=/ { sub("count=", "", $2); print $2 }'; }
n_train=$(count "$WORK/c.h5" train)
n_test=$(count "$WORK/c.h5" test)
[ "$n_train" -gt 0 ] && [ "$n_test" -gt 0 ] || fail "no train or test rows ($n_train, $n_test)"

# --- strings are UTF-8 (h5py gives str) and a non-ASCII name round-trips
[ "$("$EDIT" "$WORK/c.h5" cset /test/source)" = utf8 ] || fail "/test/source is not UTF-8"
[ "$("$EDIT" "$WORK/c.h5" cset / class_names)" = utf8 ] || fail "class_names is not UTF-8"
# --- every dataset of the cache carries a checksum
datasets=()
for s in train val test; do for d in images labels patient source; do datasets+=("/$s/$d"); done; done
"$EDIT" "$WORK/c.h5" checksummed "${datasets[@]}" || fail "cache datasets without checksums"

# one process without mpirun (a singleton MPI job): the checks are the same on every rank, and
# mpirun would cost seconds per call
train() { timeout --kill-after=10 120 "$BIN/ptrain" train --quiet --epochs 1 --batch 8 --max-steps 2 "$@"; }
one_error() {
    [ "$(grep -c 'error' "$WORK/err")" -eq 1 ] || { cat "$WORK/err"; fail "expected one error line"; }
}
expect_exit 0 train --data "$WORK/c.h5" --run-dir "$WORK/run" --ckpt-every 1
grep -qF "test/NORMAL/$name" "$WORK/run/predictions.csv" || fail "$name did not round-trip"
model="$WORK/run/model.h5"
ckpt=$(ls "$WORK"/run/checkpoints/ckpt-*.h5 | head -n 1)
"$EDIT" "$model" checksummed /model/conv1/weight /model/dense1/bias || fail "model.h5 unchecked"
"$EDIT" "$ckpt" checksummed /params /state /optim/momentum /layout/params || fail "checkpoint unchecked"

# broken COPY [CHECK...]: a copy of the cache, then the h5_edit commands given as "op args" words
broken() {
    cp "$WORK/c.h5" "$WORK/$1"
    local f="$WORK/$1"
    shift
    for edit in "$@"; do
        # shellcheck disable=SC2086
        "$EDIT" "$f" $edit || fail "h5_edit $f $edit"
    done
}

# --- case 1: shapes and types are checked before any buffer is sized from them
broken labels64.h5 "replace /train/labels i32 ${n_train}x64"
expect_exit 1 train --data "$WORK/labels64.h5" --run-dir "$WORK/r1"
expect_in "$WORK/err" "labels64.h5: dataset /train/labels is int32 [$n_train,64], expected int32 [$n_train]"
one_error
broken source50.h5 "replace /test/source str16 ${n_test}x50"
expect_exit 1 train --data "$WORK/source50.h5" --run-dir "$WORK/r2"
expect_in "$WORK/err" "source50.h5: dataset /test/source is string[16] [$n_test,50], expected string [$n_test]"

# --- case 2: attributes in range and agreeing with the datasets
broken multi.h5 "attr / label_mode str multi"
expect_exit 1 train --data "$WORK/multi.h5" --run-dir "$WORK/r3"
expect_in "$WORK/err" "expected uint8 [$n_train,2]"
broken std0.h5 "attr /train std f64 0"
expect_exit 1 train --data "$WORK/std0.h5" --run-dir "$WORK/r4"
expect_in "$WORK/err" "std0.h5: /train attribute std is 0"
broken meannan.h5 "attr /train mean f64 nan"
expect_exit 1 train --data "$WORK/meannan.h5" --run-dir "$WORK/r5"
expect_in "$WORK/err" "/train attribute mean is nan"
broken grown.h5 "attr-strings / class_names normal,pneumonia,virus"
expect_exit 1 train --data "$WORK/grown.h5" --run-dir "$WORK/r6"
expect_in "$WORK/err" "class 'virus' has no training images"
one_error
# eval on a split without a class: a warning naming it, the metrics still printed
broken onlynormal.h5 "replace /test/labels i32 ${n_test}"
expect_exit 0 "$BIN/ptrain" eval --model "$model" --data "$WORK/onlynormal.h5"
expect_in "$WORK/err" "warning: $WORK/onlynormal.h5: the test split has no images of class 'pneumonia'"
expect_in "$WORK/out" '"accuracy"'
broken noval.h5 "delete /val"
expect_exit 1 train --data "$WORK/noval.h5" --run-dir "$WORK/r7"
expect_in "$WORK/err" "noval.h5 has no /val split"
broken notest.h5 "delete /test"
expect_exit 0 train --data "$WORK/notest.h5" --run-dir "$WORK/r8"
expect_in "$WORK/err" "warning: $WORK/notest.h5 has no /test split"
expect_exit 1 "$BIN/ptrain" eval --model "$model" --data "$WORK/notest.h5"
expect_in "$WORK/err" "has no /test split"
"$BIN/ptrain-prep" --src "$WORK/src" --out "$WORK/valfrac0.h5" --size 16 --val-frac 0 --quiet >/dev/null
expect_exit 0 train --data "$WORK/valfrac0.h5" --run-dir "$WORK/r9"
expect_in "$WORK/err" "warning: $WORK/valfrac0.h5: the validation split is empty"
cp "$model" "$WORK/t2.h5"
"$EDIT" "$WORK/t2.h5" attr / threshold f64 2
expect_exit 1 "$BIN/ptrain" predict --model "$WORK/t2.h5" "$WORK/src/test/NORMAL/$name"
expect_in "$WORK/err" "t2.h5: threshold 2"

# --- case 3: a flipped byte is a checksum error naming the file and the dataset
broken flip.h5 "flip /train/images"
expect_exit 1 train --data "$WORK/flip.h5" --run-dir "$WORK/r10"
expect_in "$WORK/err" "flip.h5: dataset /train/images: checksum mismatch: file is corrupt"
one_error
cp "$ckpt" "$WORK/ckpt-flip.h5"
"$EDIT" "$WORK/ckpt-flip.h5" flip /params
expect_exit 1 train --data "$WORK/c.h5" --run-dir "$WORK/r11" --resume "$WORK/ckpt-flip.h5"
expect_in "$WORK/err" "ckpt-flip.h5: dataset /params: checksum mismatch"
cp "$model" "$WORK/m-flip.h5"
"$EDIT" "$WORK/m-flip.h5" flip /model/dense1/weight
expect_exit 1 "$BIN/ptrain" eval --model "$WORK/m-flip.h5" --data "$WORK/c.h5"
expect_in "$WORK/err" "m-flip.h5: tensor dense1.weight: dataset /model/dense1/weight: checksum mismatch"
# a flipped bit under the attributes (the pixel statistics, the threshold, the position) fails
# the open: object headers carry checksums too
broken attrflip.h5 "flip-attr /train mean"
expect_exit 1 train --data "$WORK/attrflip.h5" --run-dir "$WORK/r12"
expect_in "$WORK/err" "attrflip.h5: /train/images: checksum mismatch: file is corrupt"
cp "$model" "$WORK/m-attr.h5"
"$EDIT" "$WORK/m-attr.h5" flip-attr / std
expect_exit 1 "$BIN/ptrain" eval --model "$WORK/m-attr.h5" --data "$WORK/c.h5"
expect_in "$WORK/err" "m-attr.h5: attribute 'std': checksum mismatch: file is corrupt"
cp "$ckpt" "$WORK/ckpt-attr.h5"
"$EDIT" "$WORK/ckpt-attr.h5" flip-attr / global_step
expect_exit 1 train --data "$WORK/c.h5" --run-dir "$WORK/r13" --resume "$WORK/ckpt-attr.h5"
expect_in "$WORK/err" "ckpt-attr.h5: "
expect_in "$WORK/err" "checksum mismatch: file is corrupt"
# a cache written without checksums (an older ptrain-prep) opens, with a warning
h5repack -f NONE "$WORK/c.h5" "$WORK/old.h5"
"$EDIT" "$WORK/old.h5" checksummed /train/images >/dev/null && fail "h5repack kept the checksum"
expect_exit 0 "$BIN/ptrain" eval --model "$model" --data "$WORK/old.h5"
expect_in "$WORK/err" "has no checksums"

# --- case 4: a model whose output is not finite is an error, never a NaN probability
cp "$model" "$WORK/nan.h5"
"$EDIT" "$WORK/nan.h5" fill /model/dense1/weight nan
expect_exit 1 "$BIN/ptrain" predict --model "$WORK/nan.h5" "$WORK/src/test/NORMAL/$name"
expect_in "$WORK/err" "nan.h5"
grep -qi nan "$WORK/out" && fail "a NaN probability was printed"
cp "$model" "$WORK/huge.h5"
for layer in conv1 conv2 conv3 conv4; do "$EDIT" "$WORK/huge.h5" fill "/model/$layer/weight" 1e30; done
expect_exit 1 "$BIN/ptrain" predict --model "$WORK/huge.h5" "$WORK/src/test/NORMAL/$name"
expect_in "$WORK/err" "huge.h5"
expect_in "$WORK/err" "$name"
grep -qi nan "$WORK/out" && fail "a NaN probability was printed"
expect_exit 1 "$BIN/ptrain" eval --model "$WORK/huge.h5" --data "$WORK/c.h5"
expect_in "$WORK/err" "huge.h5"
expect_in "$WORK/err" "c.h5"
grep -qi nan "$WORK/out" && fail "NaN metrics were printed"
echo "validate_files: ok"
