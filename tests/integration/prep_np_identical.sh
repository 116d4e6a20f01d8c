# The cache's content is the same for -np 1, 2 and 3 (3 to catch uneven shares), with small
# rounds so that every rank writes many times, and with files that must be skipped.
source "$(dirname "$0")/lib.sh"

synth "$WORK/chest_xray" --count 90 --min-size 64 --max-size 160 --seed 11 --png-frac 0.3 --rgb-frac 0.2
printf 'not an image' >"$WORK/chest_xray/train/NORMAL/IM-9999-0001.jpeg"
: >"$WORK/chest_xray/train/PNEUMONIA/person999_virus_1.jpeg"

for np in 1 2 3; do
    mpi "$np" "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/np$np.h5" --size 24 \
        --round 4 --quiet >"$WORK/log$np" 2>"$WORK/err$np"
    digest "$WORK/np$np.h5" >"$WORK/digest$np"
done
expect_in "$WORK/digest1" "skipped=2"
for np in 2 3; do
    diff -u "$WORK/digest1" "$WORK/digest$np" || fail "-np $np cache differs from -np 1"
done
# every dataset carries a checksum, whatever the number of ranks that wrote it (filtered
# datasets are written collectively)
datasets=(/skipped)
for s in train val test; do for d in images labels patient source; do datasets+=("/$s/$d"); done; done
for np in 1 2 3; do
    "$PTRAIN_TEST_BIN/h5_edit" "$WORK/np$np.h5" checksummed "${datasets[@]}" ||
        fail "-np $np: datasets without checksums"
done
# each skipped file is reported once on stderr, whichever rank decoded it
for np in 1 2 3; do
    [ "$(grep -c 'skipped: ' "$WORK/err$np")" -eq 2 ] || { cat "$WORK/err$np"; fail "-np $np: skip messages"; }
done
echo "prep_np_identical: ok"
