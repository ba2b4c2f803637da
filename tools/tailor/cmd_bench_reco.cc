// `tailor bench reco --store DIR`: the serving recommender (tailor/recommender.h) on a store made
// by `tailor bench ingest`: the training run's time and what it learned, then top-10 reads of
// random profiles through the service (their activity and session intent from memory, the model
// in force): each profile read cold (loaded from the store), then again resident; and the blend
// alone (reco::Recommend on an activity already read).

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "commands.h"
#include "tailor/json_writer.h"
#include "tailor/recommender.h"
#include "tailor/service.h"

namespace tailor::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

double MicrosecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double, std::micro>(SteadyClock::now() - start).count();
}

struct RecoBenchArgs {
  std::string store;
  size_t reads = 20'000;
  size_t range = 0;  // 0: every profile
};

int RunBenchReco(GlobalOptions global, const RecoBenchArgs& args) {
  ServiceOptions options;
  options.engine.store.create_if_missing = false;
  options.evaluate_on_open = false;
  auto opened = Service::Open(args.store, std::move(options));
  if (!opened.ok()) return ReportError(global, opened.status());
  Service& service = **opened;
  const auto train_start = SteadyClock::now();
  auto model = service.TrainRecommender();
  if (!model.ok()) return ReportError(global, model.status());
  const double train_seconds = MicrosecondsSince(train_start) / 1e6;
  auto population = service.Population({});
  if (!population.ok()) return ReportError(global, population.status());
  const snapshot::Snapshot& snapshot = *population->snapshot;
  std::vector<std::string> ids;
  for (ProfileId id = 0; id < snapshot.profile_count(); ++id) {
    if (args.range > 0 && ids.size() == args.range) break;
    if (snapshot.known().Test(id)) ids.emplace_back(snapshot.external_id(id));
  }
  if (ids.empty()) return ReportError(global, FailedPrecondition("the store has no profile"));
  std::vector<std::string> picked;
  uint64_t state = 88172645463325252ull;
  for (size_t i = 0; i < args.reads; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    picked.push_back(ids[state % ids.size()]);
  }
  reco::Request request;
  request.now = service.now();
  std::vector<double> cold_us, warm_us, blend_us;
  size_t items_returned = 0;
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<double>& times = pass == 0 ? cold_us : warm_us;
    for (const std::string& id : picked) {
      const auto start = SteadyClock::now();
      auto found = service.Recommendations(id, request);
      times.push_back(MicrosecondsSince(start));
      if (!found.ok()) return ReportError(global, found.status());
      items_returned += found->items.size();
    }
  }
  // The blend alone: the activity read once, Recommend timed.
  for (size_t i = 0; i < std::min<size_t>(picked.size(), 5000); ++i) {
    auto profile = service.working_set().Get(picked[i]);
    if (!profile.ok()) return ReportError(global, profile.status());
    auto events = (*profile)->Events();
    if (!events.ok()) return ReportError(global, events.status());
    const reco::Activity activity = reco::ActivityOf(**model, *events);
    const auto start = SteadyClock::now();
    const std::vector<reco::Recommendation> out = reco::Recommend(**model, activity, request);
    blend_us.push_back(MicrosecondsSince(start));
    items_returned += out.size();
  }
  const reco::Model::Stats& s = (*model)->stats();
  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("benchmark")
        .String("reco")
        .Key("profiles")
        .Uint(ids.size())
        .Key("items")
        .Uint(s.items)
        .Key("pairs")
        .Uint(s.pairs)
        .Key("train_seconds")
        .Double(train_seconds)
        .Key("reads")
        .Uint(picked.size())
        .Key("cold_median_us")
        .Double(Percentile(cold_us, 0.5))
        .Key("cold_p99_us")
        .Double(Percentile(cold_us, 0.99))
        .Key("resident_median_us")
        .Double(Percentile(warm_us, 0.5))
        .Key("resident_p99_us")
        .Double(Percentile(warm_us, 0.99))
        .Key("blend_median_us")
        .Double(Percentile(blend_us, 0.5))
        .Key("blend_p99_us")
        .Double(Percentile(blend_us, 0.99))
        .Key("mean_items")
        .Double(double(items_returned) / double(2 * picked.size() + blend_us.size()))
        .EndObject();
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  std::printf(
      "model: %zu profiles, %zu pairs, %zu items (%zu with a level), trained in %.1f s\n"
      "top-10 of %zu random profiles of %zu:\n"
      "  first read (profile loaded from the store): median %.0f us, p99 %.0f us\n"
      "  resident (the working set):                 median %.0f us, p99 %.0f us\n"
      "  the blend alone (reco::Recommend):          median %.0f us, p99 %.0f us\n",
      s.profiles, s.pairs, s.items, s.items_with_level, train_seconds, picked.size(), ids.size(),
      Percentile(cold_us, 0.5), Percentile(cold_us, 0.99), Percentile(warm_us, 0.5),
      Percentile(warm_us, 0.99), Percentile(blend_us, 0.5), Percentile(blend_us, 0.99));
  // The blend in force (learned at training: which generators run is part of the figure).
  JsonWriter blend;
  reco::WriteModel(blend, **model);
  std::printf("model: %s\n", blend.str().c_str());
  return 0;
}

}  // namespace

void RegisterBenchReco(CLI::App& bench, GlobalOptions& global, int& exit_code) {
  auto args = std::make_shared<RecoBenchArgs>();
  CLI::App* reco = bench.add_subcommand(
      "reco", "train the recommender on a store and time top-10 reads (docs/benchmarks.md)");
  reco->add_option("--store", args->store, "a store made by `tailor bench ingest --keep`")
      ->required();
  reco->add_option("--reads", args->reads, "profiles read (each twice)")->capture_default_str();
  reco->add_option("--range", args->range, "draw from the first N known profiles (0: all)");
  reco->callback([&, args] { exit_code = RunBenchReco(global, *args); });
}

}  // namespace tailor::cli
