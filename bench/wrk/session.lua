-- wrk script of the benchmark: POST a small chat completion with a random x-session-id per
-- request (so the sticky split hashes a new key every time) and print one JSON line.
-- 4096 requests with distinct random keys are built once per thread and sent in turn, so that
-- wrk spends no time formatting requests (it shares a core with the upstream).
local body = '{"model":"gpt-4.1","messages":[{"role":"user","content":"hello"}]}'
local requests, n, i = {}, 4096, 0
-- A bearer token for proxies that want one (bench/peers.sh: LiteLLM's master key).
local auth = os.getenv("BENCH_AUTHORIZATION")
if auth == "" then auth = nil end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
  for k = 1, n do
    requests[k] = wrk.format("POST", nil, {
      -- "Host" as wrk spells it, or wrk adds a second one (which uvicorn refuses).
      ["Host"] = "bench",
      ["content-type"] = "application/json",
      ["x-session-id"] = string.format("%08x%08x", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff)),
      ["authorization"] = auth and ("Bearer " .. auth) or nil,
    }, body)
  end
end

function request()
  i = i % n + 1
  return requests[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"errors":%d,"non_2xx":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
