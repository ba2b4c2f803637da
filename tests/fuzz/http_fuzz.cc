// libFuzzer target for the HTTP API's request handling (server::Api::Handle, no socket), over one
// Service opened at start in a temp directory, with keys, profiles, events and segments in it.
//
// Input encoding (text, so that seeds can be written by hand):
//   byte 0  method:   digit % 6 -> GET POST PUT DELETE OPTIONS PATCH
//   byte 1  key:      digit % 8 -> none, Bearer admin, Bearer reader, Basic admin, Bearer <token>,
//                                  Basic <token>, Bearer admin+<token>, Bearer site (public key)
//   byte 2  encoding: digit % 4 -> none, gzip (body compressed), gzip (body as is), "br"
//   byte 3  origin:   digit % 3 -> none, https://shop.example (the site key's),
//   https://evil.example then    target (up to '\n'), token (up to the next '\n'), body (the rest)
// e.g. "1100/v1/track\n\n{\"userId\":\"u1\",\"event\":\"Order Completed\"}".
//
// Invariants (aborts otherwise): the status is in 100..599; a JSON content type comes with a body
// that parses as JSON; a protected route called without a valid key answers 401; the admin key
// is never refused (401/403), the read key never 401.
//
// Each execution stays cheap: full evaluations (POST /v1/segments, PUT /v1/segments/{name},
// /v1/segments/preview, /v1/segments/evaluate) run only for inputs under 64 bytes; wait_ms is
// removed from queries (a long poll would block); the seeded segments and profiles are not
// deleted, so that segment and profile routes keep something to do.
//
// HTTP_FUZZ_TRACE=1 prints every request with its response.
//
// Build and run: tests/fuzz/run.sh (docs/api.md#fuzzing). Inputs that failed are kept in
// tests/fuzz/regressions/http/ and replayed on every run. The service's state carries over from
// one input to the next, so a failure may need the inputs before it: run.sh keeps the seeds.

#include <openssl/evp.h>
#include <simdjson.h>
#include <stdlib.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/api_keys.h"
#include "tailor/server.h"
#include "tailor/service.h"

namespace {

using tailor::EventInput;
using tailor::ProfileInput;
using tailor::Service;
using tailor::ServiceOptions;
using tailor::Timestamp;
using tailor::TraitType;
using tailor::server::Api;
using tailor::server::ApiOptions;
using tailor::server::Request;
using tailor::server::Response;

constexpr Timestamp kNow = 1'800'000'000'000;  // 2027-01-15T08:00:00Z
constexpr Timestamp kDay = 86'400'000;
constexpr size_t kProfiles = 24;
const char* const kSegments[][2] = {
    {"adults_30", "age > 30"},
    {"buyers_30d", "count(purchase, last 30 days) >= 1"},
    {"pro_plan", "plan = \"pro\" and count(page_view, last 30 days) >= 1"},
};

struct World {
  std::string dir;
  std::unique_ptr<Service> service;
  std::unique_ptr<tailor::access::KeyStore> keys;
  std::unique_ptr<Api> api;
  std::string admin, reader, site;
  std::vector<Api::RouteInfo> routes;
};
World* world = nullptr;
std::string input_text;  // the input being run, for Fail

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "http_fuzz: %s\n%s\ninput: %s\n", what, detail.c_str(), input_text.c_str());
  std::abort();
}

template <typename T>
T Must(tailor::Result<T> result, const char* what) {
  if (!result.ok()) Fail(what, result.status().ToString());
  return std::move(result).value();
}
void Must(const tailor::Status& status, const char* what) {
  if (!status.ok()) Fail(what, status.ToString());
}

void CloseWorld() {
  if (world == nullptr) return;
  std::string dir = world->dir;
  delete world;
  world = nullptr;
  std::error_code error;
  std::filesystem::remove_all(dir, error);
}

std::string MakeKey(const char* name, std::vector<tailor::access::Scope> scopes, bool is_public) {
  tailor::access::ApiKey key;
  key.name = name;
  key.scopes = std::move(scopes);
  key.is_public = is_public;
  if (is_public) key.origins = {"https://shop.example"};
  return Must(world->keys->Create(key), "creating a key");
}

void OpenWorld() {
  world = new World();
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/tailor-http-fuzz-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) Fail("mkdtemp", pattern);
  world->dir = pattern;

  ServiceOptions options;
  options.clock = [] { return kNow; };
  // No fsync per write: the store is thrown away at exit.
  options.engine.store.sync = tailor::store::SyncPolicy::kPeriodic;
  options.engine.store.block_cache_bytes = 8 << 20;
  world->service = Must(Service::Open(world->dir, options), "opening the service");
  Service& service = *world->service;
  world->keys = std::make_unique<tailor::access::KeyStore>(service.engine().store());
  Must(world->keys->Load(), "loading keys");
  world->admin = MakeKey("admin", {tailor::access::Scope::kAdmin}, false);
  world->reader = MakeKey("reader", {tailor::access::Scope::kRead}, false);
  world->site = MakeKey("site", {tailor::access::Scope::kWrite}, true);

  std::vector<ProfileInput> profiles;
  std::vector<EventInput> events;
  for (size_t i = 0; i < kProfiles; ++i) {
    const std::string id = "u" + std::to_string(i);
    profiles.push_back(
        {id,
         {{"age", {TraitType::kInt, static_cast<int64_t>(18 + 3 * i)}},
          {"plan", {TraitType::kString, std::string(i % 3 == 0 ? "pro" : "free")}},
          {"signup_date", {TraitType::kTimestamp, kNow - static_cast<Timestamp>(i) * 9 * kDay}},
          {"ltv", {TraitType::kDouble, 12.5 * static_cast<double>(i)}}}});
    for (size_t e = 0; e < i % 5; ++e) {
      EventInput event;
      event.id = id + "-e" + std::to_string(e);
      event.profile_id = id;
      event.type = e % 2 == 0 ? "purchase" : "page_view";
      event.time = kNow - static_cast<Timestamp>(i + 7 * e) * kDay;
      event.price = tailor::Decimal::FromInteger(10 + e);
      event.quantity = 1;
      events.push_back(event);
    }
  }
  tailor::BatchReport report;
  Must(service.UpsertProfiles(profiles, report), "upserting profiles");
  Must(service.IngestEvents(events, report), "ingesting events");
  for (const auto& [name, rule] : kSegments) {
    tailor::segments::SegmentDefinition definition;
    definition.name = name;
    definition.rule = rule;
    Must(service.PutSegment(definition), "defining a segment");
  }
  ApiOptions api_options;
  api_options.require_keys = true;
  api_options.max_page_size = 100;
  world->api = std::make_unique<Api>(service, *world->keys, api_options);
  world->routes = world->api->Routes();
  // Registered after the store is open: runs before the destructors of RocksDB's own statics.
  std::atexit(CloseWorld);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding as the API does it (plus as space in queries).
std::string Decode(std::string_view text, bool plus_is_space) {
  std::string out;
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

std::vector<std::string> Split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// The target without any wait_ms query parameter, however spelled: /v1/changes would block.
std::string WithoutWait(const std::string& target) {
  const size_t query = target.find('?');
  if (query == std::string::npos) return target;
  std::string out = target.substr(0, query + 1);
  bool first = true;
  for (const std::string& pair : Split(std::string_view(target).substr(query + 1), '&')) {
    if (Decode(std::string_view(pair).substr(0, pair.find('=')), true) == "wait_ms") continue;
    if (!first) out.push_back('&');
    out += pair;
    first = false;
  }
  return out;
}

// The route `method path` is routed to, if any (the same matching as Api::Handle).
const Api::RouteInfo* RouteOf(const std::string& method, std::string_view path) {
  if (path.empty() || path[0] != '/') return nullptr;
  const std::vector<std::string> parts = Split(path.substr(1), '/');
  for (const Api::RouteInfo& route : world->routes) {
    const std::vector<std::string> pattern = Split(std::string_view(route.path).substr(1), '/');
    if (pattern.size() != parts.size() || route.method != method) continue;
    bool same = true;
    for (size_t i = 0; i < parts.size() && same; ++i) {
      same = pattern[i].starts_with('{') ? !parts[i].empty() : pattern[i] == parts[i];
    }
    if (same) return &route;
  }
  return nullptr;
}

bool IsOpen(const Api::RouteInfo& route) {
  return route.path == "/healthz" || route.path == "/readyz" || route.path == "/metrics" ||
         route.path == "/tailor.js" || route.path == "/v1/openapi.json";
}

// Requests skipped: full evaluations for all but the smallest inputs, and deleting what was
// seeded.
bool Skip(const Api::RouteInfo& route, std::string_view path, size_t input_size) {
  const bool evaluates = (route.method == "POST" &&
                          (route.path == "/v1/segments" || route.path == "/v1/segments/preview" ||
                           route.path == "/v1/segments/evaluate")) ||
                         (route.method == "PUT" && route.path == "/v1/segments/{name}");
  if (evaluates && input_size >= 64) return true;
  if (route.method == "DELETE" &&
      (route.path == "/v1/segments/{name}" || route.path == "/v1/profiles/{id}")) {
    const std::string name = Decode(path.substr(path.rfind('/') + 1), false);
    for (const auto& [segment, rule] : kSegments) {
      if (name == segment) return true;
    }
    for (size_t i = 0; i < kProfiles; ++i) {
      if (name == "u" + std::to_string(i)) return true;
    }
  }
  return false;
}

std::string Base64(std::string_view text) {
  std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
  const int size = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                   reinterpret_cast<const unsigned char*>(text.data()),
                                   static_cast<int>(text.size()));
  out.resize(static_cast<size_t>(size));
  return out;
}

std::string Gzip(std::string_view text) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    Fail("deflateInit2", "");
  }
  std::string out(deflateBound(&stream, text.size()) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) Fail("deflate", "");
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (world == nullptr) OpenWorld();
  if (size < 4) return 0;
  input_text.assign(reinterpret_cast<const char*>(data), size);
  static const char* const kMethods[] = {"GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
  const int key_mode = data[1] % 8;
  const int encoding = data[2] % 4;
  const int origin = data[3] % 3;
  Request request;
  request.method = kMethods[data[0] % 6];
  const std::string_view rest = std::string_view(input_text).substr(4);
  const size_t target_end = std::min(rest.find('\n'), rest.size());
  request.target = WithoutWait(std::string(rest.substr(0, target_end)));
  std::string_view token, body;
  if (target_end < rest.size()) {
    const std::string_view after = rest.substr(target_end + 1);
    const size_t token_end = std::min(after.find('\n'), after.size());
    token = after.substr(0, token_end);
    if (token_end < after.size()) body = after.substr(token_end + 1);
  }
  request.body = std::string(body);
  request.remote = "127.0.0.1";

  switch (key_mode) {
    case 1:
      request.headers["authorization"] = "Bearer " + world->admin;
      break;
    case 2:
      request.headers["authorization"] = "Bearer " + world->reader;
      break;
    case 3:
      request.headers["authorization"] = "Basic " + Base64(world->admin + ":");
      break;
    case 4:
      request.headers["authorization"] = "Bearer " + std::string(token);
      break;
    case 5:
      request.headers["authorization"] = "Basic " + std::string(token);
      break;
    case 6:
      request.headers["authorization"] = "Bearer " + world->admin + std::string(token);
      break;
    case 7:
      request.headers["authorization"] = "Bearer " + world->site;
      break;
    default:
      break;
  }
  switch (encoding) {
    case 1:
      request.headers["content-encoding"] = "gzip";
      request.body = Gzip(request.body);
      break;
    case 2:
      request.headers["content-encoding"] = "gzip";
      break;
    case 3:
      request.headers["content-encoding"] = "br";
      break;
    default:
      break;
  }
  if (origin == 1) request.headers["origin"] = "https://shop.example";
  if (origin == 2) request.headers["origin"] = "https://evil.example";
  if (!request.body.empty()) request.headers["content-type"] = "application/json";

  const std::string_view path =
      std::string_view(request.target).substr(0, request.target.find('?'));
  const bool malformed = path.find("/../") != std::string_view::npos || path.ends_with("/..");
  const Api::RouteInfo* route = malformed ? nullptr : RouteOf(request.method, path);
  if (route != nullptr && Skip(*route, path, size)) return 0;

  const Response response = world->api->Handle(request);

  const std::string what = request.method + " " + request.target + " -> " +
                           std::to_string(response.status) + " " + response.content_type + "\n" +
                           response.body.substr(0, 2000);
  if (std::getenv("HTTP_FUZZ_TRACE") != nullptr) std::fprintf(stderr, "%s\n", what.c_str());
  if (response.status < 100 || response.status > 599) Fail("status out of range", what);
  if (response.content_type.starts_with("application/json")) {
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element element;
    simdjson::error_code error = parser.parse(response.body).get(element);
    if (error != simdjson::SUCCESS) Fail("a JSON response whose body is not JSON", what);
  }
  if (route != nullptr && !IsOpen(*route)) {
    // Without a valid key: none, or made-up text (a body's "writeKey" cannot know a key either).
    const bool no_valid_key = key_mode == 0 || key_mode == 4 || key_mode == 5;
    if (no_valid_key && response.status != 401)
      Fail("protected route answered without a key", what);
    if ((key_mode == 1 || key_mode == 3) && (response.status == 401 || response.status == 403)) {
      Fail("admin key refused", what);
    }
    if (key_mode == 2 && response.status == 401) Fail("read key not recognised", what);
  }
  return 0;
}
