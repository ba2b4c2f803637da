// `tailor reco eval`: the recommenders scored offline on the shared protocol
// (../shared/bench/RECO.md), figure for figure comparable with ../shared/bench/peer_reco.py.

#include <chrono>
#include <cstdio>

#include "commands.h"
#include "tailor/json_writer.h"
#include "tailor/reco.h"

namespace tailor::cli {
namespace {

struct RecoArgs {
  std::optional<double> relevant_min_value;
};

void WriteMetrics(JsonWriter& json, const reco::Metrics& m) {
  json.BeginObject()
      .Key("precision_at_10")
      .Double(m.precision)
      .Key("recall_at_10")
      .Double(m.recall)
      .Key("recall_capped_at_10")
      .Double(m.recall_capped)
      .Key("ndcg_at_10")
      .Double(m.ndcg)
      .Key("coverage")
      .Double(m.coverage)
      .Key("evaluated_users")
      .Uint(m.evaluated_users)
      .EndObject();
}

int Eval(const GlobalOptions& global, const RecoArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  const std::unique_ptr<snapshot::Snapshot> snapshot = StoreSnapshot(global);
  if (snapshot == nullptr) return 1;
  auto interactions = reco::InteractionsFromSnapshot(*snapshot);
  if (!interactions.ok()) return ReportError(global, interactions.status());
  reco::Relevance relevance;
  relevance.min_value = args.relevant_min_value;
  const reco::Split split = reco::SplitByTime(*interactions, relevance);
  const std::vector<reco::GeneratorReport> reports =
      reco::EvaluateGenerators(*interactions, relevance);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("pairs")
        .Uint(interactions->pairs.size())
        .Key("users")
        .Uint(interactions->users.size())
        .Key("items")
        .Uint(interactions->items.size())
        .Key("train_pairs")
        .Uint(split.train_pair_count)
        .Key("test_pairs")
        .Uint(split.test_pair_count)
        .Key("relevant_test_pairs")
        .Uint(split.relevant_pair_count)
        .Key("catalogue")
        .Uint(split.catalogue)
        .Key("evaluated_users")
        .Uint(split.evaluated_users)
        .Key("seconds")
        .Double(seconds)
        .Key("generators")
        .BeginObject();
    for (const reco::GeneratorReport& r : reports) {
      json.Key(r.name).BeginObject().Key("params").String(r.params).Key("metrics");
      WriteMetrics(json, r.metrics);
      json.Key("validation_ndcg_at_10").BeginObject();
      for (const auto& [point, ndcg] : r.validation) json.Key(point).Double(ndcg);
      json.EndObject().EndObject();
    }
    json.EndObject().EndObject();
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  std::printf(
      "%zu pairs, %zu users, %zu items; train %zu, test %zu (%zu relevant); catalogue %zu; "
      "%zu evaluated users (%.1f s)\n",
      interactions->pairs.size(), interactions->users.size(), interactions->items.size(),
      split.train_pair_count, split.test_pair_count, split.relevant_pair_count, split.catalogue,
      split.evaluated_users, seconds);
  std::printf("%-12s %-20s %10s %10s %10s %10s\n", "generator", "params", "prec@10", "recall@10",
              "ndcg@10", "coverage");
  for (const reco::GeneratorReport& r : reports) {
    std::printf("%-12s %-20s %10.4f %10.4f %10.4f %10.4f\n", r.name.c_str(), r.params.c_str(),
                r.metrics.precision, r.metrics.recall, r.metrics.ndcg, r.metrics.coverage);
  }
  return 0;
}

}  // namespace

void RegisterReco(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto args = std::make_shared<RecoArgs>();
  CLI::App* reco = app.add_subcommand("reco", "recommendations");
  reco->require_subcommand(1);
  CLI::App* eval = reco->add_subcommand(
      "eval",
      "score the recommenders on the shared protocol (../shared/bench/RECO.md): per-user "
      "temporal split, metrics at 10, grids tuned on the validation split");
  eval->add_option("--relevant-min-value", args->relevant_min_value,
                   "a test pair is relevant when its value is at least this (MovieLens: 4); "
                   "default: when it was purchased");
  eval->callback([&, args] { exit_code = Eval(global, *args); });
}

}  // namespace tailor::cli
