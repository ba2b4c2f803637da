-- wrk: POST /v1/batch with 100 track events per request, each for a profile never seen before
-- ("d<thread>-<n>", n counting up): a stream over as many distinct profiles as events, for the
-- working set's budget (bench/distinct_stream.sh).
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "post_batch.lua")

function request()
  counter = counter + 1
  local parts = {}
  for i = 1, 100 do
    parts[i] = string.format(
      '{"type":"track","event":"Product Viewed","userId":"d%d-%d","messageId":"m%d-%d-%d",' ..
      '"timestamp":"2026-10-31T12:00:00Z","properties":{"product_id":"i%06d","price":%d}}',
      tid, (counter - 1) * 100 + i, tid, counter, i, math.random(1, 5000), math.random(5, 300))
  end
  return batch_request(parts)
end
