# ptrain train on a synthetic Kermany set with 2 ranks: it learns (clearly better than chance on
# the test split), leaves the whole run directory, and its model works with eval and predict.
# Then three classes on 3 ranks (an uneven split of the batch).
source "$(dirname "$0")/lib.sh"

# "<colour type> <coloured pixels>" of an 8-bit PNG: its IHDR colour type (2: RGB) and how many
# pixels are clearly coloured (channels more than 60 apart): heat, not gray film or black text.
png_colour() {
    python3 - "$1" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(data):
    size, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + size]
    if kind == b"IHDR":
        width, height, depth, colour = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + size
if colour != 2 or depth != 8:
    print(colour, 0)
    sys.exit(0)
raw, stride, bpp = zlib.decompress(idat), width * 3, 3
prev, coloured = bytearray(stride), 0
for y in range(height):
    kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if kind == 1: line[i] = (line[i] + a) & 255
        elif kind == 2: line[i] = (line[i] + b) & 255
        elif kind == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    coloured += sum(1 for x in range(0, stride, 3) if max(line[x:x + 3]) - min(line[x:x + 3]) > 60)
    prev = line
print(colour, coloured)
PY
}

synth "$WORK/chest_xray" --count 400 --min-size 128 --max-size 256 --seed 2
mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/c64.h5" --size 64 --quiet >/dev/null

run="$WORK/run"
mpi 2 "$BIN/ptrain" train --data "$WORK/c64.h5" --arch cxr --epochs 12 --batch 16 --lr 0.01 \
    --run-dir "$run" --log-seconds 1000 >"$WORK/train.log"
for f in config.json log.txt metrics.csv summary.json model.h5 predictions.csv \
         learning_curves.png val_metrics.png roc.png confusion.png misclassified.png; do
    [ -s "$run/$f" ] || fail "run directory lacks $f"
done
ls "$run"/checkpoints/ckpt-*.h5 >/dev/null || fail "no checkpoint"
[ "$(grep -c '^[0-9]' "$run/metrics.csv")" -eq 12 ] || fail "metrics.csv should have 12 epochs"
expect_in "$WORK/train.log" "epoch 12/12"
expect_in "$WORK/train.log" "run directory: $run"

# clearly better than chance on the test split
auc=$(sed -n 's/^    "auc": \([0-9.]*\),*$/\1/p' "$run/summary.json" | head -n 1)
acc=$(sed -n 's/^    "accuracy": \([0-9.]*\),*$/\1/p' "$run/summary.json" | head -n 1)
echo "test auc $auc accuracy $acc"
awk -v a="$auc" -v c="$acc" 'BEGIN { exit !(a > 0.85 && c > 0.75) }' ||
    fail "test AUC $auc / accuracy $acc: not clearly better than chance"
[ "$(wc -l <"$run/predictions.csv")" -eq 41 ] || fail "predictions.csv should hold 40 test images"

# model.h5 is plain HDF5 with PyTorch's tensor names and shapes
h5dump -H -d /model/conv1/weight "$run/model.h5" >"$WORK/h5"
grep -q 'DATASPACE  SIMPLE { ( 16, 1, 3, 3 )' "$WORK/h5" || fail "model.h5 lacks /model/conv1/weight [16,1,3,3]"

# eval reproduces the test metrics of the run
mpi 1 "$BIN/ptrain" eval --model "$run/model.h5" --data "$WORK/c64.h5" --split test >"$WORK/eval.json"
expect_in "$WORK/eval.json" "\"auc\": $auc"
# and on 3 threads (each its share of a batch: the same figures up to float rounding)
"$BIN/ptrain" eval --model "$run/model.h5" --data "$WORK/c64.h5" --split test --threads 3 \
    >"$WORK/eval3.json"
expect_in "$WORK/eval3.json" '"auc": '
# its speed: 3 threads (OpenBLAS's pool at 1 inside them), batches of 64, images/s > 0
expect_in "$WORK/eval3.json" '"inference_threads": 3,'
expect_in "$WORK/eval3.json" '"inference_blas_threads": 1,'
expect_in "$WORK/eval3.json" '"inference_batch": 64,'
speed=$(sed -n 's/^  "inference_images_per_second": \([0-9.e+-]*\),*$/\1/p' "$WORK/eval3.json")
awk -v s="$speed" 'BEGIN { exit !(s + 0 > 0) }' || fail "eval's inference images/s '$speed' is not > 0"

# predict: one line per decodable image, a broken one reported, exit 1
imgs=$(ls "$WORK"/chest_xray/test/PNEUMONIA/* | head -n 3)
echo "not an image" >"$WORK/broken.jpeg"
# shellcheck disable=SC2086
expect_exit 1 mpi 1 "$BIN/ptrain" predict --model "$run/model.h5" $imgs "$WORK/broken.jpeg"
expect_in "$WORK/out" "file,predicted,p_normal,p_pneumonia"
[ "$(grep -c ',pneumonia,\|,normal,' "$WORK/out")" -eq 3 ] || fail "predict printed $(cat "$WORK/out")"
expect_in "$WORK/err" "broken.jpeg"

# three classes on 3 ranks: 16 samples split 5/5/6
mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/c3.h5" --size 32 \
    --classes normal,bacteria,virus --quiet >/dev/null
mpi 3 "$BIN/ptrain" train --data "$WORK/c3.h5" --arch cxr --epochs 2 --batch 16 \
    --run-dir "$WORK/run3" --quiet
expect_in "$WORK/run3/summary.json" '"class": "virus"'
expect_in "$WORK/run3/summary.json" '"ranks": 3'
# cxr ends in global average pooling + dense: its mistakes (two epochs leave many) carry heat maps
read -r colour coloured <<<"$(png_colour "$WORK/run3/misclassified.png")"
[ "$colour" = 2 ] || fail "run3/misclassified.png: PNG colour type $colour, not RGB (2)"
[ "$coloured" -gt 1000 ] || fail "run3/misclassified.png: $coloured coloured pixels, no heat maps"
if grep -q 'no heat map' "$WORK/run3/log.txt"; then fail "cxr said it has no heat map"; fi
# fmnist (flatten + dense) has no map: the grid is still written, gray, and the log says why
mpi 2 "$BIN/ptrain" train --data "$WORK/c3.h5" --arch fmnist --epochs 1 --batch 16 \
    --run-dir "$WORK/runfm" --quiet
read -r colour coloured <<<"$(png_colour "$WORK/runfm/misclassified.png")"
[ "$coloured" -eq 0 ] || fail "fmnist's misclassified.png has $coloured coloured pixels"
[ "$(grep -c 'no heat map is available' "$WORK/runfm/log.txt")" -eq 1 ] ||
    fail "fmnist's log does not say once that there is no heat map"
# multi-label (NIH-style CSV): sigmoid cross-entropy, per-finding AUC in the summary
make_nih_tree "$WORK/chest_xray" "$WORK/nih"
mpi 2 "$BIN/ptrain-prep" --src "$WORK/nih" --out "$WORK/nih.h5" --size 32 --quiet >/dev/null
mpi 2 "$BIN/ptrain" train --data "$WORK/nih.h5" --arch cxr --epochs 2 --batch 16 \
    --run-dir "$WORK/runml" --quiet
expect_in "$WORK/runml/summary.json" '"class": "Effusion"'
grep -q '"auc": [0-9]' "$WORK/runml/summary.json" || fail "no per-finding AUC"
head -n 1 "$WORK/runml/predictions.csv" >"$WORK/header"
expect_in "$WORK/header" "label_Atelectasis,p_Atelectasis"
[ -s "$WORK/runml/roc.png" ] || fail "no ROC curves for the findings"
echo "train_synthetic: ok"
