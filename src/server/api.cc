// The API's front door: routing, authentication (keys, scopes, origins), rate limits, CORS,
// errors and metrics. Handlers live in api_*.cc.

#include <fmt/ranges.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/strings.h"
#include "server/api_impl.h"
#include "server/gzip.h"

namespace tailor::server {
namespace {

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 1;  // after the leading '/'
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    parts.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; `plus_is_space` for query strings. Invalid escapes stay as they are.
std::string Decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else if (plus_is_space && text[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    size_t end = query.find('&');
    std::string_view pair = query.substr(0, end);
    query = end == std::string_view::npos ? std::string_view() : query.substr(end + 1);
    if (pair.empty()) continue;
    size_t equals = pair.find('=');
    std::string name = Decode(pair.substr(0, equals), true);
    std::string value =
        equals == std::string_view::npos ? std::string() : Decode(pair.substr(equals + 1), true);
    out.emplace(std::move(name), std::move(value));
  }
  return out;
}

std::string Base64Decode(std::string_view text) {
  std::string out((text.size() / 4 + 1) * 3, '\0');
  const int size = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                   reinterpret_cast<const unsigned char*>(text.data()),
                                   static_cast<int>(text.size()));
  if (size < 0) return {};
  out.resize(static_cast<size_t>(size));
  // EVP_DecodeBlock counts padding as zero bytes.
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) {
    if (!out.empty()) out.pop_back();
  }
  return out;
}

// The key presented: "Authorization: Bearer K", "Basic base64(K:)" (how Segment's libraries send
// their write key), or the body's "writeKey" (sendBeacon cannot set headers).
std::string PresentedKey(const Request& request) {
  std::string_view auth = request.Header("authorization");
  if (auth.starts_with("Bearer ") || auth.starts_with("bearer ")) {
    return std::string(Trim(auth.substr(7)));
  }
  if (auth.starts_with("Basic ") || auth.starts_with("basic ")) {
    std::string decoded = Base64Decode(Trim(auth.substr(6)));
    return decoded.substr(0, decoded.find(':'));
  }
  if (!request.body.empty() && request.method == "POST" && request.target.starts_with("/v1/") &&
      request.body.find("\"writeKey\"") != std::string::npos) {
    simdjson::dom::parser parser;
    simdjson::dom::element document;
    if (parser.parse(request.body).get(document) == simdjson::SUCCESS) {
      std::string_view key;
      if (document["writeKey"].get_string().get(key) == simdjson::SUCCESS) return std::string(key);
    }
  }
  return {};
}

void AddCorsHeaders(Response& response, std::string_view origin) {
  if (origin.empty()) return;
  response.headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  response.headers.emplace_back("Vary", "Origin");
}

}  // namespace

std::string_view Request::Header(std::string_view name) const {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? std::string_view() : std::string_view(it->second);
}

int HttpStatusOf(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kResourceExhausted:
      return 413;
    case StatusCode::kCancelled:
      return 503;  // past the request's timeout_seconds: the server had no time for it
    case StatusCode::kCorruption:
    case StatusCode::kIoError:
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

Response ErrorResponse(int http_status, std::string_view code, std::string_view message,
                       std::string_view path) {
  JsonWriter json;
  json.BeginObject().Key("error").BeginObject().Key("code").String(code).Key("message").String(
      message);
  if (!path.empty()) json.Key("path").String(path);
  json.EndObject().EndObject();
  return JsonResponse(http_status, json);
}

size_t ParseSize(std::string_view text, size_t fallback, size_t limit) {
  size_t value = 0;
  if (text.empty()) return fallback;
  for (char c : text) {
    if (c < '0' || c > '9' || value > limit) return fallback;
    value = value * 10 + static_cast<size_t>(c - '0');
  }
  return std::min(value, limit);
}

Response ErrorResponse(const Status& status, std::string_view path) {
  return ErrorResponse(HttpStatusOf(status.code()), StatusCodeName(status.code()), status.message(),
                       path);
}

Response JsonResponse(int http_status, const JsonWriter& json) {
  Response response;
  response.status = http_status;
  response.body = json.str();
  response.body.push_back('\n');
  return response;
}

Status ReadTimeout(simdjson::dom::element value, RunControl& control) {
  double seconds = 0;
  if (value.get_double().get(seconds) || !(seconds > 0) || seconds > 86'400) {
    return InvalidArgument("expected seconds, more than 0 and at most 86400");
  }
  control.deadline = std::chrono::steady_clock::now() +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(seconds));
  return Status::Ok();
}

Result<std::vector<std::string>> StringArray(simdjson::dom::element value, std::string_view path) {
  simdjson::dom::array array;
  if (value.get_array().get(array))
    return InvalidArgument("{}: expected an array of strings", path);
  std::vector<std::string> out;
  for (auto element : array) {
    std::string_view text;
    if (element.get_string().get(text)) {
      return InvalidArgument("{}[{}]: expected a string", path, out.size());
    }
    out.emplace_back(text);
  }
  return out;
}

Result<simdjson::dom::object> ParseObjectBody(simdjson::dom::parser& parser,
                                              const std::string& body, size_t max_depth) {
  TAILOR_ASSIGN_OR_RETURN(simdjson::dom::element document, ParseBody(parser, body, max_depth));
  simdjson::dom::object object;
  if (document.get_object().get(object)) return InvalidArgument("expected a JSON object");
  return object;
}

Result<simdjson::dom::element> ParseBody(simdjson::dom::parser& parser, const std::string& body,
                                         size_t max_depth) {
  if (body.empty()) return InvalidArgument("the request needs a JSON body");
  simdjson::dom::element document;
  auto error = parser.parse(body).get(document);
  if (error)
    return InvalidArgument("the body is not valid JSON: {}", simdjson::error_message(error));
  // Depth check: walk containers iteratively.
  std::vector<std::pair<simdjson::dom::element, size_t>> stack{{document, 1}};
  while (!stack.empty()) {
    auto [element, depth] = stack.back();
    stack.pop_back();
    // Bound to locals: iterating a temporary simdjson_result's value would dangle.
    simdjson::dom::object object;
    simdjson::dom::array array;
    const bool is_object = element.get_object().get(object) == simdjson::SUCCESS;
    const bool is_array = !is_object && element.get_array().get(array) == simdjson::SUCCESS;
    if (!is_object && !is_array) continue;  // only containers nest
    if (depth > max_depth)
      return InvalidArgument("the body nests deeper than {} levels", max_depth);
    if (is_object) {
      for (auto field : object) stack.push_back({field.value, depth + 1});
    } else {
      for (auto item : array) stack.push_back({item, depth + 1});
    }
  }
  return document;
}

Api::Impl::Impl(Service& s, access::KeyStore& k, ApiOptions o)
    : service(s), keys(k), options(std::move(o)) {
  AddOpenRoutes();
  AddAppRoutes();
  AddCollectRoutes();
  AddProfileRoutes();
  AddSegmentRoutes();
  AddAnalyticsRoutes();
  AddPropensityRoutes();
  AddSurveyRoutes();
  AddIntentRoutes();
  AddRecommendationRoutes();
  AddChangeRoutes();
}

void Api::Impl::Add(std::string method, std::string path, std::optional<access::Scope> scope,
                    Handler handler) {
  Route route{std::move(method), std::move(path), scope, std::move(handler), {}, nullptr, false};
  route.parts = SplitPath(route.path);
  route.stats = metrics.Register(route.method, route.path);
  routes.push_back(std::move(route));
}

double Api::Impl::RateLimitWait(const access::ApiKey& key) {
  if (key.rate_per_second <= 0) return 0;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(buckets_mutex);
  auto [it, inserted] = buckets.try_emplace(key.id);
  Bucket& bucket = it->second;
  const double burst = std::max(1.0, key.rate_per_second);  // one second's worth
  if (inserted) {
    bucket.tokens = burst;
  } else {
    const double elapsed = std::chrono::duration<double>(now - bucket.refilled).count();
    bucket.tokens = std::min(burst, bucket.tokens + elapsed * key.rate_per_second);
  }
  bucket.refilled = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return 0;
  }
  return (1 - bucket.tokens) / key.rate_per_second;
}

Api::Api(Service& service, access::KeyStore& keys, ApiOptions options)
    : impl_(std::make_unique<Impl>(service, keys, std::move(options))) {}
Api::~Api() = default;

void Api::SetDraining() { impl_->draining = true; }

std::vector<Api::RouteInfo> Api::Routes() const {
  std::vector<RouteInfo> out;
  for (const Route& route : impl_->routes) out.push_back({route.method, route.path});
  return out;
}

namespace {

// Whether `route`'s path matches the request's path `parts`; its {parameters}, decoded, go to
// `params` (when given).
bool PathMatches(const Route& route, const std::vector<std::string>& parts,
                 std::vector<std::string>* params) {
  if (route.parts.size() != parts.size()) return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& pattern = route.parts[i];
    if (!pattern.empty() && pattern.front() == '{') {
      if (parts[i].empty()) return false;
      if (params != nullptr) params->push_back(Decode(parts[i], false));
    } else if (pattern != parts[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool Api::TakesLong(const Request& request) const {
  const std::string_view path =
      std::string_view(request.target).substr(0, request.target.find('?'));
  const std::vector<std::string> parts = SplitPath(path);
  for (const Route& route : impl_->routes) {
    if (route.method == request.method && PathMatches(route, parts, nullptr)) return route.slow;
  }
  return false;
}

Response Api::Handle(const Request& request) {
  const auto start = std::chrono::steady_clock::now();
  Impl& impl = *impl_;
  const size_t query_start = request.target.find('?');
  const std::string_view path = std::string_view(request.target).substr(0, query_start);
  const std::string_view origin = request.Header("origin");
  RouteStats* stats = &impl.metrics.unmatched;
  auto finish = [&](Response response) {
    AddCorsHeaders(response, origin);
    stats->Record(response.status,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return response;
  };
  if (path.empty() || path[0] != '/' || path.find("/../") != std::string_view::npos ||
      path.ends_with("/..")) {
    return finish(ErrorResponse(400, "INVALID_ARGUMENT", "malformed request path"));
  }
  // CORS preflight: allowed here, checked for real on the request that follows.
  if (request.method == "OPTIONS") {
    Response response;
    response.status = 204;
    response.content_type.clear();
    // Echo the headers asked for: SDKs add their own (analytics.js: X-Retry-Count).
    std::string allowed_headers(request.Header("access-control-request-headers"));
    if (allowed_headers.empty() || allowed_headers.size() > 1024) {
      allowed_headers = "Authorization, Content-Type";
    }
    response.headers = {{"Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS"},
                        {"Access-Control-Allow-Headers", std::move(allowed_headers)},
                        {"Access-Control-Max-Age", "600"}};
    return finish(std::move(response));
  }
  const std::vector<std::string> parts = SplitPath(path);
  const Route* matched = nullptr;
  bool path_matched = false;
  Call call{request, {}, {}, nullptr};
  std::vector<std::string_view> allowed;  // methods of the path, for a 405's Allow header
  for (const Route& route : impl.routes) {
    std::vector<std::string> params;
    if (!PathMatches(route, parts, &params)) continue;
    path_matched = true;
    if (route.method != request.method) {
      allowed.push_back(route.method);
      continue;
    }
    matched = &route;
    call.params = std::move(params);
    break;
  }
  if (matched == nullptr) {
    if (path_matched) {
      Response response = ErrorResponse(
          405, "METHOD_NOT_ALLOWED", fmt::format("{} is not allowed on {}", request.method, path));
      allowed.push_back("OPTIONS");
      response.headers.emplace_back("Allow", fmt::format("{}", fmt::join(allowed, ", ")));
      return finish(std::move(response));
    }
    return finish(ErrorResponse(404, "NOT_FOUND", fmt::format("no route {}", path)));
  }
  stats = matched->stats;
  if (query_start != std::string::npos) {
    call.query = ParseQuery(std::string_view(request.target).substr(query_start + 1));
  }
  std::optional<access::ApiKey> key;
  if (matched->scope && impl.options.require_keys) {
    const std::string presented = PresentedKey(request);
    if (presented.empty()) {
      ++impl.metrics.auth_failures;
      Response response = ErrorResponse(401, "UNAUTHENTICATED",
                                        "an API key is required (Authorization: Bearer <key>)");
      response.headers.emplace_back("WWW-Authenticate", "Bearer, Basic realm=\"tailor\"");
      return finish(std::move(response));
    }
    auto found = impl.keys.Authenticate(presented);
    if (!found.ok()) {
      ++impl.metrics.auth_failures;
      return finish(ErrorResponse(401, "UNAUTHENTICATED", found.status().message()));
    }
    key = std::move(found).value();
    if (!key->Allows(*matched->scope)) {
      ++impl.metrics.auth_failures;
      return finish(ErrorResponse(
          403, "PERMISSION_DENIED",
          fmt::format("key {} lacks the '{}' scope", key->id, access::ScopeName(*matched->scope))));
    }
    if (key->is_public && !matched->collect) {
      ++impl.metrics.auth_failures;
      return finish(
          ErrorResponse(403, "PERMISSION_DENIED",
                        fmt::format("key {} is public: it may only send events", key->id)));
    }
    if (key->is_public) {
      const bool allowed =
          std::find(key->origins.begin(), key->origins.end(), origin) != key->origins.end();
      if (!allowed) {
        ++impl.metrics.auth_failures;
        return finish(ErrorResponse(
            403, "PERMISSION_DENIED",
            origin.empty() ? std::string("a public key must come from an allowed origin")
                           : fmt::format("origin {} is not allowed for key {}", origin, key->id)));
      }
    }
    if (const double wait = impl.RateLimitWait(*key); wait > 0) {
      ++impl.metrics.rate_limited;
      Response response = ErrorResponse(429, "RESOURCE_EXHAUSTED",
                                        fmt::format("key {} is over its rate limit", key->id));
      response.headers.emplace_back("Retry-After",
                                    std::to_string(static_cast<int>(std::ceil(wait))));
      return finish(std::move(response));
    }
    call.key = &*key;
  }
  if (request.body.size() > impl.options.max_body_bytes) {
    return finish(ErrorResponse(413, "RESOURCE_EXHAUSTED",
                                fmt::format("the body is {} bytes; the limit is {}",
                                            request.body.size(), impl.options.max_body_bytes)));
  }
  std::optional<Request> inflated;
  if (std::string_view encoding = request.Header("content-encoding"); !encoding.empty()) {
    if (encoding != "gzip" && encoding != "identity") {
      return finish(
          ErrorResponse(415, "INVALID_ARGUMENT",
                        fmt::format("Content-Encoding '{}' is not supported (gzip is)", encoding)));
    }
    if (encoding == "gzip") {
      auto body = Gunzip(request.body, impl.options.max_body_bytes);
      if (!body.ok()) return finish(ErrorResponse(body.status()));
      inflated = request;
      inflated->body = std::move(body).value();
    }
  }
  Call inflated_call{inflated ? *inflated : request, call.params, call.query, call.key};
  try {
    return finish(matched->handler(inflated_call));
  } catch (const std::exception& error) {
    return finish(ErrorResponse(500, "INTERNAL", error.what()));
  }
}

// --- Open routes: health, metrics, tracker, OpenAPI ----------------------------------------------

void Api::Impl::AddOpenRoutes() {
  Add("GET", "/healthz", std::nullopt, [](Call&) {
    Response response;
    response.content_type = "text/plain";
    response.body = "ok\n";
    return response;
  });
  Add("GET", "/readyz", std::nullopt, [this](Call&) {
    Response response;
    response.content_type = "text/plain";
    response.status = draining ? 503 : 200;
    response.body = draining ? "draining\n" : "ready\n";
    return response;
  });
  Add("GET", "/metrics", std::nullopt, [this](Call&) {
    Response response;
    response.content_type = "text/plain; version=0.0.4";
    response.body = MetricsText();
    return response;
  });
  Add("GET", "/tailor.js", std::nullopt, [](Call&) {
    Response response;
    response.content_type = "application/javascript; charset=utf-8";
    response.body = std::string(TrackerScript());
    response.headers.emplace_back("Cache-Control", "public, max-age=300");
    return response;
  });
  Add("GET", "/v1/openapi.json", std::nullopt, [](Call&) {
    Response response;
    response.body = std::string(OpenApiDocument());
    return response;
  });
}

std::string Api::MetricsText() const { return impl_->MetricsText(); }

}  // namespace tailor::server
