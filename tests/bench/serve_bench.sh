#!/bin/bash
# Serving throughput and latency: `ptrain serve` on 127.0.0.1 only, driven by `hey` (Debian
# package) with a bounded number of requests, at 1, 8 and 32 concurrent clients, against
# `ptrain eval`'s and `ptrain predict`'s rates on the same model and size.
# Usage: tests/bench/serve_bench.sh BUILD_DIR [REQUESTS_PER_CLIENT]   writes results/serve_bench.md
# Targets (issue 12): at 32 clients >= 80% of eval's images/s; p99 at 1 client <= 2x the time of
# one image in `ptrain predict` (decode, resize and forward, as a request does).
set -euo pipefail

build="${1:-build}"
per_client="${2:-40}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
out="$root/results/serve_bench.md"
tmp="$(mktemp -d)"
source "$(dirname "$0")/lib.sh"
command -v hey >/dev/null || { echo "serve_bench: hey is missing (apt-get install hey)" >&2; exit 1; }

server=""
trap '[ -n "$server" ] && kill -TERM "$server" 2>/dev/null; rm -rf "$tmp"' EXIT

# 800 films of 256-384 px, three quarters in the test split, at 128x128; a cxr model (its quality
# does not matter for speed: a few steps).
"$build/bin/ptrain-synth" --out "$tmp/films" --count 800 --min-size 256 --max-size 384 \
    --test-frac 0.75 --seed 5 >/dev/null
mpirun -np 2 "$build/bin/ptrain-prep" --src "$tmp/films" --out "$tmp/c128.h5" --size 128 \
    --quiet >/dev/null
mpirun -np 2 "$build/bin/ptrain" train --data "$tmp/c128.h5" --arch cxr --epochs 1 \
    --max-steps 5 --batch 32 --run-dir "$tmp/run" --quiet
model="$tmp/run/model.h5"
n_test=$(ls "$tmp"/films/test/*/* | wc -l)

# eval: the whole test split in one process, wall time (model and cache loading included)
t0=$(date +%s.%N)
"$build/bin/ptrain" eval --model "$model" --data "$tmp/c128.h5" --split test >/dev/null
t1=$(date +%s.%N)
eval_rate=$(awk -v n="$n_test" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')

# predict: 200 files, decode + resize + forward one image at a time, as a request does
files=$(ls "$tmp"/films/test/*/*.jpeg | head -n 200)
n_files=$(echo "$files" | wc -l)
t0=$(date +%s.%N)
# shellcheck disable=SC2086
"$build/bin/ptrain" predict --model "$model" $files >/dev/null
t1=$(date +%s.%N)
predict_ms=$(awk -v n="$n_files" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", 1000 * (b - a) / n }')

"$build/bin/ptrain" serve --model "$model" --port 0 --threads 32 --max-batch 32 \
    --max-delay-ms 5 2>"$tmp/serve.log" &
server=$!
for _ in $(seq 100); do grep -q listening "$tmp/serve.log" && break; sleep 0.1; done
url="$(sed -n 's/.*listening on \(http:[^ ]*\)$/\1/p' "$tmp/serve.log")"
[ -n "$url" ] || { cat "$tmp/serve.log" >&2; exit 1; }
film="$(echo "$files" | head -n 1)"

# one row per concurrency: images/s, p50 and p99 latency (ms)
rows=""
for c in 1 8 32; do
    n=$((c * per_client))
    [ "$n" -ge 200 ] || n=200
    hey -n "$n" -c "$c" -m POST -T image/jpeg -D "$film" -t 60 "$url/invocations" >"$tmp/hey$c"
    rate=$(awk '/Requests\/sec:/ {printf "%.1f", $2}' "$tmp/hey$c")
    p50=$(awk '/ 50% in / {printf "%.2f", 1000 * $3}' "$tmp/hey$c")
    p99=$(awk '/ 99% in / {printf "%.2f", 1000 * $3}' "$tmp/hey$c")
    ok=$(awk '/\[200\]/ {print $2}' "$tmp/hey$c")
    [ "$ok" = "$n" ] || { cat "$tmp/hey$c" >&2; echo "serve_bench: $ok of $n answered 200" >&2; exit 1; }
    eval "rate$c=$rate p99_$c=$p99"
    rows="$rows| $c | $n | $rate | $p50 | $p99 |"$'\n'
done
curl -s "$url/metrics" | grep '^ptrain_batch_size' >"$tmp/batches"
kill -TERM "$server"
wait "$server"
server=""

# shellcheck disable=SC2154
share=$(awk -v s="$rate32" -v e="$eval_rate" 'BEGIN { printf "%.0f", 100 * s / e }')
# shellcheck disable=SC2154
p99_ratio=$(awk -v p="$p99_1" -v f="$predict_ms" 'BEGIN { printf "%.2f", p / f }')
mkdir -p "$(dirname "$out")"
{
    echo "# Serving benchmark (\`tests/bench/serve_bench.sh\`)"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))."
    echo "\`cxr\` at 128x128, one JPEG film of $(wc -c <"$film") bytes sent again and again with \`hey\` to"
    echo "\`ptrain serve --threads 32 --max-batch 32 --max-delay-ms 5\` on 127.0.0.1."
    echo
    echo "| clients | requests | images/s | p50 ms | p99 ms |"
    echo "|---:|---:|---:|---:|---:|"
    printf '%s' "$rows"
    echo
    echo "- \`ptrain eval\` on the $n_test test images (one process, model and cache loading included): $eval_rate images/s."
    echo "- \`ptrain predict\` on $n_files JPEG files, one at a time: $predict_ms ms per image (decode, resize, forward)."
    echo "- At 32 clients the server scores $share% of eval's images/s (target: at least 80%)."
    echo "- p99 at 1 client is ${p99_ratio}x predict's time per image (target: at most 2x)."
    echo
    echo "Batch sizes the server ran (Prometheus histogram at the end):"
    echo
    echo '```'
    cat "$tmp/batches"
    echo '```'
} >"$out"
cat "$out"
