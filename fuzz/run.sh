#!/usr/bin/env bash
# Builds the fuzz targets with *stable* Rust and runs each under libFuzzer for a bounded time.
#   fuzz/run.sh [--seconds N] [--max-len N] [TARGET...]    (default: 10 s each, every target)
# What it needs: a C++ compiler (libfuzzer-sys builds libFuzzer) and crates.io; no nightly, no
# cargo-fuzz. Coverage instrumentation uses stable codegen flags (-C passes=sancov-module ...),
# so this is libFuzzer proper, minus AddressSanitizer (the core is safe Rust; for ASan use
# `cargo +nightly fuzz run TARGET`, see fuzz/README.md).
# Seeds: fuzz/corpus/<target>/ (read only); new inputs go to fuzz/target/corpus/<target>/,
# crashes to fuzz/artifacts/<target>/. Exits 1 if any target crashed, with the input in hex.
set -euo pipefail
cd "$(dirname "$0")"
FUZZ=$PWD
SECONDS_EACH=10
MAX_LEN=4096
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_EACH=$2; shift 2 ;;
    --max-len) MAX_LEN=$2; shift 2 ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(config routing models sse_usage)

log() { printf '[fuzz] %s\n' "$*" >&2; }

HOST=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_TARGET_DIR=$FUZZ/target
# What cargo-fuzz passes, minus the nightly-only -Z flags. --target keeps these flags off
# build scripts and proc macros (serde_derive), which must not be instrumented.
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks -Cdebuginfo=1"
started=$(date +%s)
log "building ${TARGETS[*]} (stable $(rustc --version | cut -d' ' -f2), target $HOST)"
bins=()
for t in "${TARGETS[@]}"; do bins+=(--bin "$t"); done
cargo build -q --release --target "$HOST" --manifest-path "$FUZZ/Cargo.toml" "${bins[@]}"
log "built in $(( $(date +%s) - started )) s"

crashed=0
summary=()
for t in "${TARGETS[@]}"; do
  work=$FUZZ/target/corpus/$t
  artifacts=$FUZZ/artifacts/$t
  mkdir -p "$work" "$artifacts" "$FUZZ/corpus/$t"
  out=$FUZZ/target/$t.log
  # -rss_limit_mb / -malloc_limit_mb: an input that makes the code allocate without bound fails.
  set +e
  "$FUZZ/target/$HOST/release/$t" "$work" "$FUZZ/corpus/$t" \
    -max_total_time="$SECONDS_EACH" -max_len="$MAX_LEN" -timeout=10 \
    -rss_limit_mb=1024 -malloc_limit_mb=256 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" >"$out" 2>&1
  rc=$?
  set -e
  # `|| true`: a target that crashes on a seed prints no stats, and pipefail must not end the run
  # before the crash is reported.
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -1 || true)
  cov=$(grep -o 'cov: [0-9]*' "$out" | tail -1 | cut -d' ' -f2 || true)
  corpus=$(find "$work" -type f | wc -l)
  if [ "$rc" -ne 0 ]; then
    crashed=$((crashed + 1))
    input=$(grep -o "Test unit written to .*" "$out" | tail -1 | sed 's/Test unit written to //')
    log "$t: CRASH (exit $rc) after ${execs:-?} executions"
    grep -E 'panicked|ERROR: libFuzzer|SUMMARY' "$out" | head -5 >&2 || true
    if [ -n "$input" ] && [ -f "$input" ]; then
      log "$t: input $input ($(stat -c %s "$input") bytes), hex: $(head -c 512 "$input" | od -An -tx1 | tr -d ' \n')"
      log "$t: replay with: $FUZZ/target/$HOST/release/$t $input"
    fi
    summary+=("$t: CRASH after ${execs:-?} executions (log $out)")
  else
    summary+=("$t: ${execs:-?} executions in ${SECONDS_EACH} s, coverage ${cov:-?}, corpus $corpus, no crash")
  fi
done
for line in "${summary[@]}"; do log "$line"; done
log "fuzz: ${#TARGETS[@]} targets, $crashed crashed, $(( $(date +%s) - started )) s in all"
[ "$crashed" -eq 0 ]
