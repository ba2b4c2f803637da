#pragma once

// `tailor serve`: the HTTP/1.1 JSON API (docs/api.md, /v1/openapi.json), the website tracker
// (/tailor.js), health and Prometheus metrics, over Boost.Beast on all cores.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/api_keys.h"
#include "tailor/service.h"

namespace tailor::server {

// One HTTP request as the API sees it, whatever carried it.
struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // path and query, e.g. "/v1/changes?after=10"
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string remote;  // peer address (logs; locating browser events by IP)
  std::string_view Header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Server-Sent Events: after the headers the transport calls `stream` with a writer until it
  // returns false or the client goes away.
  std::function<bool(const std::function<bool(std::string_view)>& write)> stream;
};

struct ApiOptions {
  size_t max_body_bytes = 500 * 1024;  // a whole request (the tracking API's batch limit)
  size_t max_json_depth = 16;
  size_t max_page_size = 10'000;  // members, changes, events per response
  bool require_keys = true;       // false: no key needed (tests, local demos)
  size_t max_streams = 64;        // concurrent Server-Sent Events clients
  // Behind a reverse proxy: the client is the first address of X-Forwarded-For, not the peer.
  bool trust_forwarded_for = false;
};

// Routes and handlers, independent of the transport (tests and fuzzers call Handle directly).
class Api {
 public:
  Api(Service& service, access::KeyStore& keys, ApiOptions options);
  ~Api();
  Response Handle(const Request& request);
  // Whether the request's route may take long (the next question): a transport runs it off the
  // threads that serve the short reads.
  bool TakesLong(const Request& request) const;

  struct RouteInfo {
    std::string method, path;  // path with {parameters}, as in the OpenAPI document
  };
  std::vector<RouteInfo> Routes() const;
  // Prometheus text of every counter and histogram.
  std::string MetricsText() const;
  // Marks the server as draining: /readyz answers 503.
  void SetDraining();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The OpenAPI 3 document served at /v1/openapi.json, and the tracker served at /tailor.js.
std::string_view OpenApiDocument();
std::string_view TrackerScript();

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free one
  int threads = 0;                        // io threads; 0 = one per core
  int write_threads = 0;  // threads writes run on (they wait for their commit); 0 = default
  std::string port_file;  // written with the bound port once listening
  std::chrono::seconds read_timeout{30};      // a slow client is dropped after this
  std::chrono::seconds evaluate_every{3600};  // full segment evaluation; 0 = never
  // RFM re-scored and materialized (Service::RunRfm, default options, now); 0 = only on demand
  // (POST /v1/analytics/rfm).
  std::chrono::seconds rfm_every{0};
  // The recommender retrained (Service::TrainRecommender) when anything changed since its last
  // run, at most this often; the first run starts with the server. 0 = only on demand
  // (POST /v1/recommendations/train).
  std::chrono::seconds recommender_every{300};
  ApiOptions api;
};

// Serves until SIGINT/SIGTERM: then stops accepting, finishes in-flight requests, flushes the
// store and returns. `on_ready` is called with the bound port.
// The write threads Serve runs when ServerOptions::write_threads is 0: 16, or twice the cores.
int DefaultWriteThreads();

Status Serve(Service& service, access::KeyStore& keys, const ServerOptions& options,
             const std::function<void(uint16_t)>& on_ready = {});

}  // namespace tailor::server
