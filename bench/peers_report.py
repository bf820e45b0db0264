#!/usr/bin/env python3
"""Turns bench/peers.sh results into the peers section of BENCHMARKS.md.

usage: peers_report.py META.json RESULTS.jsonl BENCHMARKS.md
"""
import json
import statistics
import sys

from markdown_section import LEAD, NAMES, write_section

BEGIN, END = "<!-- peers:begin -->", "<!-- peers:end -->"
ORDER = LEAD


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def num(v, digits=0):
    if v is None:
        return "—"
    return f"{v:,.{digits}f}"


def load_rows(results):
    rows = {}
    for r in results:
        if r.get("kind") != "load" or r.get("failed") or not r.get("sat"):
            continue
        s, f = r["sat"], r.get("fixed") or {}
        secs = s["duration_us"] / 1e6
        rows.setdefault(r["variant"], []).append({
            "rps": s["requests"] / secs,
            "cpu_us": r["cpu_ticks"] / r["clk_tck"] * 1e6 / max(s["requests"], 1),
            "p50": f.get("p50_us"), "p99": f.get("p99_us"),
            "rss": r["rss_kb"] / 1024,
            "errors": s["errors"] + s["non_2xx"] + f.get("errors", 0) + f.get("non_2xx", 0),
        })
    return {v: {k: median([x[k] for x in runs]) for k in runs[0]} | {"errors": sum(x["errors"] for x in runs)}
            for v, runs in rows.items()}


def main():
    meta = json.load(open(sys.argv[1]))
    results = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
    rows = load_rows(results)
    names = dict(NAMES, G=f"LiteLLM proxy {meta['litellm_version']}, 2 deployments 90/10, 1 worker")
    out = [BEGIN, "", "## Peers: native Envoy, Lua, a no-op wasm filter, this filter, LiteLLM", ""]
    out.append(
        f"Command: `bench/peers.sh` (the end of `./build.sh bench`) — {meta['date']}, took "
        f"{meta['elapsed_s']} s. Machine: {meta['nproc']} cores, {meta['cpu']}, **shared with other "
        f"builds and tests** (load average before {meta['load_before']}, after {meta['load_after']}): "
        "wall-clock figures are noisy; the callgrind figures below are not.")
    out.append("")
    out.append(
        "Method: per round (medians of "
        f"{meta['rounds']}), each variant in turn; the proxy on CPU 0 (Envoy `--concurrency 1`, "
        "LiteLLM `--num_workers 1`), the direct-response upstream and the load on CPU 1. "
        f"Saturation: `wrk -t1 -c16 -d{meta['seconds']}s` (bench/wrk/session.lua, LiteLLM's master key "
        "as `authorization`). Fixed rate: bench/peer_load.py, open loop at "
        f"{meta['rate']} req/s for {meta['rate_seconds']} s over 4 keep-alive connections, latency from "
        "each request's due time (a rate LiteLLM sustains). CPU µs/request = the proxy's utime+stime "
        "÷ requests; RSS after the round.")
    out.append("")
    install = [r for r in results if r.get("kind") == "litellm"]
    if install:
        i = install[-1]
        if i.get("install") == "failed":
            out.append(f"LiteLLM: `pip install litellm[proxy]=={i['version']}` **failed** after "
                       f"{i.get('install_s')} s: `{i.get('error', '')}`. G is missing below.")
        else:
            took = f" in {i['install_s']} s" if i.get("install_s") else " (already installed)"
            out.append(f"LiteLLM: `litellm[proxy]=={i['version']}` from PyPI into "
                       f"`target/bench/litellm-venv`{took}.")
        out.append("")
    b = rows.get("B")
    out.append(f"| variant | req/s | ×A | B ÷ variant (req/s) | CPU µs/req | p50 µs @{meta['rate']}/s | "
               f"p99 µs @{meta['rate']}/s | RSS MiB | errors |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    a = rows.get("A")
    for v in ORDER:
        r = rows.get(v)
        if not r:
            if v in meta.get("variants", "").split():
                out.append(f"| {v} {names.get(v, v)} | did not run | | | | | | | |")
            continue
        xa = r["rps"] / a["rps"] if a else None
        bx = b["rps"] / r["rps"] if b else None
        out.append(f"| {v} {names.get(v, v)} | {num(r['rps'])} | {num(xa, 3)} | {num(bx, 2)} | "
                   f"{num(r['cpu_us'], 1)} | {num(r['p50'])} | {num(r['p99'])} | "
                   f"{num(r['rss'], 1)} | {r['errors']} |")
    out.append("")
    streams = {r["variant"]: r for r in results if r.get("kind") == "stream"}
    if streams:
        out.append(f"Streaming: `stream: true` answers of 20 SSE events (mock-relay `--chunks 19`, "
                   f"then `[DONE]`) {meta['gap_ms']} ms apart, {meta['streams']} streams one after "
                   "another on one connection (bench/peer_load.py stream). The gap is from one event "
                   "to the next as the client reads them.")
        out.append("")
        out.append("| variant | streams | events/stream | TTFB p50 µs | TTFB p99 µs | gap p50 µs | gap p99 µs |")
        out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for v in ORDER:
            r = streams.get(v)
            if not r:
                continue
            s = r.get("stream")
            if r.get("failed") or not s:
                out.append(f"| {v} {names.get(v, v)} | failed | | | | | |")
                continue
            out.append(f"| {v} {names.get(v, v)} | {s['streams']} | {s['events_per_stream']} | "
                       f"{num(s['ttfb_p50_us'])} | {num(s['ttfb_p99_us'])} | {num(s['gap_p50_us'])} | "
                       f"{num(s['gap_p99_us'])} |")
        out.append("")
    rss = {(r["variant"], r["workers"]): r for r in results if r.get("kind") == "rss" and not r.get("failed")}
    if rss:
        out.append("RSS by Envoy workers (`--concurrency N`, unpinned, after 2 s of `wrk -c 8N` so that "
                   "every worker has served): each worker runs its own copy of the wasm VM.")
        out.append("")
        out.append("| workers | E no-op filter MiB | B this filter MiB | B − E MiB | "
                   "E per added worker MiB | B per added worker MiB |")
        out.append("| ---: | ---: | ---: | ---: | ---: | ---: |")
        counts = sorted({w for _, w in rss})
        e1, b1 = rss.get(("E", counts[0])), rss.get(("B", counts[0]))
        for n in counts:
            e, bb = rss.get(("E", n)), rss.get(("B", n))
            if not e or not bb:
                continue
            d = (bb["rss_kb"] - e["rss_kb"]) / 1024
            added = n - counts[0]
            per_e = (e["rss_kb"] - e1["rss_kb"]) / 1024 / added if added and e1 else None
            per_b = (bb["rss_kb"] - b1["rss_kb"]) / 1024 / added if added and b1 else None
            out.append(f"| {n} | {num(e['rss_kb'] / 1024, 1)} | {num(bb['rss_kb'] / 1024, 1)} | "
                       f"{num(d, 1)} | {num(per_e, 2)} | {num(per_b, 2)} |")
        out.append("")
    out.append(END)
    section = "\n".join(out)
    write_section(sys.argv[3], BEGIN, END, section)
    print(section)


if __name__ == "__main__":
    main()
