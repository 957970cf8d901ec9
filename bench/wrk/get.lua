-- GET one event, again and again. The path comes from the environment (BENCH_PATH).
wrk.method = "GET"
wrk.path = os.getenv("BENCH_PATH")
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "x")

local errors = 0
function response(status, headers, body)
  if status >= 400 then errors = errors + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("BENCH {\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"requests\": %d, \"seconds\": %.3f, \"non2xx\": %d, \"socket_errors\": %d}\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests, summary.duration / 1e6,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
