-- Cancel-then-GET on fresh events: each connection walks its own slice of the ids in
-- BENCH_IDS_FILE (one path prefix per line, e.g. /v1.0/solutions/virtualEvents/webinars/<id>),
-- sending POST <prefix>/cancel then GET <prefix>, so every cancel hits an event that
-- was not canceled before (until the ids run out, after which cancels repeat).
local ids = {}
local token = os.getenv("BENCH_TOKEN") or "x"
for line in io.lines(os.getenv("BENCH_IDS_FILE")) do ids[#ids + 1] = line end

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  threads[#threads + 1] = thread
end

local i = 0
local step = 0
function init(args)
  i = tid
end

function request()
  local path = ids[(i % #ids) + 1]
  step = step + 1
  if step % 2 == 1 then
    return wrk.format("POST", path .. "/cancel", {["Authorization"] = "Bearer " .. token, ["Content-Length"] = "0"})
  end
  i = i + #threads
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end

function done(summary, latency, requests)
  io.write(string.format("BENCH {\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"requests\": %d, \"seconds\": %.3f, \"non2xx\": %d, \"socket_errors\": %d}\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests, summary.duration / 1e6,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
