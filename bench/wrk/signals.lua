-- wrk: GET /v1/profiles/{id}/signals for random ids (folded from the profile's events per request).
local profiles = tonumber(os.getenv("PROFILES") or "100000")
local key = os.getenv("TAILOR_KEY") or ""
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(tid * 104729 + os.time())
  wrk.headers["Authorization"] = "Bearer " .. key
end

function request()
  return wrk.format("GET", string.format("/v1/profiles/c%07d/signals", math.random(1, profiles)))
end
