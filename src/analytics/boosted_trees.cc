#include "tailor/boosted_trees.h"

#include <fmt/format.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace tailor::analytics {
namespace {

// XGBoost's C API returns -1 and keeps the message per thread.
Status Check(int code, std::string_view what) {
  if (code == 0) return Status::Ok();
  return Internal("xgboost {}: {}", what, XGBGetLastError());
}

struct MatrixDeleter {
  void operator()(void* handle) const { XGDMatrixFree(handle); }
};
using Matrix = std::unique_ptr<void, MatrixDeleter>;

// The rows `rows` of `features` as a float DMatrix (NaN = missing), with `labels` if given.
Result<Matrix> ToMatrix(const FeatureMatrix& features, const std::vector<size_t>& rows,
                        const std::vector<uint8_t>* labels, int threads) {
  std::vector<float> values(rows.size() * features.columns);
  for (size_t r = 0; r < rows.size(); ++r) {
    const double* row = features.row(rows[r]);
    for (size_t j = 0; j < features.columns; ++j) {
      values[r * features.columns + j] = static_cast<float>(row[j]);
    }
  }
  DMatrixHandle handle = nullptr;
  if (Status s = Check(
          XGDMatrixCreateFromMat_omp(values.data(), rows.size(), features.columns,
                                     std::numeric_limits<float>::quiet_NaN(), &handle, threads),
          "matrix");
      !s.ok()) {
    return s;
  }
  Matrix matrix(handle);
  if (labels != nullptr) {
    std::vector<float> y(rows.size());
    for (size_t r = 0; r < rows.size(); ++r) y[r] = (*labels)[rows[r]];
    if (Status s = Check(XGDMatrixSetFloatInfo(handle, "label", y.data(), y.size()), "labels");
        !s.ok()) {
      return s;
    }
  }
  return matrix;
}

Result<std::vector<float>> PredictMatrix(void* booster, void* matrix, size_t rounds) {
  bst_ulong length = 0;
  const float* scores = nullptr;
  if (Status s = Check(
          XGBoosterPredict(booster, matrix, 0, static_cast<unsigned>(rounds), 0, &length, &scores),
          "predict");
      !s.ok()) {
    return s;
  }
  return std::vector<float>(scores, scores + length);
}

double LogLoss(const std::vector<float>& p, const std::vector<uint8_t>& labels,
               const std::vector<size_t>& rows) {
  double sum = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    const double q = std::clamp(static_cast<double>(p[r]), 1e-15, 1 - 1e-15);
    sum -= labels[rows[r]] ? std::log(q) : std::log(1 - q);
  }
  return sum / std::max<size_t>(rows.size(), 1);
}

}  // namespace

Result<std::vector<double>> BoostedTreesModel::Predict(const FeatureMatrix& features) const {
  if (booster_ == nullptr) return InvalidArgument("the model was not fitted");
  if (features.names != columns_) {
    return InvalidArgument("the features are not the {} columns the model was fitted on",
                           columns_.size());
  }
  std::vector<size_t> rows(features.rows);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  auto matrix = ToMatrix(features, rows, nullptr, 0);
  if (!matrix.ok()) return matrix.status();
  auto scores = PredictMatrix(booster_.get(), matrix->get(), 0);
  if (!scores.ok()) return scores.status();
  return std::vector<double>(scores->begin(), scores->end());
}

Result<TreeEnsemble> BoostedTreesModel::Ensemble() const {
  if (booster_ == nullptr) return InvalidArgument("the model was not fitted");
  bst_ulong length = 0;
  const char* text = nullptr;
  if (Status s =
          Check(XGBoosterSaveModelToBuffer(booster_.get(), R"({"format": "json"})", &length, &text),
                "save");
      !s.ok()) {
    return s;
  }
  return TreeEnsemble::FromXgboostJson(std::string_view(text, length), columns_.size());
}

Result<BoostedTreesModel> FitBoostedTrees(const FeatureMatrix& features,
                                          const std::vector<uint8_t>& labels,
                                          const BoostedTreesOptions& options) {
  const size_t n = features.rows;
  if (labels.size() != n) return InvalidArgument("{} labels for {} rows", labels.size(), n);
  const size_t positives = std::count(labels.begin(), labels.end(), 1);
  if (positives == 0 || positives == n) {
    return InvalidArgument("the target has one class only ({} of {} positive)", positives, n);
  }
  if (options.rounds == 0 || options.learning_rate <= 0 || options.max_depth <= 0 ||
      options.subsample <= 0 || options.subsample > 1 || options.column_subsample <= 0 ||
      options.column_subsample > 1 || options.early_stopping_fraction < 0 ||
      options.early_stopping_fraction >= 0.5) {
    return InvalidArgument(
        "boosted trees need rounds > 0, learning rate > 0, depth > 0, subsamples in (0, 1] and "
        "an early-stopping share in [0, 0.5)");
  }
  for (size_t i = 0; i < n * features.columns; ++i) {
    if (std::isinf(features.values[i])) {
      return InvalidArgument("feature {} of row {} is infinite",
                             features.names[i % features.columns], i / features.columns);
    }
  }
  // Every `stride`-th row validates the early stop; the rest train.
  std::vector<size_t> train, validate;
  const size_t stride = options.early_stopping_fraction > 0
                            ? std::max<size_t>(2, std::lround(1 / options.early_stopping_fraction))
                            : 0;
  for (size_t i = 0; i < n; ++i)
    (stride != 0 && i % stride == stride - 1 ? validate : train).push_back(i);
  auto train_matrix = ToMatrix(features, train, &labels, options.threads);
  if (!train_matrix.ok()) return train_matrix.status();
  Matrix validate_matrix;
  if (!validate.empty()) {
    auto made = ToMatrix(features, validate, nullptr, options.threads);
    if (!made.ok()) return made.status();
    validate_matrix = std::move(*made);
  }

  BoosterHandle handle = nullptr;
  DMatrixHandle train_handle = train_matrix->get();
  if (Status s = Check(XGBoosterCreate(&train_handle, 1, &handle), "create"); !s.ok()) return s;
  // Freed when this returns; the model keeps a slice of its best rounds.
  const std::unique_ptr<void, int (*)(BoosterHandle)> trained(handle, XGBoosterFree);
  BoostedTreesModel model;
  model.columns_ = features.names;
  const auto set = [&](const char* name, const std::string& value) {
    return Check(XGBoosterSetParam(handle, name, value.c_str()), name);
  };
  for (const auto& [name, value] : std::vector<std::pair<const char*, std::string>>{
           {"objective", "binary:logistic"},
           {"tree_method", "hist"},
           {"eta", fmt::format("{}", options.learning_rate)},
           {"max_depth", std::to_string(options.max_depth)},
           {"min_child_weight", fmt::format("{}", options.min_child_weight)},
           {"subsample", fmt::format("{}", options.subsample)},
           {"colsample_bytree", fmt::format("{}", options.column_subsample)},
           {"lambda", fmt::format("{}", options.l2)},
           {"seed", std::to_string(options.seed)},
           {"nthread", std::to_string(options.threads)},
           {"verbosity", "0"}}) {
    if (Status s = set(name, value); !s.ok()) return s;
  }
  double best_loss = std::numeric_limits<double>::infinity();
  size_t best_rounds = 0;
  for (size_t round = 0; round < options.rounds; ++round) {
    if (Status s = CheckRun(options.control); !s.ok()) return s;
    if (Status s = Check(XGBoosterUpdateOneIter(handle, static_cast<int>(round), train_handle),
                         "training");
        !s.ok()) {
      return s;
    }
    if (validate.empty()) {
      best_rounds = round + 1;
      continue;
    }
    auto p = PredictMatrix(handle, validate_matrix.get(), round + 1);
    if (!p.ok()) return p.status();
    const double loss = LogLoss(*p, labels, validate);
    if (loss < best_loss - 1e-12) {
      best_loss = loss;
      best_rounds = round + 1;
    } else if (round + 1 - best_rounds >= options.patience) {
      break;
    }
  }
  model.rounds_ = best_rounds;
  // The trees after the best round only fit noise: keep the best ones, for the predictions and
  // for the importance.
  BoosterHandle best = nullptr;
  if (Status s = Check(XGBoosterSlice(handle, 0, static_cast<int>(best_rounds), 1, &best), "slice");
      !s.ok()) {
    return s;
  }
  model.booster_ = std::shared_ptr<void>(best, [](void* h) { XGBoosterFree(h); });

  bst_ulong named = 0, dimensions = 0;
  const char** names = nullptr;
  const bst_ulong* shape = nullptr;
  const float* scores = nullptr;
  if (Status s = Check(XGBoosterFeatureScore(best, R"({"importance_type": "total_gain"})", &named,
                                             &names, &dimensions, &shape, &scores),
                       "feature importance");
      !s.ok()) {
    return s;
  }
  double total = 0;
  for (bst_ulong i = 0; i < named; ++i) total += scores[i];
  for (bst_ulong i = 0; i < named; ++i) {
    // Unnamed features are "f<column>".
    const size_t column = std::strtoul(names[i] + 1, nullptr, 10);
    if (column >= features.columns) continue;
    model.importance_.push_back({features.names[column], total > 0 ? scores[i] / total : 0});
  }
  std::stable_sort(model.importance_.begin(), model.importance_.end(),
                   [](const FeatureGain& a, const FeatureGain& b) { return a.gain > b.gain; });
  return model;
}

}  // namespace tailor::analytics
