-- Requests for wrk, prepared by the benchmark (bench/load.py) in a file, one request a line:
--   [@METHOD /path\t]<Header: value>\t<Header: value>\t...\t<body>
-- The body is the last tab-separated field (JSON never holds a raw tab); a first field `@GET /v1/x` gives the
-- line its own method and path (default: POST to path=). In every request, @@@@@@@@@@@@@@@@ (16 characters, in
-- the headers or the body) is replaced by a token unique to the request: nonce + thread + counter.
-- Arguments after wrk's `--`:
--   file=PATH        the request lines
--   path=/x          the request path of lines that name none
--   threads=N        wrk's -t, so each thread takes every N-th line
--   mode=once        each line is sent at most once (signed callbacks, pushes); a thread that runs out
--                    starts over and counts it under "reused", which the benchmark treats as a failed run
--   mode=cycle       lines are sent again and again, in order (the bare endpoint, templates, mixes)
--   nonce=XXXX       4 characters that make the tokens unique across runs
--   rate=R           pace the whole run at R requests/s (a fixed schedule per thread, see paced())
--   status=200       the status a request must get to count as "ok" (2xx: any success)
--   expect=TEXT      a text the response body must contain to count as "ok"
-- done() prints one line `WRKJSON {...}` with the totals the benchmark reads.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local PLACEHOLDER = "@@@@@@@@@@@@@@@@"

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local opts = {}
local requests = {}
local index, stride = 0, 1
local counter = 0
local wrapped = false
ok, bad, reused = 0, 0, 0

local function now_ms()
  local t = ffi.new("bench_timespec")
  ffi.C.clock_gettime(CLOCK_MONOTONIC, t)
  return tonumber(t.tv_sec) * 1000 + tonumber(t.tv_nsec) / 1e6
end

local function split_tabs(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    fields[#fields + 1] = field
  end
  return fields
end

local function build(line)
  local fields = split_tabs(line)
  local headers = {}
  for name, value in pairs(wrk.headers) do
    headers[name] = value
  end
  local method, path, first = "POST", opts.path, 1
  local m, p = fields[1]:match("^@(%u+) (%S+)$")
  if m then
    method, path, first = m, p, 2
  end
  for i = first, #fields - 1 do
    local name, value = fields[i]:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  local body = fields[#fields]
  if method == "GET" then
    body = nil
  else
    headers["Content-Type"] = headers["Content-Type"] or "application/json"
  end
  return { text = wrk.format(method, path, headers, body), unique = line:find(PLACEHOLDER, 1, true) ~= nil }
end

local interval, next_slot

local function paced()
  local now = now_ms()
  if next_slot == nil then
    next_slot = now + tid * interval / stride
  end
  local slot = next_slot
  next_slot = next_slot + interval
  if slot <= now then
    return 0
  end
  return math.floor(slot - now)
end

function init(args)
  for _, arg in ipairs(args) do
    local k, v = arg:match("^([%w_]+)=(.*)$")
    opts[k] = v
  end
  opts.mode = opts.mode or "cycle"
  opts.path = opts.path or "/"
  opts.status = opts.status or "200"
  opts.any_success = opts.status == "2xx"
  opts.status = tonumber(opts.status)
  stride = tonumber(opts.threads or "1")
  local file = assert(io.open(opts.file, "rb"))
  local n = 0
  for line in file:lines() do
    if line ~= "" then
      -- a file shorter than the thread count (a template) gives every thread all its lines
      requests[#requests + 1] = { line = line, n = n }
      n = n + 1
    end
  end
  file:close()
  local mine = {}
  for _, entry in ipairs(requests) do
    if n < stride or entry.n % stride == tid then
      mine[#mine + 1] = build(entry.line)
    end
  end
  requests = mine
  assert(#requests > 0, "no request lines for thread " .. tid)
  if opts.rate then
    -- each thread keeps its share of the rate on a fixed schedule, whatever its connections are doing
    interval = 1000 * stride / tonumber(opts.rate)
    delay = paced
  end
end

function request()
  index = index + 1
  if index > #requests then
    index = 1
    wrapped = true
  end
  if wrapped and opts.mode == "once" then
    reused = reused + 1
  end
  local entry = requests[index]
  if entry.unique then
    counter = counter + 1
    local token = string.format("%s%02d%010d", opts.nonce or "0000", tid, counter)
    return (entry.text:gsub(PLACEHOLDER, token))
  end
  return entry.text
end

function response(status, headers, body)
  local status_ok = status == opts.status or (opts.any_success and status >= 200 and status < 300)
  if status_ok and (opts.expect == nil or (body and body:find(opts.expect, 1, true))) then
    ok = ok + 1
  else
    bad = bad + 1
    if bad <= 3 then
      io.stderr:write("unexpected answer ", status, ": ", (body or ""):sub(1, 300), "\n")
    end
  end
end

function done(summary, latency, requests_stats)
  local total_ok, total_bad, total_reused = 0, 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + (thread:get("ok") or 0)
    total_bad = total_bad + (thread:get("bad") or 0)
    total_reused = total_reused + (thread:get("reused") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"duration_us":%d,"requests":%d,"ok":%d,"bad":%d,"reused":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%.1f,"p90":%.1f,"p99":%.1f,"max":%.1f,"mean":%.1f}}\n',
    summary.duration, summary.requests, total_ok, total_bad, total_reused,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
