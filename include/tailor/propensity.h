#pragma once

// Propensity and drivers of a binary target (will buy, did convert): the features a model reads
// from a snapshot (traits, one-hot categories, behaviour as of a cut-off), the drivers of the
// target ranked by information value and mutual information, and propensity models (L2 logistic
// regression, gradient-boosted trees) validated on held-out data (folds, or a later period)
// before their score is written.

#include <cstdint>
#include <string>
#include <vector>

#include "tailor/boosted_trees.h"
#include "tailor/json_writer.h"
#include "tailor/kmeans.h"  // FeatureMatrix
#include "tailor/logistic.h"
#include "tailor/segment_catalog.h"
#include "tailor/snapshot.h"
#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::analytics {

// Where a model's column comes from: drivers are reported per source (a trait, a behaviour),
// with the one-hot columns of a category together.
struct FeatureSource {
  std::string name;
  bool categorical = false;
  std::vector<size_t> columns;      // in the matrix
  std::vector<std::string> labels;  // categorical: the category of each column
};

struct ModelFeatures {
  FeatureMatrix matrix;
  std::vector<FeatureSource> sources;
  std::vector<ProfileId> ids;  // per row
};

// One row per known profile of `snapshot` (or per id of `rows` when not null), one or more
// columns per trait: int, double and timestamp (days since 1970) as they are, bool 0/1, a string
// one-hot over its categories ("<trait>=<value>", every category of the population, as one-hot
// encoders fit on the whole file do), a string list one column per value. A missing number
// (or an infinite one) is NaN (boosted trees learn where it goes; logistic regression imputes
// the training mean), a missing category is all zeros. kNotFound: no such trait.
Result<ModelFeatures> TraitModelFeatures(const snapshot::Snapshot& snapshot,
                                         const std::vector<std::string>& traits,
                                         const std::vector<ProfileId>* rows = nullptr);

// Behaviour as of `as_of` from the snapshot's events before it, per event type in `types`
// (every type when empty; repeats ignored): count, count in the last 30 days, days since the
// last (NaN when none) and, for types that carry amounts (in any event, so that the columns are
// the same whatever `as_of`), their sum. Appended to `features` (same rows). kNotFound: no
// event of a type.
Status AppendBehaviourFeatures(const snapshot::Snapshot& snapshot, Timestamp as_of,
                               const std::vector<std::string>& types, ModelFeatures& features);

// 1 where the row's profile has an event of `type` in [from, to).
std::vector<uint8_t> EventLabels(const snapshot::Snapshot& snapshot,
                                 const std::vector<ProfileId>& ids, std::string_view type,
                                 Timestamp from, Timestamp to);

// ---- Drivers -------------------------------------------------------------------------------

struct DriverBin {
  std::string label;  // "page_values > 28.4", "visitor_type = New_Visitor", "missing"
  uint64_t rows = 0, positives = 0;
  double woe = 0;  // weight of evidence ln(share of positives / share of negatives), smoothed
};

struct Driver {
  std::string feature;
  double information_value = 0;
  double mutual_information = 0;  // bits
  std::string strength;         // by information value: useless, weak, medium, strong, very strong
  std::vector<DriverBin> bins;  // numbers: up to `bins` quantile bins; categories: each
  std::string description;      // plain language: the bin with the highest rate against the base
};

struct DriverOptions {
  size_t bins = 10;  // quantile bins of a number (fewer when it has fewer distinct values)
};

// Every source of `features` against `labels`, by information value, largest first.
// kInvalidArgument: labels not one per row, one class only.
Result<std::vector<Driver>> RankDrivers(const ModelFeatures& features,
                                        const std::vector<uint8_t>& labels,
                                        const DriverOptions& options = {});

// ---- Propensity models ---------------------------------------------------------------------

enum class PropensityModelKind { kLogistic, kBoostedTrees };
std::string_view PropensityModelName(PropensityModelKind kind);  // "logistic", "boosted_trees"

struct PropensityOptions {
  std::vector<PropensityModelKind> models = {PropensityModelKind::kLogistic,
                                             PropensityModelKind::kBoostedTrees};
  LogisticOptions logistic;
  BoostedTreesOptions trees;
  // Progress (per model and fold) and cancellation (passed to the models); null: neither.
  const RunControl* control = nullptr;
};

// A fitted model of either kind; Predict gives probabilities per row of a matrix with the
// columns it was fitted on.
class PropensityModel {
 public:
  PropensityModelKind kind() const { return kind_; }
  // kInvalidArgument when the columns are not the ones fitted on (by name).
  Result<std::vector<double>> Predict(const FeatureMatrix& features) const;
  // Features by importance (|weight| on z-scores, or share of the trees' gain), largest first.
  std::vector<std::pair<std::string, double>> Importance() const;

 private:
  friend Result<PropensityModel> FitPropensity(const FeatureMatrix&, const std::vector<uint8_t>&,
                                               PropensityModelKind, const PropensityOptions&);
  PropensityModelKind kind_ = PropensityModelKind::kLogistic;
  std::vector<double> impute_;  // logistic: the training mean of each column, for NaN
  std::vector<std::string> names_;
  LogisticModel logistic_;
  BoostedTreesModel trees_;
};

Result<PropensityModel> FitPropensity(const FeatureMatrix& features,
                                      const std::vector<uint8_t>& labels, PropensityModelKind kind,
                                      const PropensityOptions& options);

// Average precision (area under the precision-recall curve, scikit-learn's
// average_precision_score: ties at one threshold counted together); 0 without positives, NaN
// when a score is NaN.
double AveragePrecision(const std::vector<double>& scores, const std::vector<uint8_t>& labels);

struct ModelValidation {
  PropensityModelKind kind = PropensityModelKind::kLogistic;
  std::vector<double> auroc, average_precision;  // per fold (one for a held-out period)
  double mean_auroc = 0, mean_average_precision = 0;
  double fit_seconds = 0;  // all folds
};

// k-fold cross-validation: `fold[i]` (0..folds-1) of row i; each fold scored by models fitted on
// the others. kInvalidArgument: a fold without both classes, fewer than 2 folds.
Result<std::vector<ModelValidation>> CrossValidate(const FeatureMatrix& features,
                                                   const std::vector<uint8_t>& labels,
                                                   const std::vector<uint32_t>& fold,
                                                   const PropensityOptions& options);

// A later period: models fitted on (train, train_labels), scored on (test, test_labels).
Result<std::vector<ModelValidation>> ValidateOnPeriod(const FeatureMatrix& train,
                                                      const std::vector<uint8_t>& train_labels,
                                                      const FeatureMatrix& test,
                                                      const std::vector<uint8_t>& test_labels,
                                                      const PropensityOptions& options);

// Folds by a stable hash of each row's external id (`ids`), so a profile keeps its fold.
std::vector<uint32_t> HashFolds(const std::vector<std::string>& ids, uint32_t folds);

// ---- A study: what a front end asks for -----------------------------------------------------

// The target is either a trait (bool, or a number: > 0 is positive), validated by k-fold
// cross-validation, or an event of a type within `horizon_days` after a cut-off, validated on a
// later period: models fitted on behaviour as of cutoff - horizon with the labels of
// [cutoff - horizon, cutoff), scored on behaviour as of the cut-off against the labels of
// [cutoff, cutoff + horizon). The best model by validation AUROC is then fitted on the latest
// labelled data and scores every row (with an event target, on behaviour as of `now`).
struct PropensitySpec {
  std::vector<std::string> traits;  // features (the target trait is never one)
  std::string target_trait;
  std::string target_event;
  int horizon_days = 30;
  Timestamp cutoff = 0;  // 0: now - horizon
  // Event targets: behaviour features of these event types (every type when empty).
  std::vector<std::string> behaviour_types;
  uint32_t folds = 5;
  std::string fold_trait;  // fold = this int trait mod folds; else a hash of the profile id
  PropensityOptions options;
  DriverOptions drivers;
  bool score = true;  // fit the best model on all the data and score every row
};

struct PropensityStudy {
  std::string target;      // in words
  std::string validation;  // "5-fold cross-validation" / "held-out period ..."
  size_t rows = 0, positives = 0;
  std::vector<ModelValidation> models;
  PropensityModelKind best = PropensityModelKind::kLogistic;
  std::vector<Driver> drivers;                             // on the latest labelled data
  std::vector<std::pair<std::string, double>> importance;  // the best model's
  std::vector<ProfileId> ids;                              // rows
  std::vector<double> scores;                              // per row, when scored
};

// With no models in `spec.options`, only the drivers (no validation, no scores). With an event
// target the rows of each date are the known profiles active (an event) before it; traits are
// read as they are now, so a trait that follows the outcome leaks it: use traits fixed in time.
// kNotFound: an unknown trait or event type; kInvalidArgument: no target or both, an ill-typed
// trait, one class only, fewer than
// 2 folds, a cut-off whose horizon ends after `now`.
Result<PropensityStudy> RunPropensity(const snapshot::Snapshot& snapshot,
                                      const PropensitySpec& spec, Timestamp now);

// The validation and drivers as JSON fields of an object the caller opened ("models": [...],
// "best", "drivers": [...]), one spelling for `tailor propensity --json` and the HTTP API.
void WriteValidationFields(JsonWriter& json, const std::vector<ModelValidation>& models);
void WriteDriverFields(JsonWriter& json, const std::vector<Driver>& drivers, size_t top);
// The segment `name` of the `share` (0..1] most likely rows of a scored study:
// `<name>_score >= threshold`, the threshold the score at that quantile.
struct ScoreSegment {
  segments::SegmentDefinition definition;
  double threshold = 0;
  size_t size = 0;  // rows at or above it
};
ScoreSegment PropensitySegment(const std::string& name, const PropensityStudy& study, double share);
// "saved": {trait, profiles_written, segment, threshold, size} of a study saved as `name`.
void WriteSavedFields(JsonWriter& json, const std::string& name, uint64_t profiles_written,
                      const ScoreSegment& segment);
// A study's fields: target, validation, rows, positives, models, best, importance, drivers.
void WriteStudyFields(JsonWriter& json, const PropensityStudy& study, size_t top);

}  // namespace tailor::analytics
