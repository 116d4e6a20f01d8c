# A stalled rank ends the job: kill -STOP of one rank of two (a hung node, a read stuck on NFS)
# mid-training, rank 1 and then rank 0, ends the job within the stall timeout and a few seconds,
# exit status 1, with one error line naming the stopped rank; the same for ptrain-prep stopped
# while decoding. A rank killed with -9 ends the job within seconds.
source "$(dirname "$0")/lib.sh"
trap 'pkill -CONT -f "^$BIN/ptrain" 2>/dev/null || true; rm -rf "$WORK"' EXIT

TIMEOUT=5
# ends_within SECONDS PID: waits for the job PID; fails if it runs longer; sets $code, $took
ms() { echo $(($(date +%s%N) / 1000000)); }
ends_within() {
    local start
    start=$(ms)
    while kill -0 "$2" 2>/dev/null; do
        if [ $(($(ms) - start)) -gt $(($1 * 1000)) ]; then
            kill -9 "$2" 2>/dev/null || true
            pkill -9 -f "^$BIN/ptrain" 2>/dev/null || true
            fail "the job still runs $1 s later"
        fi
        sleep 0.1
    done
    set +e
    wait "$2"
    code=$?
    set -e
    local elapsed=$(($(ms) - start))
    took="$((elapsed / 1000)).$(printf '%03d' $((elapsed % 1000)))"
}
# stalled_by RANK: the job's stderr has one error line, naming RANK as the rank that stopped
stalled_by() {
    [ "$(grep -c ': error:' "$WORK/err")" -eq 1 ] || { cat "$WORK/err"; fail "error lines"; }
    grep -q "error: no progress for [0-9]* s (--stall-timeout $TIMEOUT): rank $1 (on [^)]*) stopped answering" \
        "$WORK/err" || { cat "$WORK/err"; fail "the message does not name rank $1"; }
}

synth "$WORK/chest_xray" --count 120 --min-size 64 --max-size 96 --seed 9
mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/c.h5" --size 16 --quiet >/dev/null

for victim in 1 0; do
    echo "training: rank $victim stopped (kill -STOP) mid-run"
    run="$WORK/run$victim"
    "$MPIEXEC" -np 2 "$BIN/ptrain" train --data "$WORK/c.h5" --epochs 100000 --batch 16 \
        --ckpt-every 4 --run-dir "$run" --quiet --stall-timeout "$TIMEOUT" \
        >"$WORK/out" 2>"$WORK/err" &
    job=$!
    for _ in $(seq 300); do
        compgen -G "$run/checkpoints/ckpt-*.h5" >/dev/null && break
        sleep 0.1
    done
    pid=$(rank_pid "$victim" "$BIN/ptrain train --data $WORK/c.h5")
    [ -n "$pid" ] || fail "no rank $victim"
    kill -STOP "$pid"
    ends_within $((TIMEOUT + 10)) "$job"
    echo "    the job ended ${took} s after the stop (--stall-timeout $TIMEOUT), exit $code"
    [ "$code" -eq 1 ] || { cat "$WORK/err"; fail "exit $code, expected 1"; }
    stalled_by "$victim"
    kill -CONT "$pid" 2>/dev/null || true
done

echo "training: rank 1 killed with -9 mid-run"
run="$WORK/killed"
"$MPIEXEC" -np 2 "$BIN/ptrain" train --data "$WORK/c.h5" --epochs 100000 --batch 16 \
    --ckpt-every 4 --run-dir "$run" --quiet --stall-timeout 600 >/dev/null 2>&1 &
job=$!
for _ in $(seq 300); do
    compgen -G "$run/checkpoints/ckpt-*.h5" >/dev/null && break
    sleep 0.1
done
pid=$(rank_pid 1 "$BIN/ptrain train --data $WORK/c.h5")
[ -n "$pid" ] || fail "no rank 1"
kill -9 "$pid"
ends_within 10 "$job"
echo "    the job ended ${took} s after the kill, exit $code"
[ "$code" -ne 0 ] || fail "the job exited 0 after losing a rank"

echo "prep: rank 1 stopped while decoding"
# a few large PNG films in one round: the ranks spend nearly all their time decoding, so the
# stop lands there (not inside the collective write, which is Open MPI's and not watched)
synth "$WORK/big" --count 24 --min-size 1500 --max-size 1500 --png-frac 1 --seed 3
"$MPIEXEC" -np 2 "$BIN/ptrain-prep" --src "$WORK/big" --out "$WORK/big.h5" --size 32 --round 16 \
    --quiet --stall-timeout "$TIMEOUT" >"$WORK/out" 2>"$WORK/err" &
job=$!
for _ in $(seq 1000); do
    [ -e "$WORK/big.h5.partial" ] && break
    sleep 0.01
done
sleep 0.1
pid=$(rank_pid 1 "$BIN/ptrain-prep --src $WORK/big")
[ -n "$pid" ] || fail "no prep rank 1 (prep ended too soon?)"
kill -STOP "$pid"
ends_within $((TIMEOUT + 10)) "$job"
echo "    the job ended ${took} s after the stop, exit $code"
[ "$code" -eq 1 ] || { cat "$WORK/err"; fail "prep: exit $code, expected 1"; }
stalled_by 1
kill -CONT "$pid" 2>/dev/null || true
echo "stall: ok"
