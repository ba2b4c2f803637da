-- wrk: GET /v1/segments/{segment}/members/{id}: is this profile in the segment right now?
local profiles = tonumber(os.getenv("PROFILES") or "100000")
local key = os.getenv("TAILOR_KEY") or ""
local segment = os.getenv("SEGMENT") or "s01_golf_interest"
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(tid * 15485863 + os.time())
  wrk.headers["Authorization"] = "Bearer " .. key
end

function request()
  return wrk.format("GET", string.format("/v1/segments/%s/members/c%07d", segment,
                                         math.random(1, profiles)))
end
