#!/usr/bin/env bash
# What a user compares the filter with, in one interleaved run (bench/run.sh ends with it; it
# also runs alone): A native Envoy, F Lua, E the no-op wasm filter, B/C/D this filter, and
#   G  LiteLLM proxy (PyPI litellm[proxy], installed here into its own virtualenv under
#      target/bench/): two weighted deployments of one model (90/10) to the same direct-response
#      upstream, one worker pinned to Envoy's core, master key set.
# Then the streaming workload (time to first byte and the gap between SSE events, A B D G, a
# mock relay streaming 20 events) and the RSS of 1, 2 and 4 Envoy workers, B against E.
#
# Per round, each variant in turn: the proxy pinned to CPU 0 (Envoy --concurrency 1, or LiteLLM
# --num_workers 1), the upstream and the load on CPU 1. Saturation: wrk -t1 -c16 for
# PEER_SECONDS (bench/wrk/session.lua; the master key from BENCH_AUTHORIZATION for G). Fixed
# rate: bench/peer_load.py, open loop at PEER_RATE req/s (one G sustains) over 4 connections.
# CPU µs/request: the proxy's utime+stime over the wrk run ÷ requests; RSS after the round.
#
# Knobs: PEER_ROUNDS=2 PEER_SECONDS=8 PEER_RATE=20 PEER_RATE_SECONDS=10
#   PEER_VARIANTS="A F E B C D G" PEER_STREAMS=20 PEER_STREAM_GAP_MS=20 PEER_WORKERS="1 2 4"
#   PEER_LITELLM_VERSION=1.108.0 PEER_PIP_TIMEOUT=900 PEER_OUT=BENCHMARKS.md
# Results: BENCHMARKS.md (section between the peers markers) and .run/peers/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
trap stop_all EXIT
trap 'exit 130' INT TERM

ROUNDS=${PEER_ROUNDS:-2}
SAT_SECONDS=${PEER_SECONDS:-8}
RATE=${PEER_RATE:-20}
RATE_SECONDS=${PEER_RATE_SECONDS:-10}
VARIANTS=${PEER_VARIANTS:-A F E B C D G}
STREAMS=${PEER_STREAMS:-20}
STREAM_GAP_MS=${PEER_STREAM_GAP_MS:-20}
WORKERS=${PEER_WORKERS:-1 2 4}
# 1.108.0: later releases' `proxy` extra pins litellm-proxy / litellm-proxy-extras versions
# that the package index does not have, so pip cannot install them (1.107.0 was withdrawn).
LITELLM_VERSION=${PEER_LITELLM_VERSION:-1.108.0}
WASM=${BENCH_WASM:-$ROOT/target/wasm32-wasip1/release/bluegreen_relay.wasm}
OUT=${PEER_OUT:-$ROOT/BENCHMARKS.md}
RUN=${PEER_RUN_DIR:-$ROOT/.run/peers}
LITELLM_VENV=$BENCH_TARGET/litellm-venv
MASTER_KEY=sk-bench-master-0000
MOCK_BIN=$ROOT/target/release/mock-relay
STARTED_AT=$(date +%s)

for tool in wrk taskset curl python3; do
  command -v "$tool" >/dev/null || { blog "missing $tool (./build.sh bench installs it)"; exit 1; }
done
[ -x "$MOCK_BIN" ] || { blog "no mock relay at $MOCK_BIN: run ./build.sh build"; exit 1; }
if [ "$(nproc)" -ge 2 ]; then PROXY_CPU=0; LOAD_CPU=1; else PROXY_CPU=all; LOAD_CPU=all; fi
pin() { local cpu=$1; shift; if [ "$cpu" = all ]; then "$@"; else taskset -c "$cpu" "$@"; fi; }

rm -rf "$RUN"
mkdir -p "$RUN"
RESULTS=$RUN/results.jsonl
: >"$RESULTS"
note() { python3 -c 'import json,sys; print(json.dumps(dict(a.split("=", 1) for a in sys.argv[1:])))' "$@" >>"$RESULTS"; }

# --- LiteLLM into its own virtualenv, once (a failed install is reported, not fatal) ---
LITELLM_OK=0
if [[ " $VARIANTS " == *" G "* ]]; then
  if "$LITELLM_VENV/bin/pip" show litellm 2>/dev/null | grep -qx "Version: $LITELLM_VERSION" &&
    [ -x "$LITELLM_VENV/bin/litellm" ]; then
    LITELLM_OK=1
    note kind=litellm "version=$LITELLM_VERSION" install=present
  else
    blog "installing litellm[proxy]==$LITELLM_VERSION into $LITELLM_VENV (pip)"
    t0=$(date +%s)
    if python3 -m venv "$LITELLM_VENV" &&
      timeout "${PEER_PIP_TIMEOUT:-900}" "$LITELLM_VENV/bin/pip" install -q --disable-pip-version-check \
        "litellm[proxy]==$LITELLM_VERSION" >"$RUN/pip.log" 2>&1; then
      LITELLM_OK=1
      note kind=litellm "version=$LITELLM_VERSION" install=ok "install_s=$(($(date +%s) - t0))"
    else
      note kind=litellm "version=$LITELLM_VERSION" install=failed "install_s=$(($(date +%s) - t0))" \
        "error=$(grep -v '^\s*$' "$RUN/pip.log" | tail -1 | cut -c1-300)"
      blog "pip install of litellm[proxy] failed: $(tail -1 "$RUN/pip.log")"
    fi
  fi
fi

CARGO_TARGET_DIR=$BENCH_TARGET cargo build -q --release --target wasm32-wasip1 \
  --manifest-path "$BENCH_DIR/noop-filter/Cargo.toml"
NOOP_WASM=$BENCH_TARGET/wasm32-wasip1/release/noop_filter.wasm
render() { python3 "$BENCH_DIR/render.py" "$@"; }

# render_all DIR BLUE_PORT GREEN_PORT: A..F bootstraps in DIR for these upstream ports.
render_all() {
  local dir=$1 common=(BLUE_ADDR=127.0.0.1 "BLUE_PORT=$2" GREEN_ADDR=127.0.0.1 "GREEN_PORT=$3")
  local keys=(BLUE_KEY=sk-bench-blue-0000 GREEN_KEY=sk-bench-green-0000)
  local static=(ADMIN_PORT=0 LISTEN_PORT=0 ACTIVE_CLUSTER=relay_blue) v
  mkdir -p "$dir"
  render "$BENCH_DIR/templates/native.yaml" "$dir/A.yaml" "${common[@]}" "${keys[@]}"
  render "$BENCH_DIR/templates/lua.yaml" "$dir/F.yaml" "${common[@]}" "${keys[@]}"
  for v in B C D; do
    render "$ROOT/envoy/templates/static.yaml" "$dir/$v.yaml" "${common[@]}" "${static[@]}" \
      "WASM_PATH=$WASM" "FILTER_CONFIG@=$BENCH_DIR/configs/$v.json" \
      "$(body_stage "$BENCH_DIR/configs/$v.json")"
  done
  render "$ROOT/envoy/templates/static.yaml" "$dir/E.yaml" "${common[@]}" "${static[@]}" \
    "WASM_PATH=$NOOP_WASM" "FILTER_CONFIG@=$BENCH_DIR/configs/B.json" "BODY_STAGE="
  # G: LiteLLM's router, "simple-shuffle" = random by `weight`.
  cat >"$dir/G.yaml" <<EOF
model_list:
- model_name: gpt-4.1
  litellm_params: {model: openai/gpt-4.1, api_base: "http://127.0.0.1:$2/v1", api_key: sk-bench-blue-0000, weight: 9}
- model_name: gpt-4.1
  litellm_params: {model: openai/gpt-4.1, api_base: "http://127.0.0.1:$3/v1", api_key: sk-bench-green-0000, weight: 1}
router_settings: {routing_strategy: simple-shuffle}
litellm_settings: {telemetry: false}
general_settings: {master_key: $MASTER_KEY}
EOF
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_proxy VARIANT CONFIG_DIR RUN_DIR CONCURRENCY: Envoy (A-F) or LiteLLM (G) on PROXY_CPU
# (all CPUs when CONCURRENCY > 1). Sets PROXY_PID, PROXY_URL (base), PROXY_ADMIN (Envoy only).
start_proxy() {
  local v=$1 cfg=$2/$1.yaml dir=$3 conc=$4 cpus=$PROXY_CPU
  [ "$conc" = 1 ] || cpus=all
  PROXY_ADMIN=
  if [ "$v" = G ]; then
    [ "$LITELLM_OK" = 1 ] || return 1
    mkdir -p "$dir"
    local port i
    port=$(free_port)
    local pinned=()
    [ "$cpus" = all ] || pinned=(taskset -c "$cpus")
    # Started directly (not through a shell function), so that $! is LiteLLM's own pid: its CPU
    # and RSS are read there, and stopping it stops LiteLLM.
    LITELLM_LOG=ERROR "${pinned[@]}" "$LITELLM_VENV/bin/litellm" --config "$cfg" --host 127.0.0.1 \
      --port "$port" --num_workers 1 </dev/null >"$dir/litellm.log" 2>&1 &
    PROXY_PID=$!
    STARTED_PIDS+=("$PROXY_PID")
    PROXY_URL=http://127.0.0.1:$port
    for i in $(seq 1 600); do
      kill -0 "$PROXY_PID" 2>/dev/null || { forget_pid "$PROXY_PID"; return 1; }
      curl -sf --max-time 2 "$PROXY_URL/health/liveliness" >/dev/null 2>&1 && return 0
      sleep 0.2
    done
    stop_pid "$PROXY_PID"
    return 1
  fi
  start_envoy "$dir" "$cfg" "$cpus" "$conc" || return 1
  PROXY_PID=$ENVOY_PID
  PROXY_ADMIN=$ENVOY_ADMIN
  PROXY_URL=http://127.0.0.1:$(listener_port "$ENVOY_ADMIN" relay_ingress)
}

auth_for() { if [ "$1" = G ]; then echo "$MASTER_KEY"; fi; }

# --- 1. the same workload through every peer, interleaved by round ---
cp "$BENCH_DIR/templates/upstream.yaml" "$RUN/upstream.yaml"
start_envoy "$RUN/upstream" "$RUN/upstream.yaml" "$LOAD_CPU" 1 ||
  { blog "the upstream Envoy did not start"; exit 1; }
render_all "$RUN/cfg" "$(listener_port "$ENVOY_ADMIN" upstream_blue)" \
  "$(listener_port "$ENVOY_ADMIN" upstream_green)"
LOAD_BEFORE=$(loadavg)
for round in $(seq 1 "$ROUNDS"); do
  for v in $VARIANTS; do
    dir=$RUN/$v-$round
    if ! start_proxy "$v" "$RUN/cfg" "$dir" 1; then
      note kind=load "variant=$v" "round=$round" failed=true
      blog "$v round $round: did not start"
      continue
    fi
    url=$PROXY_URL/v1/chat/completions auth=$(auth_for "$v")
    wrk_cmd=(wrk -t1 -c16 -s "$BENCH_DIR/wrk/session.lua")
    BENCH_AUTHORIZATION=$auth pin "$LOAD_CPU" "${wrk_cmd[@]}" -d2s "$url" >/dev/null
    t0=$(cpu_ticks "$PROXY_PID")
    sat=$(BENCH_AUTHORIZATION=$auth pin "$LOAD_CPU" "${wrk_cmd[@]}" "-d${SAT_SECONDS}s" "$url" | grep '^{' || echo null)
    t1=$(cpu_ticks "$PROXY_PID")
    fixed=$(pin "$LOAD_CPU" python3 "$BENCH_DIR/peer_load.py" rate "$url" "$RATE" "$RATE_SECONDS" 4 $auth || echo null)
    t2=$(cpu_ticks "$PROXY_PID")
    echo "{\"kind\":\"load\",\"variant\":\"$v\",\"round\":\"$round\",\"sat\":$sat,\"fixed\":$fixed,\
\"cpu_ticks\":$((t1 - t0)),\"fixed_cpu_ticks\":$((t2 - t1)),\"clk_tck\":$CLK_TCK,\
\"rss_kb\":$(rss_kb "$PROXY_PID"),\"loadavg\":\"$(loadavg)\"}" >>"$RESULTS"
    stop_pid "$PROXY_PID"
    blog "$v round $round: $(tail -1 "$RESULTS" | cut -c1-220)"
  done
done
stop_all

# --- 2. streaming: 20 SSE events (19 content chunks + [DONE]) PEER_STREAM_GAP_MS apart ---
start_mock() { # NAME -> MOCK_PORT
  local name=$1 line
  "$MOCK_BIN" --name "$name" --chunks 19 --chunk-delay-ms "$STREAM_GAP_MS" --stream-usage never \
    --no-record </dev/null >"$RUN/mock-$name.out" 2>"$RUN/mock-$name.err" &
  STARTED_PIDS+=("$!")
  for _ in $(seq 1 100); do
    line=$(head -1 "$RUN/mock-$name.out" 2>/dev/null || true)
    [ -n "$line" ] && break
    sleep 0.1
  done
  MOCK_PORT=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["listen"].rsplit(":", 1)[1])' "$line")
}
start_mock blue; BLUE_MOCK=$MOCK_PORT
start_mock green; GREEN_MOCK=$MOCK_PORT
render_all "$RUN/cfg-stream" "$BLUE_MOCK" "$GREEN_MOCK"
for v in A B D G; do
  [[ " $VARIANTS " == *" $v "* ]] || continue
  if ! start_proxy "$v" "$RUN/cfg-stream" "$RUN/stream-$v" 1; then
    note kind=stream "variant=$v" failed=true; continue
  fi
  url=$PROXY_URL/v1/chat/completions
  pin "$LOAD_CPU" python3 "$BENCH_DIR/peer_load.py" stream "$url" 3 $(auth_for "$v") >/dev/null || true
  s=$(pin "$LOAD_CPU" python3 "$BENCH_DIR/peer_load.py" stream "$url" "$STREAMS" $(auth_for "$v") || echo null)
  echo "{\"kind\":\"stream\",\"variant\":\"$v\",\"gap_ms\":$STREAM_GAP_MS,\"stream\":$s}" >>"$RESULTS"
  stop_pid "$PROXY_PID"
  blog "stream $v: $s"
done
stop_all

# --- 3. RSS by Envoy workers: the filter (B) against the no-op filter (E) ---
cp "$BENCH_DIR/templates/upstream.yaml" "$RUN/upstream.yaml"
start_envoy "$RUN/upstream-rss" "$RUN/upstream.yaml" "$LOAD_CPU" 1 || { blog "no upstream"; exit 1; }
render_all "$RUN/cfg-rss" "$(listener_port "$ENVOY_ADMIN" upstream_blue)" \
  "$(listener_port "$ENVOY_ADMIN" upstream_green)"
for n in $WORKERS; do
  for v in E B; do
    start_proxy "$v" "$RUN/cfg-rss" "$RUN/rss-$v-$n" "$n" || { note kind=rss "variant=$v" "workers=$n" failed=true; continue; }
    # Enough connections that every worker serves (and so creates its VM's stream state).
    wrk -t1 "-c$((8 * n))" -d2s -s "$BENCH_DIR/wrk/session.lua" "$PROXY_URL/v1/chat/completions" >/dev/null
    vms=$(admin_get "$PROXY_ADMIN" '/stats?filter=wasm.*active' | awk -F': ' '{ s += $2 } END { print s + 0 }')
    echo "{\"kind\":\"rss\",\"variant\":\"$v\",\"workers\":$n,\"rss_kb\":$(rss_kb "$PROXY_PID"),\"wasm_active\":$vms}" >>"$RESULTS"
    stop_pid "$PROXY_PID"
  done
done
stop_all

python3 - "$RUN/meta.json" <<PY
import json, sys
json.dump({"date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "nproc": $(nproc),
           "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')",
           "load_before": "$LOAD_BEFORE", "load_after": "$(loadavg)", "rounds": $ROUNDS,
           "seconds": $SAT_SECONDS, "rate": $RATE, "rate_seconds": $RATE_SECONDS,
           "streams": $STREAMS, "variants": "$VARIANTS", "gap_ms": $STREAM_GAP_MS, "litellm_version": "$LITELLM_VERSION",
           "elapsed_s": $(( $(date +%s) - STARTED_AT ))}, open(sys.argv[1], "w"))
PY
python3 "$BENCH_DIR/peers_report.py" "$RUN/meta.json" "$RESULTS" "$OUT"
blog "done in $(( $(date +%s) - STARTED_AT )) s; raw results in $RUN"
