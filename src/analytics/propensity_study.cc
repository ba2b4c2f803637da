// A propensity study end to end: target, features, drivers, validated models, scores.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "tailor/json_writer.h"
#include "tailor/propensity.h"

namespace tailor::analytics {
namespace {

constexpr Timestamp kDayMs = 86'400'000;

Result<std::vector<uint8_t>> TraitLabels(const snapshot::Snapshot& snapshot,
                                         const std::string& name,
                                         const std::vector<ProfileId>& ids) {
  const snapshot::TraitColumn* column = snapshot.trait(name);
  if (column == nullptr) return NotFound("no trait '{}' (the target)", name);
  if (column->type != TraitType::kBool && column->type != TraitType::kInt &&
      column->type != TraitType::kDouble) {
    return InvalidArgument("the target trait '{}' is {}: give a bool or a number (> 0 positive)",
                           name, TraitTypeName(column->type));
  }
  std::vector<uint8_t> labels(ids.size(), 0);
  for (size_t r = 0; r < ids.size(); ++r) {
    const ProfileId id = ids[r];
    if (!column->present.Test(id)) continue;
    labels[r] = column->type == TraitType::kDouble ? column->doubles[id] > 0 : column->ints[id] > 0;
  }
  return labels;
}

Result<std::vector<uint32_t>> FoldsOf(const snapshot::Snapshot& snapshot,
                                      const PropensitySpec& spec,
                                      const std::vector<ProfileId>& ids) {
  if (spec.folds < 2) return InvalidArgument("cross-validation needs at least 2 folds");
  std::vector<uint32_t> folds(ids.size());
  if (spec.fold_trait.empty()) {
    std::vector<std::string> external;
    for (ProfileId id : ids) external.emplace_back(snapshot.external_id(id));
    return HashFolds(external, spec.folds);
  }
  const snapshot::TraitColumn* column = snapshot.trait(spec.fold_trait);
  if (column == nullptr) return NotFound("no trait '{}' (the folds)", spec.fold_trait);
  if (column->type != TraitType::kInt) {
    return InvalidArgument("the fold trait '{}' is {}, not an int", spec.fold_trait,
                           TraitTypeName(column->type));
  }
  for (size_t r = 0; r < ids.size(); ++r) {
    if (!column->present.Test(ids[r])) {
      return InvalidArgument("profile '{}' has no '{}' (the folds)", snapshot.external_id(ids[r]),
                             spec.fold_trait);
    }
    const int64_t v = column->ints[ids[r]];
    folds[r] = static_cast<uint32_t>(((v % spec.folds) + spec.folds) % spec.folds);
  }
  return folds;
}

// Rows: the known profiles already active (an event) before `as_of`; a profile that did not exist
// yet would be a certain negative with no history, teaching the model nothing true.
Result<ModelFeatures> FeaturesAsOf(const snapshot::Snapshot& snapshot, const PropensitySpec& spec,
                                   const std::vector<std::string>& traits, Timestamp as_of) {
  const snapshot::EventColumns& events = snapshot.events();
  std::vector<ProfileId> rows;
  for (ProfileId id = 0; id < snapshot.profile_count(); ++id) {
    if (snapshot.known().Test(id) && events.offsets[id] < events.offsets[id + 1] &&
        events.time[events.offsets[id]] < as_of) {
      rows.push_back(id);
    }
  }
  auto features = TraitModelFeatures(snapshot, traits, &rows);
  if (!features.ok()) return features.status();
  if (Status s = AppendBehaviourFeatures(snapshot, as_of, spec.behaviour_types, *features);
      !s.ok()) {
    return s;
  }
  return features;
}

size_t BestOf(const std::vector<ModelValidation>& models) {
  size_t best = 0;
  for (size_t m = 1; m < models.size(); ++m) {
    if (models[m].mean_auroc > models[best].mean_auroc) best = m;
  }
  return best;
}

}  // namespace

Result<PropensityStudy> RunPropensity(const snapshot::Snapshot& snapshot,
                                      const PropensitySpec& spec, Timestamp now) {
  if (spec.target_trait.empty() == spec.target_event.empty()) {
    return InvalidArgument("give one target: a trait, or an event type within a horizon");
  }
  std::vector<std::string> traits;
  for (const std::string& t : spec.traits) {
    if (t != spec.target_trait && std::find(traits.begin(), traits.end(), t) == traits.end()) {
      traits.push_back(t);
    }
  }
  PropensityStudy study;
  ModelFeatures latest;         // the latest labelled data: drivers and the final fit
  std::vector<uint8_t> labels;  // of `latest`
  const bool validate = !spec.options.models.empty();
  if (!spec.target_trait.empty()) {
    if (traits.empty()) return InvalidArgument("no features: name traits");
    auto features = TraitModelFeatures(snapshot, traits);
    if (!features.ok()) return features.status();
    latest = std::move(features).value();
    auto target = TraitLabels(snapshot, spec.target_trait, latest.ids);
    if (!target.ok()) return target.status();
    labels = std::move(target).value();
    study.target = fmt::format("{} (true or > 0)", spec.target_trait);
    study.validation = "none (drivers only)";
    if (validate) {
      auto folds = FoldsOf(snapshot, spec, latest.ids);
      if (!folds.ok()) return folds.status();
      study.validation =
          spec.fold_trait.empty()
              ? fmt::format("{}-fold cross-validation (folds by profile id)", spec.folds)
              : fmt::format("{}-fold cross-validation (fold = {} mod {})", spec.folds,
                            spec.fold_trait, spec.folds);
      auto models = CrossValidate(latest.matrix, labels, *folds, spec.options);
      if (!models.ok()) return models.status();
      study.models = std::move(models).value();
    }
  } else {
    if (spec.horizon_days <= 0) return InvalidArgument("the horizon must be at least one day");
    const Timestamp horizon = spec.horizon_days * kDayMs;
    const Timestamp cutoff = spec.cutoff != 0 ? spec.cutoff : now - horizon;
    if (cutoff + horizon > now) {
      return InvalidArgument("the cut-off {} leaves less than the {}-day horizon before now {}",
                             IsoTime(cutoff), spec.horizon_days, IsoTime(now));
    }
    if (snapshot.events().types.Find(spec.target_event) == snapshot::kNullCode) {
      return NotFound("no event of type '{}' (the target)", spec.target_event);
    }
    auto test = FeaturesAsOf(snapshot, spec, traits, cutoff);
    if (!test.ok()) return test.status();
    labels = EventLabels(snapshot, test->ids, spec.target_event, cutoff, cutoff + horizon);
    study.target = fmt::format("'{}' within {} days", spec.target_event, spec.horizon_days);
    study.validation = "none (drivers only)";
    if (validate) {
      auto train = FeaturesAsOf(snapshot, spec, traits, cutoff - horizon);
      if (!train.ok()) return train.status();
      const std::vector<uint8_t> train_labels =
          EventLabels(snapshot, train->ids, spec.target_event, cutoff - horizon, cutoff);
      study.validation = fmt::format(
          "held-out period: fitted on behaviour as of {} (labels to {}), scored on behaviour as "
          "of {} against [{}, {}); profiles active before each date; traits as they are now",
          IsoTime(cutoff - horizon), IsoTime(cutoff), IsoTime(cutoff), IsoTime(cutoff),
          IsoTime(cutoff + horizon));
      auto models =
          ValidateOnPeriod(train->matrix, train_labels, test->matrix, labels, spec.options);
      if (!models.ok()) return models.status();
      study.models = std::move(models).value();
    }
    latest = std::move(test).value();
  }
  study.rows = latest.matrix.rows;
  study.positives = std::count(labels.begin(), labels.end(), 1);
  auto drivers = RankDrivers(latest, labels, spec.drivers);
  if (!drivers.ok()) return drivers.status();
  study.drivers = std::move(drivers).value();
  if (study.models.empty()) return study;  // drivers only
  study.best = study.models[BestOf(study.models)].kind;
  if (!spec.score) return study;
  if (spec.options.control != nullptr) {
    spec.options.control->Report(
        fmt::format("{} on all the data, scoring", PropensityModelName(study.best)), 0.99);
  }
  auto model = FitPropensity(latest.matrix, labels, study.best, spec.options);
  if (!model.ok()) return model.status();
  study.importance = model->Importance();
  if (spec.target_trait.empty()) {
    auto current = FeaturesAsOf(snapshot, spec, traits, now);
    if (!current.ok()) return current.status();
    study.ids = std::move(current->ids);
    auto scores = model->Predict(current->matrix);
    if (!scores.ok()) return scores.status();
    study.scores = std::move(scores).value();
  } else {
    study.ids = latest.ids;
    auto scores = model->Predict(latest.matrix);
    if (!scores.ok()) return scores.status();
    study.scores = std::move(scores).value();
  }
  return study;
}

ScoreSegment PropensitySegment(const std::string& name, const PropensityStudy& study,
                               double share) {
  ScoreSegment out;
  std::vector<double> sorted;
  for (double score : study.scores) {
    if (std::isfinite(score)) sorted.push_back(score);
  }
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  if (!sorted.empty()) {
    const size_t top = std::clamp<size_t>(
        static_cast<size_t>(std::clamp(share, 0.0, 1.0) * sorted.size()), 1, sorted.size());
    out.threshold = sorted[top - 1];
    out.size =
        std::count_if(sorted.begin(), sorted.end(), [&](double s) { return s >= out.threshold; });
  }
  out.definition.name = name;
  out.definition.objective = segments::Objective::kEngage;
  out.definition.description = fmt::format(
      "the {:.4g} % most likely: {} ({} model, validation AUROC {:.3f}, {})", 100 * share,
      study.target, PropensityModelName(study.best),
      study.models.empty() ? 0.0 : [&] {
        for (const ModelValidation& m : study.models) {
          if (m.kind == study.best) return m.mean_auroc;
        }
        return 0.0;
      }(),
      study.validation);
  out.definition.rule = fmt::format("{}_score >= {:.17g}", name, out.threshold);
  out.definition.tags = {"propensity"};
  return out;
}

void WriteSavedFields(JsonWriter& json, const std::string& name, uint64_t profiles_written,
                      const ScoreSegment& segment) {
  json.Key("saved")
      .BeginObject()
      .Key("trait")
      .String(name + "_score")
      .Key("profiles_written")
      .Uint(profiles_written)
      .Key("segment")
      .String(name)
      .Key("threshold")
      .Double(segment.threshold)
      .Key("size")
      .Uint(segment.size)
      .EndObject();
}

void WriteStudyFields(JsonWriter& json, const PropensityStudy& study, size_t top) {
  json.Key("target").String(study.target);
  json.Key("validation").String(study.validation);
  json.Key("rows").Uint(study.rows).Key("positives").Uint(study.positives);
  WriteValidationFields(json, study.models);
  json.Key("best").String(PropensityModelName(study.best));
  json.Key("importance").BeginArray();
  for (size_t i = 0; i < std::min(top, study.importance.size()); ++i) {
    json.BeginObject()
        .Key("feature")
        .String(study.importance[i].first)
        .Key("importance")
        .Double(study.importance[i].second)
        .EndObject();
  }
  json.EndArray();
  WriteDriverFields(json, study.drivers, top);
}

}  // namespace tailor::analytics
