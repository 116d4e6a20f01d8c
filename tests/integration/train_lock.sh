# One writer per output. A second `ptrain train` on a run directory in use, or a second
# `ptrain-prep` on an output being written, stops at once with an error naming the holder's host
# and PID, and leaves the first one's files alone. The lock dies with its holder (kill -9), so a
# requeued job gets it.
source "$(dirname "$0")/lib.sh"

synth "$WORK/chest_xray" --count 120 --min-size 64 --max-size 96 --seed 9
mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/c.h5" --size 16 --quiet >/dev/null
host=$(hostname)

# ---- train: a long run holds the run directory ----------------------------------------------------
long=(--data "$WORK/c.h5" --epochs 100000 --batch 8 --ckpt-every 5 --quiet --run-dir "$WORK/run")
"$MPIEXEC" -np 2 "$BIN/ptrain" train "${long[@]}" >/dev/null 2>"$WORK/holder.err" &
job=$!
# The holder's processes die with the test, whatever way it ends.
trap 'kill -9 "$job" 2>/dev/null || true; pkill -9 -f "$WORK/run" 2>/dev/null || true; rm -rf "$WORK"' EXIT
# Any checkpoint will do: steps on 16x16 images are fast, and keeping the last 3 prunes the first
# one within milliseconds, so waiting for one name can miss it.
have_ckpt() { find "$WORK/run/checkpoints" -name 'ckpt-*.h5' 2>/dev/null | grep -q .; }
for _ in $(seq 600); do
    have_ckpt && break
    sleep 0.1
done
have_ckpt || { cat "$WORK/holder.err"; fail "no checkpoint"; }
for extra in "" "--resume auto" "--overwrite"; do
    # shellcheck disable=SC2086  # $extra is split on purpose
    expect_exit 1 mpi 2 "$BIN/ptrain" train --data "$WORK/c.h5" --epochs 1 --batch 8 --quiet \
        --run-dir "$WORK/run" $extra
    expect_in "$WORK/err" "$WORK/run"
    expect_in "$WORK/err" "in use"
    expect_in "$WORK/err" "$host"
    pid=$(grep -o 'pid [0-9]*' "$WORK/err" | head -n 1 | cut -d' ' -f2)
    [ -n "$pid" ] && grep -q "ptrain" "/proc/$pid/cmdline" 2>/dev/null ||
        { cat "$WORK/err"; fail "the error does not name the running holder's PID"; }
    kill -0 "$job" 2>/dev/null || fail "the holder ended while another run tried its directory"
done
# (find, not ls of a glob: the running holder prunes old checkpoints between the two)
[ -f "$WORK/run/config.json" ] &&
    find "$WORK/run/checkpoints" -name 'ckpt-*.h5' 2>/dev/null | grep -q . ||
    fail "--overwrite of a run in use deleted its files"
# kill -9 of the holder (rank 0, the PID in the message): the kernel drops the lock with it
kill -9 "$pid"
for _ in $(seq 100); do
    kill -0 "$job" 2>/dev/null || break
    sleep 0.2
done
kill -0 "$job" 2>/dev/null && { kill -9 "$job"; fail "the job outlived its killed rank 0"; }
wait "$job" 2>/dev/null || true
expect_exit 0 mpi 2 "$BIN/ptrain" train "${long[@]}" --resume auto --max-steps 1

# ---- prep: a second prep on an output being written ------------------------------------------------
synth "$WORK/big" --count 300 --min-size 200 --max-size 300 --seed 3
"$MPIEXEC" -np 1 "$BIN/ptrain-prep" --src "$WORK/big" --out "$WORK/p.h5" --size 64 --quiet \
    >/dev/null 2>"$WORK/prep_a.err" &
prep=$!
for _ in $(seq 400); do
    [ -f "$WORK/p.h5.partial" ] && break
    sleep 0.02
done
[ -f "$WORK/p.h5.partial" ] || fail "the first prep never started writing"
# held still while the second one tries, so that the race cannot be lost by timing
pkill -STOP -P "$prep" || true
kill -STOP "$prep"
expect_exit 1 mpi 1 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/p.h5" --size 16 --quiet
expect_in "$WORK/err" "$WORK/p.h5"
expect_in "$WORK/err" "in use"
expect_in "$WORK/err" "$host"
kill -CONT "$prep"
pkill -CONT -P "$prep" || true
wait "$prep" || { cat "$WORK/prep_a.err"; fail "the first prep failed"; }
# the cache is the first prep's: 300 images of 64x64
"$PTRAIN_TEST_BIN/cache_digest" "$WORK/p.h5" | grep -q 64 || fail "p.h5 is not the first prep's"
[ ! -e "$WORK/p.h5.lock" ] || fail "the lock file was left beside the cache"
echo "train_lock: ok"
