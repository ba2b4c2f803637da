-- wrk: POST /v1/batch of 100 track events per request, shaped like real sessions rather than
-- one event per random profile (batch.lua):
--   * each request carries 10 visits of 10 events each (a visit's events are one person's
--     burst: views, an add to cart, sometimes an order);
--   * 90 % of visits come from known customers picked by a Zipf law (s = 1) over the first
--     PROFILES demo profiles: customer of rank r with probability proportional to 1/r, so a few
--     return often and most rarely (for 100k profiles the top 1 % of customers make ~62 % of
--     visits);
--   * 10 % of visits are new anonymous visitors (an anonymousId never seen before).
-- Every messageId is new; all events carry the same timestamp.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "post_batch.lua")
local profiles = tonumber(os.getenv("PROFILES") or "100000")
local visit_events = {"Product Viewed", "Product Viewed", "Product Viewed", "Product List Viewed",
                      "Product Viewed", "Product Added", "Product Viewed", "Cart Viewed",
                      "Checkout Started", "Order Completed"}

function on_init()
  -- Cumulative Zipf weights, searched by bisection per visit.
  cdf = {}
  local total = 0
  for rank = 1, profiles do
    total = total + 1 / rank
    cdf[rank] = total
  end
  zipf_total = total
end

local function zipf_rank()
  local target = math.random() * zipf_total
  local low, high = 1, profiles
  while low < high do
    local mid = math.floor((low + high) / 2)
    if cdf[mid] < target then low = mid + 1 else high = mid end
  end
  return low
end

function request()
  counter = counter + 1
  local parts = {}
  for visit = 1, 10 do
    local owner
    if math.random() < 0.1 then
      owner = string.format('"anonymousId":"new-%d-%d-%d"', tid, counter, visit)
    else
      owner = string.format('"userId":"c%07d"', zipf_rank())
    end
    local order_ends_visit = math.random() < 0.3
    for step = 1, 10 do
      local event = visit_events[step]
      if step >= 9 and not order_ends_visit then event = "Product Viewed" end
      parts[#parts + 1] = string.format(
        '{"type":"track","event":"%s",%s,"messageId":"s%d-%d-%d-%d",' ..
        '"timestamp":"2026-10-31T12:00:00Z","properties":{"product_id":"i%06d","price":%d,' ..
        '"category":"golf_clubs","quantity":1}}',
        event, owner, tid, counter, visit, step, math.random(1, 5000), math.random(5, 300))
    end
  end
  return batch_request(parts)
end
