# Bad input to ptrain train: a clear one-line error naming the file and the reason, a non-zero
# exit on every rank, never a hang. A diverging loss stops with the step named and leaves the
# last good checkpoint intact. A rank killed with -9 ends the job within seconds.
source "$(dirname "$0")/lib.sh"

synth "$WORK/chest_xray" --count 120 --min-size 64 --max-size 96 --seed 9
mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/c.h5" --size 16 --quiet >/dev/null
train() { mpi 2 "$BIN/ptrain" train --quiet --run-dir "$WORK/run" "$@"; }
one_error() { [ "$(grep -c 'error' "$WORK/err")" -eq 1 ] || { cat "$WORK/err"; fail "expected one error line"; }; }

expect_exit 1 train --data "$WORK/missing.h5"
expect_in "$WORK/err" "$WORK/missing.h5"
one_error
echo "just text" >"$WORK/text.h5"
expect_exit 1 train --data "$WORK/text.h5"
expect_in "$WORK/err" "not an HDF5 file"
h5_other="$WORK/other.h5"
cp "$WORK/c.h5" "$h5_other"
"$PTRAIN_TEST_BIN/h5_set_attr" "$h5_other" version 2
expect_exit 1 train --data "$h5_other"
expect_in "$WORK/err" "version 2"

# a network that does not fit the images, or the classes
printf '[conv]\nfilters=4\nsize=20\npad=0\n[dense]\noutputs=classes\n' >"$WORK/big.cfg"
expect_exit 1 train --data "$WORK/c.h5" --arch "$WORK/big.cfg"
expect_in "$WORK/err" "[conv]"
printf '[conv]\nfilters=4\n[dense]\noutputs=5\n' >"$WORK/five.cfg"
expect_exit 1 train --data "$WORK/c.h5" --arch "$WORK/five.cfg"
expect_in "$WORK/err" "2 classes"
expect_exit 1 train --data "$WORK/c.h5" --arch nosuchpreset
expect_in "$WORK/err" "neither a preset"

# invalid option values: usage errors
expect_exit 2 train --data "$WORK/c.h5" --lr -1
expect_in "$WORK/err" "--lr"
expect_exit 2 train --data "$WORK/c.h5" --opt adam
expect_exit 2 train --data "$WORK/c.h5" --threshold 1.5
expect_exit 2 train --data "$WORK/c.h5" --epochs
expect_exit 1 train --data "$WORK/c.h5" --class-weights 1,2,3
expect_in "$WORK/err" "--class-weights"

# a checkpoint of another network is refused
mpi 2 "$BIN/ptrain" train --data "$WORK/c.h5" --epochs 1 --batch 8 --quiet --run-dir "$WORK/ok"
ckpt=$(ls "$WORK"/ok/checkpoints/ckpt-*.h5 | tail -n 1)
expect_exit 1 train --data "$WORK/c.h5" --arch fmnist --resume "$ckpt"
expect_in "$WORK/err" "$ckpt"
one_error

# a diverging loss: stopped with the step named, the earlier checkpoint intact
expect_exit 1 mpi 2 "$BIN/ptrain" train --data "$WORK/c.h5" --epochs 5 --batch 8 --lr 1000 \
    --ckpt-every 3 --quiet --run-dir "$WORK/nan" --no-augment
grep -Eq 'loss became (NaN|infinite) at step [0-9]+' "$WORK/err" || { cat "$WORK/err"; fail "no NaN message"; }
for f in "$WORK"/nan/checkpoints/ckpt-*.h5; do
    h5dump -A "$f" >"$WORK/attrs"
    grep -q '"complete"' "$WORK/attrs" || fail "$f is not a complete checkpoint"
done

# kill -9 of one rank: the job ends within seconds
"$MPIEXEC" -np 2 "$BIN/ptrain" train --data "$WORK/c.h5" --epochs 100000 --batch 8 --quiet \
    --run-dir "$WORK/kill" >/dev/null 2>&1 &
job=$!
for _ in $(seq 50); do
    pids=$(pgrep -f "ptrain train --data $WORK/c.h5 --epochs 100000" | grep -v "^$job$" || true)
    [ "$(echo "$pids" | wc -w)" -ge 2 ] && break
    sleep 0.2
done
victim=$(echo "$pids" | tail -n 1)
[ -n "$victim" ] || fail "no rank to kill"
sleep 1
kill -9 "$victim"
start=$(date +%s)
while kill -0 "$job" 2>/dev/null; do
    [ $(($(date +%s) - start)) -lt 20 ] || { kill -9 "$job"; fail "the job outlived a killed rank by 20 s"; }
    sleep 0.2
done
echo "job ended $(($(date +%s) - start)) s after a rank was killed"
echo "train_bad_input: ok"
