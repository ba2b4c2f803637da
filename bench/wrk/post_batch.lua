-- What every POST /v1/batch script shares (batch.lua, batch_sessions.lua): one numbered wrk
-- thread each (`tid`), a request counter, the key from TAILOR_KEY, JSON POSTs, and non-200
-- answers printed. A script loads it with
--   dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "post_batch.lua")
-- and defines request(); it may define on_init() for its own set-up.
local threads = {}
local key = os.getenv("TAILOR_KEY") or ""

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
  if on_init then on_init() end
end

function response(status, headers, body)
  if status ~= 200 then
    print("status " .. status .. ": " .. body)
  end
end

-- The request for a list of message JSON texts.
function batch_request(messages)
  return wrk.format(nil, "/v1/batch", nil, '{"batch":[' .. table.concat(messages, ",") .. ']}')
end
