# ptrain serve, talked to with curl as a client would, on 127.0.0.1 and a free port: every route,
# every error code, the same probabilities as `ptrain predict` for the same files, heat maps
# (and their peak in the synthetic opacity's lung), a few hundred hostile requests with the RSS
# checked after, idle connections that do not block another client, SIGTERM with requests in
# flight (exit 0), and a missing or corrupt model refused at start-up (exit 1).
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is missing (slurm/install-deps.sh installs it)"

synth "$WORK/chest_xray" --count 300 --min-size 96 --max-size 192 --seed 3
mpi 2 "$BIN/ptrain-prep" --src "$WORK/chest_xray" --out "$WORK/c64.h5" --size 64 --quiet >/dev/null
run="$WORK/run"
mpi 2 "$BIN/ptrain" train --data "$WORK/c64.h5" --arch cxr --epochs 6 --batch 16 --lr 0.01 \
    --run-dir "$run" --quiet

SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
trap 'stop_server; rm -rf "$WORK"' EXIT

# start_server LOG ARGS...: starts ptrain serve on a free port (--port 0), waits for its
# "listening" line and sets SERVER_PID and URL.
start_server() {
    local log="$1"
    shift
    "$BIN/ptrain" serve --port 0 "$@" 2>"$log" &
    SERVER_PID=$!
    local i
    for i in $(seq 200); do
        grep -q "listening on" "$log" && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; fail "the server exited at start-up"; }
        sleep 0.1
    done
    local port
    port="$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$log")"
    [ -n "$port" ] || { cat "$log" >&2; fail "no listening line"; }
    URL="http://127.0.0.1:$port"
}

# http METHOD PATH [curl args...]: the body in $WORK/body, prints the status code.
http() {
    local method="$1" path="$2"
    shift 2
    curl -s -o "$WORK/body" -w '%{http_code}' -X "$method" --max-time 30 "$@" "$URL$path"
}

# expect_status CODE METHOD PATH [curl args...], then optionally expect_body TEXT.
expect_status() {
    local want="$1"
    shift
    local got
    got="$(http "$@")"
    [ "$got" = "$want" ] || { cat "$WORK/body" >&2; fail "$* answered $got, expected $want"; }
}
expect_body() {
    grep -qF -- "$1" "$WORK/body" || { cat "$WORK/body" >&2; echo >&2; fail "no '$1' in the answer"; }
}

start_server "$WORK/serve.log" --model "$run" --name cxr --max-body-mb 1 --max-pixels 40000 \
    --timeout 3 --threads 4
expect_in "$WORK/serve.log" "heat maps available"

# ---- routes ------------------------------------------------------------------------------------
expect_status 200 GET /ping
expect_status 200 GET /
expect_body "<!DOCTYPE html>"
expect_body "/invocations?cam=1"
grep -qE '(src|href)="(https?:)?//' "$WORK/body" && fail "the page loads something from elsewhere"
expect_status 200 GET /v2/health/live
expect_body '"live":true'
expect_status 200 GET /v2/health/ready
expect_body '"ready":true'
expect_status 200 GET /v2
expect_body '"name":"ptrain"'
expect_status 200 GET /v2/models/cxr
expect_body '"inputs":[{"name":"image","datatype":"UINT8","shape":[-1,64,64]}]'
expect_status 200 GET /v2/models/cxr/ready
expect_body '"ready":true'

# ---- the same probabilities as ptrain predict, for PNG and JPEG files -----------------------------
imgs=$(ls "$WORK"/chest_xray/test/*/* | head -n 8)
ls "$WORK"/chest_xray/test/*/*.png >/dev/null 2>&1 || fail "the test split has no PNG"
imgs="$imgs $(ls "$WORK"/chest_xray/test/*/*.png | head -n 2)"
# shellcheck disable=SC2086
mpi 1 "$BIN/ptrain" predict --model "$run/model.h5" --max-pixels 40000 $imgs >"$WORK/predict.csv"
n=0
for f in $imgs; do
    case "$f" in *.png) type=image/png ;; *) type=image/jpeg ;; esac
    route=/invocations
    [ $((n % 2)) -eq 1 ] && route=/score
    expect_status 200 POST $route -H "Content-Type: $type" --data-binary "@$f"
    expect_body '"model":"cxr","classes":["normal","pneumonia"],"probabilities":['
    expect_body '"threshold":'
    served="$(sed 's/.*"probabilities":\[\([^]]*\)\].*"predicted":"\([a-z]*\)".*/\1,\2/' "$WORK/body")"
    line="$(grep -F "$f," "$WORK/predict.csv")"
    awk -v s="$served" -v l="$line" 'BEGIN {
        split(s, a, ","); n = split(l, b, ",")
        if (a[3] != b[2]) exit 1
        for (i = 1; i <= 2; i++) { d = a[i] - b[n - 2 + i]; if (d > 5e-7 || d < -5e-7) exit 1 }
    }' || fail "served '$served' differs from predict '$line'"
    n=$((n + 1))
done
echo "served = predicted for $n files"

# V2 with BYTES: base64 files, several in one request, the same probabilities
set -- $imgs
{
    printf '{"id":"batch-1","inputs":[{"name":"image","shape":[3],"datatype":"BYTES","data":['
    printf '"%s",' "$(base64 -w0 "$1")" "$(base64 -w0 "$2")"
    printf '"%s"]}]}' "$(base64 -w0 "$3")"
} >"$WORK/v2.json"
expect_status 200 POST /v2/models/cxr/infer -H 'Content-Type: application/json' --data-binary "@$WORK/v2.json"
expect_body '"model_name":"cxr","model_version":"1","id":"batch-1"'
expect_body '{"name":"probabilities","datatype":"FP32","shape":[3,2],"data":['
expect_body '{"name":"predicted","datatype":"BYTES","shape":[3],"data":['
p3="$(grep -F "$3," "$WORK/predict.csv" | awk -F, '{print $NF}')"
v3="$(sed 's/.*"probabilities","datatype":"FP32","shape":\[3,2\],"data":\[\([^]]*\)\].*/\1/' "$WORK/body" | awk -F, '{print $6}')"
awk -v a="$p3" -v b="$v3" 'BEGIN { d = a - b; exit !(d < 5e-7 && d > -5e-7) }' ||
    fail "V2 third image $v3, predict $p3"
# the same request to /invocations (V2 JSON is accepted there too)
expect_status 200 POST /invocations -H 'Content-Type: application/json' --data-binary "@$WORK/v2.json"
expect_body '"shape":[3,2]'
# a UINT8 tensor [1,1,64,64], nested
row="$(printf '0,%.0s' $(seq 63))0"
plane="$(printf "[$row],%.0s" $(seq 63))[$row]"
printf '{"inputs":[{"name":"image","shape":[1,1,64,64],"datatype":"UINT8","data":[[%s]]}]}' "$plane" \
    >"$WORK/u8.json"
expect_status 200 POST /v2/models/cxr/infer -H 'Content-Type: application/json' --data-binary "@$WORK/u8.json"
expect_body '"shape":[1,2]'

# ---- heat maps -----------------------------------------------------------------------------------
set -- $imgs
png="$(ls "$WORK"/chest_xray/test/*/*.png | head -n 1)"
expect_status 200 POST '/invocations?cam=1' -H 'Content-Type: image/png' --data-binary "@$png"
expect_body '"cam_class":"pneumonia","cam_png":"iVBORw0KGgo'
sed 's/.*"cam_png":"\([^"]*\)".*/\1/' "$WORK/body" | base64 -d >"$WORK/cam.png"
# the overlay has the size of the image sent (PNG IHDR: width and height at bytes 16-23)
ihdr() { od -An -tu1 -j16 -N8 "$1" | awk '{print $3*256+$4 "x" $7*256+$8}'; }
[ "$(ihdr "$WORK/cam.png")" = "$(ihdr "$png")" ] ||
    fail "overlay $(ihdr "$WORK/cam.png"), image $(ihdr "$png")"
printf '{"parameters":{"cam":true},"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["%s"]}]}' \
    "$(base64 -w0 "$2")" >"$WORK/v2cam.json"
expect_status 200 POST /v2/models/cxr/infer -H 'Content-Type: application/json' --data-binary "@$WORK/v2cam.json"
expect_body '{"name":"cam_png","datatype":"BYTES","shape":[1],"data":["iVBORw0KGgo'
# predict --cam: one overlay per image
# shellcheck disable=SC2086
mpi 1 "$BIN/ptrain" predict --model "$run/model.h5" --cam "$WORK/cams" "$1" "$2" >/dev/null
[ -s "$WORK/cams/$(basename "$1").cam.png" ] && [ -s "$WORK/cams/$(basename "$2").cam.png" ] ||
    fail "predict --cam wrote $(ls "$WORK/cams")"
# the heat map's peak lies in the lung the generator put the opacity in, over a set of films
"$PTRAIN_TEST_BIN/cam_peaks" "$run/model.h5" 60 11 >"$WORK/peaks"
read -r _ films _ hits <"$WORK/peaks"
echo "heat-map peak in the opacity's lung: $hits of $films films"
[ "$hits" -ge 42 ] || fail "heat-map peak in the opacity's lung for only $hits of $films films"

# ---- errors ------------------------------------------------------------------------------------
head -c 1100000 /dev/urandom >"$WORK/big.bin"
expect_status 413 POST /invocations -H 'Content-Type: image/png' --data-binary "@$WORK/big.bin"
expect_body '"error":"body of 1100000 bytes is over --max-body-mb'
expect_status 413 POST /invocations -H 'Content-Type: image/png' -H 'Transfer-Encoding: chunked' \
    --data-binary "@$WORK/big.bin"
expect_body '"error":"body over --max-body-mb'
echo "not an image" >"$WORK/text.png"
expect_status 400 POST /invocations -H 'Content-Type: image/png' --data-binary "@$WORK/text.png"
expect_body '"error":"request body: not a PNG or JPEG file"'
head -c 600 "$1" >"$WORK/truncated.jpeg"
expect_status 400 POST /invocations -H 'Content-Type: image/jpeg' --data-binary "@$WORK/truncated.jpeg"
expect_body '"error":"request body:'
synth "$WORK/large" --count 2 --min-size 300 --max-size 300 --seed 4
large="$(ls "$WORK"/large/*/*/* | head -n 1)"
expect_status 400 POST /invocations -H 'Content-Type: image/jpeg' --data-binary "@$large"
expect_body 'pixels'
expect_status 400 POST /invocations -H 'Content-Type: image/png'
expect_body '"error":"empty body'
expect_status 415 POST /invocations -H 'Content-Type: text/plain' --data-binary "@$1"
expect_body '"error":"Content-Type '"'"'text/plain'"'"' is not accepted here'
expect_status 415 POST /v2/models/cxr/infer -H 'Content-Type: image/png' --data-binary "@$1"
expect_status 404 GET /nowhere
expect_body '"error":"no route /nowhere'
expect_status 404 GET /v2/models/other
expect_body '"error":"unknown model '"'"'other'"'"' (this server has '"'"'cxr'"'"')"'
expect_status 404 POST /v2/models/other/infer -H 'Content-Type: application/json' --data-binary "@$WORK/v2.json"
expect_status 405 GET /invocations
expect_body '"error":"/invocations takes POST, not GET"'
expect_status 405 DELETE /ping
expect_status 405 POST /v2/health/ready -H 'Content-Type: application/json' --data-binary '{}'
expect_status 400 POST /v2/models/cxr/infer -H 'Content-Type: application/json' --data-binary '{"inputs":['
expect_body '"error":"malformed JSON'
expect_status 400 POST /v2/models/cxr/infer -H 'Content-Type: application/json' \
    --data-binary '{"inputs":[{"name":"image","shape":[1,32,32],"datatype":"UINT8","data":[0]}]}'
expect_body 'must be [N, 64, 64] or [N, 1, 64, 64]'
expect_status 400 POST /v2/models/cxr/infer -H 'Content-Type: application/json' \
    --data-binary '{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["bm90IGFuIGltYWdl"]}]}'
expect_body 'not a PNG or JPEG'

# ---- metrics -------------------------------------------------------------------------------------
expect_status 200 GET /metrics
expect_body 'ptrain_requests_total{route="/invocations",code="200"}'
expect_body 'ptrain_requests_total{route="/invocations",code="413"} 2'
expect_body 'ptrain_requests_total{route="/v2/models/{name}/infer",code="400"}'
expect_body 'ptrain_images_scored_total'
expect_body 'ptrain_batch_size_bucket{le="1"}'
expect_body 'ptrain_request_duration_seconds_bucket{le="+Inf"}'
expect_body 'ptrain_queue_depth 0'

# ---- hostile requests: the server survives and does not grow -------------------------------------
hostile() { # hostile I: one of several kinds of bad request
    case $(($1 % 8)) in
    0) curl -s -o /dev/null --max-time 10 -H 'Content-Type: image/png' --data-binary "@$WORK/text.png" "$URL/invocations" ;;
    1) curl -s -o /dev/null --max-time 10 -H 'Content-Type: image/jpeg' --data-binary "@$WORK/truncated.jpeg" "$URL/score" ;;
    2) curl -s -o /dev/null --max-time 10 -H 'Content-Type: application/json' --data-binary '{"inputs":[{"name":"x","shape":[1,64,64],"datatype":"UINT8","data":[[[[[[[1]]]]]]]}]}' "$URL/v2/models/cxr/infer" ;;
    3) curl -s -o /dev/null --max-time 10 -H 'Content-Type: application/json' --data-binary "$(printf '[%.0s' $(seq 2000))" "$URL/invocations" ;;
    4) curl -s -o /dev/null --max-time 10 -H 'Content-Type: image/png' --data-binary "@$WORK/big.bin" "$URL/invocations" ;;
    5) curl -s -o /dev/null --max-time 10 -H 'Content-Type: application/json' --data-binary '{"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["////"]}]}' "$URL/v2/models/cxr/infer" ;;
    6) curl -s -o /dev/null --max-time 10 -X PUT "$URL/invocations?cam=1&x=$(head -c 3000 /dev/zero | tr '\0' a)" ;;
    7) curl -s -o /dev/null --max-time 10 -H 'Content-Type: image/jpeg' --data-binary "@$large" "$URL/invocations?cam=1" ;;
    esac
}
rss() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
for i in $(seq 80); do hostile "$i" || true; done
before="$(rss)"
for i in $(seq 81 400); do hostile "$i" || true; done
after="$(rss)"
echo "RSS after 80 hostile requests ${before} kB, after 400 ${after} kB"
[ $((after - before)) -lt 16384 ] || fail "RSS grew by $((after - before)) kB over 320 hostile requests"
expect_status 200 GET /ping
expect_status 200 POST /invocations -H 'Content-Type: image/jpeg' --data-binary "@$1"

# ---- idle and slow connections do not block another client ---------------------------------------
fds=()
for i in $(seq 24); do
    exec {fd}<>"/dev/tcp/127.0.0.1/${URL##*:}"
    fds+=("$fd")
    # half of them start a request and never finish it
    [ $((i % 2)) -eq 0 ] && printf 'POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n' >&"$fd"
done
t0=$(date +%s%N)
expect_status 200 POST /invocations -H 'Content-Type: image/jpeg' --data-binary "@$1"
t1=$(date +%s%N)
echo "answered in $(((t1 - t0) / 1000000)) ms with 24 idle or stalled connections open"
[ $(((t1 - t0) / 1000000)) -lt 2000 ] || fail "an answer took $(((t1 - t0) / 1000000)) ms behind idle connections"
# --timeout 3: the server closes them (a read sees end of file)
sleep 4.5
closed=0
for fd in "${fds[@]}"; do
    if timeout 1 cat <&"$fd" >/dev/null 2>&1; then closed=$((closed + 1)); fi
    exec {fd}>&-
done
[ "$closed" -eq 24 ] || fail "only $closed of 24 idle connections were closed after --timeout 3"

# ---- SIGTERM with requests in flight: each answered, exit 0 ---------------------------------------
for i in $(seq 6); do
    curl -s -o "$WORK/flight$i" -w '%{http_code}' -H 'Content-Type: image/jpeg' \
        --data-binary "@$1" "$URL/invocations?cam=1" >"$WORK/code$i" &
done
sleep 0.05
kill -TERM "$SERVER_PID"
set +e
wait "$SERVER_PID"
code=$?
set -e
SERVER_PID=""
wait
[ "$code" -eq 0 ] || { cat "$WORK/serve.log" >&2; fail "ptrain serve exited $code after SIGTERM"; }
expect_in "$WORK/serve.log" "ptrain serve: stopping"
for i in $(seq 6); do
    c="$(cat "$WORK/code$i")"
    # a request that reached the server before SIGTERM is answered; one that came after is refused
    # (000: connection refused), never cut off half way
    [ "$c" = 200 ] || [ "$c" = 000 ] || fail "request $i in flight got $c"
done

# ---- start-up failures: exit 1 before listening; usage errors exit 2 ------------------------------
expect_exit 1 "$BIN/ptrain" serve --model "$WORK/missing.h5" --port 0
expect_in "$WORK/err" "missing.h5"
echo "not hdf5" >"$WORK/corrupt.h5"
expect_exit 1 "$BIN/ptrain" serve --model "$WORK/corrupt.h5" --port 0
expect_in "$WORK/err" "corrupt.h5"
expect_exit 1 "$BIN/ptrain" serve --model "$WORK/c64.h5" --port 0 # a cache, not a model
grep -q "listening" "$WORK/err" && fail "a foreign file got as far as listening"
mkdir -p "$WORK/empty"
expect_exit 1 "$BIN/ptrain" serve --model "$WORK/empty" --port 0
expect_in "$WORK/err" "no model.h5"
if [ ! -e /opt/ml/model ] && [ ! -e /mnt/models ]; then
    expect_exit 1 env -u AZUREML_MODEL_DIR "$BIN/ptrain" serve --port 0
    expect_in "$WORK/err" "no --model, and no model.h5 in /opt/ml/model (SageMaker)"
fi
expect_exit 2 "$BIN/ptrain" serve --model "$run" --port seventy
expect_exit 2 env PORT=abc "$BIN/ptrain" serve --model "$run"
expect_exit 2 "$BIN/ptrain" serve --model "$run" --port 0 --name 'a b'

# ---- the platforms' way in: $AZUREML_MODEL_DIR (a folder above the model), PORT ---------------------
mkdir -p "$WORK/azure/pneumonia"
cp "$run/model.h5" "$WORK/azure/pneumonia/"
PORT=0 AZUREML_MODEL_DIR="$WORK/azure" "$BIN/ptrain" serve 2>"$WORK/azure.log" &
SERVER_PID=$!
for i in $(seq 100); do grep -q "listening" "$WORK/azure.log" && break; sleep 0.1; done
expect_in "$WORK/azure.log" "$WORK/azure/pneumonia/model.h5"
expect_in "$WORK/azure.log" "listening on http://127.0.0.1:"
stop_server

# ---- --net-threads 3: a V2 request of 8 files runs as one batch split over 3 threads; every
# probability is predict's up to float rounding (1e-5)
expect_exit 2 "$BIN/ptrain" serve --model "$run" --port 0 --net-threads 0
expect_in "$WORK/err" "--net-threads: '0' is not a whole number in [1, 256]"
start_server "$WORK/nt.log" --model "$run" --max-pixels 40000 --net-threads 3
read -ra many <<<"$(echo $imgs)"
{
    printf '{"inputs":[{"name":"image","shape":[8],"datatype":"BYTES","data":['
    for f in "${many[@]:0:7}"; do printf '"%s",' "$(base64 -w0 "$f")"; done
    printf '"%s"]}]}' "$(base64 -w0 "${many[7]}")"
} >"$WORK/nt.json"
expect_status 200 POST /v2/models/ptrain/infer -H 'Content-Type: application/json' \
    --data-binary "@$WORK/nt.json"
expect_body '{"name":"probabilities","datatype":"FP32","shape":[8,2],"data":['
served="$(sed 's/.*"probabilities","datatype":"FP32","shape":\[8,2\],"data":\[\([^]]*\)\].*/\1/' "$WORK/body")"
echo "$served" | tr ',' '\n' >"$WORK/nt.served"
for f in "${many[@]:0:8}"; do grep -m 1 -F "$f," "$WORK/predict.csv" | awk -F, '{print $(NF-1); print $NF}'; done \
    >"$WORK/nt.predicted"
[ "$(wc -l <"$WORK/nt.served")" -eq 16 ] || fail "--net-threads 3: $(cat "$WORK/body")"
paste -d' ' "$WORK/nt.served" "$WORK/nt.predicted" |
    awk '{ d = $1 - $2; if (d > 1e-5 || d < -1e-5) { print; bad = 1 } } END { exit bad }' ||
    { paste "$WORK/nt.served" "$WORK/nt.predicted" >&2; fail "--net-threads 3: served probabilities differ from predict's"; }
stop_server

# ---- a network with no heat map says so -------------------------------------------------------------
mpi 2 "$BIN/ptrain" train --data "$WORK/c64.h5" --arch fmnist --epochs 1 --max-steps 3 --batch 16 \
    --run-dir "$WORK/flat" --quiet
start_server "$WORK/flat.log" --model "$WORK/flat"
expect_in "$WORK/flat.log" "no heat maps for this network"
expect_status 200 POST '/invocations?cam=1' -H 'Content-Type: image/jpeg' --data-binary "@$1"
expect_body '"cam_error":"no class activation map for this network'
stop_server
expect_exit 1 mpi 1 "$BIN/ptrain" predict --model "$WORK/flat/model.h5" --cam "$WORK/nocam" "$1"
expect_in "$WORK/err" "no class activation map"

echo "serve: ok"
