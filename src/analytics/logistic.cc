#include "tailor/logistic.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "analytics/column_stats.h"

namespace tailor::analytics {

double LogisticModel::Predict(const double* row) const {
  double z = intercept;
  for (size_t j = 0; j < weights.size(); ++j) z += weights[j] * (row[j] - mean[j]) / scale[j];
  return 1 / (1 + std::exp(-z));
}

Result<LogisticModel> FitLogistic(const FeatureMatrix& features, const std::vector<uint8_t>& labels,
                                  const LogisticOptions& options) {
  const size_t n = features.rows, d = features.columns;
  if (labels.size() != n) return InvalidArgument("{} labels for {} rows", labels.size(), n);
  if (options.c <= 0) return InvalidArgument("C must be positive, got {}", options.c);
  const size_t positives = std::count(labels.begin(), labels.end(), 1);
  if (positives == 0 || positives == n) {
    return InvalidArgument("the target has one class only ({} of {} positive)", positives, n);
  }
  LogisticModel model;
  model.mean.assign(d, 0);
  model.scale.assign(d, 1);
  if (options.standardize) {
    for (size_t j = 0; j < d; ++j) {
      const ColumnStats stats = StatsOfColumn(features.values.data(), n, d, j);
      model.mean[j] = stats.mean;
      model.scale[j] = stats.scale();
    }
  }
  // X with a leading column of ones (the intercept).
  Eigen::MatrixXd x(n, d + 1);
  Eigen::VectorXd y(n);
  for (size_t i = 0; i < n; ++i) {
    x(i, 0) = 1;
    for (size_t j = 0; j < d; ++j) {
      const double v = features.row(i)[j];
      if (!std::isfinite(v)) return InvalidArgument("feature {} of row {} is not a number", j, i);
      x(i, j + 1) = (v - model.mean[j]) / model.scale[j];
    }
    y(i) = labels[i];
  }
  // Newton steps on f(w) = C * sum(log(1 + exp(-s z))) + 0.5 * ||w without intercept||^2.
  Eigen::VectorXd w = Eigen::VectorXd::Zero(d + 1);
  Eigen::VectorXd penalty = Eigen::VectorXd::Ones(d + 1);
  penalty(0) = 0;
  for (size_t iteration = 0; iteration < options.max_iterations; ++iteration) {
    TAILOR_RETURN_IF_ERROR(CheckRun(options.control));
    model.iterations = iteration + 1;
    const Eigen::VectorXd p = (1.0 + (-(x * w).array()).exp()).inverse().matrix();
    const Eigen::VectorXd gradient =
        options.c * (x.transpose() * (p - y)) + penalty.cwiseProduct(w);
    if (gradient.cwiseAbs().maxCoeff() <= options.tolerance) break;
    const Eigen::VectorXd curvature = (p.array() * (1 - p.array())).matrix() * options.c;
    // X' diag(curvature) X as a symmetric rank update of sqrt(curvature) X: half the flops of
    // the full product, the largest cost of a step.
    const Eigen::MatrixXd weighted = curvature.cwiseSqrt().asDiagonal() * x;
    Eigen::MatrixXd hessian = Eigen::MatrixXd::Zero(d + 1, d + 1);
    hessian.selfadjointView<Eigen::Lower>().rankUpdate(weighted.transpose());
    hessian.diagonal() += penalty;
    w -= hessian.selfadjointView<Eigen::Lower>().ldlt().solve(gradient);
  }
  model.intercept = w(0);
  model.weights.assign(w.data() + 1, w.data() + 1 + d);
  return model;
}

double Auroc(const std::vector<double>& scores, const std::vector<uint8_t>& labels) {
  const size_t n = scores.size();
  // NaN has no rank (and would break the sort's ordering).
  if (std::any_of(scores.begin(), scores.end(), [](double s) { return std::isnan(s); })) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Mann-Whitney: the positives' mean rank, ties given their average rank.
  double rank_sum = 0;
  size_t positives = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double rank = (i + 1 + j) / 2.0;  // ranks i+1..j
    for (size_t t = i; t < j; ++t) {
      if (labels[order[t]]) {
        rank_sum += rank;
        ++positives;
      }
    }
    i = j;
  }
  const size_t negatives = n - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  return (rank_sum - positives * (positives + 1) / 2.0) /
         (static_cast<double>(positives) * negatives);
}

}  // namespace tailor::analytics
