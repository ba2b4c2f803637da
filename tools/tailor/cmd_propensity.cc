// `tailor propensity` and `tailor drivers`: what drives a binary target, and a validated model
// of it whose score becomes a trait (include/tailor/propensity.h).

#include <fmt/format.h>

#include <cstdio>

#include "commands.h"
#include "progress.h"
#include "tailor/json_writer.h"
#include "tailor/propensity.h"
#include "tailor/service.h"

namespace tailor::cli {
namespace {

struct PropensityArgs {
  std::vector<std::string> traits, behaviour_types;
  std::string target, target_event, cutoff, now, fold_trait, model = "both", save;
  int horizon_days = 30;
  uint32_t folds = 5;
  double c = 1.0, top_share = 0.1;
  size_t rounds = 400, top = 10;
  int depth = 5;
  double learning_rate = 0.03;
};

void AddTargetOptions(CLI::App* command, PropensityArgs& args) {
  command->add_option("--target", args.target, "a bool trait (or a number, > 0 positive)");
  command->add_option("--target-event", args.target_event,
                      "an event type: positive when it happens within the horizon after the "
                      "cut-off (behaviour before it are the features)");
  command->add_option("--horizon-days", args.horizon_days, "the event target's horizon")
      ->capture_default_str();
  command->add_option("--cutoff", args.cutoff,
                      "the event target's cut-off (default: now - horizon)");
  command->add_option("--behaviour", args.behaviour_types,
                      "event type whose behaviour is a feature (repeatable; default every type)");
  command->add_option("--trait", args.traits,
                      "a trait as a feature (repeatable; categories one-hot)");
  command->add_option("--now", args.now, "the reference time (default: the clock)");
  command->add_option("--top", args.top, "drivers and features shown")->capture_default_str();
}

Result<analytics::PropensitySpec> SpecOf(const PropensityArgs& args, bool models) {
  analytics::PropensitySpec spec;
  spec.traits = args.traits;
  spec.target_trait = args.target;
  spec.target_event = args.target_event;
  spec.horizon_days = args.horizon_days;
  spec.behaviour_types = args.behaviour_types;
  spec.folds = args.folds;
  spec.fold_trait = args.fold_trait;
  if (!args.cutoff.empty()) {
    auto cutoff = ParseNow(args.cutoff);
    if (!cutoff.ok()) return cutoff.status();
    spec.cutoff = *cutoff;
  }
  spec.options.models.clear();
  if (models) {
    if (args.model == "logistic" || args.model == "both") {
      spec.options.models.push_back(analytics::PropensityModelKind::kLogistic);
    }
    if (args.model == "boosted_trees" || args.model == "both") {
      spec.options.models.push_back(analytics::PropensityModelKind::kBoostedTrees);
    }
    if (spec.options.models.empty()) {
      return InvalidArgument("--model '{}': logistic, boosted_trees or both", args.model);
    }
  }
  spec.options.logistic.c = args.c;
  spec.options.trees.rounds = args.rounds;
  spec.options.trees.max_depth = args.depth;
  spec.options.trees.learning_rate = args.learning_rate;
  spec.score = !args.save.empty();
  return spec;
}

void PrintDrivers(const analytics::PropensityStudy& study, size_t top) {
  std::printf("drivers of %s (information value, mutual information):\n", study.target.c_str());
  for (size_t i = 0; i < std::min(top, study.drivers.size()); ++i) {
    const analytics::Driver& d = study.drivers[i];
    std::printf("  %-28s IV %6.3f %-12s MI %.4f bits  %s\n", d.feature.c_str(), d.information_value,
                d.strength.c_str(), d.mutual_information, d.description.c_str());
  }
}

int Run(const GlobalOptions& global, const PropensityArgs& args, bool models) {
  auto spec = SpecOf(args, models);
  if (!spec.ok()) return ReportError(global, spec.status());
  auto now = ParseNow(args.now);
  if (!now.ok()) return ReportError(global, now.status());
  Result<analytics::PropensityStudy> study = Internal("not run");
  std::vector<std::string> external;
  {
    auto engine = OpenEngine(global, /*create_if_missing=*/false);
    if (!engine) return 1;
    snapshot::SnapshotOptions snapshot_options;
    snapshot_options.event_fields = {};
    auto snapshot = engine->BuildSnapshot(snapshot_options);
    if (!snapshot.ok()) return ReportError(global, snapshot.status());
    ProgressBar bar(models ? "propensity" : "drivers");
    const RunControl control = InterruptibleRun(bar);
    spec->options.control = &control;
    study = analytics::RunPropensity(**snapshot, *spec, *now);
    bar.Finish();
    if (!study.ok()) return ReportError(global, study.status());
    for (ProfileId id : study->ids) external.emplace_back((*snapshot)->external_id(id));
  }
  uint64_t written = 0;
  analytics::ScoreSegment segment;
  if (!args.save.empty()) {
    segment = analytics::PropensitySegment(args.save, *study, args.top_share);
    std::vector<std::pair<std::string, double>> scores;
    scores.reserve(external.size());
    for (size_t i = 0; i < external.size(); ++i) scores.emplace_back(external[i], study->scores[i]);
    ServiceOptions options;
    options.engine.store.create_if_missing = false;
    auto service = Service::Open(global.data_dir, std::move(options));
    if (!service.ok()) return ReportError(global, service.status());
    auto saved = (*service)->SaveScores(args.save + "_score", scores, segment.definition);
    if (!saved.ok()) return ReportError(global, saved.status());
    written = *saved;
  }
  if (global.json) {
    JsonWriter json;
    json.BeginObject();
    analytics::WriteStudyFields(json, *study, args.top);
    if (!args.save.empty()) {
      analytics::WriteSavedFields(json, args.save, written, segment);
    }
    json.EndObject();
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  std::printf("target %s: %zu of %zu rows positive (%.1f %%)\n", study->target.c_str(),
              study->positives, study->rows,
              100.0 * study->positives / std::max<size_t>(study->rows, 1));
  if (models) {
    std::printf("validation: %s\n", study->validation.c_str());
    std::printf("  model            AUROC   avg precision   fit s   per fold AUROC\n");
    for (const analytics::ModelValidation& m : study->models) {
      std::printf("  %-14s  %.4f   %.4f          %6.2f  %s%s\n",
                  std::string(analytics::PropensityModelName(m.kind)).c_str(), m.mean_auroc,
                  m.mean_average_precision, m.fit_seconds,
                  fmt::format("{:.4f}", fmt::join(m.auroc, " ")).c_str(),
                  m.kind == study->best ? "  (best)" : "");
    }
  }
  PrintDrivers(*study, args.top);
  if (!study->importance.empty()) {
    std::printf("%s model's features by importance:\n",
                std::string(analytics::PropensityModelName(study->best)).c_str());
    for (size_t i = 0; i < std::min(args.top, study->importance.size()); ++i) {
      std::printf("  %-36s %+.4f\n", study->importance[i].first.c_str(),
                  study->importance[i].second);
    }
  }
  if (!args.save.empty()) {
    std::printf(
        "saved: trait %s_score on %llu profiles, segment %s (score >= %.4f, %zu profiles)\n",
        args.save.c_str(), static_cast<unsigned long long>(written), args.save.c_str(),
        segment.threshold, segment.size);
  }
  return 0;
}

}  // namespace

void RegisterPropensity(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto args = std::make_shared<PropensityArgs>();
  CLI::App* propensity = app.add_subcommand(
      "propensity", "a validated model of a binary target; its score as a trait (--save)");
  AddTargetOptions(propensity, *args);
  propensity->add_option("--folds", args->folds, "cross-validation folds (trait targets)")
      ->check(CLI::Range(2, 20))
      ->capture_default_str();
  propensity->add_option("--fold-trait", args->fold_trait,
                         "an int trait: fold = its value mod folds (default: a hash of the id)");
  propensity->add_option("--model", args->model, "logistic, boosted_trees or both")
      ->capture_default_str();
  propensity->add_option("--c", args->c, "logistic: inverse L2 strength")->capture_default_str();
  propensity->add_option("--rounds", args->rounds, "trees: most rounds")->capture_default_str();
  propensity->add_option("--depth", args->depth, "trees: depth")->capture_default_str();
  propensity->add_option("--learning-rate", args->learning_rate, "trees: shrinkage")
      ->capture_default_str();
  propensity->add_option("--save", args->save,
                         "NAME: the best model's score as trait NAME_score on every profile, and "
                         "segment NAME of the most likely");
  propensity->add_option("--top-share", args->top_share, "share of profiles in segment NAME")
      ->check(CLI::Range(1e-6, 1.0))
      ->capture_default_str();
  propensity->callback([&, args] { exit_code = Run(global, *args, /*models=*/true); });

  auto driver_args = std::make_shared<PropensityArgs>();
  CLI::App* drivers = app.add_subcommand(
      "drivers", "the attributes that drive a binary target, by information value");
  AddTargetOptions(drivers, *driver_args);
  drivers->callback([&, driver_args] { exit_code = Run(global, *driver_args, /*models=*/false); });
}

}  // namespace tailor::cli
