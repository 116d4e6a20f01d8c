# A full disk (a small tmpfs) under ptrain-prep's output and under a training run directory, at
# -np 1 and -np 2, and a file-size limit (ulimit -f, EFBIG): every rank exits 1 promptly with one
# error line naming the file and the reason, no signal, no hang, and no .partial or .tmp file
# left behind.
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then # (CI runs as root: there it always runs, and a refused mount fails)
    echo "# SKIPPED: integration.disk_full mounts small tmpfs file systems, which needs root" >&2
    exit 77
fi
FS="$WORK/fs"
mkdir -p "$FS"
trap 'umount "$FS" 2>/dev/null || true; rm -rf "$WORK"' EXIT
# mount_fs SIZE: a fresh tmpfs of SIZE at $FS
mount_fs() {
    umount "$FS" 2>/dev/null || true
    mount -t tmpfs -o "size=$1" tmpfs "$FS" ||
        fail "cannot mount a tmpfs at $FS (mount -t tmpfs refused): this test needs it"
}
# fill_fs KEEP_KB: fills the tmpfs but for about KEEP_KB kilobytes
fill_fs() {
    local avail
    avail=$(df -k --output=avail "$FS" | tail -n 1)
    [ "$avail" -le "$1" ] || dd if=/dev/zero of="$FS/filler" bs=1k count=$((avail - $1)) 2>/dev/null
}
# clean_failure PROG FILE_PART REASON: the last command (expect_exit 1) printed exactly one error
# line, from PROG, naming FILE_PART and REASON; nothing died of a signal; no partial or
# temporary file is left on the tmpfs.
clean_failure() {
    local lines
    lines=$(grep -c "^$1: error:" "$WORK/err" || true)
    [ "$lines" -eq 1 ] || { cat "$WORK/err" >&2; fail "$lines error lines from $1, expected 1"; }
    grep "^$1: error:" "$WORK/err" | grep -F -- "$2" | grep -qF -- "$3" ||
        { cat "$WORK/err" >&2; fail "the error line does not name '$2' and '$3'"; }
    if grep -Eiq 'signal|segmentation|MPI_ABORT' "$WORK/err"; then
        cat "$WORK/err" >&2
        fail "a rank died of a signal or aborted"
    fi
    local left
    left=$(find "$FS" "$WORK" -name '*.partial' -o -name '*.tmp' | head -n 5)
    [ -z "$left" ] || fail "left behind: $left"
}
# timed SECONDS COMMAND...: runs COMMAND; fails if it takes longer than SECONDS (a hang guard
# that reports instead of waiting for ctest's timeout)
timed() {
    local limit="$1" start
    shift
    start=$(date +%s)
    timeout --kill-after=5 "$limit" "$@"
    local code=$?
    [ "$code" -ne 124 ] && [ "$code" -ne 137 ] || fail "'$*' still running after $limit s"
    echo "    took $(($(date +%s) - start)) s"
    return "$code"
}
nospace="No space left on device"

synth "$WORK/src" --count 120 --min-size 64 --max-size 96 --seed 3
mpi 2 "$BIN/ptrain-prep" --src "$WORK/src" --out "$WORK/c.h5" --size 16 --quiet >/dev/null
synth "$WORK/many" --count 400 --min-size 300 --max-size 400 --seed 8

for np in 1 2; do
    echo "-np $np: prep onto a full file system"
    mount_fs 256k
    expect_exit 1 timed 60 "$MPIEXEC" -np "$np" "$BIN/ptrain-prep" --src "$WORK/src" \
        --out "$FS/c.h5" --size 128 --quiet
    clean_failure ptrain-prep "$FS/c.h5" "$nospace"

    # Where the ranks are when the disk fills is chance: at -np 2 a write failing inside HDF5's
    # own collectives (the chunk allocation) once left one rank waiting there for good, about one
    # run in three, so the case runs three times.
    for attempt in $(seq $((np == 2 ? 3 : 1))); do
        echo "-np $np: prep when the file system fills up during the run (another program's file, try $attempt)"
        mount_fs 8m
        "$MPIEXEC" -np "$np" "$BIN/ptrain-prep" --src "$WORK/many" --out "$FS/mid.h5" --size 96 \
            --round 1 --full-decode --quiet >"$WORK/out" 2>"$WORK/err" &
        job=$!
        for _ in $(seq 1000); do
            [ -e "$FS/mid.h5.partial" ] && break
            sleep 0.01
        done
        # the ranks pause (wherever they are, a write included) while the disk fills, then go on
        procs=$(pgrep -f "^$BIN/ptrain-prep --src $WORK/many --out $FS/mid.h5" || true)
        [ -n "$procs" ] || fail "prep ended before the disk could be filled"
        kill -STOP $procs
        fill_fs 0
        kill -CONT $procs
        wait_job "$job" 60
        [ "$code" -eq 1 ] || { cat "$WORK/err" >&2; fail "exit $code, expected 1"; }
        rm -f "$FS/filler"
        clean_failure ptrain-prep "$FS/mid.h5" "$nospace"
        [ ! -e "$FS/mid.h5" ] || fail "a cache was committed on a full disk"
    done

    echo "-np $np: training whose checkpoints fill the run directory's file system"
    mount_fs 2m
    expect_exit 1 timed 60 "$MPIEXEC" -np "$np" "$BIN/ptrain" train --data "$WORK/c.h5" \
        --epochs 100 --batch 16 --ckpt-every 1 --keep-ckpts 100 --run-dir "$FS/run" --quiet
    clean_failure "ptrain train" "$FS/run/checkpoints/ckpt-" "$nospace"

    echo "-np $np: training whose model.h5 does not fit"
    mount_fs 2m
    fill_fs 160
    expect_exit 1 timed 60 "$MPIEXEC" -np "$np" "$BIN/ptrain" train --data "$WORK/c.h5" \
        --epochs 2 --batch 16 --run-dir "$FS/run" --quiet
    clean_failure "ptrain train" "$FS/run/model.h5" "$nospace"
done

echo "a stale partial file of a killed run fills the disk: the next prep removes it first"
mount_fs 8m
dd if=/dev/zero of="$FS/stale.h5.partial" bs=1M count=7 2>/dev/null
expect_exit 0 timed 60 "$MPIEXEC" -np 2 "$BIN/ptrain-prep" --src "$WORK/src" --out "$FS/stale.h5" \
    --size 96 --quiet
[ -f "$FS/stale.h5" ] && [ ! -e "$FS/stale.h5.partial" ] || fail "stale.h5 not written"

echo "-np 2: prep under a file-size limit (ulimit -f: EFBIG) set inside the ranks"
# (not around mpirun, whose own files it would limit; no shared memory between the ranks, whose
# backing file the limit would refuse too)
expect_exit 1 timed 60 "$MPIEXEC" -np 2 --mca btl self,tcp bash -c "trap '' XFSZ; ulimit -f 256; \
    exec '$BIN/ptrain-prep' --src '$WORK/src' --out '$WORK/big.h5' --size 128 --quiet"
clean_failure ptrain-prep "$WORK/big.h5" "File too large"
umount "$FS"
echo "disk_full: ok"
