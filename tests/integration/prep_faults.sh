# ptrain-prep when a rank fails or dies: a rank out of memory while listing skipped files stops
# every rank (no hang); a rank killed with -9 ends the job and no FILE.h5.partial is left; after
# the whole job is killed with -9 the next prep removes the stale partial file (never following
# a link left in its place) and succeeds.
source "$(dirname "$0")/lib.sh"


src="$WORK/chest_xray"
synth "$src" --count 60 --min-size 64 --max-size 96 --seed 5
for i in 1 2 3 4 5 6; do # noise among the files of both ranks
    head -c 2000 /dev/urandom >"$src/train/PNEUMONIA/person90${i}_bacteria_1.jpeg"
    head -c 2000 /dev/urandom >"$src/train/NORMAL/IM-090${i}-0001.jpeg"
done

for rank in 1 0; do
    echo "rank $rank runs out of memory listing a skipped file"
    expect_exit 1 timeout --kill-after=5 60 "$MPIEXEC" -np 2 \
        -x LD_PRELOAD="$PTRAIN_TEST_BIN/fail_skip_alloc.so" -x PTRAIN_TEST_FAIL_RANK="$rank" \
        "$BIN/ptrain-prep" --src "$src" --out "$WORK/oom.h5" --size 32 --quiet
    [ "$(grep -c '^ptrain-prep: error:' "$WORK/err")" -eq 1 ] || { cat "$WORK/err"; fail "error lines"; }
    expect_in "$WORK/err" "ptrain-prep: error: out of memory listing the skipped files"
    [ ! -e "$WORK/oom.h5" ] && [ ! -e "$WORK/oom.h5.partial" ] || fail "a failed prep left a file"
done

synth "$WORK/many" --count 800 --min-size 256 --max-size 320 --seed 8
slow=(--src "$WORK/many" --size 64 --round 1 --full-decode --quiet)
for rank in 1 0; do
    echo "rank $rank is killed with -9 mid-run"
    out="$WORK/killed$rank.h5"
    "$MPIEXEC" -np 2 "$BIN/ptrain-prep" "${slow[@]}" --out "$out" >/dev/null 2>&1 &
    job=$!
    for _ in $(seq 1000); do
        [ -e "$out.partial" ] && break
        sleep 0.01
    done
    victim=$(rank_pid "$rank" "$BIN/ptrain-prep ${slow[*]} --out $out")
    [ -n "$victim" ] || fail "no rank $rank to kill (prep ended too soon?)"
    kill -9 "$victim"
    wait_job "$job" 30
    [ "$code" -ne 0 ] || fail "the job exited 0 after a rank was killed"
    [ ! -e "$out.partial" ] || fail "$out.partial left behind after rank $rank was killed"
    [ ! -e "$out" ] || fail "a cache was committed by a job that lost a rank"
done

echo "the whole job is killed with -9; the next prep removes the stale partial file"
out="$WORK/again.h5"
"$MPIEXEC" -np 2 "$BIN/ptrain-prep" "${slow[@]}" --out "$out" >/dev/null 2>&1 &
job=$!
for _ in $(seq 1000); do
    [ -e "$out.partial" ] && break
    sleep 0.01
done
pids=$(pgrep -f "^$BIN/ptrain-prep ${slow[*]} --out $out" || true)
[ -n "$pids" ] || fail "prep ended too soon"
kill -9 "$job" $pids
wait "$job" 2>/dev/null || true
[ -e "$out.partial" ] || fail "expected a stale partial file after kill -9 of the whole job"
mpi 2 "$BIN/ptrain-prep" --src "$src" --out "$out" --size 32 --quiet >/dev/null 2>&1
[ ! -e "$out.partial" ] || fail "the stale partial file is still there"
digest "$out" | grep -q "skipped=12" || fail "the new cache is not complete"

echo "a link left where the partial file goes is removed, not followed"
echo "precious" >"$WORK/precious.txt"
ln -s "$WORK/precious.txt" "$WORK/linked.h5.partial"
mpi 2 "$BIN/ptrain-prep" --src "$src" --out "$WORK/linked.h5" --size 32 --quiet >/dev/null 2>&1
[ "$(cat "$WORK/precious.txt")" = "precious" ] || fail "prep wrote through a link at its partial file"
[ ! -e "$WORK/linked.h5.partial" ] && [ -f "$WORK/linked.h5" ] || fail "linked.h5 not written"
echo "prep_faults: ok"
