#pragma once

// k-means clustering of profiles' numeric features: optional log transforms and standardization,
// greedy k-means++ seeding and Hamerly's exact accelerated algorithm (the same assignments as
// Lloyd's iterations from the same seeds, with most distance computations skipped by bounds),
// parallel over points, deterministic for a seed.

#include <cstdint>
#include <string>
#include <vector>

#include "tailor/status.h"

namespace tailor::analytics {

// n points of d features, row-major.
struct FeatureMatrix {
  size_t rows = 0, columns = 0;
  std::vector<double> values;      // rows * columns
  std::vector<std::string> names;  // per column
  const double* row(size_t i) const { return values.data() + i * columns; }
};

struct KMeansOptions {
  size_t k = 8;
  uint64_t seed = 0;
  size_t max_iterations = 100;
  // Converged when the centers' squared movement, summed, is at most tolerance times the mean
  // variance of the (transformed) features (scikit-learn's rule).
  double tolerance = 1e-4;
  bool standardize = true;  // z-scores per feature (constant features become 0)
  std::vector<bool> log1p;  // per feature: log(1 + x) first (x must be > -1)
  // k * d starting centers in the transformed space; empty: greedy k-means++ from `seed`.
  std::vector<double> initial_centers;
};

struct KMeansResult {
  std::vector<uint32_t> labels;     // per point
  std::vector<double> centers;      // k * d, in the transformed (standardized) space
  std::vector<double> centers_raw;  // k * d, back in the features' own units
  std::vector<uint64_t> sizes;      // per cluster
  double inertia = 0;               // sum of squared distances, transformed space
  size_t iterations = 0;
  uint64_t distance_computations = 0;  // what the bounds did not spare
};

// kInvalidArgument: no points, k of 0 or above the number of points, a non-finite value, a
// log transform of a value <= -1.
Result<KMeansResult> KMeans(const FeatureMatrix& features, const KMeansOptions& options);

}  // namespace tailor::analytics
