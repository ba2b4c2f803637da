#pragma once

// k-means clustering of profiles' numeric features: optional log transforms and standardization,
// greedy k-means++ seeding and Hamerly's exact accelerated algorithm (the same assignments as
// Lloyd's iterations from the same seeds, with most distance computations skipped by bounds),
// parallel over points, deterministic for a seed.

#include <cstdint>
#include <string>
#include <vector>

#include "tailor/json_writer.h"
#include "tailor/run_control.h"
#include "tailor/snapshot.h"
#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::analytics {

// n points of d features, row-major.
struct FeatureMatrix {
  size_t rows = 0, columns = 0;
  std::vector<double> values;      // rows * columns
  std::vector<std::string> names;  // per column
  const double* row(size_t i) const { return values.data() + i * columns; }
};

// The numeric (int, double) `traits` of `snapshot` as features, one row per known profile that
// has all of them (`ids`: their dense ids). kNotFound for an unknown trait, kInvalidArgument for
// one that is not a number.
Result<FeatureMatrix> TraitFeatures(const snapshot::Snapshot& snapshot,
                                    const std::vector<std::string>& traits,
                                    std::vector<ProfileId>& ids);

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
  // Runs from seeds seed, seed + 1, ...; the one of least inertia is kept (scikit-learn's n_init).
  size_t restarts = 1;
  // Mini-batch k-means for very large sets when > 0: this many points per step, `mini_batch_steps`
  // steps (k-means++ on a sample of 3 batches, one full assignment at the end); approximate,
  // sublinear in the points until the last pass. 0: the exact algorithm (Hamerly's bounds).
  size_t mini_batch = 0;
  size_t mini_batch_steps = 300;
  // Progress (per run) and cancellation (checked every iteration); null: neither.
  const RunControl* control = nullptr;
};

struct KMeansResult {
  std::vector<uint32_t> labels;     // per point
  std::vector<double> centers;      // k * d, in the transformed (standardized) space
  std::vector<double> centers_raw;  // k * d, back in the features' own units
  std::vector<uint64_t> sizes;      // per cluster
  double inertia = 0;               // sum of squared distances, transformed space
  size_t iterations = 0;
  uint64_t distance_computations = 0;  // what the bounds did not spare
  uint64_t seed = 0;                   // of the run kept
};

// kInvalidArgument: no points, k of 0 or above the number of points, a non-finite value, a
// log transform of a value <= -1.
Result<KMeansResult> KMeans(const FeatureMatrix& features, const KMeansOptions& options);

// A readable name and description per cluster, from its center's z-scores: the name says the
// (at most two) features furthest from the average, at least half a standard deviation away
// ("high_monetary_low_recency_days"; "average" when none is), the description every feature's
// center value and z-score, furthest first, with the cluster's size.
struct ClusterName {
  std::string slug;  // lower case, digits and underscores
  std::string description;
};
std::vector<ClusterName> NameClusters(const FeatureMatrix& features, const KMeansOptions& options,
                                      const KMeansResult& result);

// A clustering's fields into a JSON object the caller opened (points, k, iterations, inertia,
// distance_computations, seed, sizes, names, descriptions, centers in the features' units): one
// spelling for `tailor cluster --json` and the HTTP API.
void WriteClusterFields(JsonWriter& json, const FeatureMatrix& features, const KMeansResult& result,
                        const std::vector<ClusterName>& names);

// Mean silhouette of a clustering, on up to `sample` points drawn with `seed` (distances among
// the drawn points only, as scikit-learn's silhouette_score(sample_size=...)): for each point,
// (b - a) / max(a, b) with a its mean distance to its own cluster and b the smallest mean
// distance to another cluster; in [-1, 1], higher is better separated. Transformed space.
double Silhouette(const FeatureMatrix& features, const KMeansOptions& options,
                  const std::vector<uint32_t>& labels, size_t sample, uint64_t seed);

// For choosing k: k-means for each k in [k_min, k_max] with `options` (its k ignored), the
// inertia curve and the sampled silhouette; `recommended` is the k of the best silhouette (the
// smaller k on a tie).
struct KChoice {
  size_t k = 0;
  double inertia = 0, silhouette = 0;
};
struct KChoices {
  std::vector<KChoice> curve;
  size_t recommended = 0;
};
// The choice's fields into a JSON object the caller opened: recommended, curve (k, inertia,
// silhouette).
void WriteChoiceFields(JsonWriter& json, const KChoices& choices);
Result<KChoices> ChooseK(const FeatureMatrix& features, size_t k_min, size_t k_max,
                         const KMeansOptions& options, size_t sample = 2000);

}  // namespace tailor::analytics
