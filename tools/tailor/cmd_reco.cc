// `tailor reco eval`: the recommenders scored offline on the shared protocol
// (../shared/bench/RECO.md), figure for figure comparable with ../shared/bench/peer_reco.py.
// `tailor reco train` and `tailor reco ID`: the serving recommender (tailor/recommender.h) on a
// stopped server's store: the model trained as `tailor serve` trains it, and one person's items
// with their reasons.

#include <chrono>
#include <cstdio>

#include "commands.h"
#include "tailor/json_writer.h"
#include "tailor/reco.h"
#include "tailor/recommender.h"
#include "tailor/service.h"

namespace tailor::cli {
namespace {

struct RecoArgs {
  std::optional<double> relevant_min_value;
  std::string id;
  size_t count = 10;
  std::string category;
  std::string intent;
  std::optional<double> max_price;
};

Result<std::unique_ptr<Service>> OpenForRecommendations(const GlobalOptions& global) {
  ServiceOptions options;
  options.engine.store.create_if_missing = false;
  options.evaluate_on_open = false;
  return Service::Open(global.data_dir, std::move(options));
}

void PrintModel(const reco::Model& model) {
  const reco::Model::Stats& s = model.stats();
  std::printf(
      "model %llu: %zu profiles, %zu pairs, %zu items (%zu with a level; %zu level values outside "
      "the order; %zu interactions on items outside the catalogue), trained in %.2f s\n",
      static_cast<unsigned long long>(model.version()), s.profiles, s.pairs, s.items,
      s.items_with_level, s.levels_outside_order, s.interacted_items_unknown, s.train_seconds);
}

int Train(const GlobalOptions& global) {
  auto service = OpenForRecommendations(global);
  if (!service.ok()) return ReportError(global, service.status());
  auto model = (*service)->TrainRecommender();
  if (!model.ok()) return ReportError(global, model.status());
  if (global.json) {
    JsonWriter json;
    reco::WriteModel(json, **model);
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  PrintModel(**model);
  return 0;
}

int Show(const GlobalOptions& global, const RecoArgs& args) {
  auto service = OpenForRecommendations(global);
  if (!service.ok()) return ReportError(global, service.status());
  auto model = (*service)->TrainRecommender();
  if (!model.ok()) return ReportError(global, model.status());
  reco::Request request;
  request.count = args.count;
  request.category = args.category;
  request.max_price = args.max_price;
  if (!args.intent.empty()) {
    const std::optional<intent::Intent> intent = intent::ParseIntentName(args.intent);
    if (!intent) {
      return ReportError(global, InvalidArgument("--intent: expected unknown, inspiration, "
                                                 "best_offer, concerns or post_purchase"));
    }
    request.intent = *intent;
  }
  auto found = (*service)->Recommendations(args.id, request);
  if (!found.ok()) return ReportError(global, found.status());
  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("id")
        .String(found->known ? found->id : args.id)
        .Key("known")
        .Bool(found->known)
        .Key("intent")
        .String(intent::IntentName(found->intent))
        .Key("items")
        .BeginArray();
    for (const reco::Recommendation& r : found->items) {
      reco::WriteRecommendation(json, *found->model, r);
    }
    json.EndArray().EndObject();
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  std::printf("%s%s, session intent %s\n", found->known ? found->id.c_str() : args.id.c_str(),
              found->known ? "" : " (unknown: a visitor with no history)",
              std::string(intent::IntentName(found->intent)).c_str());
  size_t rank = 0;
  for (const reco::Recommendation& r : found->items) {
    const reco::ItemFacts& item = found->model->item(r.index);
    std::printf("%2zu. %-14s %-32s %-16s %6.3f\n", ++rank, r.item.c_str(), item.name.c_str(),
                item.category.c_str(), r.score);
    for (const reco::Reason& reason : r.reasons) {
      std::printf("      %-12s %s\n", reason.generator.c_str(), reason.detail.c_str());
    }
  }
  return 0;
}

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
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  auto listed = engine->ListItems();
  if (!listed.ok()) return ReportError(global, listed.status());
  std::unordered_map<std::string, ItemInput> catalogue;
  for (ItemInput& item : *listed) catalogue.emplace(item.id, std::move(item));
  engine.reset();
  auto interactions = reco::InteractionsFromSnapshot(*snapshot, {}, &catalogue);
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
  std::printf("%-14s %-42s %10s %10s %10s %10s\n", "generator", "params", "prec@10", "recall@10",
              "ndcg@10", "coverage");
  for (const reco::GeneratorReport& r : reports) {
    std::printf("%-14s %-42s %10.4f %10.4f %10.4f %10.4f\n", r.name.c_str(), r.params.c_str(),
                r.metrics.precision, r.metrics.recall, r.metrics.ndcg, r.metrics.coverage);
  }
  return 0;
}

}  // namespace

void RegisterReco(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto args = std::make_shared<RecoArgs>();
  CLI::App* reco = app.add_subcommand(
      "reco", "recommendations: `tailor reco ID` shows one person's items with their reasons");
  reco->require_subcommand(0, 1);
  reco->add_option("id", args->id, "a profile id (external, anonymous or merged-away)");
  reco->add_option("--count", args->count, "how many items")->capture_default_str();
  reco->add_option("--category", args->category, "only items of this category");
  reco->add_option("--max-price", args->max_price, "only items at most this price");
  reco->add_option("--intent", args->intent,
                   "use this intent instead of the session's (inspiration, best_offer, concerns, "
                   "post_purchase)");
  reco->callback([&, reco, args] {
    if (!reco->get_subcommands().empty()) return;
    if (args->id.empty()) {
      std::fprintf(stderr, "tailor reco: give a profile id, or eval or train\n");
      exit_code = 2;
      return;
    }
    exit_code = Show(global, *args);
  });
  CLI::App* train = reco->add_subcommand(
      "train", "train the serving recommender on the store and report what it learned");
  train->callback([&] { exit_code = Train(global); });
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
