# ptrain predict --threads N prints, byte for byte, what one thread prints: the same lines in the
# same order, the same skipped files on stderr, the same exit status, the same heat maps; and a
# model that breaks down on one image stops at that image on any number of threads, with the
# lines of the images before it and nothing after.
source "$(dirname "$0")/lib.sh"

EDIT="${PTRAIN_TEST_BIN:?}/h5_edit"
synth "$WORK/src" --count 80 --min-size 64 --max-size 200 --seed 31
mpi 1 "$BIN/ptrain-prep" --src "$WORK/src" --out "$WORK/c.h5" --size 32 --quiet >/dev/null
timeout --kill-after=10 120 "$BIN/ptrain" train --data "$WORK/c.h5" --arch cxr --epochs 1 \
    --batch 8 --max-steps 4 --run-dir "$WORK/run" --quiet
model="$WORK/run/model.h5"

# 40 films with files that cannot be decoded among them (first, in the middle, last)
mapfile -t films < <(find "$WORK/src" -type f -name '*.jpeg' | sort | head -n 40)
[ "${#films[@]}" -eq 40 ] || fail "expected 40 films, found ${#films[@]}"
echo "not an image" >"$WORK/junk.jpeg"
head -c 300 "${films[3]}" >"$WORK/truncated.jpeg"
: >"$WORK/empty.png"
files=("$WORK/junk.jpeg" "${films[@]:0:15}" "$WORK/truncated.jpeg" "$WORK/missing.png"
    "${films[@]:15}" "$WORK/empty.png")

# same_run NAME ARGS...: ptrain predict ARGS on 1 thread and on 3 print the same stdout and
# stderr and exit with the same status; the 1-thread run is kept as $WORK/NAME.{out,err,rc}
same_run() {
    local name="$1" t rc
    shift
    for t in 1 3; do
        set +e
        "$BIN/ptrain" predict --threads "$t" "$@" >"$WORK/$name.$t.out" 2>"$WORK/$name.$t.err"
        rc=$?
        set -e
        echo "$rc" >"$WORK/$name.$t.rc"
    done
    for f in out err rc; do
        cmp "$WORK/$name.1.$f" "$WORK/$name.3.$f" ||
            { diff "$WORK/$name.1.$f" "$WORK/$name.3.$f" | head -n 20 >&2; fail "$name: --threads 3 $f differs from --threads 1"; }
        cp "$WORK/$name.1.$f" "$WORK/$name.$f"
    done
}

same_run mixed --model "$model" "${files[@]}"
[ "$(cat "$WORK/mixed.rc")" -eq 1 ] || fail "undecodable files: exit $(cat "$WORK/mixed.rc"), not 1"
[ "$(wc -l <"$WORK/mixed.out")" -eq 41 ] || fail "expected a header and 40 lines: $(cat "$WORK/mixed.out")"
[ "$(grep -c '^ptrain predict: skipped ' "$WORK/mixed.err")" -eq 4 ] || fail "expected 4 skipped: $(cat "$WORK/mixed.err")"
# the lines follow the arguments' order
cut -d, -f1 "$WORK/mixed.out" | tail -n +2 >"$WORK/order"
printf '%s\n' "${films[@]}" | cmp - "$WORK/order" || fail "predict's lines are not in the arguments' order"
# the default (every CPU this process may use) prints the same too
expect_exit 1 "$BIN/ptrain" predict --model "$model" "${files[@]}"
cmp "$WORK/out" "$WORK/mixed.out" || fail "predict without --threads differs from --threads 1"
cmp "$WORK/err" "$WORK/mixed.err" || fail "predict without --threads: other stderr"

# --cam: each thread writes the maps of its images, the same files as one thread writes
for t in 1 3; do
    expect_exit 0 "$BIN/ptrain" predict --model "$model" --threads "$t" --cam "$WORK/cam$t" "${films[@]:0:12}"
done
[ "$(ls "$WORK/cam3" | wc -l)" -eq 12 ] || fail "--cam on 3 threads: $(ls "$WORK/cam3" | wc -l) maps, not 12"
diff -r "$WORK/cam1" "$WORK/cam3" || fail "--cam on 3 threads wrote other heat maps"
# 12 different films under one base name (12 folders): on 3 threads the one map left is the last
# film's, as on one thread, and no temporary file is left
same=()
for i in $(seq 0 11); do
    mkdir -p "$WORK/same/$i"
    cp "${films[$i]}" "$WORK/same/$i/film.jpeg"
    same+=("$WORK/same/$i/film.jpeg")
done
expect_exit 0 "$BIN/ptrain" predict --model "$model" --threads 3 --cam "$WORK/camsame" "${same[@]}"
expect_exit 0 "$BIN/ptrain" predict --model "$model" --threads 1 --cam "$WORK/camlast" "${same[11]}"
[ "$(ls -A "$WORK/camsame")" = "film.jpeg.cam.png" ] || fail "--cam, one base name: $(ls -A "$WORK/camsame")"
cmp "$WORK/camsame/film.jpeg.cam.png" "$WORK/camlast/film.jpeg.cam.png" ||
    fail "--cam, one base name on 3 threads: the map is not the last film's"

# A model that breaks down on some images only: every convolution weight set to one value v, the
# smallest v (by factors of 1.25) at which one of the films overflows. The films that overflow
# first are moved to the end until the first failure comes after some predicted films.
breaks=("${films[@]:0:20}")
v=1000000
found=""
for _ in $(seq 1 60); do
    cp "$model" "$WORK/huge.h5"
    for layer in conv1 conv2 conv3 conv4; do "$EDIT" "$WORK/huge.h5" fill "/model/$layer/weight" "$v"; done
    set +e
    "$BIN/ptrain" predict --threads 1 --model "$WORK/huge.h5" "${breaks[@]}" >"$WORK/out" 2>"$WORK/err"
    rc=$?
    set -e
    if [ "$rc" -ne 0 ]; then
        found=yes
        break
    fi
    v=$(awk -v v="$v" 'BEGIN { printf "%.6g", v * 1.25 }')
done
[ -n "$found" ] || fail "no weight up to $v makes the model overflow"
for _ in $(seq 1 20); do
    [ "$(wc -l <"$WORK/out")" -gt 1 ] && break
    first=$(sed -n 's/^ptrain predict: error: .* on \(.*\): image 1 of 1: .*/\1/p' "$WORK/err")
    [ -n "$first" ] || fail "v $v: no image named in $(cat "$WORK/err")"
    rest=()
    for f in "${breaks[@]}"; do [ "$f" = "$first" ] || rest+=("$f"); done
    breaks=("${rest[@]}" "$first")
    expect_exit 1 "$BIN/ptrain" predict --threads 1 --model "$WORK/huge.h5" "${breaks[@]}"
done
lines=$(($(wc -l <"$WORK/out") - 1))
[ "$lines" -gt 0 ] && [ "$lines" -lt "${#breaks[@]}" ] ||
    fail "v $v: no order of the films fails after some predicted ones"
echo "a model with convolution weights $v fails after $lines films"
# with undecodable files before and after the failing image: their messages up to it only
n_ok=$lines
same_run partial --model "$WORK/huge.h5" "$WORK/junk.jpeg" "${breaks[@]:0:$n_ok}" \
    "$WORK/missing.png" "${breaks[@]:$n_ok}" "$WORK/empty.png"
[ "$(cat "$WORK/partial.rc")" -eq 1 ] || fail "a broken model: exit $(cat "$WORK/partial.rc")"
[ "$(wc -l <"$WORK/partial.out")" -eq $((n_ok + 1)) ] || fail "expected $n_ok lines: $(cat "$WORK/partial.out")"
expect_in "$WORK/partial.err" "huge.h5 on ${breaks[$n_ok]}: image 1 of 1: output"
expect_in "$WORK/partial.err" "skipped $WORK/missing.png"
grep -q empty.png "$WORK/partial.err" && fail "a file after the failure was reported"
grep -qi nan "$WORK/partial.out" && fail "a NaN probability was printed"

# a model that fails on every image: the skipped files before the first film, then the error
cp "$model" "$WORK/all.h5"
for layer in conv1 conv2 conv3 conv4; do "$EDIT" "$WORK/all.h5" fill "/model/$layer/weight" 1e30; done
same_run all --model "$WORK/all.h5" "${files[@]}"
[ "$(wc -l <"$WORK/all.out")" -eq 1 ] || fail "a broken model printed $(cat "$WORK/all.out")"
[ "$(grep -c 'skipped' "$WORK/all.err")" -eq 1 ] || fail "expected junk.jpeg alone skipped: $(cat "$WORK/all.err")"
expect_in "$WORK/all.err" "all.h5 on ${films[0]}: "

# --threads is 1..256
expect_exit 2 "$BIN/ptrain" predict --model "$model" --threads 0 "${films[0]}"
expect_in "$WORK/err" "--threads: '0' is not 1..256"
expect_exit 2 "$BIN/ptrain" predict --model "$model" --threads x "${films[0]}"
expect_in "$WORK/err" "--threads: 'x' is not 1..256"
echo "predict_threads: ok"
