-- wrk script of bench/wrk_bench.py: every request is the same one, described by the environment:
-- BENCH_METHOD, BENCH_PATH, BENCH_BODY (may be empty), BENCH_TOKEN (may be empty).
-- done() prints one line the driver parses:
-- SUMMARY <requests> <duration us> <non-2xx/3xx> <socket errors> <p50 us> <p99 us>
wrk.method = os.getenv("BENCH_METHOD")
wrk.path = os.getenv("BENCH_PATH")
local body = os.getenv("BENCH_BODY") or ""
if body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local token = os.getenv("BENCH_TOKEN") or ""
if token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("SUMMARY %d %d %d %d %d %d\n", summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
