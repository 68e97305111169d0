-- wrk script of bench/cluster_bench.py: every request is the same POST /api/messages.
-- SEND_BODY and SEND_TOKEN come from the environment; done() prints one line the script parses:
-- SUMMARY <requests> <duration us> <non-2xx/3xx> <socket errors> <p50 us> <p99 us>
wrk.method = "POST"
wrk.path = "/api/messages"
wrk.body = os.getenv("SEND_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SEND_TOKEN")

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("SUMMARY %d %d %d %d %d %d\n", summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
