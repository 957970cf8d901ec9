-- GET one event, again and again. The path comes from the environment (BENCH_PATH).
-- No response() callback: wrk would then parse every response in Lua, and the load
-- generator (which shares the machine's 2 cores with the server) would slow itself down.
-- Non-2xx answers are still counted by wrk itself (summary.errors.status).
wrk.method = "GET"
wrk.path = os.getenv("BENCH_PATH")
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "x")

function done(summary, latency, requests)
  io.write(string.format("BENCH {\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"requests\": %d, \"seconds\": %.3f, \"non2xx\": %d, \"socket_errors\": %d, \"ids_exhausted\": 0}\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests, summary.duration / 1e6,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
