-- Cancel-then-GET on fresh events: the thread walks the ids in BENCH_IDS_FILE (one path
-- per line, e.g. /v1.0/solutions/virtualEvents/webinars/<id>) in order, sending
-- POST <path>/cancel then GET <path> for each, so every cancel hits an event that was not
-- canceled before. wrk hands requests to whichever connection is free, so a GET may
-- overtake its cancel on another connection: the mix is half cancels of fresh events and
-- half GETs of just-canceled (or being-canceled) ones. If the ids run out the walk starts
-- again (cancels of canceled events, 204 too) and `ids_exhausted` reports 1: the bench
-- then needs more fresh events.
local ids = {}
local token = os.getenv("BENCH_TOKEN") or "x"
for line in io.lines(os.getenv("BENCH_IDS_FILE")) do ids[#ids + 1] = line end

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  threads[#threads + 1] = thread
end

i = 0
local step = 0
function init(args)
  i = tid
end

local cancel_headers = {["Authorization"] = "Bearer " .. token, ["Content-Length"] = "0"}
local get_headers = {["Authorization"] = "Bearer " .. token}

function request()
  local path = ids[(i % #ids) + 1]
  step = step + 1
  if step % 2 == 1 then
    return wrk.format("POST", path .. "/cancel", cancel_headers)
  end
  i = i + #threads
  return wrk.format("GET", path, get_headers)
end

function done(summary, latency, requests)
  local walked = 0
  for _, thread in ipairs(threads) do walked = walked + thread:get("i") end
  local exhausted = 0
  if walked >= #ids then exhausted = 1 end
  io.write(string.format("BENCH {\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"requests\": %d, \"seconds\": %.3f, \"non2xx\": %d, \"socket_errors\": %d, \"ids_exhausted\": %d}\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests, summary.duration / 1e6,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    exhausted))
end
