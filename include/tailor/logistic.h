#pragma once

// L2-regularized logistic regression (the model of propensity and lookalike scores), fitted by
// Newton's method (iteratively reweighted least squares) with Eigen. The objective is
// scikit-learn's: C * sum(log loss) + 0.5 * ||w||^2, the intercept not penalized, so that with
// the same C both reach the same optimum.

#include <cstdint>
#include <vector>

#include "tailor/kmeans.h"  // FeatureMatrix
#include "tailor/run_control.h"
#include "tailor/status.h"

namespace tailor::analytics {

struct LogisticOptions {
  double c = 1.0;  // inverse regularization strength
  size_t max_iterations = 100;
  double tolerance = 1e-10;  // on the largest gradient component
  bool standardize = true;   // fit on z-scores (weights reported for the raw features too)
  const RunControl* control = nullptr;  // cancellation, checked every step
};

struct LogisticModel {
  std::vector<double> mean, scale;  // the z-score transform the weights apply to
  std::vector<double> weights;      // per feature, on the transformed features
  double intercept = 0;
  size_t iterations = 0;
  // Probability of the positive class for a row of raw features.
  double Predict(const double* row) const;
};

// kInvalidArgument: labels not the size of the rows, one class only, c <= 0.
Result<LogisticModel> FitLogistic(const FeatureMatrix& features, const std::vector<uint8_t>& labels,
                                  const LogisticOptions& options);

// Area under the ROC curve of `scores` for `labels` (ties count half), as scikit-learn's
// roc_auc_score; NaN when a score is NaN.
double Auroc(const std::vector<double>& scores, const std::vector<uint8_t>& labels);

}  // namespace tailor::analytics
