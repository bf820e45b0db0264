#!/usr/bin/env bash
# The soak (`./build.sh soak`; never part of the test suite). Steady load through the real
# Envoy started from the ECDS bootstrap (envoy/templates/ecds.yaml, failover clusters on,
# health checks every second) while
#   - the weights change every SOAK_WEIGHT_EVERY s through the live configuration path
#     (envoy/templates/ecds-resource.json rendered to a temp file in the watched directory, then
#     renamed over bluegreen-relay.json — what relayctl does), and
#   - every SOAK_KILL_EVERY s one relay (blue, then green, ...) refuses connections for
#     SOAK_DOWN_SECONDS (mock-relay admin {"refuse": true}, then false).
# Reports total and failed requests, Envoy RSS after warm-up vs at the end, wasm VM reloads and
# ECDS updates; targets: 0 failed, RSS growth < 5 %, no VM reload. Writes the section between
# the soak markers of BENCHMARKS.md; raw data in .run/soak/.
# Knobs: SOAK_SECONDS=600 SOAK_RATE=500 SOAK_WARMUP=30 SOAK_WEIGHT_EVERY=2 SOAK_KILL_EVERY=60
#        SOAK_DOWN_SECONDS=10 SOAK_OUT=BENCHMARKS.md (SOAK_SECONDS at most 3600, SOAK_RATE at
#        most 5000 and their product at most 3,000,000 requests: the bounds of `stack load`, the
#        open-loop generator the soak runs)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
trap stop_all EXIT
trap 'exit 130' INT TERM

DURATION=${SOAK_SECONDS:-600}
RATE=${SOAK_RATE:-500}
WARMUP=${SOAK_WARMUP:-30}
WEIGHT_EVERY=${SOAK_WEIGHT_EVERY:-2}
KILL_EVERY=${SOAK_KILL_EVERY:-60}
DOWN=${SOAK_DOWN_SECONDS:-10}
OUT=${SOAK_OUT:-$ROOT/BENCHMARKS.md}
WASM=${SOAK_WASM:-$ROOT/target/wasm32-wasip1/release/bluegreen_relay.wasm}
MOCK=${MOCK_RELAY_BIN:-$ROOT/target/release/mock-relay}
RUN=$ROOT/.run/soak
STARTED_AT=$(date +%s)

[ -x "$ENVOY_BIN" ] || { blog "no Envoy at $ENVOY_BIN: run ./build.sh build"; exit 1; }
for f in "$WASM" "$MOCK"; do [ -f "$f" ] || { blog "missing $f: run ./build.sh build"; exit 1; }; done
[ "$DURATION" -gt "$WARMUP" ] || { blog "SOAK_SECONDS must exceed SOAK_WARMUP"; exit 1; }
need_stack || exit 1

rm -rf "$RUN"
mkdir -p "$RUN/ecds"

# start_relay NAME: sets RELAY_LISTEN and RELAY_ADMIN (host:port).
start_relay() {
  "$MOCK" --name "$1" --no-record >"$RUN/relay-$1.out" 2>"$RUN/relay-$1.err" </dev/null &
  STARTED_PIDS+=("$!")
  local i line
  for i in $(seq 1 100); do
    line=$(head -1 "$RUN/relay-$1.out" 2>/dev/null || true)
    if [ -n "$line" ]; then
      RELAY_LISTEN=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["listen"])' "$line")
      RELAY_ADMIN=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["admin"])' "$line")
      return 0
    fi
    sleep 0.1
  done
  blog "mock-relay $1 did not start"; cat "$RUN/relay-$1.err" >&2; return 1
}
start_relay blue; BLUE_LISTEN=$RELAY_LISTEN; BLUE_ADMIN=$RELAY_ADMIN
start_relay green; GREEN_LISTEN=$RELAY_LISTEN; GREEN_ADMIN=$RELAY_ADMIN
relay_admin() { [ "$1" = blue ] && echo "$BLUE_ADMIN" || echo "$GREEN_ADMIN"; }

# filter_config GREEN_PERCENT: the published configuration.
filter_config() {
  python3 - "$1" <<'PY'
import json, sys
green = float(sys.argv[1])
print(json.dumps({
    "environments": {
        "blue": {"cluster": "relay_blue", "failover_cluster": "relay_blue_failover",
                 "weight": 100 - green, "api_key_env": "HOLYSHEEP_API_KEY_BLUE"},
        "green": {"cluster": "relay_green", "failover_cluster": "relay_green_failover",
                  "weight": green, "api_key_env": "HOLYSHEEP_API_KEY_GREEN"}},
    "affinity_headers": ["x-session-id"],
    "version": f"soak-green-{sys.argv[1]}",
    "health_check": {"interval_ms": 1000, "timeout_ms": 500, "path": "/v1/models"},
}))
PY
}

PUBLISHED=0
# publish GREEN_PERCENT: temp file in the watched directory, then rename (atomic).
publish() {
  PUBLISHED=$((PUBLISHED + 1))
  filter_config "$1" >"$RUN/config.json"
  local tmp=$RUN/ecds/.bluegreen-relay.json.$PUBLISHED.tmp
  python3 "$BENCH_DIR/render.py" "$ROOT/envoy/templates/ecds-resource.json" "$tmp" \
    "VERSION=soak-$PUBLISHED" "FILTER_CONFIG@=$RUN/config.json" "WASM_PATH=$WASM"
  mv -f "$tmp" "$RUN/ecds/bluegreen-relay.json"
}

publish 10
python3 - "$RUN/config.json" "$RUN/default.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.pop("health_check", None)
c["version"] = "soak-default"
c["environments"]["blue"]["weight"], c["environments"]["green"]["weight"] = 100, 0
json.dump(c, open(sys.argv[2], "w"))
PY
python3 "$BENCH_DIR/render.py" "$ROOT/envoy/templates/ecds.yaml" "$RUN/envoy.yaml" \
  ADMIN_PORT=0 LISTEN_PORT=0 "BLUE_ADDR=${BLUE_LISTEN%:*}" "BLUE_PORT=${BLUE_LISTEN##*:}" \
  "GREEN_ADDR=${GREEN_LISTEN%:*}" "GREEN_PORT=${GREEN_LISTEN##*:}" "WASM_PATH=$WASM" \
  "ECDS_DIR=$RUN/ecds" "DEFAULT_CONFIG@=$RUN/default.json" ACTIVE_CLUSTER=relay_blue
ENVOY_LOG_LEVEL=info start_envoy "$RUN/envoy" "$RUN/envoy.yaml" all 2 ||
  { blog "Envoy did not start"; tail -20 "$RUN/envoy/envoy.log" >&2; exit 1; }
PID=$ENVOY_PID
ADMIN=$ENVOY_ADMIN
PORT=$(listener_port "$ADMIN" relay_ingress)
blog "Envoy $PID on :$PORT (admin $ADMIN), relays blue $BLUE_LISTEN green $GREEN_LISTEN"
blog "soak: ${DURATION} s at ${RATE} req/s; weights every ${WEIGHT_EVERY} s; a relay down ${DOWN} s every ${KILL_EVERY} s"

load_command "http://127.0.0.1:$PORT" "$RATE" "$((DURATION * 1000))" 16
"${LOAD_COMMAND[@]}" >"$RUN/load.json" 2>"$RUN/load.err" &
LOAD_PID=$!
STARTED_PIDS+=("$LOAD_PID")
T0=$(date +%s)

WEIGHTS=(10 25 50 75 100 90 50 5 0 30)
weight_i=0
down=""
down_until=0
kills=0
next_weight=$((T0 + WEIGHT_EVERY))
next_kill=$((T0 + KILL_EVERY / 2))
next_sample=$T0
RSS_WARM=""
echo "t_s rss_kb" >"$RUN/rss.txt"
while kill -0 "$LOAD_PID" 2>/dev/null; do
  now=$(date +%s)
  t=$((now - T0))
  if [ "$now" -ge "$next_sample" ]; then
    rss=$(rss_kb "$PID")
    echo "$t $rss" >>"$RUN/rss.txt"
    [ -z "$RSS_WARM" ] && [ "$t" -ge "$WARMUP" ] && RSS_WARM=$rss && blog "RSS after ${WARMUP} s warm-up: $rss kB"
    next_sample=$((now + 5))
  fi
  if [ "$now" -ge "$next_weight" ] && [ "$t" -lt "$DURATION" ]; then
    publish "${WEIGHTS[weight_i]}"
    weight_i=$(( (weight_i + 1) % ${#WEIGHTS[@]} ))
    next_weight=$((now + WEIGHT_EVERY))
  fi
  if [ -n "$down" ] && [ "$now" -ge "$down_until" ]; then
    curl -sf -o /dev/null "http://$(relay_admin "$down")/_mock/config" -d '{"refuse": false}' ||
      blog "could not bring $down back"
    blog "t=${t}s: $down relay back"
    down=""
  fi
  if [ -z "$down" ] && [ "$now" -ge "$next_kill" ] && [ $((t + DOWN)) -lt "$DURATION" ]; then
    if [ $((kills % 2)) -eq 0 ]; then down=blue; else down=green; fi
    kills=$((kills + 1))
    curl -sf -o /dev/null "http://$(relay_admin "$down")/_mock/config" -d '{"refuse": true}' ||
      blog "could not take $down down"
    blog "t=${t}s: $down relay refusing connections for ${DOWN} s"
    down_until=$((now + DOWN))
    next_kill=$((now + KILL_EVERY))
  fi
  sleep 0.2
done
wait "$LOAD_PID" || true
forget_pid "$LOAD_PID"
if [ -n "$down" ]; then
  curl -sf -o /dev/null "http://$(relay_admin "$down")/_mock/config" -d '{"refuse": false}' || true
fi
RSS_END=$(rss_kb "$PID")
echo "$(( $(date +%s) - T0 )) $RSS_END" >>"$RUN/rss.txt"
admin_get "$ADMIN" /stats >"$RUN/stats.txt"
[ -n "$RSS_WARM" ] || RSS_WARM=$(awk 'NR == 2 { print $2 }' "$RUN/rss.txt")

python3 - "$RUN/meta.json" <<PY
import json, sys
json.dump({
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "elapsed_s": $(( $(date +%s) - STARTED_AT )),
  "duration": $DURATION, "rate": $RATE, "warmup": $WARMUP, "weight_every": $WEIGHT_EVERY,
  "kill_every": $KILL_EVERY, "down": $DOWN, "weights": "${WEIGHTS[*]}", "published": $PUBLISHED,
  "outages": $kills, "rss_warm_kb": $RSS_WARM, "rss_end_kb": $RSS_END,
  "loadavg": "$(loadavg)",
}, open(sys.argv[1], "w"))
PY
python3 "$BENCH_DIR/soak_report.py" "$RUN" "$OUT"
blog "done in $(( $(date +%s) - STARTED_AT )) s; raw data in $RUN"
