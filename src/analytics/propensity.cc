// Propensity models (logistic regression, boosted trees) and their validation on held-out data.

#include "tailor/propensity.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "analytics/column_stats.h"

namespace tailor::analytics {
namespace {

// The rows `rows` of `m`.
FeatureMatrix Subset(const FeatureMatrix& m, const std::vector<size_t>& rows) {
  FeatureMatrix out;
  out.rows = rows.size();
  out.columns = m.columns;
  out.names = m.names;
  out.values.resize(out.rows * out.columns);
  for (size_t r = 0; r < rows.size(); ++r) {
    std::copy_n(m.row(rows[r]), m.columns, out.values.data() + r * m.columns);
  }
  return out;
}

template <typename T>
std::vector<T> Pick(const std::vector<T>& values, const std::vector<size_t>& rows) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (size_t r : rows) out.push_back(values[r]);
  return out;
}

// NaN replaced by `impute[j]`.
FeatureMatrix Imputed(const FeatureMatrix& m, const std::vector<double>& impute) {
  FeatureMatrix out = m;
  for (size_t i = 0; i < out.values.size(); ++i) {
    if (std::isnan(out.values[i])) out.values[i] = impute[i % out.columns];
  }
  return out;
}

}  // namespace

std::string_view PropensityModelName(PropensityModelKind kind) {
  return kind == PropensityModelKind::kLogistic ? "logistic" : "boosted_trees";
}

Result<PropensityModel> FitPropensity(const FeatureMatrix& features,
                                      const std::vector<uint8_t>& labels, PropensityModelKind kind,
                                      const PropensityOptions& options) {
  PropensityModel model;
  model.kind_ = kind;
  model.names_ = features.names;
  // The models check for cancellation; progress is reported by the callers' loops.
  RunControl quiet;
  if (options.control != nullptr) {
    quiet.cancel = options.control->cancel;
    quiet.deadline = options.control->deadline;
  }
  BoostedTreesOptions trees_options = options.trees;
  LogisticOptions logistic_options = options.logistic;
  if (options.control != nullptr) trees_options.control = logistic_options.control = &quiet;
  if (kind == PropensityModelKind::kBoostedTrees) {
    auto trees = FitBoostedTrees(features, labels, trees_options);
    if (!trees.ok()) return trees.status();
    model.trees_ = std::move(trees).value();
    return model;
  }
  // Logistic regression cannot read NaN: the training mean stands in (0 when all are missing).
  model.impute_.assign(features.columns, 0);
  for (size_t j = 0; j < features.columns; ++j) {
    double sum = 0;
    size_t present = 0;
    for (size_t i = 0; i < features.rows; ++i) {
      const double v = features.row(i)[j];
      if (!std::isnan(v)) {
        sum += v;
        ++present;
      }
    }
    if (present > 0) model.impute_[j] = sum / present;
  }
  auto logistic = FitLogistic(Imputed(features, model.impute_), labels, logistic_options);
  if (!logistic.ok()) return logistic.status();
  model.logistic_ = std::move(logistic).value();
  return model;
}

Result<std::vector<double>> PropensityModel::Predict(const FeatureMatrix& features) const {
  if (kind_ == PropensityModelKind::kBoostedTrees) return trees_.Predict(features);
  if (features.names != names_) {
    return InvalidArgument("the features are not the {} columns the model was fitted on",
                           names_.size());
  }
  const FeatureMatrix x = Imputed(features, impute_);
  std::vector<double> scores(x.rows);
  for (size_t i = 0; i < x.rows; ++i) scores[i] = logistic_.Predict(x.row(i));
  return scores;
}

std::vector<std::pair<std::string, double>> PropensityModel::Importance() const {
  std::vector<std::pair<std::string, double>> out;
  if (kind_ == PropensityModelKind::kBoostedTrees) {
    for (const FeatureGain& g : trees_.importance()) out.emplace_back(g.feature, g.gain);
  } else {
    for (size_t j = 0; j < names_.size(); ++j) out.emplace_back(names_[j], logistic_.weights[j]);
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return std::abs(a.second) > std::abs(b.second);
    });
  }
  return out;
}

double AveragePrecision(const std::vector<double>& scores, const std::vector<uint8_t>& labels) {
  const size_t n = scores.size();
  // NaN has no rank (and would break the sort's ordering).
  if (std::any_of(scores.begin(), scores.end(), [](double s) { return std::isnan(s); })) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  const size_t positives = std::count(labels.begin(), labels.end(), 1);
  if (positives == 0) return 0;
  // Sum over thresholds (distinct scores, highest first) of (recall gained) x precision there.
  double ap = 0;
  size_t true_positives = 0, seen = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    size_t gained = 0;
    while (j < n && scores[order[j]] == scores[order[i]]) gained += labels[order[j++]];
    true_positives += gained;
    seen = j;
    ap += static_cast<double>(gained) / positives * true_positives / seen;
    i = j;
  }
  return ap;
}

namespace {

// A score that is not a probability is a bug in a model, never a result to rank by.
Status CheckScores(const std::vector<double>& scores, PropensityModelKind kind) {
  for (size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i])) {
      return Internal("the {} model scored row {} as {}", PropensityModelName(kind), i, scores[i]);
    }
  }
  return Status::Ok();
}

void Summarize(ModelValidation& v) {
  v.mean_auroc = std::accumulate(v.auroc.begin(), v.auroc.end(), 0.0) / v.auroc.size();
  v.mean_average_precision =
      std::accumulate(v.average_precision.begin(), v.average_precision.end(), 0.0) /
      v.average_precision.size();
}

}  // namespace

Result<std::vector<ModelValidation>> CrossValidate(const FeatureMatrix& features,
                                                   const std::vector<uint8_t>& labels,
                                                   const std::vector<uint32_t>& fold,
                                                   const PropensityOptions& options) {
  if (labels.size() != features.rows || fold.size() != features.rows) {
    return InvalidArgument("{} labels and {} folds for {} rows", labels.size(), fold.size(),
                           features.rows);
  }
  const uint32_t folds = features.rows == 0 ? 0 : *std::max_element(fold.begin(), fold.end()) + 1;
  if (folds < 2) return InvalidArgument("cross-validation needs at least 2 folds");
  std::vector<std::vector<size_t>> train(folds), test(folds);
  for (size_t i = 0; i < features.rows; ++i) {
    for (uint32_t f = 0; f < folds; ++f) (fold[i] == f ? test : train)[f].push_back(i);
  }
  for (uint32_t f = 0; f < folds; ++f) {
    const auto test_labels = Pick(labels, test[f]);
    const size_t positives = std::count(test_labels.begin(), test_labels.end(), 1);
    if (positives == 0 || positives == test_labels.size()) {
      return InvalidArgument("fold {} has one class only ({} of {} positive)", f, positives,
                             test_labels.size());
    }
  }
  std::vector<ModelValidation> out;
  for (PropensityModelKind kind : options.models) {
    ModelValidation v;
    v.kind = kind;
    const auto started = std::chrono::steady_clock::now();
    for (uint32_t f = 0; f < folds; ++f) {
      if (options.control != nullptr) {
        options.control->Report(
            fmt::format("{}, fold {} of {}", PropensityModelName(kind), f + 1, folds),
            static_cast<double>(out.size() * folds + f) / (options.models.size() * folds));
      }
      auto model = FitPropensity(Subset(features, train[f]), Pick(labels, train[f]), kind, options);
      if (!model.ok()) return model.status();
      auto scores = model->Predict(Subset(features, test[f]));
      if (!scores.ok()) return scores.status();
      TAILOR_RETURN_IF_ERROR(CheckScores(*scores, kind));
      const auto test_labels = Pick(labels, test[f]);
      v.auroc.push_back(Auroc(*scores, test_labels));
      v.average_precision.push_back(AveragePrecision(*scores, test_labels));
    }
    v.fit_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    Summarize(v);
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::vector<ModelValidation>> ValidateOnPeriod(const FeatureMatrix& train,
                                                      const std::vector<uint8_t>& train_labels,
                                                      const FeatureMatrix& test,
                                                      const std::vector<uint8_t>& test_labels,
                                                      const PropensityOptions& options) {
  if (test_labels.size() != test.rows) {
    return InvalidArgument("{} labels for {} rows", test_labels.size(), test.rows);
  }
  const size_t positives = std::count(test_labels.begin(), test_labels.end(), 1);
  if (positives == 0 || positives == test.rows) {
    return InvalidArgument("the held-out period has one class only ({} of {} positive)", positives,
                           test.rows);
  }
  std::vector<ModelValidation> out;
  for (PropensityModelKind kind : options.models) {
    ModelValidation v;
    v.kind = kind;
    if (options.control != nullptr) {
      options.control->Report(fmt::format("{} on the earlier period", PropensityModelName(kind)),
                              static_cast<double>(out.size()) / options.models.size());
    }
    const auto started = std::chrono::steady_clock::now();
    auto model = FitPropensity(train, train_labels, kind, options);
    if (!model.ok()) return model.status();
    auto scores = model->Predict(test);
    if (!scores.ok()) return scores.status();
    TAILOR_RETURN_IF_ERROR(CheckScores(*scores, kind));
    v.fit_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    v.auroc.push_back(Auroc(*scores, test_labels));
    v.average_precision.push_back(AveragePrecision(*scores, test_labels));
    Summarize(v);
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<uint32_t> HashFolds(const std::vector<std::string>& ids, uint32_t folds) {
  std::vector<uint32_t> out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    out[i] = static_cast<uint32_t>(XXH3_64bits(ids[i].data(), ids[i].size()) % folds);
  }
  return out;
}

void WriteValidationFields(JsonWriter& json, const std::vector<ModelValidation>& models) {
  json.Key("models").BeginArray();
  for (const ModelValidation& v : models) {
    json.BeginObject().Key("model").String(PropensityModelName(v.kind));
    json.Key("auroc").Double(v.mean_auroc);
    json.Key("average_precision").Double(v.mean_average_precision);
    json.Key("auroc_per_fold").BeginArray();
    for (double a : v.auroc) json.Double(a);
    json.EndArray().Key("average_precision_per_fold").BeginArray();
    for (double a : v.average_precision) json.Double(a);
    json.EndArray().Key("fit_seconds").Double(v.fit_seconds).EndObject();
  }
  json.EndArray();
}

}  // namespace tailor::analytics
