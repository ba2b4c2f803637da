#pragma once

// Gradient-boosted decision trees for binary targets (propensity), trained by XGBoost (Debian's
// libxgboost, its C API) with the histogram tree method. Missing values (NaN) are learned, not
// imputed: each split sends them the way that lowers the loss.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/json_writer.h"
#include "tailor/kmeans.h"  // FeatureMatrix
#include "tailor/run_control.h"
#include "tailor/status.h"

namespace tailor::analytics {

struct BoostedTreesOptions {
  size_t rounds = 400;  // trees; with early stopping the most, and the best round is kept
  double learning_rate = 0.03;
  int max_depth = 5;
  double min_child_weight = 1;
  double subsample = 0.8;         // rows per tree
  double column_subsample = 0.8;  // features per tree
  double l2 = 1;                  // lambda: L2 penalty on leaf weights
  uint64_t seed = 42;
  int threads = 0;  // 0: every core
  // Share of the training rows (every n-th row, so deterministic) held out to stop early when
  // their log loss has not improved for `patience` rounds; 0 trains every round.
  double early_stopping_fraction = 0.15;
  size_t patience = 50;
  const RunControl* control = nullptr;  // cancellation, checked every round
};

struct FeatureGain {
  std::string feature;
  double gain = 0;  // total gain of the splits on it, as a share of all splits' gain
};

// A fitted model's trees as plain data, to score one row at a time without building an XGBoost
// matrix per call (a live session's purchase readiness on every intent read; its cost:
// `tailor intent --validate-readiness`), and to store beside other models as JSON. Scores equal BoostedTreesModel::Predict's
// (tested): the row is compared in single precision, as XGBoost does, a missing value (NaN)
// follows each split's learned default, and the margin goes through the logistic function.
class TreeEnsemble {
 public:
  struct Node {
    int32_t left = -1;   // -1: a leaf
    int32_t right = -1;  // left + 1 (AddTree lays them out so)
    uint32_t feature = 0;
    float value = 0;  // the split's threshold (a row below it goes left), or the leaf's value
    bool default_left = false;
  };

  // The probability of the positive class; `row` holds columns() values.
  double Predict(const double* row) const;
  size_t columns() const { return columns_; }
  size_t trees() const { return roots_.size(); }

  // {"columns": n, "base_margin": m, "trees": [{"left": [...], "right": [...], "feature": [...],
  //   "value": [...], "default_left": [...]}, ...]}
  void WriteJson(JsonWriter& json) const;
  // That form back; kInvalidArgument naming the place of anything out of shape (a child out of
  // range or not after its parent, a feature not below `columns`).
  static Result<TreeEnsemble> ParseJson(std::string_view json, size_t columns);
  // XGBoost's own JSON model (binary:logistic, gbtree) as plain data.
  static Result<TreeEnsemble> FromXgboostJson(std::string_view json, size_t columns);

 private:
  friend class TreeEnsembleBuilder;
  std::vector<Node> nodes_;  // every tree's nodes, each tree's root first
  std::vector<uint32_t> roots_;
  double base_margin_ = 0;
  size_t columns_ = 0;
};

class BoostedTreesModel {
 public:
  // The kept trees as plain data.
  Result<TreeEnsemble> Ensemble() const;
  // Probability of the positive class for each row of `features`; kInvalidArgument when its
  // columns are not the ones trained on (by name), kInternal for an XGBoost error.
  Result<std::vector<double>> Predict(const FeatureMatrix& features) const;
  size_t rounds() const { return rounds_; }
  // Features by their share of the total gain, largest first (features never split on omitted).
  const std::vector<FeatureGain>& importance() const { return importance_; }

 private:
  friend Result<BoostedTreesModel> FitBoostedTrees(const FeatureMatrix&,
                                                   const std::vector<uint8_t>&,
                                                   const BoostedTreesOptions&);
  std::shared_ptr<void> booster_;  // BoosterHandle of the kept rounds, freed with the last copy
  size_t rounds_ = 0;
  std::vector<std::string> columns_;
  std::vector<FeatureGain> importance_;
};

// kInvalidArgument: labels not the size of the rows, one class only, bad options; kInternal: an
// XGBoost error (its message).
Result<BoostedTreesModel> FitBoostedTrees(const FeatureMatrix& features,
                                          const std::vector<uint8_t>& labels,
                                          const BoostedTreesOptions& options);

}  // namespace tailor::analytics
