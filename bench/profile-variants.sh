#!/usr/bin/env bash
# Builds patched copies of the filter for profiling (BENCHMARKS.md, "Profile"), outside src/:
# src/, Cargo.toml and Cargo.lock are copied to target/bench/prof/<variant>/, one change is
# applied to src/host/stream.rs, and the module is built. Then measure them, e.g.
#   bench/profile-variants.sh
#   P=target/bench/prof/wasm
#   bench/callgrind.sh Bbase=$P/base.wasm Bnoclear=$P/noclear.wasm Bnoresp=$P/noresp.wasm ...
#   BENCH_VARIANTS="A B E" BENCH_RATE_SECONDS=0 BENCH_CONC2=0 BENCH_OUT=/tmp/profile.md \
#     BENCH_RUN_DIR=.run/profile BENCH_EXTRA="Bnoclear=$P/noclear.wasm ..." bench/run.sh
# The patches are exact string replacements on today's stream.rs: when the code has moved on,
# the script stops with the line it could not find (update the patch, or drop the variant).
#   bench/profile-variants.sh [base noclear noxenv noresp nopath min empty]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PROF=$BENCH_TARGET/prof
mkdir -p "$PROF/wasm"
VARIANTS=("$@")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=(base noclear noxenv noresp nopath min empty)

# patch NAME PATCH...: each PATCH is one of the names below.
build_variant() {
  local name=$1; shift
  local dir=$PROF/$name
  rm -rf "$dir"; mkdir -p "$dir"
  cp -r "$ROOT/src" "$ROOT/Cargo.toml" "$ROOT/Cargo.lock" "$dir/"
  python3 - "$dir" "$@" <<'PY'
import re, sys
d, patches = sys.argv[1], sys.argv[2:]
# A standalone crate: no workspace members, no dev-dependencies on the harness.
toml = open(f"{d}/Cargo.toml").read()
toml = re.sub(r'members = \[[^\]]*\]', 'members = ["."]', toml)
toml = re.sub(r'default-members = \[[^\]]*\]\n', '', toml)
toml = re.sub(r"\n\[target\.'cfg\(not\(target_arch = \"wasm32\"\)\)'\.dev-dependencies\][^\[]*", "\n", toml)
toml = re.sub(r"\n\[dev-dependencies\][^\[]*", "\n", toml)
open(f"{d}/Cargo.toml", "w").write(toml)
p = f"{d}/src/host/stream.rs"
s = open(p).read()
RESP = "    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {\n"
REQ = "    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {\n"
EARLY = "        if true {\n            return Action::Continue;\n        }\n"
PATCHES = {
    "noclear": [("        vm::clear_route_cache();\n", "")],
    "noxenv": [("        calls::set_request_header(\"authorization\", target.api_key.authorization())\n"
                "            && calls::set_request_header(\"x-environment\", env.as_str())",
                "        calls::set_request_header(\"authorization\", target.api_key.authorization())")],
    "noresp": [(RESP, RESP + EARLY)],
    "nopath": [("        if headers\n            .get(\":path\")\n            .is_some_and(|path| is_status_path(&runtime.config, path))\n        {\n",
                "        if false {\n")],
    "empty": [(RESP, RESP + EARLY), (REQ, REQ + EARLY)],
}
for name in patches:
    for old, new in PATCHES[name]:
        if s.count(old) != 1:
            sys.exit(f"profile-variants: patch {name}: src/host/stream.rs no longer has:\n{old}")
        s = s.replace(old, new)
open(p, "w").write(s)
PY
  (cd "$dir" && CARGO_TARGET_DIR=$PROF/target-$name cargo build -q --release --target wasm32-wasip1)
  cp "$PROF/target-$name/wasm32-wasip1/release/bluegreen_relay.wasm" "$PROF/wasm/$name.wasm"
  blog "$name: $PROF/wasm/$name.wasm ($(stat -c %s "$PROF/wasm/$name.wasm") bytes)"
}

for v in "${VARIANTS[@]}"; do
  case "$v" in
    base) build_variant base ;;
    noclear|noxenv|noresp|nopath|empty) build_variant "$v" "$v" ;;
    min) build_variant min noclear noxenv noresp ;;
    *) blog "unknown variant $v"; exit 2 ;;
  esac
done
