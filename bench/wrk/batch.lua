-- wrk: POST /v1/batch with 100 track events per request, every messageId new, owners spread
-- over the first PROFILES demo profiles (so segment membership is re-decided on every event).
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "post_batch.lua")
local profiles = tonumber(os.getenv("PROFILES") or "100000")
local events = {"Product Viewed", "Product Added", "Order Completed", "page_view"}

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
  return batch_request(parts)
end
