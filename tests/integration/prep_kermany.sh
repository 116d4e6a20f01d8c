# ptrain-prep on a synthetic Kermany set with 2 ranks: two and three classes, the summary,
# the cache's content, and the command line's own errors.
source "$(dirname "$0")/lib.sh"

synth "$WORK/chest_xray" --count 160 --min-size 96 --max-size 192 --seed 3

mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/cache.h5" --size 32 >"$WORK/log"
expect_in "$WORK/log" "wrote $WORK/cache.h5: 32x32, 2 classes"
[ -f "$WORK/cache.h5" ] || fail "no cache written"
[ ! -e "$WORK/cache.h5.partial" ] || fail "partial file left behind"

digest "$WORK/cache.h5" >"$WORK/digest"
expect_in "$WORK/digest" "shape=1x32x32 classes=2 mode=single layout=kermany skipped=0"
expect_in "$WORK/digest" "class 0 normal"
expect_in "$WORK/digest" "class 1 pneumonia"
train=$(sed -n 's/^train count=\([0-9]*\).*/\1/p' "$WORK/digest")
val=$(sed -n 's/^val count=\([0-9]*\).*/\1/p' "$WORK/digest")
test=$(sed -n 's/^test count=\([0-9]*\).*/\1/p' "$WORK/digest")
[ $((train + val + test)) -eq 160 ] || fail "expected 160 images, got $train+$val+$test"
[ "$val" -gt 0 ] && [ "$test" -gt 0 ] || fail "empty val ($val) or test ($test) split"
# the train mean of real pixels is neither 0 nor 1
grep -Eq '^train mean=0\.[1-8]' "$WORK/digest" || fail "implausible train mean: $(grep mean "$WORK/digest")"

# h5dump (a user's tool) reads it: the attributes of DESIGN.md are there
h5dump -A "$WORK/cache.h5" >"$WORK/h5dump"
for attr in format version height width channels class_names label_mode created generator n_skipped; do
    expect_in "$WORK/h5dump" "ATTRIBUTE \"$attr\""
done
expect_in "$WORK/h5dump" '"ptrain-cache"'
h5dump -H "$WORK/cache.h5" >"$WORK/h5"
grep -q 'DATASET "patient"' "$WORK/h5" || fail "no patient dataset"

# three classes from the file names
mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/cache3.h5" --size 32 \
    --classes normal,bacteria,virus --quiet >"$WORK/log3"
digest "$WORK/cache3.h5" >"$WORK/digest3"
expect_in "$WORK/digest3" "classes=3"
expect_in "$WORK/digest3" "class 2 virus"

# command line errors: exit 2, a message naming the problem, on one rank only
expect_exit 2 mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray"
expect_in "$WORK/err" "--src and --out are required"
[ "$(grep -c 'error' "$WORK/err")" -eq 1 ] || fail "the usage error was printed more than once"
expect_exit 2 mpi 1 "$BIN/ptrain-prep" --src x --out y --fit squash
expect_in "$WORK/err" "--fit: 'squash' is not stretch|crop|pad"
expect_exit 2 mpi 1 "$BIN/ptrain-prep" --src x --out y --bogus
expect_exit 0 "$BIN/ptrain-prep" --help
expect_in "$WORK/out" "usage:"
echo "prep_kermany: ok"
