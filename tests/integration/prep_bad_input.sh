# Bad input through the whole tool: broken files are skipped, counted and listed (or fatal
# with --strict); bad sources and outputs are clear errors; nothing hangs or leaves a partial
# file behind.
source "$(dirname "$0")/lib.sh"

src="$WORK/chest_xray"
synth "$src" --count 40 --min-size 64 --max-size 128 --seed 5
good=$(ls "$src"/train/PNEUMONIA/*.jpeg | head -n 1)
head -c 600 "$good" >"$src/train/PNEUMONIA/person900_bacteria_1.jpeg"      # cut short
head -c 2000 /dev/urandom >"$src/train/PNEUMONIA/person901_bacteria_1.jpeg" # noise
: >"$src/train/NORMAL/IM-0901-0001.jpeg"                                  # empty
echo "patient notes" >"$src/train/NORMAL/IM-0902-0001.jpeg"               # text
printf '\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR' >"$src/test/NORMAL/IM-0903-0001.png" # header only
mkdir -p "$WORK/big"
synth "$WORK/big" --count 8 --min-size 1200 --max-size 1200 --seed 2
cp "$(ls "$WORK"/big/train/NORMAL/* | head -n 1)" "$src/test/NORMAL/IM-0904-0001.jpeg"

# skipped, counted, listed in the cache and on stderr
expect_exit 0 mpi 2 "$BIN/ptrain-prep" --src "$src" --out "$WORK/c.h5" --size 32 --max-pixels 1000000
expect_in "$WORK/out" "skipped 6 file(s)"
digest "$WORK/c.h5" >"$WORK/digest"
expect_in "$WORK/digest" "skipped=6"
for f in person900_bacteria_1.jpeg person901_bacteria_1.jpeg IM-0901-0001.jpeg \
         IM-0902-0001.jpeg IM-0903-0001.png IM-0904-0001.jpeg; do
    expect_in "$WORK/err" "$f"
    grep -q "^  .*$f: " "$WORK/digest" || fail "$f not listed with a reason in /skipped"
done
expect_in "$WORK/digest" "empty file"
expect_in "$WORK/digest" "max-pixels"

# --strict: the first bad file is an error; no cache, no partial file
expect_exit 1 mpi 2 "$BIN/ptrain-prep" --src "$src" --out "$WORK/strict.h5" --size 32 --strict
expect_in "$WORK/err" "error:"
[ ! -e "$WORK/strict.h5" ] && [ ! -e "$WORK/strict.h5.partial" ] || fail "--strict left a file"

# nothing decodable: an error, not an empty cache
expect_exit 1 mpi 2 "$BIN/ptrain-prep" --src "$src" --out "$WORK/none.h5" --max-pixels 10
expect_in "$WORK/err" "none of the"
[ ! -e "$WORK/none.h5" ] && [ ! -e "$WORK/none.h5.partial" ] || fail "a failed prep left a file"

# empty, missing and unknown sources; unwritable output
mkdir -p "$WORK/empty"
expect_exit 1 mpi 2 "$BIN/ptrain-prep" --src "$WORK/empty" --out "$WORK/e.h5"
expect_in "$WORK/err" "no image files found"
[ "$(grep -c 'error' "$WORK/err")" -eq 1 ] || fail "the error was printed more than once"
expect_exit 1 mpi 2 "$BIN/ptrain-prep" --src "$WORK/nowhere" --out "$WORK/e.h5"
expect_in "$WORK/err" "$WORK/nowhere"
echo "hello" >"$WORK/notes.txt"
expect_exit 1 mpi 2 "$BIN/ptrain-prep" --src "$WORK/notes.txt" --out "$WORK/e.h5"
expect_in "$WORK/err" "cannot tell the layout"
expect_exit 1 mpi 2 "$BIN/ptrain-prep" --src "$src" --out "$WORK/no/such/dir/c.h5"
expect_in "$WORK/err" "cannot write"

# killed mid-run: the final name never holds a half-written cache
synth "$WORK/many" --count 400 --min-size 256 --max-size 384 --seed 8
"$MPIEXEC" -np 2 "$BIN/ptrain-prep" --src "$WORK/many" --out "$WORK/killed.h5" --size 64 \
    --round 1 --full-decode --quiet >/dev/null 2>&1 &
pid=$!
sleep 1
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
[ ! -e "$WORK/killed.h5" ] || echo "note: prep finished before it could be killed"
sleep 1
[ ! -e "$WORK/killed.h5" ] || [ -z "$(pgrep -f 'killed.h5' || true)" ] || fail "ranks left running"
echo "prep_bad_input: ok"
