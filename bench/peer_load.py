#!/usr/bin/env python3
"""Load for bench/peers.sh, where `stack load` cannot go: requests that need an
`authorization` header (LiteLLM's master key) and streamed answers timed event by event.

usage:
  peer_load.py rate URL RATE SECONDS CONNECTIONS [AUTH]
      open loop: request k is due at start + k / RATE, spread over CONNECTIONS keep-alive
      connections (one thread each); latency from the due time, as wrk2 and `stack load` do.
  peer_load.py stream URL COUNT [AUTH]
      COUNT streamed chat completions one after another on one connection: time to the first
      body byte and the gaps between SSE events.
Prints one JSON line. Loopback only; stdlib only (runs with the system python3).
"""
import http.client
import json
import random
import sys
import threading
import time
from urllib.parse import urlsplit

BODY = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hello"}]}


def connect(url):
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        sys.exit(f"peer_load.py: loopback only, got {parts.hostname}")
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=30), parts.path


def headers(auth, session):
    h = {"content-type": "application/json", "x-session-id": session}
    if auth:
        h["authorization"] = f"Bearer {auth}"
    return h


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q / 100 * len(values)))]


def rate(url, rps, seconds, connections, auth=None):
    total = int(rps * seconds)
    start = time.monotonic() + 0.2
    lat, errors, non_2xx = [], [0], [0]
    lock = threading.Lock()
    body = json.dumps(BODY)

    def worker(index):
        conn, path = connect(url)
        rng = random.Random(index)
        for k in range(index, total, connections):
            due = start + k / rps
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            try:
                conn.request("POST", path, body, headers(auth, f"{rng.getrandbits(64):016x}"))
                resp = conn.getresponse()
                resp.read()
                done = time.monotonic()
                with lock:
                    lat.append((done - due) * 1e6)
                    if not 200 <= resp.status < 300:
                        non_2xx[0] += 1
            except (OSError, http.client.HTTPException):
                with lock:
                    errors[0] += 1
                conn.close()
                conn, path = connect(url)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    return {"completed": len(lat), "errors": errors[0], "non_2xx": non_2xx[0],
            "achieved_rps": round(len(lat) / elapsed, 1),
            "p50_us": round(percentile(lat, 50) or 0), "p99_us": round(percentile(lat, 99) or 0)}


def stream(url, count, auth=None):
    conn, path = connect(url)
    body = json.dumps(dict(BODY, stream=True))
    ttfb, gaps, events, bad = [], [], [], 0
    for i in range(count):
        t0 = time.monotonic()
        conn.request("POST", path, body, headers(auth, f"stream-{i}"))
        resp = conn.getresponse()
        if resp.status != 200:
            resp.read()
            bad += 1
            continue
        first, last, n, buf = None, None, 0, b""
        while True:
            chunk = resp.read1(65536)
            if not chunk:
                break
            now = time.monotonic()
            if first is None:
                first = now
                ttfb.append((now - t0) * 1e6)
            buf += chunk
            while b"\n\n" in buf:
                _, buf = buf.split(b"\n\n", 1)
                n += 1
                if last is not None:
                    gaps.append((now - last) * 1e6)
                last = now
        events.append(n)
    return {"streams": count - bad, "failed": bad, "events_per_stream": percentile(events, 50),
            "ttfb_p50_us": round(percentile(ttfb, 50) or 0), "ttfb_p99_us": round(percentile(ttfb, 99) or 0),
            "gap_p50_us": round(percentile(gaps, 50) or 0), "gap_p99_us": round(percentile(gaps, 99) or 0)}


def main():
    mode, url, *rest = sys.argv[1:]
    if mode == "rate":
        rps, seconds, connections = float(rest[0]), float(rest[1]), int(rest[2])
        out = rate(url, rps, seconds, connections, rest[3] if len(rest) > 3 else None)
    elif mode == "stream":
        out = stream(url, int(rest[0]), rest[1] if len(rest) > 1 else None)
    else:
        sys.exit(__doc__)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
