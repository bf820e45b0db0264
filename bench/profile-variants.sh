#!/usr/bin/env bash
# Builds patched copies of the filter for profiling (BENCHMARKS.md, "Profile"), outside src/:
# src/, Cargo.toml and Cargo.lock are copied to target/bench/prof/<variant>/, the variant's
# changes are applied to src/host/, and the module is built (one shared target directory, so
# only the filter itself is recompiled). Then measure them, e.g.
#   bench/profile-variants.sh
#   P=target/bench/prof/wasm
#   bench/callgrind.sh B Bwithclear=$P/withclear.wasm Bnolabel=$P/nolabel.wasm ...
#   CG_EXTRA_CONFIG=D bench/callgrind.sh D Dnodone=$P/nodone.wasm    (D's configuration)
# (BENCHMARKS.md, "Profile", has the full command and what each variant measured.)
# Each change removes (or, `withclear`, adds) one host call or one export on the request path,
# so the difference to `base` is what that call costs Envoy (instructions per request, whole
# process).
# The patches are exact string replacements on today's sources: when the code has moved on,
# the script stops with the text it could not find (update the patch, or drop the variant).
#   bench/profile-variants.sh [VARIANT...]   (default: all of them, see VARIANTS below)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PROF=$BENCH_TARGET/prof
mkdir -p "$PROF/wasm"
ALL=(base withclear noxenv nowrites nolabel nostatus noresp respmap pairsonly nobodyexports nolog nodone empty)
VARIANTS=("$@")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=("${ALL[@]}")

build_variant() { # NAME
  local name=$1 dir=$PROF/src-$1
  rm -rf "$dir"; mkdir -p "$dir"
  cp -r "$ROOT/src" "$ROOT/Cargo.toml" "$ROOT/Cargo.lock" "$dir/"
  python3 - "$dir" "$name" <<'PY'
import re, sys
d, name = sys.argv[1], sys.argv[2]
# A standalone crate: no workspace members, no dev-dependencies on the harness.
toml = open(f"{d}/Cargo.toml").read()
toml = re.sub(r'members = \[[^\]]*\]', 'members = ["."]', toml)
toml = re.sub(r'default-members = \[[^\]]*\]\n', '', toml)
toml = re.sub(r"\n\[target\.'cfg\(not\(target_arch = \"wasm32\"\)\)'\.dev-dependencies\][^\[]*", "\n", toml)
toml = re.sub(r"\n\[dev-dependencies\][^\[]*", "\n", toml)
open(f"{d}/Cargo.toml", "w").write(toml)

STREAM, ROUTE, EXPORTS = "src/host/stream.rs", "src/host/route.rs", "src/host/exports.rs"
RESP = "    pub fn on_response_headers(&mut self, end_of_stream: bool) -> Flow {\n"
REQ = "    pub fn on_request_headers(&mut self, end_of_stream: bool) -> Flow {\n"
EARLY = "        if true {\n            return Flow::Continue;\n        }\n"
LABEL = ("        let label = self.vm.host.replace_header(\n"
         "            Map::ResponseHeaders,\n"
         "            \"x-relay-environment\",\n"
         "            chosen.as_str().as_bytes(),\n"
         "        );\n")
def drop_export(fn):
    """Removes `#[no_mangle] pub extern "C" fn <fn>(...) {...}` (up to the next export)."""
    return ("regex", EXPORTS, r"#\[no_mangle\]\npub extern \"C\" fn " + fn + r"\(.*?\n}\n", "")
PATCHES = {
    "base": [],
    # An explicit route-cache clear after the cluster header write (what the filter no longer
    # does: Envoy's header writes clear it).
    "withclear": [(ROUTE, "    set(route.cluster_header, route.cluster)\n        && set(",
                   "    set(route.cluster_header, route.cluster)\n"
                   "        && host.call_foreign_function(\"clear_route_cache\", &[]).is_ok()\n"
                   "        && set(")],
    # The request's x-environment write.
    "noxenv": [(ROUTE, "\n        && set(\"x-environment\", route.env.as_str())", "")],
    # None of the three request-header writes (the router then takes the fallback route).
    "nowrites": [(ROUTE, "    set(route.cluster_header, route.cluster)\n", "    true || set(route.cluster_header, route.cluster)\n")],
    # The request headers read, then nothing (the answer then has nothing to do either).
    "pairsonly": [(STREAM, "        let config = &runtime.config;\n        if headers\n",
                   EARLY + "        let config = &runtime.config;\n        if headers\n")],
    # The answer's x-relay-environment write (the :status read stays).
    "nolabel": [(STREAM, LABEL, "        let label: Result<(), super::api::HostError> = Ok(());\n")],
    # No `:status` read (the answer is then not counted by class; the label stays).
    "nostatus": [(STREAM, """                value: vm
                    .host
                    .header(Map::ResponseHeaders, ":status")
                    .ok()
                    .flatten(),""", "                value: None,")],
    # Everything on the answer: no :status read, no label, no counters.
    "noresp": [(STREAM, RESP, RESP + EARLY)],
    # The answer's headers in one map read instead of `:status` alone.
    "respmap": [(STREAM, "        let headers = if runtime.failover || self.ai.reads_answer_headers() {",
                 "        let headers = if true {")],
    # Envoy calls an export only if the module has it: the body callbacks and the log callback.
    "nobodyexports": [drop_export("proxy_on_request_body"), drop_export("proxy_on_response_body")],
    "nolog": [drop_export("proxy_on_log")],
    # The done callback (a stream has nothing to do there; the root flushes its counters).
    "nodone": [drop_export("proxy_on_done")],
    "empty": [(STREAM, RESP, RESP + EARLY), (STREAM, REQ, REQ + EARLY)],
}
for patch in PATCHES[name]:
    if patch[0] == "regex":
        _, path, pattern, new = patch
        p = f"{d}/{path}"
        s = open(p).read()
        s, n = re.subn(pattern, new, s, count=1, flags=re.S)
        if n != 1:
            sys.exit(f"profile-variants: {name}: {path} no longer matches {pattern}")
    else:
        path, old, new = patch
        p = f"{d}/{path}"
        s = open(p).read()
        if s.count(old) != 1:
            sys.exit(f"profile-variants: {name}: {path} no longer has:\n{old}")
        s = s.replace(old, new)
    open(p, "w").write(s)
PY
  (cd "$dir" && CARGO_TARGET_DIR=$PROF/target cargo build -q --release --target wasm32-wasip1)
  cp "$PROF/target/wasm32-wasip1/release/bluegreen_relay.wasm" "$PROF/wasm/$name.wasm"
  blog "$name: $PROF/wasm/$name.wasm ($(stat -c %s "$PROF/wasm/$name.wasm") bytes)"
}

for v in "${VARIANTS[@]}"; do
  case " ${ALL[*]} " in
    *" $v "*) build_variant "$v" ;;
    *) blog "unknown variant $v (known: ${ALL[*]})"; exit 2 ;;
  esac
done

# Two bootstraps for the same comparison (`NAME=FILE.wasm@TEMPLATE` in bench/callgrind.sh):
# static-nostage.yaml without the body stage, static-routelabel.yaml with the answer's label
# added by the route (Envoy's header formatter) instead of the filter's write.
grep -v '{{BODY_STAGE}}' "$ROOT/envoy/templates/static.yaml" >"$PROF/static-nostage.yaml"
python3 - "$ROOT/envoy/templates/static.yaml" "$PROF/static-routelabel.yaml" <<'PY'
import sys
s = open(sys.argv[1]).read()
old = "                route:\n                  cluster_header: x-relay-cluster"
if s.count(old) != 1:
    sys.exit("profile-variants: static.yaml no longer has the cluster-header route")
label = ("                response_headers_to_add:\n"
         "                - header: { key: x-relay-environment, value: \"%REQ(x-environment)%\" }\n"
         "                  append_action: OVERWRITE_IF_EXISTS_OR_ADD\n")
open(sys.argv[2], "w").write(s.replace(old, label + old))
PY
blog "bootstraps: $PROF/static-nostage.yaml, $PROF/static-routelabel.yaml"
