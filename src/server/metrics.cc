#include "server/metrics.h"

#include <fmt/format.h>

#include "server/api_impl.h"
#include "tailor/working_set.h"

namespace tailor::server {

void RouteStats::Record(int status, double seconds) {
  const int status_class = status / 100;
  if (status_class >= 1 && status_class <= 5) {
    by_class[status_class].fetch_add(1, std::memory_order_relaxed);
  }
  size_t bucket = 0;
  while (bucket < kLatencyBuckets.size() && seconds > kLatencyBuckets[bucket]) ++bucket;
  buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  count.fetch_add(1, std::memory_order_relaxed);
  micros_sum.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

RouteStats* Metrics::Register(const std::string& method, const std::string& path) {
  std::lock_guard lock(mutex);
  RouteStats& stats = routes.emplace_back();
  stats.method = method;
  stats.path = path;
  return &stats;
}

namespace {

void AppendRoute(std::string& out, const RouteStats& stats, std::string_view labels) {
  for (int status_class = 1; status_class <= 5; ++status_class) {
    const uint64_t n = stats.by_class[status_class].load(std::memory_order_relaxed);
    if (n == 0) continue;
    out += fmt::format("tailor_http_requests_total{{{},status=\"{}xx\"}} {}\n", labels,
                       status_class, n);
  }
  if (stats.count.load(std::memory_order_relaxed) == 0) return;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    cumulative += stats.buckets[i].load(std::memory_order_relaxed);
    out += fmt::format("tailor_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", labels,
                       kLatencyBuckets[i], cumulative);
  }
  cumulative += stats.buckets.back().load(std::memory_order_relaxed);
  out += fmt::format("tailor_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", labels,
                     cumulative);
  out += fmt::format("tailor_http_request_duration_seconds_sum{{{}}} {:.6f}\n", labels,
                     stats.micros_sum.load(std::memory_order_relaxed) / 1e6);
  out += fmt::format("tailor_http_request_duration_seconds_count{{{}}} {}\n", labels,
                     stats.count.load(std::memory_order_relaxed));
}

}  // namespace

std::string Api::Impl::MetricsText() const {
  std::string out;
  out += "# HELP tailor_http_requests_total HTTP requests by route and status class.\n";
  out += "# TYPE tailor_http_requests_total counter\n";
  out += "# HELP tailor_http_request_duration_seconds Time to handle a request.\n";
  out += "# TYPE tailor_http_request_duration_seconds histogram\n";
  for (const RouteStats& stats : metrics.routes) {
    AppendRoute(out, stats, fmt::format("method=\"{}\",route=\"{}\"", stats.method, stats.path));
  }
  AppendRoute(out, metrics.unmatched, "method=\"\",route=\"unmatched\"");

  auto counter = [&](std::string_view name, std::string_view help, uint64_t value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, value);
  };
  auto gauge = [&](std::string_view name, std::string_view help, double value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, value);
  };
  counter("tailor_events_accepted_total", "Events stored through the API.",
          metrics.events_accepted.load());
  counter("tailor_events_duplicate_total", "Events re-sent with a messageId already stored.",
          metrics.events_duplicate.load());
  counter("tailor_events_rejected_total", "Messages refused (bad input, limits).",
          metrics.events_rejected.load());
  counter("tailor_auth_failures_total", "Requests refused for their key.",
          metrics.auth_failures.load());
  counter("tailor_rate_limited_total", "Requests refused with 429.", metrics.rate_limited.load());
  const Service::Counters live = service.counters();
  counter("tailor_membership_changes_total", "Segment entries and exits fed.",
          live.membership_changes);
  counter("tailor_live_updates_total", "Profiles re-decided after a write or a timer.",
          live.live_updates);
  counter("tailor_window_timer_updates_total", "Profiles re-decided by a window-edge timer.",
          live.timer_updates);
  counter("tailor_segment_evaluations_total", "Full evaluations of every segment.",
          live.evaluations);
  counter("tailor_writes_total", "Writes of collected events and traits (runs of a request).",
          live.writes);
  counter("tailor_write_commits_total",
          "Commits those writes were coalesced into (each one durable before they return).",
          live.engine_writes);
  counter("tailor_signal_events_total",
          "Events folded into the live signals and session intent, one at a time.",
          live.signal_events);
  counter("tailor_signal_rebuilds_total",
          "Profiles whose signals were folded from their whole history (first write since "
          "loaded, merges).",
          live.signal_rebuilds);
  gauge("tailor_signal_update_p50_microseconds",
        "Median time to update one event's signals and session intent.", live.signal_update_p50_us);
  gauge("tailor_signal_update_p99_microseconds",
        "99th percentile time to update one event's signals and session intent.",
        live.signal_update_p99_us);
  gauge("tailor_segment_evaluation_seconds", "Duration of the last full evaluation.",
        live.last_evaluation_seconds);
  gauge("tailor_change_feed_last_sequence", "Sequence of the newest change fed (a stream cursor).",
        static_cast<double>(service.last_sequence()));
  gauge("tailor_window_timers", "Profiles with a pending window-edge timer.",
        static_cast<double>(service.timer_count()));
  const working_set::Stats resident = service.working_set().stats();
  gauge("tailor_resident_profiles", "Profiles held in memory (the working set).",
        static_cast<double>(resident.resident));
  gauge("tailor_resident_bytes", "Bytes the resident profiles take.",
        static_cast<double>(resident.bytes));
  gauge("tailor_resident_budget_bytes", "The working set's memory budget (--memory-budget).",
        static_cast<double>(resident.budget));
  counter("tailor_resident_hits_total", "Profile reads answered from memory.", resident.hits);
  counter("tailor_resident_misses_total", "Profile reads that loaded the profile from the store.",
          resident.misses);
  counter("tailor_resident_evictions_total", "Profiles evicted to stay within the budget.",
          resident.evictions);
  const snapshot::LiveSnapshot::Stats snapshot = service.snapshot_stats();
  counter("tailor_snapshot_refreshes_total",
          "Live snapshot versions published (previews and evaluations read them).",
          snapshot.refreshes);
  counter("tailor_snapshot_parts_read_total", "Snapshot parts read again whole from the store.",
          snapshot.parts_read);
  counter("tailor_snapshot_parts_spliced_total",
          "Snapshot parts refreshed by reading only their changed profiles again.",
          snapshot.parts_spliced);
  counter("tailor_snapshot_profiles_read_again_total", "Changed profiles read again by splices.",
          snapshot.profiles_read_again);
  gauge("tailor_snapshot_refresh_seconds", "Duration of the last refresh of the live snapshot.",
        snapshot.last_refresh_seconds);
  const EngineStats stats = service.engine().Stats();
  gauge("tailor_profiles", "Known profiles.", static_cast<double>(stats.profiles));
  gauge("tailor_anonymous_profiles", "Anonymous visitors not yet identified.",
        static_cast<double>(stats.anonymous_profiles));
  gauge("tailor_events", "Events stored.", static_cast<double>(stats.events));
  gauge("tailor_store_bytes", "Bytes on disk (SST files and log).",
        static_cast<double>(stats.bytes_on_disk));
  gauge("tailor_open_streams", "Server-Sent Events clients connected.",
        static_cast<double>(open_streams.load()));
  return out;
}

}  // namespace tailor::server
