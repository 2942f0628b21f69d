-- Load for `make bench`: WORKLOAD "mixed" (60% GET, 20% create (POST), 20% update (PATCH)),
-- "get", "create" or "update" alone. The driver (bench/__main__.py, bench/scale.py) sets TOKEN, RUN,
-- WORKLOAD and either TICKETS ("RED-1=B-1,RED-2=B-2,...") or TICKET_RANGE=N with KEY_PREFIX (the
-- tickets RED-1..RED-N whose mirrorKeys are KEY_PREFIX..n).

local token = os.getenv("TOKEN")
local run = os.getenv("RUN")
local workload = os.getenv("WORKLOAD") or "mixed"
local tickets = {}
for id, key in string.gmatch(os.getenv("TICKETS") or "", "([^=,]+)=([^,]+)") do
  tickets[#tickets + 1] = {id = id, key = key}
end
local range = tonumber(os.getenv("TICKET_RANGE") or "0")
local key_prefix = os.getenv("KEY_PREFIX") or ""
-- What share of requests are GET, then GET or create; the rest are updates.
local get_below, create_below = 0.6, 0.8
if workload == "get" then get_below, create_below = 1, 1
elseif workload == "create" then get_below, create_below = 0, 1
elseif workload == "update" then get_below, create_below = 0, 0 end

local function pick()
  if range > 0 then
    local n = math.random(range)
    return {id = "RED-" .. n, key = key_prefix .. n}
  end
  return tickets[math.random(#tickets)]
end

local create_template = [[{"baseTroubleTicketState": "OPENACTIVE", "mirrorKey": "%s", "dialog": "bench dialog",
"troubleType": "FTTH_PROVISION_RANGED_NO_NAVEGA", "troubleDescription": "ONT sincronizado, pero no navega.",
"troubleDetectionTime": "2025-01-15T10:30:00Z", "preferredPriority": 1, "troubledObject": "CTO",
"customerTroubleNum": "O99999999999/M9999999999", "wh1Parameter": "red", "clearencePerson": "agent-7"}]]
local update_template = [[{"baseTroubleTicketState": "OPENACTIVE", "ticketId": "%s", "mirrorKey": "%s",
"dialog": "bench update %d"}]]

local thread_counter = 0
local threads = {}

function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("thread_id", thread_counter)
  threads[#threads + 1] = thread
end

sent = 0
statuses = {}  -- global: done() reads each thread's copy with thread:get

function init(args)
  math.randomseed(os.time() + thread_id)
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  sent = sent + 1
  local r = math.random()
  local ticket = pick()
  if r < get_below then
    return wrk.format("GET", "/troubleTicket/" .. ticket.id, nil, nil)
  elseif r < create_below then
    local key = string.format("%s-%d-%d", run, thread_id, sent)
    return wrk.format("POST", "/troubleTicket", nil, string.format(create_template, key))
  else
    return wrk.format("PATCH", "/troubleTicket/" .. ticket.id, nil, string.format(update_template, ticket.id, ticket.key, sent))
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local codes = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, count in pairs(counts) do
      codes[status] = (codes[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(codes) do
    parts[#parts + 1] = string.format("%d:%d", status, count)
  end
  io.write(string.format("RESULT requests=%d seconds=%.3f mean_us=%d p50_us=%d p99_us=%d errors=%d statuses=%s\n",
    summary.requests, summary.duration / 1e6, latency.mean, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(parts, ",")))
end
