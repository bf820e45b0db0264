# Helpers shared by bench/run.sh and bench/soak.sh (sourced, not run).
# Every process started here is remembered in STARTED_PIDS and stopped by its own pid on exit:
# other people's Envoys run on this machine too.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
ENVOY_BIN=${ENVOY_BIN:-$ROOT/.venv/bin/envoy}
[ -x "$ENVOY_BIN" ] || ENVOY_BIN=/tmp/envoyvenv/bin/envoy
BENCH_TARGET=$ROOT/target/bench
# The load generator of the latency runs, the soak and callgrind: `stack load --rate` (open loop).
STACK_BIN=${STACK_BIN:-$ROOT/target/release/stack}
# What every benchmark request posts (bench/wrk/session.lua sends the same).
BENCH_BODY='{"model":"gpt-4.1","messages":[{"role":"user","content":"hello"}]}'
CLK_TCK=$(getconf CLK_TCK)
STARTED_PIDS=()

blog() { printf '[%s %s] %s\n' "$(basename "$0")" "$(date +%H:%M:%S)" "$*" >&2; }

stop_all() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  STARTED_PIDS=()
}

forget_pid() {
  local gone=$1 pid kept=()
  for pid in "${STARTED_PIDS[@]}"; do [ "$pid" = "$gone" ] || kept+=("$pid"); done
  STARTED_PIDS=("${kept[@]}")
}

stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget_pid "$1"
}

# admin_get ADMIN PATH: GET from an Envoy admin API (ADMIN = host:port).
admin_get() { curl -sf --max-time 5 "http://$1$2"; }

# start_envoy DIR CONFIG CPUSET CONCURRENCY: starts Envoy (pinned to CPUSET unless it is "all"),
# waits until LIVE. Sets ENVOY_PID and ENVOY_ADMIN (host:port). Returns 1 if Envoy exits or is not
# LIVE within 30 s (its log is in DIR/envoy.log).
start_envoy() {
  local dir=$1 config=$2 cpus=$3 conc=$4
  mkdir -p "$dir"
  rm -f "$dir/admin-address"
  local pin=()
  [ "$cpus" = all ] || pin=(taskset -c "$cpus")
  HOLYSHEEP_API_KEY_BLUE=sk-bench-blue-0000 HOLYSHEEP_API_KEY_GREEN=sk-bench-green-0000 \
    "${pin[@]}" "$ENVOY_BIN" -c "$config" --concurrency "$conc" -l "${ENVOY_LOG_LEVEL:-warning}" \
    --use-dynamic-base-id --admin-address-path "$dir/admin-address" \
    </dev/null >"$dir/envoy.log" 2>&1 &
  ENVOY_PID=$!
  STARTED_PIDS+=("$ENVOY_PID")
  local i
  for i in $(seq 1 300); do
    if ! kill -0 "$ENVOY_PID" 2>/dev/null; then
      wait "$ENVOY_PID" 2>/dev/null || true
      forget_pid "$ENVOY_PID"
      return 1
    fi
    if [ -s "$dir/admin-address" ]; then
      ENVOY_ADMIN=$(cat "$dir/admin-address")
      [ "$(admin_get "$ENVOY_ADMIN" /ready 2>/dev/null)" = LIVE ] && return 0
    fi
    sleep 0.1
  done
  stop_pid "$ENVOY_PID"
  return 1
}

# listener_port ADMIN NAME: the port the kernel gave listener NAME.
listener_port() {
  admin_get "$1" '/listeners?format=json' | python3 -c '
import json, sys
name = sys.argv[1]
for l in json.load(sys.stdin)["listener_statuses"]:
    if l["name"] == name:
        print(l["local_address"]["socket_address"]["port_value"])
' "$2"
}

# cpu_ticks PID: utime + stime, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# rss_kb PID: VmRSS in kB.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# stat_value ADMIN NAME: one counter/gauge from /stats (0 when absent).
stat_value() {
  admin_get "$1" "/stats?filter=^$2\$" | awk -F': ' 'NR == 1 { v = $2 } END { print (v == "" ? 0 : v) }'
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# need_stack: fails unless the release build of tools/stack is there.
need_stack() {
  [ -x "$STACK_BIN" ] || { blog "no load generator at $STACK_BIN: run ./build.sh build"; return 1; }
}

# load_command URL RATE MS CONNECTIONS: sets LOAD_COMMAND to `stack load` in open loop (request k
# due at start + k/RATE, latency from the due time) posting BENCH_BODY for MS milliseconds over
# CONNECTIONS keep-alive connections, each request's x-session-id drawn from 4096 ids (the pool
# size of bench/wrk/session.lua, so both loads hash as many distinct keys). It prints its summary
# as one JSON line (completed, errors, non_2xx, achieved_rps, p50_us ... max_us, service_p99_us,
# statuses, failures_at_s). An array, not a function, so that taskset can run it and `&` gives
# the generator's own pid.
load_command() {
  LOAD_COMMAND=("$STACK_BIN" load --url "$1" --rate "$2" --duration-ms "$3" --concurrency "$4"
    --session-ids 4096 --body "$BENCH_BODY")
}

# body_stage FILTER_CONFIG.json: the render.py argument for static.yaml's {{BODY_STAGE}}, chosen
# as tools/stack does: the body-check filters only when the configuration has a model catalog.
body_stage() {
  if python3 -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1])).get("models") else 1)' "$1"; then
    echo "BODY_STAGE<=$ROOT/envoy/templates/parts/body-stage.yaml"
  else
    echo "BODY_STAGE="
  fi
}
