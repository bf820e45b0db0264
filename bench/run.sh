#!/usr/bin/env bash
# The benchmark (`./build.sh bench`; never part of the test suite). Compares, in one run and
# interleaved (A F E B C D, A F E B C D, ...), the cost of splitting traffic:
#   A  native Envoy: weighted_clusters 90/10 + a route-level request header add (the key)
#   B  Envoy + bluegreen-relay, typical config (bench/configs/B.json)
#   C  B + health checks every 1000 ms (bench/configs/C.json)
#   D  B + enforce_models, model catalog, usage metering (bench/configs/D.json; "pending" while
#      the filter refuses that configuration)
#   E  a wasm filter that does nothing (bench/noop-filter)
#   F  the same split in Envoy's Lua filter (bench/templates/lua.yaml)
# B-E run envoy/templates/static.yaml, the bootstrap the tests and the demo use.
#
# Per variant and round: Envoy --concurrency 1 pinned to CPU 0; the upstream (a second Envoy
# answering direct_response) and the load pinned to CPU 1. Saturation: wrk -t1 -c64 for
# BENCH_SECONDS with a random x-session-id per request (bench/wrk/session.lua). Latency:
# `stack load --rate` (tools/stack, open loop) at BENCH_RATE req/s over 16 connections (latency
# from the time each request was due, as wrk2 does). Envoy CPU µs/request = (utime+stime) over
# the wrk run / requests.
# Then one unpinned --concurrency 2 round (saturation only, wrk -t2), and bench/peers.sh
# (G = LiteLLM in the same interleaved rounds, the streaming workload, RSS by workers;
# BENCH_PEERS=0 skips it).
# Results: BENCHMARKS.md (section between the bench markers) and .run/bench/.
#
# Knobs (environment): BENCH_ROUNDS=3 BENCH_SECONDS=10 BENCH_WARMUP=2 BENCH_CONNECTIONS=64
#   BENCH_RATE=auto (a quarter of A's saturation req/s in round 1, 200 to 5000; or a number,
#     at most 5000: stack load's bound)
#   BENCH_RATE_SECONDS=8 BENCH_VARIANTS="A F E B C D" BENCH_CONC2=1
#   BENCH_WASM=<path of the filter .wasm> BENCH_OUT=BENCHMARKS.md
#   BENCH_EXTRA="NAME=FILE.wasm[@TEMPLATE.yaml] ..." more variants: B's configuration with another
#     build of the filter (e.g. a patched copy, for profiling) and optionally another bootstrap
#     (default envoy/templates/static.yaml). BENCH_RATE_SECONDS=0 skips the latency runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
trap stop_all EXIT
trap 'exit 130' INT TERM

ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_SAT=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-2}
CONNS=${BENCH_CONNECTIONS:-64}
RATE=${BENCH_RATE:-auto}
RATE_SECONDS=${BENCH_RATE_SECONDS:-8}
VARIANTS=${BENCH_VARIANTS:-A F E B C D}
CONC2=${BENCH_CONC2:-1}
WASM=${BENCH_WASM:-$ROOT/target/wasm32-wasip1/release/bluegreen_relay.wasm}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
RUN=${BENCH_RUN_DIR:-$ROOT/.run/bench}
STARTED_AT=$(date +%s)

for tool in wrk taskset curl python3 wasm-opt; do
  command -v "$tool" >/dev/null || { blog "missing $tool (./build.sh bench installs it)"; exit 1; }
done
[ -x "$ENVOY_BIN" ] || { blog "no Envoy at $ENVOY_BIN: run ./build.sh build"; exit 1; }
[ -f "$WASM" ] || { blog "no filter at $WASM: run ./build.sh build"; exit 1; }
need_stack || exit 1

if [ "$(nproc)" -ge 2 ]; then ENVOY_CPU=0; LOAD_CPU=1; else ENVOY_CPU=all; LOAD_CPU=all; fi
pin_load() { if [ "$LOAD_CPU" = all ]; then "$@"; else taskset -c "$LOAD_CPU" "$@"; fi; }

rm -rf "$RUN"
mkdir -p "$RUN"
RESULTS=$RUN/results.jsonl
: >"$RESULTS"

blog "building bench/noop-filter (wasm)"
CARGO_TARGET_DIR=$BENCH_TARGET cargo build -q --release --target wasm32-wasip1 \
  --manifest-path "$BENCH_DIR/noop-filter/Cargo.toml"
NOOP_WASM=$BENCH_TARGET/wasm32-wasip1/release/noop_filter.wasm

# --- .wasm size, raw and after wasm-opt -Oz (features the module uses; -Oz: the size-optimising level) ---
WASM_OPT_FEATURES=(--enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int
  --enable-mutable-globals --enable-multivalue --enable-reference-types)
wasm_opt_size() { # FILE -> bytes after wasm-opt -Oz, or "error"
  if wasm-opt -Oz "${WASM_OPT_FEATURES[@]}" "$1" -o "$RUN/opt.wasm" 2>"$RUN/wasm-opt.log"; then
    stat -c %s "$RUN/opt.wasm"
  else
    echo error
  fi
}
WASM_RAW=$(stat -c %s "$WASM")
WASM_OPT=$(wasm_opt_size "$WASM")
NOOP_RAW=$(stat -c %s "$NOOP_WASM")
NOOP_OPT=$(wasm_opt_size "$NOOP_WASM")
blog "filter .wasm: $WASM_RAW bytes raw, $WASM_OPT after wasm-opt -Oz"

# --- the upstream: direct_response on CPU 1 ---
cp "$BENCH_DIR/templates/upstream.yaml" "$RUN/upstream.yaml"
start_envoy "$RUN/upstream" "$RUN/upstream.yaml" "$LOAD_CPU" 1 ||
  { blog "the upstream Envoy did not start"; tail -5 "$RUN/upstream/envoy.log" >&2; exit 1; }
UPSTREAM_ADMIN=$ENVOY_ADMIN
BLUE_PORT=$(listener_port "$UPSTREAM_ADMIN" upstream_blue)
GREEN_PORT=$(listener_port "$UPSTREAM_ADMIN" upstream_green)
COMMON=(BLUE_ADDR=127.0.0.1 "BLUE_PORT=$BLUE_PORT" GREEN_ADDR=127.0.0.1 "GREEN_PORT=$GREEN_PORT")
KEYS=(BLUE_KEY=sk-bench-blue-0000 GREEN_KEY=sk-bench-green-0000)
STATIC=(ADMIN_PORT=0 LISTEN_PORT=0 ACTIVE_CLUSTER=relay_blue)

render() { python3 "$BENCH_DIR/render.py" "$@"; }
render "$BENCH_DIR/templates/native.yaml" "$RUN/A.yaml" "${COMMON[@]}" "${KEYS[@]}"
for v in B C D; do
  render "$ROOT/envoy/templates/static.yaml" "$RUN/$v.yaml" "${COMMON[@]}" "${STATIC[@]}" \
    "WASM_PATH=$WASM" "FILTER_CONFIG@=$BENCH_DIR/configs/$v.json" \
    "$(body_stage "$BENCH_DIR/configs/$v.json")"
done
render "$ROOT/envoy/templates/static.yaml" "$RUN/E.yaml" "${COMMON[@]}" "${STATIC[@]}" \
  "WASM_PATH=$NOOP_WASM" "FILTER_CONFIG@=$BENCH_DIR/configs/B.json" "BODY_STAGE="
render "$BENCH_DIR/templates/lua.yaml" "$RUN/F.yaml" "${COMMON[@]}" "${KEYS[@]}"
EXTRA_NAMES=()
for spec in ${BENCH_EXTRA:-}; do
  name=${spec%%=*}; rest=${spec#*=}; wasm=${rest%%@*}; template=$ROOT/envoy/templates/static.yaml
  [ "$rest" = "$wasm" ] || template=${rest#*@}
  render "$template" "$RUN/$name.yaml" "${COMMON[@]}" "${STATIC[@]}" \
    "WASM_PATH=$wasm" "FILTER_CONFIG@=$BENCH_DIR/configs/B.json" "BODY_STAGE="
  echo "$name $wasm $template" >>"$RUN/extra.txt"
  EXTRA_NAMES+=("$name")
done

# --- which variants start at all (D waits for the models feature) ---
ACTIVE=()
PENDING=()
for v in $VARIANTS "${EXTRA_NAMES[@]}"; do
  if start_envoy "$RUN/check-$v" "$RUN/$v.yaml" "$ENVOY_CPU" 1; then
    port=$(listener_port "$ENVOY_ADMIN" relay_ingress)
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
      -H 'x-session-id: check' -d "$BENCH_BODY" \
      "http://127.0.0.1:$port/v1/chat/completions")
    stop_pid "$ENVOY_PID"
    if [ "$code" = 200 ]; then
      ACTIVE+=("$v")
    else
      PENDING+=("$v: a test request got HTTP $code")
    fi
  else
    why=$(grep -ho 'invalid configuration: .*' "$RUN/check-$v/envoy.log" | head -1 | cut -c1-200)
    PENDING+=("$v: Envoy refused the configuration${why:+ ($why)}")
  fi
done
for p in "${PENDING[@]}"; do blog "pending: $p"; done
blog "variants: ${ACTIVE[*]}; $ROUNDS rounds, ${SECONDS_SAT}s saturation, ${RATE}/s for ${RATE_SECONDS}s"

# run_variant VARIANT ROUND MODE(c1|c2)
run_variant() {
  local v=$1 round=$2 mode=$3 dir=$RUN/$1-$2 cpus conc threads
  if [ "$mode" = c1 ]; then cpus=$ENVOY_CPU; conc=1; threads=1; else cpus=all; conc=2; threads=2; fi
  if ! start_envoy "$dir" "$RUN/$v.yaml" "$cpus" "$conc"; then
    blog "$v round $round: Envoy did not start"
    echo "{\"variant\":\"$v\",\"round\":\"$round\",\"mode\":\"$mode\",\"failed\":true}" >>"$RESULTS"
    return
  fi
  local pid=$ENVOY_PID admin=$ENVOY_ADMIN port url
  port=$(listener_port "$admin" relay_ingress)
  url=http://127.0.0.1:$port/v1/chat/completions
  local wrk_cmd=(wrk "-t$threads" "-c$CONNS" -s "$BENCH_DIR/wrk/session.lua")
  local loader=pin_load
  [ "$mode" = c1 ] || loader=
  $loader "${wrk_cmd[@]}" "-d${WARMUP}s" "$url" >/dev/null
  local t0 t1 w0 w1 sat
  t0=$(cpu_ticks "$pid"); w0=$(date +%s.%N)
  sat=$($loader "${wrk_cmd[@]}" "-d${SECONDS_SAT}s" "$url" | grep '^{' || echo null)
  t1=$(cpu_ticks "$pid"); w1=$(date +%s.%N)
  local fixed='null' f0=0 f1=0
  if [ "$RATE" = auto ] && [ "$mode" = c1 ]; then
    RATE=1000
    if [ "$v" = A ] && [ "$sat" != null ]; then
      RATE=$(python3 -c 'import json,sys; s=json.loads(sys.argv[1]); print(min(5000, max(200, int(s["requests"] / (s["duration_us"] / 1e6) / 4 / 100) * 100)))' "$sat")
    fi
    blog "fixed rate for every variant and round: $RATE req/s"
  fi
  if [ "$mode" = c1 ] && [ "$RATE_SECONDS" != 0 ]; then
    f0=$(cpu_ticks "$pid")
    load_command "http://127.0.0.1:$port" "$RATE" "$((RATE_SECONDS * 1000))" 16
    fixed=$(pin_load "${LOAD_COMMAND[@]}" 2>>"$dir/load.err" || echo null)
    f1=$(cpu_ticks "$pid")
  fi
  local rss probes green blue
  rss=$(rss_kb "$pid")
  green=$(stat_value "$admin" 'cluster\.relay_green\.upstream_rq_total')
  blue=$(stat_value "$admin" 'cluster\.relay_blue\.upstream_rq_total')
  probes=$(admin_get "$admin" '/stats?filter=probes_' | awk -F': ' '{ s += $2 } END { print s + 0 }')
  echo "{\"variant\":\"$v\",\"round\":\"$round\",\"mode\":\"$mode\",\"sat\":$sat,\"fixed\":$fixed,\
\"cpu_ticks\":$((t1 - t0)),\"fixed_cpu_ticks\":$((f1 - f0)),\"clk_tck\":$CLK_TCK,\
\"wall_s\":$(awk "BEGIN { print $w1 - $w0 }"),\"rss_kb\":$rss,\"probes\":$probes,\"green_rq\":$green,\"blue_rq\":$blue,\"loadavg\":\"$(loadavg)\"}" >>"$RESULTS"
  stop_pid "$pid"
  blog "$v round $round ($mode): $(python3 "$BENCH_DIR/report.py" line "$(tail -1 "$RESULTS")")"
}

LOAD_BEFORE=$(loadavg)
for round in $(seq 1 "$ROUNDS"); do
  for v in "${ACTIVE[@]}"; do run_variant "$v" "$round" c1; done
done
if [ "$CONC2" = 1 ]; then
  for v in "${ACTIVE[@]}"; do run_variant "$v" c2 c2; done
fi
LOAD_AFTER=$(loadavg)

pending_json=$(printf '%s\n' "${PENDING[@]}" | python3 -c 'import json,sys; print(json.dumps([l for l in sys.stdin.read().splitlines() if l]))')
python3 - "$RUN/meta.json" <<PY
import json, sys
meta = {
  "command": "./build.sh bench",
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "nproc": $(nproc),
  "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')",
  "kernel": "$(uname -r)",
  "envoy": "$("$ENVOY_BIN" --version 2>/dev/null | grep -o '[0-9a-f]\{40\}/[^ ]*' | head -1)",
  "load_before": "$LOAD_BEFORE", "load_after": "$LOAD_AFTER",
  "rounds": $ROUNDS, "seconds": $SECONDS_SAT, "warmup": $WARMUP, "connections": $CONNS,
  "rate": "$RATE", "rate_seconds": $RATE_SECONDS,
  "wasm_raw": $WASM_RAW, "wasm_opt": "$WASM_OPT", "noop_raw": $NOOP_RAW, "noop_opt": "$NOOP_OPT",
  "pending": $pending_json,
  "extra": {l.split()[0]: "B config, " + l.split()[1].rsplit("/", 1)[-1] + ("" if l.split()[2].endswith("envoy/templates/static.yaml") else ", " + l.split()[2].rsplit("/", 1)[-1])
            for l in open("$RUN/extra.txt")} if __import__("os").path.exists("$RUN/extra.txt") else {},
  "elapsed_s": $(( $(date +%s) - STARTED_AT )),
}
json.dump(meta, open(sys.argv[1], "w"))
PY
python3 "$BENCH_DIR/report.py" "$RUN/meta.json" "$RESULTS" "$OUT"
if [ "${BENCH_PEERS:-1}" = 1 ]; then
  stop_all
  BENCH_WASM=$WASM PEER_OUT=$OUT "$BENCH_DIR/peers.sh"
fi
blog "done in $(( $(date +%s) - STARTED_AT )) s; raw results in $RUN"
