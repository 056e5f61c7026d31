-- Replays a set of pre-built requests (bench/payloads.py) with wrk, each once in turn.
--
-- Usage: wrk -s bench/replay.lua URL -- FILE THREADS
-- FILE holds one request a line: method, path, "Name: value" headers, body, tab-separated.
-- Thread n sends requests n+1, n+1+THREADS, ... so threads never send the same one; after
-- the last request a thread starts again from its first. At the end one JSON line with the
-- totals and the latency percentiles (milliseconds) is printed for bench/driver.py.

local counter = 0
local threads = {}

function setup(thread)
  thread:set("thread_number", counter)
  counter = counter + 1
  threads[#threads + 1] = thread
end

-- Responses outside 2xx, counted per thread (wrk's own count starts at 400).
non_2xx = 0

function response(status, _, _)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
  end
end

local requests = {}
local position = 0
local step = 1

local function split(line)
  local fields, start = {}, 1
  while true do
    local tab = string.find(line, "\t", start, true)
    if not tab then
      fields[#fields + 1] = string.sub(line, start)
      return fields
    end
    fields[#fields + 1] = string.sub(line, start, tab - 1)
    start = tab + 1
  end
end

function init(args)
  local path = args[1]
  step = tonumber(args[2] or "1")
  position = thread_number or 0
  for line in io.lines(path) do
    local fields = split(line)
    local headers = {}
    for i = 3, #fields - 1 do
      local name, value = string.match(fields[i], "^([^:]+): (.*)$")
      headers[name] = value
    end
    requests[#requests + 1] = wrk.format(fields[1], fields[2], headers, fields[#fields])
  end
end

function request()
  local index = position % #requests + 1
  position = position + step
  return requests[index]
end

function done(summary, latency, _)
  local errors = summary.errors
  local outside = 0
  for _, thread in ipairs(threads) do
    outside = outside + thread:get("non_2xx")
  end
  io.write(string.format(
    '{"requests": %d, "duration_s": %.6f, "non_2xx": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "p50_ms": %.3f, ' ..
    '"p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, outside, errors.connect,
    errors.read, errors.write, errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000))
end
