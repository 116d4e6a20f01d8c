#!/bin/bash
# Prep throughput: ptrain-prep at -np 1 and -np 2 against the bare decode rate of the same files.
# Usage: tests/bench/prep_bench.sh BUILD_DIR [COUNT] [REPEATS]
# Writes results/prep.md. The data set (COUNT films of about 1000x1000, the Kermany size) is
# generated once under BUILD_DIR/bench-data and reused.
set -euo pipefail

build="${1:-build}"
count="${2:-2000}"
repeats="${3:-3}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
data="$build/bench-data/kermany-$count"
out="$root/results/prep.md"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

if [ ! -f "$data/.complete" ]; then
    echo "prep_bench: generating $count films of 900-1100 px in $data (once)"
    rm -rf "$data"
    "$build/bin/ptrain-synth" --out "$data" --count "$count" --min-size 900 --max-size 1100 --seed 7
    touch "$data/.complete"
fi

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

# Each figure: the median of $repeats runs, images/s.
bare_full() { "$build/tests/bin/decode_bench" "$data" | sed -n 's/.*: \([0-9.]*\) images\/s.*/\1/p'; }
bare_scaled() { "$build/tests/bin/decode_bench" "$data" --scaled 128 | sed -n 's/.*: \([0-9.]*\) images\/s.*/\1/p'; }
prep() {
    mpirun -np "$1" "$build/bin/ptrain-prep" --src "$data" --out "$tmp/c.h5" --size 128 --quiet $2 |
        sed -n 's/.* s: \([0-9.]*\) images\/s.*/\1/p'
}

declare -A r
for i in $(seq "$repeats"); do
    echo "prep_bench: round $i/$repeats"
    r[full]+="$(bare_full) "
    r[scaled]+="$(bare_scaled) "
    r[p1]+="$(prep 1 '') "
    r[p2]+="$(prep 2 '') "
    r[p1f]+="$(prep 1 --full-decode) "
    r[p2f]+="$(prep 2 --full-decode) "
done
declare -A m
for k in full scaled p1 p2 p1f p2f; do
    m[$k]=$(echo "${r[$k]}" | tr ' ' '\n' | grep . | median)
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
{
    echo "# Prep throughput"
    echo
    echo "$(date -u +%Y-%m-%d), $cpu, $(nproc) cores. $count synthetic films of 900-1100 px"
    echo "(JPEG with 10% PNG), cached at 128x128. Medians of $repeats runs, images/s; page cache warm."
    echo
    echo "| what | images/s | vs bare full decode | vs bare scaled decode |"
    echo "|---|---:|---:|---:|"
    echo "| bare decode, full size (1 process) | ${m[full]} | 1.00 | |"
    echo "| bare decode, DCT-scaled to >= 128 (1 process) | ${m[scaled]} | $(ratio "${m[scaled]}" "${m[full]}") | 1.00 |"
    echo "| ptrain-prep -np 1 | ${m[p1]} | $(ratio "${m[p1]}" "${m[full]}") | $(ratio "${m[p1]}" "${m[scaled]}") |"
    echo "| ptrain-prep -np 2 | ${m[p2]} | $(ratio "${m[p2]}" "${m[full]}") | $(ratio "${m[p2]}" "${m[scaled]}") |"
    echo "| ptrain-prep -np 1 --full-decode | ${m[p1f]} | $(ratio "${m[p1f]}" "${m[full]}") | |"
    echo "| ptrain-prep -np 2 --full-decode | ${m[p2f]} | $(ratio "${m[p2f]}" "${m[full]}") | |"
    echo
    echo "Scaling -np 2 / -np 1: $(ratio "${m[p2]}" "${m[p1]}") (default), $(ratio "${m[p2f]}" "${m[p1f]}") (--full-decode)."
    echo
    echo "Commands: \`make bench\` (tests/bench/prep_bench.sh); prep: \`mpirun -np N build/bin/ptrain-prep --src DATA --out c.h5 --size 128\`;"
    echo "bare decode: \`build/tests/bin/decode_bench DATA [--scaled 128]\`."
} >"$out"
cat "$out"
