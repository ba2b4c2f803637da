-- wrk: POST /v1/batch with 100 track events per request, every messageId new, owners spread
-- over the first PROFILES demo profiles (so segment membership is re-decided on every event).
local threads = {}
local profiles = tonumber(os.getenv("PROFILES") or "100000")
local key = os.getenv("TAILOR_KEY") or ""
local events = {"Product Viewed", "Product Added", "Order Completed", "page_view"}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  math.randomseed(tid * 7919 + os.time())
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. key
end

function request()
  counter = counter + 1
  local parts = {}
  for i = 1, 100 do
    local user = math.random(1, profiles)
    parts[i] = string.format(
      '{"type":"track","event":"%s","userId":"c%07d","messageId":"w%d-%d-%d",' ..
      '"timestamp":"2026-10-31T12:00:00Z","properties":{"product_id":"i%06d","price":%d,' ..
      '"category":"golf_clubs","quantity":1}}',
      events[(i % #events) + 1], user, tid, counter, i, math.random(1, 5000), math.random(5, 300))
  end
  return wrk.format(nil, "/v1/batch", nil, '{"batch":[' .. table.concat(parts, ",") .. ']}')
end

function response(status, headers, body)
  if status ~= 200 then
    print("status " .. status .. ": " .. body)
  end
end
