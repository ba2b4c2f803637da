-- wrk: GET /v1/profiles/{id} (traits, behaviour, segments, 20 latest events) for random ids;
-- with PATH_SUFFIX=/intent (or /signals, /segments ...) that read of each profile instead.
local profiles = tonumber(os.getenv("PROFILES") or "100000")
local key = os.getenv("TAILOR_KEY") or ""
local suffix = os.getenv("PATH_SUFFIX") or ""
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
  return wrk.format("GET", string.format("/v1/profiles/c%07d%s", math.random(1, profiles), suffix))
end
