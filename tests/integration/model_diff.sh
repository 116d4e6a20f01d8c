# tests/integration/model_diff: its one line says exactly what it decided (bit-identical, within
# or beyond a tolerance, different) and names the tensor with the largest difference; its exit
# status follows that decision.
source "$(dirname "$0")/lib.sh"

synth "$WORK/chest_xray" --count 60 --min-size 48 --max-size 64 --seed 4
mpi 1 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/c.h5" --size 16 --quiet >/dev/null
common=(--data "$WORK/c.h5" --arch cxr --epochs 1 --batch 8 --max-steps 2 --quiet)
mpi 1 "$BIN/ptrain" train "${common[@]}" --run-dir "$WORK/a"
mpi 1 "$BIN/ptrain" train "${common[@]}" --run-dir "$WORK/b"
mpi 1 "$BIN/ptrain" train "${common[@]}" --run-dir "$WORK/s2" --seed 2
diff_tool="$PTRAIN_TEST_BIN/model_diff"

# the same model: exit 0, and the line says so without a dangling "in"
expect_exit 0 "$diff_tool" "$WORK/a/model.h5" "$WORK/b/model.h5"
grep -Eq '^bit-identical: all [0-9]+ tensors' "$WORK/out" || { cat "$WORK/out"; fail "identical models"; }
grep -Eq ' in *$' "$WORK/out" && fail "a line ends in 'in': $(cat "$WORK/out")"

# different models, no tolerance: exit 1, "different", the tensor named
expect_exit 1 "$diff_tool" "$WORK/a/model.h5" "$WORK/s2/model.h5"
grep -Eq '^different: largest difference [0-9.e+-]+ \(.*\) in [a-z]+[0-9]+\.[a-z_]+$' "$WORK/out" ||
    { cat "$WORK/out"; fail "different models, no tolerance"; }

# within a tolerance: exit 0, and the line says "within tolerance", not "different"
expect_exit 0 "$diff_tool" "$WORK/a/model.h5" "$WORK/s2/model.h5" 1e9
grep -Eq '^within tolerance 1e\+09: largest difference [0-9.e+-]+ \(.*\) in [a-z]+[0-9]+\.[a-z_]+$' \
    "$WORK/out" || { cat "$WORK/out"; fail "within tolerance"; }

# beyond a tolerance: exit 1, "beyond tolerance"
expect_exit 1 "$diff_tool" "$WORK/a/model.h5" "$WORK/s2/model.h5" 1e-12
grep -Eq '^beyond tolerance 1e-12: largest difference [0-9.e+-]+ \(.*\) in [a-z]+[0-9]+\.[a-z_]+$' \
    "$WORK/out" || { cat "$WORK/out"; fail "beyond tolerance"; }

# identical models with a tolerance: still "bit-identical"
expect_exit 0 "$diff_tool" "$WORK/a/model.h5" "$WORK/b/model.h5" 1e-3
grep -Eq '^bit-identical: all [0-9]+ tensors' "$WORK/out" || { cat "$WORK/out"; fail "identical, tolerance"; }
echo "model_diff: ok"
