#!/usr/bin/env python3
"""Turns bench/run.sh results into the benchmark section of BENCHMARKS.md.

usage: report.py META.json RESULTS.jsonl BENCHMARKS.md   (rewrites the section between the
                                                          bench markers, keeps the rest)
       report.py line RESULT_JSON                        (one-line summary of one run)
"""
import json
import statistics
import sys

from markdown_section import NAMES, lead_order, write_section

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def figures(r):
    """The numbers of one run, or None if it failed."""
    s = r.get("sat")
    if r.get("failed") or not s:
        return None
    secs = s["duration_us"] / 1e6
    f = r.get("fixed") or {}
    out = {
        "rps": s["requests"] / secs,
        "cpu_us": r["cpu_ticks"] / r["clk_tck"] * 1e6 / max(s["requests"], 1),
        "cpu_util": r["cpu_ticks"] / r["clk_tck"] / max(r["wall_s"], 1e-9),
        "errors": s["errors"] + s["non_2xx"] + f.get("errors", 0) + f.get("non_2xx", 0),
        "rss_mib": r["rss_kb"] / 1024,
        "load": r["loadavg"],
        "probes": r.get("probes", 0),
    }
    routed = r.get("green_rq", 0) + r.get("blue_rq", 0)
    out["green_share"] = r.get("green_rq", 0) / routed if routed else None
    if f:
        out["p50"] = f["p50_us"]
        out["p99"] = f["p99_us"]
        out["svc_p99"] = f["service_p99_us"]
        out["fixed_rps"] = f["achieved_rps"]
        done = max(f["completed"], 1)
        out["fixed_cpu_us"] = r["fixed_cpu_ticks"] / r["clk_tck"] * 1e6 / done
    return out


def line(r):
    g = figures(r)
    if g is None:
        return "failed"
    text = (f"{g['rps']:,.0f} rps, {g['cpu_us']:.1f} µs CPU/req, rss {g['rss_mib']:.1f} MiB, "
            f"errors {g['errors']}, load {g['load']}")
    if "p99" in g:
        text += f", p50/p99 @rate {g['p50']}/{g['p99']} µs"
    return text


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec):
    return "—" if v is None else format(v, spec)


def main(meta_path, results_path, out_path):
    meta = json.load(open(meta_path))
    runs = [json.loads(l) for l in open(results_path) if l.strip()]
    c1 = [r for r in runs if r["mode"] == "c1"]
    c2 = [r for r in runs if r["mode"] == "c2"]
    variants = lead_order(list(dict.fromkeys(r["variant"] for r in runs)))
    for name, text in meta.get("extra", {}).items():
        NAMES.setdefault(name, text)
    rounds = sorted({r["round"] for r in c1}, key=int)

    def per_round(v, key):
        out = {}
        for r in c1:
            g = figures(r)
            if r["variant"] == v and g is not None and g.get(key) is not None:
                out[r["round"]] = g[key]
        return out

    def paired(v, key, op):
        """Median over rounds of op(v's figure, A's figure in the same round)."""
        a, b = per_round("A", key), per_round(v, key)
        return med([op(b[k], a[k]) for k in b if k in a])

    ratio = lambda x, a: x / a
    delta = lambda x, a: x - a
    m = {v: {k: med(per_round(v, k).values()) for k in
             ("rps", "cpu_us", "cpu_util", "p50", "p99", "svc_p99", "rss_mib", "fixed_cpu_us")}
         for v in variants}
    errors = {v: sum(figures(r)["errors"] for r in c1 if r["variant"] == v and figures(r))
              for v in variants}

    L = [BEGIN, "", "## Benchmark: what the split costs", ""]
    L.append(f"Command: `{meta['command']}` (bench/run.sh) — {meta['date']}, took "
             f"{meta['elapsed_s']} s.  ")
    L.append(f"Machine: {meta['nproc']} cores, {meta['cpu']}, Linux {meta['kernel']}; Envoy "
             f"{meta['envoy']}. Load average before {meta['load_before']}, after "
             f"{meta['load_after']} (the machine is shared: other builds and tests run at the same "
             "time, which is why every comparison is interleaved in one run and paired by round).")
    # The run itself (wrk, two Envoys) adds ~1.5 to the load average: judge by the load before.
    busy = float(meta["load_before"].split()[0])
    if busy >= 0.5:
        L.append("")
        L.append(f"**Caution:** the load average was {busy:.2f} on 2 cores as this run started: other "
                 "work shared the CPU pinned to Envoy, which inflates every wall-clock figure "
                 "(CPU µs per request included: fewer events per event-loop pass, cold caches) and "
                 "makes single rounds swing by ±30 %. The paired ratios are the usable part; the "
                 "\"Instructions per request\" section below (callgrind) is the load-independent "
                 "comparison of the same variants.")
    L.append("")
    L.append(f"Method: per round, each variant in turn (A F E B C D), a fresh Envoy "
             f"`--concurrency 1` pinned to CPU 0; the upstream (a second Envoy answering "
             f"`direct_response` with a small chat.completion) and the load pinned to CPU 1. "
             f"Saturation: `wrk -t1 -c{meta['connections']} -d{meta['seconds']}s` after "
             f"{meta['warmup']} s of warm-up, POST /v1/chat/completions with a random "
             f"`x-session-id` per request (bench/wrk/session.lua). Latency: `stack load --rate`, open "
             f"loop at {meta['rate']} req/s (a quarter of A's saturation in round 1 unless set) for {meta['rate_seconds']} s over 16 keep-alive "
             "connections, latency measured from the time each request was due (as wrk2 does, no "
             "coordinated omission). Envoy CPU = utime+stime from /proc/<pid>/stat over the wrk "
             "run ÷ requests; RSS = VmRSS after the run. Medians of "
             f"{len(rounds)} rounds; ratios (×A, Δ A) are medians of the per-round ratios with "
             "A of the same round.")
    L.append("")
    L.append("| variant | req/s | ×A | Envoy CPU µs/req | Δ A µs | p50 µs @rate | p99 µs @rate "
             "| p99 ×A | RSS MiB | errors |")
    L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for v in variants:
        x = m[v]
        L.append(
            f"| {v} {NAMES.get(v, '')} | {fmt(x['rps'], ',.0f')} | {fmt(paired(v, 'rps', ratio), '.3f')} "
            f"| {fmt(x['cpu_us'], '.1f')} | {fmt(paired(v, 'cpu_us', delta), '+.1f')} "
            f"| {fmt(x['p50'], '.0f')} | {fmt(x['p99'], '.0f')} | {fmt(paired(v, 'p99', ratio), '.3f')} "
            f"| {fmt(x['rss_mib'], '.1f')} | {errors[v]} |")
    for p in meta["pending"]:
        L.append(f"| pending: {p} | | | | | | | | | |")
    L.append("")

    # Targets
    def check(name, value, ok, shown):
        if value is None:
            return f"| {name} | pending | — |"
        return f"| {name} | {shown} | {'PASS' if ok else 'MISS'} |"

    rB, cB, pB = paired("B", "rps", ratio), paired("B", "cpu_us", delta), paired("B", "p99", ratio)
    rD = paired("D", "rps", ratio)
    opt = meta["wasm_opt"]
    opt_n = int(opt) if str(opt).isdigit() else None
    L += ["| target | measured | |", "| --- | --- | --- |"]
    L.append(check("B ≥ 0.88 × A req/s", rB, rB is not None and rB >= 0.88, f"{fmt(rB, '.3f')} × A"))
    L.append(check("B ≤ A + 5 µs Envoy CPU/request", cB, cB is not None and cB <= 5,
                   f"A {fmt(cB, '+.1f')} µs"))
    L.append(check("B p99 @rate ≤ 1.15 × A", pB, pB is not None and pB <= 1.15, f"{fmt(pB, '.3f')} × A"))
    L.append(check("D ≥ 0.80 × A req/s", rD, rD is not None and rD >= 0.80, f"{fmt(rD, '.3f')} × A"))
    L.append(check(".wasm ≤ 150 KB after wasm-opt -Oz", opt_n, opt_n is not None and opt_n <= 150_000,
                   f"{fmt(opt_n, ',')} bytes"))
    L.append("")

    L.append(f"`.wasm` size: bluegreen_relay.wasm {meta['wasm_raw']:,} bytes raw, {fmt(opt_n, ',')} "
             f"after `wasm-opt -Oz` (bulk-memory, sign-ext, nontrapping-float-to-int, mutable-globals, "
             f"multivalue, reference-types enabled); the no-op filter {meta['noop_raw']:,} raw, "
             f"{meta['noop_opt']} after.")
    L.append("")

    if c2:
        a2 = next((figures(r) for r in c2 if r["variant"] == "A" and figures(r)), None)
        L.append("`--concurrency 2`, Envoy, upstream and `wrk -t2` unpinned (all on the same "
                 "2 cores, one round, saturation only):")
        L.append("")
        L.append("| variant | req/s | ×A | Envoy CPU µs/req | RSS MiB | errors | load |")
        L.append("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
        for r in c2:
            g = figures(r)
            if g is None:
                L.append(f"| {r['variant']} | failed | | | | | |")
                continue
            x = g["rps"] / a2["rps"] if a2 else None
            L.append(f"| {r['variant']} | {g['rps']:,.0f} | {fmt(x, '.3f')} | {g['cpu_us']:.1f} "
                     f"| {g['rss_mib']:.1f} | {g['errors']} | {g['load']} |")
        L.append("")

    L.append("<details><summary>Raw per-round figures (concurrency 1, pinned)</summary>")
    L.append("")
    L.append("| round | variant | req/s | CPU µs/req | CPU busy | p50 µs | p99 µs | service p99 µs "
             "| CPU µs/req @rate | RSS MiB | probes | green share | errors | load |")
    L.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in c1:
        g = figures(r)
        if g is None:
            L.append(f"| {r['round']} | {r['variant']} | failed | | | | | | | | | | | |")
            continue
        L.append(f"| {r['round']} | {r['variant']} | {g['rps']:,.0f} | {g['cpu_us']:.1f} "
                 f"| {g['cpu_util']:.0%} | {fmt(g.get('p50'), '.0f')} | {fmt(g.get('p99'), '.0f')} "
                 f"| {fmt(g.get('svc_p99'), '.0f')} | {fmt(g.get('fixed_cpu_us'), '.1f')} "
                 f"| {g['rss_mib']:.1f} | {g['probes']} | {fmt(g['green_share'], '.1%')} "
                 f"| {g['errors']} | {g['load']} |")
    L.append("")
    L.append("</details>")
    L.append("")
    L.append(END)
    section = "\n".join(L)

    write_section(out_path, BEGIN, END, section)
    print(section.split("<details>")[0])


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "line":
        print(line(json.loads(sys.argv[2])))
    else:
        main(*sys.argv[1:])
