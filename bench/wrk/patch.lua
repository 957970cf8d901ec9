-- PATCH displayName on the events in BENCH_IDS_FILE (one path per line), round robin: the
-- throughput rows of bench/notifications.py. Prints one BENCH line of JSON when done.
local ids = {}
local token = os.getenv("BENCH_TOKEN") or "x"
for line in io.lines(os.getenv("BENCH_IDS_FILE")) do ids[#ids + 1] = line end

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  threads[#threads + 1] = thread
end

i = 0
function init(args)
  i = tid
end

local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}

function request()
  i = i + 1
  local path = ids[(i % #ids) + 1]
  return wrk.format("PATCH", path, headers, string.format('{"displayName": "v%d"}', i))
end

function done(summary, latency, requests)
  io.write(string.format("BENCH {\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"requests\": %d, \"seconds\": %.3f, \"non2xx\": %d, \"socket_errors\": %d}\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests, summary.duration / 1e6,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
