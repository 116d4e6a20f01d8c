# ImageFolder and NIH-style CSV sources, built from synthetic films, through ptrain-prep -np 2.
source "$(dirname "$0")/lib.sh"

synth "$WORK/k" --count 60 --min-size 64 --max-size 128 --seed 4

# ImageFolder without split folders: val and test carved by patient
mkdir -p "$WORK/folder/healthy" "$WORK/folder/sick"
cp "$WORK"/k/*/NORMAL/* "$WORK/folder/healthy/"
cp "$WORK"/k/*/PNEUMONIA/* "$WORK/folder/sick/"
mpi 2 "$BIN/ptrain-prep" --src "$WORK/folder" --out "$WORK/folder.h5" --size 16 \
    --val-frac 0.2 --test-frac 0.2 --fit pad --quiet >/dev/null
digest "$WORK/folder.h5" >"$WORK/d1"
expect_in "$WORK/d1" "layout=imagefolder"
expect_in "$WORK/d1" "class 0 healthy"
expect_in "$WORK/d1" "class 1 sick"
grep -q '^val count=0 ' "$WORK/d1" && fail "no validation images carved"
grep -q '^test count=0 ' "$WORK/d1" && fail "no test images carved"

# NIH CSV: multi-label, images in nested folders, test_list.txt honoured
make_nih_tree "$WORK/k" "$WORK/nih"
mpi 2 "$BIN/ptrain-prep" --src "$WORK/nih" --out "$WORK/nih.h5" --size 16 --quiet >/dev/null
digest "$WORK/nih.h5" >"$WORK/d2"
expect_in "$WORK/d2" "classes=3 mode=multi layout=csv"
expect_in "$WORK/d2" "class 0 Atelectasis"
expect_in "$WORK/d2" "class 2 Pneumonia"
want_test=$(wc -l <"$WORK/nih/test_list.txt")
grep -q "^test count=$want_test " "$WORK/d2" || fail "test split should hold the $want_test listed images"
h5dump -H -d /train/labels "$WORK/nih.h5" >"$WORK/h5"
grep -q 'DATASPACE  SIMPLE { ( [0-9]*, 3 )' "$WORK/h5" || fail "multi-label labels are not [N,3]"
echo "prep_layouts: ok"
