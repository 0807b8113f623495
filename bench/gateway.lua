-- wrk script of bench_ingest_http.py: each request is one sample of one enrolled host, posted
-- with that host's own bearer token, as the original REFLECTOR agent posts.
--
--   wrk -t T -c C -d D -s bench/gateway.lua http://127.0.0.1:PORT -- HOSTS_FILE BASE_EPOCH T
--
-- HOSTS_FILE has one line per host: token, then the sample's JSON cut around its timestamp and
-- its seq (tab-separated: token, before timestamp, between, after seq). Thread k of T takes the
-- hosts k, k+T, k+2T...: a host's seq (hence its Nats-Msg-Id and its timestamp, base + seq ms)
-- is counted by one thread alone, so every request is a new sample.

local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

local hosts = {}
local next_host = 0
statuses = {} -- global: done() reads each thread's with thread:get
local base_epoch = 0

function init(args)
  local path = args[1]
  base_epoch = tonumber(args[2])
  local count = tonumber(args[3])
  local line_number = 0
  for line in io.lines(path) do
    if line_number % count == index then
      local token, before, between, after = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
      table.insert(hosts, {
        token = "Bearer " .. token, before = before, between = between, after = after, seq = 0,
      })
    end
    line_number = line_number + 1
  end
end

local function timestamp(seq)
  local millis = base_epoch * 1000 + seq
  local seconds = math.floor(millis / 1000)
  return os.date("!%Y-%m-%dT%H:%M:%S", seconds) .. string.format(".%03dZ", millis % 1000)
end

function request()
  next_host = next_host % #hosts + 1
  local host = hosts[next_host]
  host.seq = host.seq + 1
  local body = '{"samples":[' .. host.before .. timestamp(host.seq) .. host.between
    .. host.seq .. host.after .. "]}"
  return wrk.format("POST", "/api/metrics/batch", {
    ["Authorization"] = host.token,
    ["Content-Type"] = "application/json",
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  for status, n in pairs(total) do
    io.write(string.format("status %d %d\n", status, n))
  end
  io.write(string.format("latency_p50_us %d\nlatency_p99_us %d\n",
    latency:percentile(50), latency:percentile(99)))
end
