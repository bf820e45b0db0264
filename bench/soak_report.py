#!/usr/bin/env python3
"""Turns a bench/soak.sh run (.run/soak/) into the soak section of BENCHMARKS.md.

usage: soak_report.py RUN_DIR BENCHMARKS.md   (rewrites the section between the soak markers)
"""
import json
import re
import sys

from markdown_section import write_section

BEGIN, END = "<!-- soak:begin -->", "<!-- soak:end -->"


def main(run, out):
    meta = json.load(open(f"{run}/meta.json"))
    load = json.load(open(f"{run}/load.json"))
    stats = {}
    for line in open(f"{run}/stats.txt"):
        k, _, v = line.partition(": ")
        if v.strip().isdigit():
            stats[k] = int(v)

    def total(pattern):
        return sum(v for k, v in stats.items() if re.search(pattern, k))

    reloads = {k: v for k, v in stats.items() if re.search(r"^wasm\..*vm_reload", k)}
    vm_reloads = sum(v for k, v in reloads.items() if k.endswith((".vm_reload", "vm_reload_success")))
    ecds_ok = total(r"^extension_config_discovery\..*bluegreen-relay\.config_reload$")
    ecds_bad = total(r"^extension_config_discovery\..*bluegreen-relay\.(config_fail|update_rejected)$")
    retries = total(r"^cluster\.relay_(blue|green)(_failover)?\.upstream_rq_retry$")
    down_5xx = total(r"^http\.relay_ingress\.downstream_rq_5xx$")
    limit = total(r"^cluster\..*\.upstream_rq_retry_limit_exceeded$")
    overflow = total(r"^cluster\..*\.upstream_rq_retry_overflow$")
    none_healthy = total(r"^cluster\..*\.upstream_cx_none_healthy$")
    failovers = total(r"^(wasmcustom\.)?bluegreen\.failovers$")
    vms_created = total(r"^wasm\.envoy\.wasm\.runtime\.v8\.created$")
    vms_active = total(r"^wasm\.envoy\.wasm\.runtime\.v8\.active$")

    warm, end = meta["rss_warm_kb"], meta["rss_end_kb"]
    growth = (end - warm) / warm * 100
    rss = [tuple(map(int, l.split())) for l in open(f"{run}/rss.txt").read().splitlines()[1:]]
    cycle_at = 2 * meta["kill_every"]
    after = [k for t, k in rss if t >= cycle_at]
    cycle = (f"{after[0] / 1024:.1f} MiB → {end / 1024:.1f} MiB "
             f"({(end - after[0]) / after[0] * 100:+.2f} %)") if len(after) > 1 else "run too short"
    failed = load["errors"] + load["non_2xx"]
    statuses = ", ".join(f"{k}: {v:,}" for k, v in load.get("statuses", {}).items())
    failures_at = ", ".join(f"{k} s: {v}" for k, v in load.get("failures_at_s", {}).items()) or "none"
    reload_names = ", ".join(f"{k}={v}" for k, v in sorted(reloads.items())) or "no vm_reload stat"

    rows = [
        ("requests sent / answered", f"{load['completed'] + load['errors']:,} / {load['completed']:,}", ""),
        ("failed requests (connection errors + non-2xx)",
         f"{failed} ({load['errors']} + {load['non_2xx']})", "PASS" if failed == 0 else "MISS"),
        (f"Envoy RSS after warm-up ({meta['warmup']} s) → end",
         f"{warm / 1024:.1f} MiB → {end / 1024:.1f} MiB ({growth:+.2f} %)",
         "PASS (< 5 %)" if growth < 5 else "MISS (≥ 5 %)"),
        (f"Envoy RSS from t = {cycle_at} s (after one blue and one green outage) → end", cycle, ""),
        (f"wasm VM reloads ({reload_names})", str(vm_reloads), "PASS" if vm_reloads == 0 else "MISS"),
        ("V8 VMs created in all / active at the end (an ECDS update validates in a throwaway VM)",
         f"{vms_created} / {vms_active}", ""),
        ("weight changes published / ECDS updates applied / rejected",
         f"{meta['published']} / {ecds_ok} / {ecds_bad}", ""),
        (f"relay outages ({meta['down']} s each) / upstream retries / failovers announced",
         f"{meta['outages']} / {retries:,} / {failovers}", ""),
        ("answers by status", statuses, ""),
        ("failed requests by second of the run", failures_at, ""),
        ("Envoy: downstream 5xx / retry limit exceeded / retry overflow / no healthy upstream",
         f"{down_5xx} / {limit} / {overflow} / {none_healthy}", ""),
        ("latency p50 / p99 / max (from due time)",
         f"{load['p50_us'] / 1000:.1f} / {load['p99_us'] / 1000:.1f} / {load['max_us'] / 1000:.1f} ms", ""),
    ]
    weights = " → ".join(meta["weights"].split())
    L = [BEGIN, "", "## Soak: live weight changes and dying relays", ""]
    L.append(f"Command: `SOAK_SECONDS={meta['duration']} ./build.sh soak` (bench/soak.sh) — "
             f"{meta['date']}, took {meta['elapsed_s']} s; load average at the end {meta['loadavg']}.")
    L.append("")
    L.append(f"Envoy `--concurrency 2` from envoy/templates/ecds.yaml (failover clusters with "
             f"per-attempt keys, health checks every 1 s), two mock relays (`--no-record`); "
             f"`stack load` (open loop) at {meta['rate']} req/s for {meta['duration']} s over 16 keep-alive "
             f"connections (POST /v1/chat/completions, random x-session-id); the green weight "
             f"cycles {weights} % every {meta['weight_every']} s (temp file + rename in the "
             f"watched directory); every {meta['kill_every']} s one relay (blue, then green, ...) "
             f"refuses connections for {meta['down']} s (mock-relay admin `refuse`).")
    L.append("")
    L += ["| what | measured | target |", "| --- | --- | --- |"]
    L += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    L.append("")
    step = max(1, len(rss) // 15)
    points = rss[::step] + ([rss[-1]] if (len(rss) - 1) % step else [])
    L.append("RSS timeline (s: MiB): " + ", ".join(f"{t}: {k / 1024:.1f}" for t, k in points))
    L.append("")
    L.append(END)
    section = "\n".join(L)
    write_section(out, BEGIN, END, section)
    print(section)


if __name__ == "__main__":
    main(*sys.argv[1:])
