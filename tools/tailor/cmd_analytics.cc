// `tailor rfm`: data-driven segmentation verbs (include/tailor/rfm.h).

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "commands.h"
#include "progress.h"
#include "tailor/ingest.h"
#include "tailor/json_writer.h"
#include "tailor/kmeans.h"
#include "tailor/lookalike.h"
#include "tailor/rfm.h"
#include "tailor/segment_catalog.h"
#include "tailor/service.h"

namespace tailor::cli {
namespace {

struct RfmArgs {
  std::string now;
  std::string purchase_type = "purchase";
  std::vector<std::string> exclude_order_types;
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

// Results written to a stopped server's store go through a service on it, as a server would
// write them (traits through the write path, live segments, the change feed).
Result<std::unique_ptr<Service>> OpenStoreService(const GlobalOptions& global) {
  ServiceOptions options;
  options.engine.store.create_if_missing = false;
  return Service::Open(global.data_dir, std::move(options));
}

analytics::RfmOptions OptionsOf(const RfmArgs& args, Timestamp now) {
  analytics::RfmOptions options;
  options.now = now;
  options.purchase_type = args.purchase_type;
  options.exclude_order_types = args.exclude_order_types;
  options.recency_day_edges = args.recency_edges;
  options.frequency_edges = args.frequency_edges;
  options.monetary_edges = args.monetary_edges;
  return options;
}

// --apply: through a service on the store, so the traits, the scheme and the feed are written as
// a server would write them.
int RunRfmApply(const GlobalOptions& global, const RfmArgs& args, Timestamp now) {
  auto service = OpenStoreService(global);
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

struct ClusterArgs {
  std::string features_csv, labels_out;
  std::vector<std::string> traits, log_features;
  size_t k = 8, max_iterations = 100, restarts = 1, mini_batch = 0, mini_batch_steps = 300;
  uint64_t seed = 0;
  bool no_standardize = false;
  std::vector<size_t> choose_k;  // MIN,MAX
  std::string save;              // scheme name
  size_t silhouette_sample = 2000;
};

// A CSV with a header: the first column an id, the others numbers (e.g. peer_sklearn.py's
// --features-out). Errors name the line and the column.
Result<analytics::FeatureMatrix> ReadFeatures(const std::string& path,
                                              std::vector<std::string>& ids) {
  TAILOR_ASSIGN_OR_RETURN(std::unique_ptr<ingest::RowReader> reader,
                          ingest::OpenRowReader(path, ingest::FileFormat::kCsv, ',', {}));
  const std::vector<std::string>& header = reader->columns();
  if (header.size() < 2) return InvalidArgument("{}: an id column and features are needed", path);
  analytics::FeatureMatrix m;
  m.names.assign(header.begin() + 1, header.end());
  m.columns = m.names.size();
  ingest::Row row;
  std::string error;
  while (reader->Next(row, error)) {
    if (!error.empty()) return InvalidArgument("{}:{}: {}", path, row.line, error);
    if (row.values.size() != header.size()) {
      return InvalidArgument("{}:{}: {} columns, the header has {}", path, row.line,
                             row.values.size(), header.size());
    }
    ids.emplace_back(row.values[0]);
    for (size_t j = 1; j < row.values.size(); ++j) {
      const std::string cell(row.values[j]);
      char* end = nullptr;
      const double value = std::strtod(cell.c_str(), &end);
      if (cell.empty() || end != cell.c_str() + cell.size()) {
        return InvalidArgument("{}:{}: column '{}' is not a number: '{}'", path, row.line,
                               header[j], cell);
      }
      m.values.push_back(value);
    }
    ++m.rows;
  }
  return m;
}

// Known profiles with every one of `traits` (int or double) present, from a snapshot of the
// store.
Result<analytics::FeatureMatrix> TraitFeatures(Engine& engine,
                                               const std::vector<std::string>& traits,
                                               std::vector<std::string>& ids,
                                               std::vector<ProfileId>* dense_ids = nullptr) {
  snapshot::SnapshotOptions options;
  options.event_fields = {};
  TAILOR_ASSIGN_OR_RETURN(std::unique_ptr<snapshot::Snapshot> snapshot,
                          engine.BuildSnapshot(options));
  std::vector<ProfileId> dense;
  TAILOR_ASSIGN_OR_RETURN(analytics::FeatureMatrix m,
                          analytics::TraitFeatures(*snapshot, traits, dense));
  for (ProfileId id : dense) ids.emplace_back(snapshot->external_id(id));
  if (dense_ids != nullptr) *dense_ids = std::move(dense);
  return m;
}

int RunCluster(const GlobalOptions& global, const ClusterArgs& args) {
  std::vector<std::string> ids;
  Result<analytics::FeatureMatrix> features = InvalidArgument("give --features-csv or --trait");
  if (!args.features_csv.empty()) {
    features = ReadFeatures(args.features_csv, ids);
  } else if (!args.traits.empty()) {
    auto engine = OpenEngine(global, /*create_if_missing=*/false);
    if (!engine) return 1;
    features = TraitFeatures(*engine, args.traits, ids);
  }
  if (!features.ok()) return ReportError(global, features.status());
  analytics::KMeansOptions options;
  options.k = args.k;
  options.seed = args.seed;
  options.max_iterations = args.max_iterations;
  options.restarts = args.restarts;
  options.mini_batch = args.mini_batch;
  options.mini_batch_steps = args.mini_batch_steps;
  options.standardize = !args.no_standardize;
  options.log1p.assign(features->columns, false);
  for (const std::string& name : args.log_features) {
    auto it = std::find(features->names.begin(), features->names.end(), name);
    if (it == features->names.end()) {
      return ReportError(global, InvalidArgument("--log: no feature '{}'", name));
    }
    options.log1p[it - features->names.begin()] = true;
  }
  ProgressBar bar("cluster");
  const RunControl control = InterruptibleRun(bar);
  options.control = &control;
  if (!args.choose_k.empty()) {
    auto choices = analytics::ChooseK(*features, args.choose_k[0], args.choose_k[1], options,
                                      args.silhouette_sample);
    bar.Finish();
    if (!choices.ok()) return ReportError(global, choices.status());
    if (global.json) {
      JsonWriter json;
      json.BeginObject();
      analytics::WriteChoiceFields(json, *choices);
      json.EndObject();
      std::printf("%s\n", json.str().c_str());
      return 0;
    }
    std::printf("k   inertia        silhouette (sampled %zu)\n", args.silhouette_sample);
    for (const analytics::KChoice& c : choices->curve) {
      std::printf("%-3zu %-14.6g %.4f%s\n", c.k, c.inertia, c.silhouette,
                  c.k == choices->recommended ? "  <- recommended (best silhouette)" : "");
    }
    return 0;
  }
  const auto started = std::chrono::steady_clock::now();
  auto result = analytics::KMeans(*features, options);
  bar.Finish();
  if (!result.ok()) return ReportError(global, result.status());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::vector<analytics::ClusterName> names =
      analytics::NameClusters(*features, options, *result);
  Service::LabelsSaved saved;
  if (!args.save.empty()) {
    // Through a service on the store: the trait, the live segments and the scheme.
    std::vector<std::string> labels;
    const Service::LabelScheme scheme = Service::ClusterScheme(args.save, *features, names, labels);
    std::vector<std::pair<std::string, std::string>> assigned;
    assigned.reserve(ids.size());
    for (size_t i = 0; i < ids.size(); ++i)
      assigned.emplace_back(ids[i], labels[result->labels[i]]);
    auto service = OpenStoreService(global);
    if (!service.ok()) return ReportError(global, service.status());
    auto written = (*service)->SaveLabels(scheme, assigned);
    if (!written.ok()) return ReportError(global, written.status());
    saved = *written;
  }
  if (!args.labels_out.empty()) {
    std::ofstream out(args.labels_out);
    out << "id,cluster\n";
    for (size_t i = 0; i < ids.size(); ++i) out << ids[i] << ',' << result->labels[i] << '\n';
    if (!out) return ReportError(global, IoError("writing '{}' failed", args.labels_out));
  }
  if (global.json) {
    JsonWriter json;
    json.BeginObject();
    analytics::WriteClusterFields(json, *features, *result, names);
    json.Key("seconds").Double(seconds).Key("profiles_written").Uint(saved.profiles_written);
    json.EndObject();
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  std::printf("%zu points, k = %zu: inertia %.6g after %zu iterations (%.3f s)\n", features->rows,
              args.k, result->inertia, result->iterations, seconds);
  for (size_t c = 0; c < args.k; ++c) {
    std::printf("  %zu %s: %s\n", c + 1, names[c].slug.c_str(), names[c].description.c_str());
  }
  if (!args.save.empty()) {
    std::printf("saved as scheme %s (trait %s_cluster): %llu profiles written\n", args.save.c_str(),
                args.save.c_str(), static_cast<unsigned long long>(saved.profiles_written));
  }
  return 0;
}

struct LookalikeArgs {
  std::string seed, save;
  std::vector<std::string> traits;
  size_t top = 1000;
  double c = 1.0;
};

int RunLookalike(const GlobalOptions& global, const LookalikeArgs& args) {
  std::vector<std::string> ids;
  std::vector<ProfileId> dense;
  segments::ProfileSet members;
  Result<analytics::FeatureMatrix> features = InvalidArgument("give the features with --trait");
  {
    auto engine = OpenEngine(global, /*create_if_missing=*/false);
    if (!engine) return 1;
    auto seed = segments::SegmentCatalog(engine->store()).Members(args.seed);
    if (!seed.ok()) return ReportError(global, seed.status());
    members = std::move(seed).value();
    if (!args.traits.empty()) features = TraitFeatures(*engine, args.traits, ids, &dense);
  }
  if (!features.ok()) return ReportError(global, features.status());
  std::vector<uint8_t> in_seed(dense.size());
  for (size_t i = 0; i < dense.size(); ++i) in_seed[i] = members.contains(dense[i]);
  analytics::LookalikeOptions options;
  options.top = args.top;
  options.model.c = args.c;
  ProgressBar bar("lookalike");
  const RunControl control = InterruptibleRun(bar);
  options.model.control = &control;
  auto found = analytics::FindLookalikes(*features, in_seed, options);
  bar.Finish();
  if (!found.ok()) return ReportError(global, found.status());
  uint64_t written = 0;
  double threshold = found->ranked.empty() ? 1.0 : found->scores[found->ranked.back()];
  if (!args.save.empty()) {
    std::vector<std::pair<std::string, double>> scores;
    scores.reserve(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) scores.emplace_back(ids[i], found->scores[i]);
    segments::SegmentDefinition segment =
        Service::LookalikeSegment(args.save, args.seed, found->ranked.size(), *features, threshold);
    auto service = OpenStoreService(global);
    if (!service.ok()) return ReportError(global, service.status());
    auto saved = (*service)->SaveScores(args.save + "_score", scores, std::move(segment));
    if (!saved.ok()) return ReportError(global, saved.status());
    written = *saved;
  }
  if (global.json) {
    JsonWriter json;
    json.BeginObject();
    analytics::WriteLookalikeFields(json, *found, in_seed, ids);
    json.Key("profiles_written").Uint(written).EndObject();
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  std::printf("seed %s: %zu of %zu profiles with the features; model AUROC %.3f (in sample)\n",
              args.seed.c_str(), static_cast<size_t>(std::count(in_seed.begin(), in_seed.end(), 1)),
              features->rows, found->auroc);
  std::printf("feature                 weight   seed vs rest   top %zu vs rest (SMD)\n",
              found->ranked.size());
  for (const analytics::FeatureCarryOver& f : found->features) {
    std::printf("%-22s %+8.3f   %+8.2f       %+8.2f\n", f.feature.c_str(), f.weight, f.seed_smd,
                f.lookalike_smd);
  }
  for (size_t k = 0; k < std::min<size_t>(10, found->ranked.size()); ++k) {
    std::printf("  %s %.4f\n", ids[found->ranked[k]].c_str(), found->scores[found->ranked[k]]);
  }
  if (!args.save.empty()) {
    std::printf("saved: trait %s_score on %llu profiles, segment %s (score >= %.4f)\n",
                args.save.c_str(), static_cast<unsigned long long>(written), args.save.c_str(),
                threshold);
  }
  return 0;
}

}  // namespace

void RegisterAnalytics(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto lookalike_args = std::make_shared<LookalikeArgs>();
  CLI::App* lookalike = app.add_subcommand(
      "lookalike", "profiles outside a seed segment that resemble it (acquisition)");
  lookalike->add_option("seed", lookalike_args->seed, "the seed segment (saved, evaluated)")
      ->required();
  lookalike
      ->add_option("--trait", lookalike_args->traits, "a numeric trait as a feature (repeatable)")
      ->required();
  lookalike->add_option("--top", lookalike_args->top, "lookalikes to keep")->capture_default_str();
  lookalike->add_option("--c", lookalike_args->c, "inverse L2 strength of the model")
      ->capture_default_str();
  lookalike->add_option("--save", lookalike_args->save,
                        "NAME: trait NAME_score on every profile and segment NAME of the top");
  lookalike->callback([&, lookalike_args] { exit_code = RunLookalike(global, *lookalike_args); });

  auto cluster_args = std::make_shared<ClusterArgs>();
  CLI::App* cluster = app.add_subcommand("cluster", "k-means on numeric features");
  cluster->add_option("--features-csv", cluster_args->features_csv,
                      "CSV: an id column, then one column per feature (a header first)");
  cluster->add_option("--trait", cluster_args->traits,
                      "a numeric trait of the store as a feature (repeatable)");
  cluster->add_option("--k", cluster_args->k, "clusters")->capture_default_str();
  cluster->add_option("--seed", cluster_args->seed, "k-means++ seed")->capture_default_str();
  cluster->add_option("--max-iter", cluster_args->max_iterations)->capture_default_str();
  cluster
      ->add_option("--restarts", cluster_args->restarts,
                   "runs from seeds seed, seed+1, ...; the least inertia is kept")
      ->capture_default_str();
  cluster->add_option("--log", cluster_args->log_features, "log(1 + x) of this feature first");
  cluster->add_flag("--no-standardize", cluster_args->no_standardize, "keep the raw scales");
  cluster
      ->add_option("--mini-batch", cluster_args->mini_batch,
                   "B: mini-batch k-means (B points per step) for very large sets; approximate")
      ->capture_default_str();
  cluster->add_option("--mini-batch-steps", cluster_args->mini_batch_steps)->capture_default_str();
  cluster->add_option("--labels-out", cluster_args->labels_out, "write id,cluster per point");
  cluster
      ->add_option("--choose-k", cluster_args->choose_k,
                   "MIN,MAX: the inertia curve and sampled silhouette per k, and the best k")
      ->delimiter(',')
      ->expected(2);
  cluster->add_option("--save", cluster_args->save,
                      "NAME: the clusters as trait NAME_cluster and the live scheme NAME of one "
                      "segment per cluster, named and described from its center");
  cluster
      ->add_option("--silhouette-sample", cluster_args->silhouette_sample,
                   "points the silhouette is computed on")
      ->capture_default_str();
  cluster->callback([&, cluster_args] { exit_code = RunCluster(global, *cluster_args); });

  auto args = std::make_shared<RfmArgs>();
  CLI::App* rfm = app.add_subcommand(
      "rfm", "recency, frequency and monetary value per customer, scores and named segments");
  rfm->add_option("--now", args->now, "reference time, e.g. 2026-11-01T00:00:00Z (default: now)");
  rfm->add_option("--purchase-type", args->purchase_type, "the event type of a purchase")
      ->capture_default_str();
  rfm->add_option("--exclude-orders-with", args->exclude_order_types,
                  "an event type that cancels its order (e.g. \"Order Refunded\"): purchases "
                  "with an order id the profile has in such an event are left out (repeatable)");
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
