#pragma once

// Internals of the API shared by its handler files: the route table, the request context
// handed to handlers, JSON helpers and metrics.

#include <simdjson.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/metrics.h"
#include "tailor/json_writer.h"
#include "tailor/server.h"

namespace tailor::server {

// A handler's view of one request after routing and authentication.
struct Call {
  const Request& request;
  std::vector<std::string> params;           // {parameters} of the route, percent-decoded
  std::map<std::string, std::string> query;  // decoded query string
  const access::ApiKey* key = nullptr;       // nullptr when keys are not required
  std::string_view Query(std::string_view name, std::string_view fallback = "") const {
    auto it = query.find(std::string(name));
    return it == query.end() ? fallback : std::string_view(it->second);
  }
};

using Handler = std::function<Response(Call&)>;

struct Route {
  std::string method;
  std::string path;                    // "/v1/profiles/{id}"
  std::optional<access::Scope> scope;  // nullopt: open (health, tracker, OpenAPI)
  Handler handler;
  std::vector<std::string> parts;  // path split on '/'
  RouteStats* stats = nullptr;
  // The only routes a public (website) key may call: event collection, and the tracker's survey
  // routes (a question, shown, answers).
  bool collect = false;
  // May take long (work per answer, a snapshot refresh): the transport runs it off the io
  // threads, where it would hold up every other connection of its thread.
  bool slow = false;
};

// Error responses: {"error": {"code", "message", "path"?}} with the status the code implies.
// A query parameter's number: `fallback` when absent or not a number, at most `limit`.
size_t ParseSize(std::string_view text, size_t fallback, size_t limit);
Response ErrorResponse(const Status& status, std::string_view path = "");
Response ErrorResponse(int http_status, std::string_view code, std::string_view message,
                       std::string_view path = "");
Response JsonResponse(int http_status, const JsonWriter& json);
int HttpStatusOf(StatusCode code);

// Parses a JSON request body with the API's depth limit; errors name the byte offset.
Result<simdjson::dom::element> ParseBody(simdjson::dom::parser& parser, const std::string& body,
                                         size_t max_depth);
// A request body that must be one JSON object (the analytics routes).
Result<simdjson::dom::object> ParseObjectBody(simdjson::dom::parser& parser,
                                              const std::string& body, size_t max_depth);
// The request's `now` query parameter (ISO 8601), else `fallback`; nullopt when it does not parse.
std::optional<Timestamp> NowOf(const Call& call, Timestamp fallback);
// A JSON array of strings at `path` ("$.members"); errors name the element.
Result<std::vector<std::string>> StringArray(simdjson::dom::element value, std::string_view path);
// A body's "timeout_seconds" (more than 0, at most a day) as `control`'s deadline from now;
// kInvalidArgument otherwise.
Status ReadTimeout(simdjson::dom::element value, RunControl& control);
// The per-day routes (overview, a segment's activity): at most this many days (?days=), counts
// from at most the latest this many change-feed entries, days written as "2026-11-01".
inline constexpr size_t kMaxDaysAsked = 366;
inline constexpr size_t kMaxChangesRead = 2'000'000;
std::string DayText(int64_t day);  // days since 1970-01-01

// A membership change as the feed's routes write it (`profile`: its external id, "" if deleted).
void WriteChange(JsonWriter& json, const segments::MembershipChange& change,
                 std::string_view profile);
// A JSON value as a trait value (typed by the schema when the trait is declared).
Result<TypedValue> TraitFromJson(simdjson::dom::element value, const TraitDef* declared,
                                 std::string_view path);

struct Api::Impl {
  Service& service;
  access::KeyStore& keys;
  ApiOptions options;
  std::vector<Route> routes;
  Metrics metrics;
  std::atomic<bool> draining{false};
  std::atomic<size_t> open_streams{0};
  Timestamp started_at = SystemClockMillis();  // the ingestion counters count from here

  // Per-key token buckets for rate limits.
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled;
  };
  std::mutex buckets_mutex;
  std::map<std::string, Bucket> buckets;

  Impl(Service& s, access::KeyStore& k, ApiOptions o);
  void Add(std::string method, std::string path, std::optional<access::Scope> scope,
           Handler handler);
  void AddCollectRoutes();
  CollectSource CollectSourceOf(const Call& call) const;
  void AddProfileRoutes();
  void AddSegmentRoutes();
  void AddAnalyticsRoutes();
  void AddPropensityRoutes();
  void AddSurveyRoutes();
  void AddIntentRoutes();
  void AddRecommendationRoutes();
  void AddChangeRoutes();
  void AddOpenRoutes();
  void AddAppRoutes();
  // Seconds to wait when `key` is over its rate, else 0 (and a token is taken).
  double RateLimitWait(const access::ApiKey& key);
  std::string MetricsText() const;
};

}  // namespace tailor::server
