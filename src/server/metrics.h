#pragma once

// Prometheus counters and latency histograms for the API, lock-free on the request path.

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace tailor::server {

// Latency buckets in seconds (upper bounds), Prometheus-style cumulative on output.
inline constexpr std::array<double, 12> kLatencyBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5};

struct RouteStats {
  std::string method, path;
  std::array<std::atomic<uint64_t>, 6> by_class{};  // 1xx..5xx by status / 100, [0] unused
  std::array<std::atomic<uint64_t>, kLatencyBuckets.size() + 1> buckets{};  // last: +Inf
  std::atomic<uint64_t> count{0};
  std::atomic<uint64_t> micros_sum{0};

  void Record(int status, double seconds);
};

struct Metrics {
  std::mutex mutex;               // guards `routes` growth only
  std::deque<RouteStats> routes;  // stable addresses
  RouteStats unmatched;           // 404/405 and bad requests
  std::atomic<uint64_t> events_accepted{0}, events_duplicate{0}, events_rejected{0};
  std::atomic<uint64_t> rate_limited{0}, auth_failures{0};

  RouteStats* Register(const std::string& method, const std::string& path);
};

}  // namespace tailor::server
