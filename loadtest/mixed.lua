-- wrk script: a mix of public requests, read from the file that LOAD_PATHS names.
--
-- Each line is "<path>" or "<path><TAB>htmx:<target>"; a path listed twice is asked
-- for twice as often. Lines with a target go out as htmx requests for that fragment.
-- Every request picks a line at random. done() prints one JSON line, which
-- loadtest/run.py reads.

local requests = {}

local function load(path)
  local file = assert(io.open(path, "r"), "LOAD_PATHS: cannot open " .. tostring(path))
  for line in file:lines() do
    local url, target = line:match("^([^\t]+)\thtmx:(%S+)$")
    if url then
      requests[#requests + 1] = wrk.format("GET", url, {
        ["HX-Request"] = "true",
        ["HX-Target"] = target,
      })
    elseif line ~= "" then
      requests[#requests + 1] = wrk.format("GET", line)
    end
  end
  file:close()
  assert(#requests > 0, "LOAD_PATHS: no requests in " .. path)
end

load(os.getenv("LOAD_PATHS"))

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("seed", thread_count)
end

function init(args)
  math.randomseed(os.time() * 1000 + (seed or 0))
end

function request()
  return requests[math.random(#requests)]
end

function done(summary, latency, _)
  local errors = summary.errors
  io.write(string.format(
    'LOADTEST_JSON {"duration_us": %d, "requests": %d, "bytes": %d, '
      .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.duration, summary.requests, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean
  ))
end
