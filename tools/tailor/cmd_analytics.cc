// `tailor rfm`: data-driven segmentation verbs (include/tailor/rfm.h).

#include <chrono>
#include <cstdio>
#include <fstream>

#include "commands.h"
#include "tailor/json_writer.h"
#include "tailor/rfm.h"
#include "tailor/service.h"

namespace tailor::cli {
namespace {

struct RfmArgs {
  std::string now;
  std::string purchase_type = "purchase";
  std::vector<double> recency_edges, frequency_edges, monetary_edges;
  std::string out;
  bool apply = false;
};

Status WriteCustomers(const std::string& path, const snapshot::Snapshot& snapshot,
                      const analytics::RfmResult& rfm) {
  std::ofstream out(path);
  if (!out) return IoError("cannot write '{}'", path);
  out << "profile_id,recency_days,frequency,monetary,r_score,f_score,m_score,segment\n";
  for (const analytics::RfmCustomer& c : rfm.customers) {
    out << fmt::format("{},{:.6f},{},{},{},{},{},{}\n", snapshot.external_id(c.id),
                       static_cast<double>(c.recency_ms) / 86'400'000.0, c.frequency,
                       c.monetary.ToString(), c.r_score, c.f_score, c.m_score,
                       analytics::RfmSegmentName(c.segment));
  }
  out.close();
  if (!out) return IoError("writing '{}' failed", path);
  return Status::Ok();
}

analytics::RfmOptions OptionsOf(const RfmArgs& args, Timestamp now) {
  analytics::RfmOptions options;
  options.now = now;
  options.purchase_type = args.purchase_type;
  options.recency_day_edges = args.recency_edges;
  options.frequency_edges = args.frequency_edges;
  options.monetary_edges = args.monetary_edges;
  return options;
}

// --apply: through a service on the store, so the traits, the scheme and the feed are written as
// a server would write them.
int RunRfmApply(const GlobalOptions& global, const RfmArgs& args, Timestamp now) {
  ServiceOptions service_options;
  service_options.engine.store.create_if_missing = false;
  auto service = Service::Open(global.data_dir, std::move(service_options));
  if (!service.ok()) return ReportError(global, service.status());
  auto run = (*service)->RunRfm(OptionsOf(args, now), /*materialize=*/true);
  if (!run.ok()) return ReportError(global, run.status());
  if (global.json) {
    std::printf("{\"customers\":%zu,\"profiles_written\":%llu,\"scheme_created\":%s}\n",
                run->rfm.customers.size(), static_cast<unsigned long long>(run->profiles_written),
                run->scheme_created ? "true" : "false");
  } else {
    std::printf("%zu customers; rfm_* traits written to %llu profiles; scheme rfm %s\n",
                run->rfm.customers.size(), static_cast<unsigned long long>(run->profiles_written),
                run->scheme_created ? "created" : "updated live");
  }
  return 0;
}

int RunRfm(const GlobalOptions& global, const RfmArgs& args) {
  auto now = ParseNow(args.now);
  if (!now.ok()) return ReportError(global, now.status());
  if (args.apply) return RunRfmApply(global, args, *now);
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  const auto started = std::chrono::steady_clock::now();
  snapshot::SnapshotOptions snapshot_options;
  snapshot_options.event_fields = {"order_id"};
  auto snapshot = engine->BuildSnapshot(snapshot_options);
  if (!snapshot.ok()) return ReportError(global, snapshot.status());
  const auto read = std::chrono::steady_clock::now();
  auto rfm = analytics::ComputeRfm(**snapshot, OptionsOf(args, *now));
  if (!rfm.ok()) return ReportError(global, rfm.status());
  const auto computed = std::chrono::steady_clock::now();
  if (!args.out.empty()) {
    Status written = WriteCustomers(args.out, **snapshot, *rfm);
    if (!written.ok()) return ReportError(global, written);
  }
  const double snapshot_seconds = std::chrono::duration<double>(read - started).count();
  const double rfm_seconds = std::chrono::duration<double>(computed - read).count();
  const char* score_names[] = {"r_score", "f_score", "m_score"};
  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("customers")
        .Uint(rfm->customers.size())
        .Key("snapshot_seconds")
        .Double(snapshot_seconds)
        .Key("rfm_seconds")
        .Double(rfm_seconds)
        .Key("score_counts")
        .BeginObject();
    for (int d = 0; d < 3; ++d) {
      json.Key(score_names[d]).BeginObject();
      for (int score = 1; score <= 5; ++score) {
        json.Key(std::to_string(score)).Uint(rfm->score_counts[d][score - 1]);
      }
      json.EndObject();
    }
    json.EndObject().Key("segments").BeginObject();
    for (size_t s = 0; s < analytics::kRfmSegmentCount; ++s) {
      json.Key(analytics::RfmSegmentName(static_cast<analytics::RfmSegment>(s)))
          .Uint(rfm->segment_counts[s]);
    }
    json.EndObject().EndObject();
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  std::printf("%zu customers (snapshot %.2f s, RFM %.3f s)\n", rfm->customers.size(),
              snapshot_seconds, rfm_seconds);
  for (size_t s = 0; s < analytics::kRfmSegmentCount; ++s) {
    std::printf(
        "  %-20s %llu\n",
        std::string(analytics::RfmSegmentName(static_cast<analytics::RfmSegment>(s))).c_str(),
        static_cast<unsigned long long>(rfm->segment_counts[s]));
  }
  if (!args.out.empty()) std::printf("per customer: %s\n", args.out.c_str());
  return 0;
}

}  // namespace

void RegisterAnalytics(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto args = std::make_shared<RfmArgs>();
  CLI::App* rfm = app.add_subcommand(
      "rfm", "recency, frequency and monetary value per customer, scores and named segments");
  rfm->add_option("--now", args->now, "reference time, e.g. 2026-11-01T00:00:00Z (default: now)");
  rfm->add_option("--purchase-type", args->purchase_type, "the event type of a purchase")
      ->capture_default_str();
  rfm->add_option("--recency-edges", args->recency_edges,
                  "4 ascending day counts instead of quintiles (e.g. 30,90,180,365)")
      ->delimiter(',')
      ->expected(4);
  rfm->add_option("--frequency-edges", args->frequency_edges,
                  "4 ascending order counts instead of quintiles")
      ->delimiter(',')
      ->expected(4);
  rfm->add_option("--monetary-edges", args->monetary_edges,
                  "4 ascending amounts instead of quintiles")
      ->delimiter(',')
      ->expected(4);
  rfm->add_option("--out", args->out, "write one CSV row per customer to this file");
  rfm->add_flag("--apply", args->apply,
                "write the rfm_* traits and the live scheme `rfm` of ten segments to the store");
  rfm->callback([&, args] { exit_code = RunRfm(global, *args); });
}

}  // namespace tailor::cli
