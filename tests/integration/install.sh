# `cmake --install` into a temporary prefix, as a cluster admin installs to /opt/ptrain/VERSION:
# the three programs in bin/, the SLURM scripts in share/ptrain/slurm/, the README in
# share/doc/ptrain/, nothing else; then a small job from the installed tree alone (ptrain-synth,
# ptrain-prep under mpirun -np 2, ptrain train for one epoch, from the installed train.sbatch
# too), and the installed SLURM scripts find the installed programs (ptrain_find_bin).
# ctest sets PTRAIN_BUILD_DIR (the build tree to install from).
# shellcheck shell=bash source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"
BUILD_DIR="${PTRAIN_BUILD_DIR:?run through ctest, which sets PTRAIN_BUILD_DIR}"

P="$WORK/prefix"
cmake --install "$BUILD_DIR" --prefix "$P" >"$WORK/install.log" ||
    { cat "$WORK/install.log" >&2; fail "cmake --install failed"; }

# ---- the files, and nothing else ------------------------------------------------------------------
for f in bin/ptrain bin/ptrain-prep bin/ptrain-synth share/ptrain/slurm/submit.sh \
    share/ptrain/slurm/prep.sbatch share/ptrain/slurm/train.sbatch \
    share/ptrain/slurm/install-deps.sh; do
    [ -f "$P/$f" ] || fail "not installed: $P/$f"
    [ -x "$P/$f" ] || fail "installed but not executable: $P/$f"
done
for f in share/ptrain/slurm/common.sh share/doc/ptrain/README.md; do
    [ -s "$P/$f" ] || fail "not installed: $P/$f"
done
# no test helpers, static libraries or headers
(cd "$P" && find . -type f | LC_ALL=C sort) >"$WORK/files"
cat >"$WORK/want" <<'EOF'
./bin/ptrain
./bin/ptrain-prep
./bin/ptrain-synth
./share/doc/ptrain/README.md
./share/ptrain/slurm/common.sh
./share/ptrain/slurm/install-deps.sh
./share/ptrain/slurm/prep.sbatch
./share/ptrain/slurm/submit.sh
./share/ptrain/slurm/train.sbatch
EOF
diff -u "$WORK/want" "$WORK/files" >&2 || fail "the installed tree holds other files than these"
cmp -s "$P/share/doc/ptrain/README.md" "${PTRAIN_SOURCE_DIR:?}/README.md" ||
    fail "the installed README differs from the checkout's"
# every shared library the programs need is found
for prog in ptrain ptrain-prep ptrain-synth; do
    if ldd "$P/bin/$prog" | grep -q 'not found'; then
        ldd "$P/bin/$prog" >&2
        fail "$P/bin/$prog: a shared library is not found"
    fi
done
echo "install: $(wc -l <"$WORK/files") files in $P"

# ---- a small job from the installed tree ----------------------------------------------------------
# neither the build tree nor a checkout in sight: the programs by their installed path, the
# scripts with PTRAIN_BIN unset and a PATH without ptrain
unset PTRAIN_BIN
cd "$WORK"
"$P/bin/ptrain-synth" --out "$WORK/data/chest_xray" --count 60 --min-size 48 --max-size 64 \
    --seed 3 >/dev/null
mpi 2 "$P/bin/ptrain-prep" --src "$WORK/data/chest_xray" --out "$WORK/cache.h5" --size 32 --quiet
"$P/bin/ptrain" train --data "$WORK/cache.h5" --arch cxr --epochs 1 --batch 16 --quiet \
    --run-dir "$WORK/run"
for f in model.h5 summary.json metrics.csv; do
    [ -s "$WORK/run/$f" ] || fail "the installed ptrain train left no $f"
done
expect_exit 2 "$P/bin/ptrain" train --no-such-option
echo "install: synth, prep (-np 2) and one epoch of training from $P/bin"

# ---- the installed SLURM scripts find the installed programs -----------------------------------
# a PATH with nothing but what the function needs, so no other ptrain can be found on it
mkdir -p "$WORK/sysbin"
ln -s "$(command -v bash)" "$(command -v dirname)" "$WORK/sysbin/"
# find_bin HOME [PATH]: what ptrain_find_bin sets PTRAIN_BIN to, with PTRAIN_HOME=HOME
find_bin() {
    # shellcheck disable=SC2016  # expanded by the inner bash
    env -u PTRAIN_BIN PATH="${2:-$WORK/sysbin}" PTRAIN_HOME="$1" PTRAIN_WHO=install-test \
        bash -c 'source "$PTRAIN_HOME/slurm/common.sh" && ptrain_find_bin && echo "$PTRAIN_BIN"'
}
got="$(find_bin "$P/share/ptrain")" || fail "installed tree: ptrain_find_bin failed"
[ "$got" = "$P/bin" ] || fail "installed tree: ptrain_find_bin gave '$got', expected $P/bin"
got="$(find_bin "$P/share/ptrain/")" || fail "PTRAIN_HOME with a trailing /: ptrain_find_bin failed"
[ "$got" = "$P/bin" ] || fail "PTRAIN_HOME with a trailing /: gave '$got', expected $P/bin"
# a copy of the scripts elsewhere (not <prefix>/share/ptrain): ptrain from PATH
mkdir -p "$WORK/elsewhere/slurm"
cp "$P/share/ptrain/slurm/common.sh" "$WORK/elsewhere/slurm/"
got="$(find_bin "$WORK/elsewhere" "$P/bin:$WORK/sysbin")" || fail "PATH: ptrain_find_bin failed"
[ "$got" = "$P/bin" ] || fail "PATH: ptrain_find_bin gave '$got', expected $P/bin"
# nowhere: exit 2 with a message saying what to do
expect_exit 2 find_bin "$WORK/elsewhere"
expect_in "$WORK/err" "install-test: error: no ptrain programs in $WORK/elsewhere/build/bin"
expect_in "$WORK/err" "load the ptrain module, or set PTRAIN_BIN"
echo "install: the installed slurm/common.sh finds $P/bin (and PATH, and says when neither)"

# the installed train.sbatch, run as a one-task job would run it (PTRAIN_LAUNCHER=mpirun, no
# SLURM needed): it finds the installed ptrain and trains one epoch
expect_exit 0 env -u PTRAIN_BIN PATH="$PATH" SLURM_JOB_ID=1 SLURM_NTASKS=1 \
    PTRAIN_HOME="$P/share/ptrain" PTRAIN_LAUNCHER=mpirun PTRAIN_CACHE="$WORK/cache.h5" \
    PTRAIN_RUN_DIR="$WORK/run-sbatch" PTRAIN_EPOCHS=1 PTRAIN_BATCH=16 PTRAIN_TRAIN_ARGS=--quiet \
    timeout --kill-after=10 300 bash "$P/share/ptrain/slurm/train.sbatch"
expect_in "$WORK/out" "running: mpirun -np 1 --bind-to none -q $P/bin/ptrain train"
expect_in "$WORK/out" "done: $WORK/run-sbatch"
echo "install: the installed train.sbatch ran $P/bin/ptrain"
echo "install: ok"
