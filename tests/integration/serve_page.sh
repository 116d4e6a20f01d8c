# The web page of ptrain serve in a real browser: headless Chromium opens GET /, a synthetic film
# is put in the page's file input (as a person choosing a file), and the test asserts on what the
# page renders: the probability of pneumonia equal to `ptrain predict`'s, the decision, and a heat
# map that the browser decoded at the film's size. Needs Chromium and Node.js (install-deps.sh
# --browser); without them it is skipped (exit 77) unless PTRAIN_BROWSER_REQUIRED=1.
# PTRAIN_PAGE_SCREENSHOT=FILE keeps the page's screenshot (results/serve_page.png was made so).
source "$(dirname "$0")/lib.sh"

for tool in chromium node; do
    if ! command -v "$tool" >/dev/null; then
        msg="$tool is missing: slurm/install-deps.sh --browser installs Chromium and Node.js"
        [ "${PTRAIN_BROWSER_REQUIRED:-0}" = 1 ] && fail "$msg"
        echo "SKIP: $msg" >&2
        exit 77
    fi
done
# The driver speaks the DevTools protocol over Node's built-in WebSocket (Node >= 20.10 with
# --experimental-websocket, or >= 22); Debian 12's own nodejs 18 has none.
if ! node --experimental-websocket -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' \
    2>/dev/null; then
    msg="node $(node --version) has no WebSocket: the page test needs Node.js 20.10 or newer"
    [ "${PTRAIN_BROWSER_REQUIRED:-0}" = 1 ] && fail "$msg"
    echo "SKIP: $msg" >&2
    exit 77
fi

synth "$WORK/chest_xray" --count 200 --min-size 96 --max-size 160 --seed 6
mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/c64.h5" --size 64 --quiet >/dev/null
mpi 2 "$BIN/ptrain" train --data "$WORK/c64.h5" --arch cxr --epochs 3 --batch 16 \
    --run-dir "$WORK/run" --quiet

server="" browser=""
trap '[ -n "$browser" ] && kill "$browser" 2>/dev/null; [ -n "$server" ] && kill -TERM "$server" 2>/dev/null;
      wait 2>/dev/null; rm -rf "$WORK"' EXIT

"$BIN/ptrain" serve --model "$WORK/run" --port 0 2>"$WORK/serve.log" &
server=$!
for _ in $(seq 100); do grep -q listening "$WORK/serve.log" && break; sleep 0.1; done
url="$(sed -n 's/.*listening on \(http:[^ ]*\)$/\1/p' "$WORK/serve.log")"
[ -n "$url" ] || { cat "$WORK/serve.log" >&2; fail "the server did not start"; }

mkdir -p "$WORK/profile"
chromium --headless=new --no-sandbox --disable-gpu --no-first-run --remote-debugging-port=0 \
    --user-data-dir="$WORK/profile" --window-size=1200,900 about:blank >"$WORK/chromium.log" 2>&1 &
browser=$!
for _ in $(seq 300); do [ -s "$WORK/profile/DevToolsActivePort" ] && break; sleep 0.1; done
[ -s "$WORK/profile/DevToolsActivePort" ] || { cat "$WORK/chromium.log" >&2; fail "Chromium did not start"; }
devport="$(head -n 1 "$WORK/profile/DevToolsActivePort")"

film="$(ls "$WORK"/chest_xray/test/PNEUMONIA/*.png | head -n 1)"
timeout 120 node --experimental-websocket "$(dirname "$0")/serve_page.mjs" "$devport" "$url/" \
    "$film" "$WORK/page.png" >"$WORK/shown" || fail "the page test failed"
cat "$WORK/shown"
[ -n "${PTRAIN_PAGE_SCREENSHOT:-}" ] && cp "$WORK/page.png" "$PTRAIN_PAGE_SCREENSHOT"

mpi 1 "$BIN/ptrain" predict --model "$WORK/run/model.h5" "$film" >"$WORK/predict.csv"
p="$(tail -n 1 "$WORK/predict.csv" | awk -F, '{printf "%.1f%%", 100 * $NF}')"
predicted="$(tail -n 1 "$WORK/predict.csv" | awk -F, '{print $2}')"
expect_in "$WORK/shown" "\"probability\":\"$p\""
expect_in "$WORK/shown" "\"decision\":\"Decision: $predicted (threshold"
# the heat map is an image the browser decoded, at the size of the film it was drawn over
width="$(od -An -tu1 -j16 -N4 "$film" | awk '{print $3*256+$4}')"
expect_in "$WORK/shown" "\"heatmap_width\":$width,\"film_width\":$width"
[ "$(od -An -tx1 -N4 "$WORK/page.png" | tr -d ' ')" = 89504e47 ] || fail "no screenshot"
echo "serve_page: ok"
