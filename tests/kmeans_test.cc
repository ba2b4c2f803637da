// k-means (tailor/kmeans.h): Hamerly's bounds must give exactly the assignments of plain Lloyd
// iterations written here from the definition, from the same starting centers; the seeding is
// deterministic; bad input is refused with what is wrong.

#include "tailor/kmeans.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "test_util.h"

namespace tailor::analytics {
namespace {

// Blobs around `k` random centers in `d` dimensions, shuffled.
FeatureMatrix Blobs(size_t n, size_t d, size_t k, double spread, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::normal_distribution<double> noise(0, spread);
  std::uniform_real_distribution<double> place(-10, 10);
  std::vector<double> centers(k * d);
  for (double& v : centers) v = place(random);
  FeatureMatrix m;
  m.rows = n;
  m.columns = d;
  for (size_t i = 0; i < n; ++i) {
    const size_t c = random() % k;
    for (size_t j = 0; j < d; ++j) m.values.push_back(centers[c * d + j] + noise(random));
  }
  for (size_t j = 0; j < d; ++j) m.names.push_back("f" + std::to_string(j));
  return m;
}

struct Lloyd {
  std::vector<uint32_t> labels;
  double inertia = 0;
  size_t iterations = 0;
};

// Textbook Lloyd on raw features: assign every point to its nearest center (lowest index on a
// tie), move each center to its points' mean (an empty one stays), stop when the summed squared
// movement is at most `tolerance`.
Lloyd PlainLloyd(const FeatureMatrix& m, std::vector<double> centers, size_t k,
                 size_t max_iterations, double tolerance) {
  const size_t n = m.rows, d = m.columns;
  Lloyd out;
  out.labels.assign(n, 0);
  auto assign = [&] {
    for (size_t i = 0; i < n; ++i) {
      double best = std::numeric_limits<double>::infinity();
      for (uint32_t c = 0; c < k; ++c) {
        double dist = 0;
        for (size_t j = 0; j < d; ++j) {
          dist += (m.row(i)[j] - centers[c * d + j]) * (m.row(i)[j] - centers[c * d + j]);
        }
        if (dist < best) {
          best = dist;
          out.labels[i] = c;
        }
      }
    }
  };
  assign();
  for (size_t iteration = 0; iteration < max_iterations; ++iteration) {
    out.iterations = iteration + 1;
    std::vector<double> sums(k * d, 0);
    std::vector<size_t> counts(k, 0);
    for (size_t i = 0; i < n; ++i) {
      ++counts[out.labels[i]];
      for (size_t j = 0; j < d; ++j) sums[out.labels[i] * d + j] += m.row(i)[j];
    }
    double shift = 0;
    for (size_t c = 0; c < k; ++c) {
      if (counts[c] == 0) continue;
      for (size_t j = 0; j < d; ++j) {
        const double updated = sums[c * d + j] / counts[c];
        shift += (updated - centers[c * d + j]) * (updated - centers[c * d + j]);
        centers[c * d + j] = updated;
      }
    }
    assign();
    if (shift <= tolerance) break;
  }
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < d; ++j) {
      const double diff = m.row(i)[j] - centers[out.labels[i] * d + j];
      out.inertia += diff * diff;
    }
  }
  return out;
}

TEST(KMeans, HamerlyAssignsExactlyAsLloydFromTheSameCenters) {
  for (uint64_t seed : {1, 2, 3}) {
    const size_t k = 3 + seed * 2, d = 2 + seed;
    // Overlapping blobs, so that points change clusters for many iterations.
    FeatureMatrix m = Blobs(4000, d, k, 4.0, seed);
    std::vector<double> start(m.values.begin(), m.values.begin() + k * d);  // the first k points
    KMeansOptions options;
    options.k = k;
    options.standardize = false;
    options.max_iterations = 200;
    options.tolerance = 0;  // run until nothing moves, as the plain version below
    options.initial_centers = start;
    auto fast = KMeans(m, options);
    ASSERT_TRUE(fast.ok()) << fast.status().ToString();
    const Lloyd plain = PlainLloyd(m, start, k, 200, 0);
    EXPECT_EQ(fast->labels, plain.labels) << "seed " << seed;
    EXPECT_EQ(fast->iterations, plain.iterations) << "seed " << seed;
    EXPECT_NEAR(fast->inertia, plain.inertia, 1e-9 * plain.inertia) << "seed " << seed;
    EXPECT_GT(fast->iterations, 5u);
    // The bounds spared most distance computations.
    EXPECT_LT(fast->distance_computations, fast->iterations * m.rows * k / 2);
  }
}

TEST(KMeans, SeededRunsAreDeterministicAndFindSeparatedBlobs) {
  FeatureMatrix m = Blobs(3000, 3, 4, 0.3, 11);
  KMeansOptions options;
  options.k = 4;
  options.seed = 7;
  auto first = KMeans(m, options);
  auto second = KMeans(m, options);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->labels, second->labels);
  EXPECT_EQ(first->inertia, second->inertia);
  // Restarts keep the least inertia of the seeds tried.
  options.restarts = 4;
  auto best = KMeans(m, options);
  ASSERT_TRUE(best.ok());
  for (uint64_t seed = 7; seed < 11; ++seed) {
    KMeansOptions once = options;
    once.restarts = 1;
    once.seed = seed;
    auto run = KMeans(m, once);
    ASSERT_TRUE(run.ok());
    EXPECT_LE(best->inertia, run->inertia);
    if (seed == best->seed) EXPECT_EQ(best->labels, run->labels);
  }
  options.restarts = 1;
  // Well separated: every cluster holds points of one blob only, so the within-cluster spread is
  // the noise's (standardized space, 3 dimensions).
  EXPECT_LT(first->inertia / m.rows, 0.05);
  for (uint64_t size : first->sizes) EXPECT_GT(size, 500u);
  // Raw centers are back in the features' units: each is the mean of its points.
  for (size_t c = 0; c < 4; ++c) {
    double sum = 0;
    size_t count = 0;
    for (size_t i = 0; i < m.rows; ++i) {
      if (first->labels[i] == c) {
        sum += m.row(i)[0];
        ++count;
      }
    }
    EXPECT_NEAR(first->centers_raw[c * 3], sum / count, 1e-6);
  }
}

// Silhouette from its definition, every pair, for the check below.
double PlainSilhouette(const FeatureMatrix& m, const std::vector<uint32_t>& labels, uint32_t k) {
  double total = 0;
  for (size_t a = 0; a < m.rows; ++a) {
    std::vector<double> sum(k, 0);
    std::vector<size_t> count(k, 0);
    for (size_t b = 0; b < m.rows; ++b) {
      if (a == b) continue;
      double squared = 0;
      for (size_t j = 0; j < m.columns; ++j) {
        squared += (m.row(a)[j] - m.row(b)[j]) * (m.row(a)[j] - m.row(b)[j]);
      }
      sum[labels[b]] += std::sqrt(squared);
      ++count[labels[b]];
    }
    if (count[labels[a]] == 0) continue;
    const double within = sum[labels[a]] / count[labels[a]];
    double nearest = std::numeric_limits<double>::infinity();
    for (uint32_t c = 0; c < k; ++c) {
      if (c != labels[a] && count[c] > 0) nearest = std::min(nearest, sum[c] / count[c]);
    }
    total += (nearest - within) / std::max(within, nearest);
  }
  return total / m.rows;
}

// Mini-batch: near the exact optimum on blobs, deterministic for the seed, every point labelled
// with its nearest final center.
TEST(KMeans, MiniBatchComesCloseToTheExactOptimum) {
  const FeatureMatrix m = Blobs(60'000, 4, 6, 0.6, 3);
  KMeansOptions exact;
  exact.k = 6;
  exact.restarts = 3;
  ASSERT_OK_AND_ASSIGN(KMeansResult best, KMeans(m, exact));
  KMeansOptions mini = exact;
  mini.restarts = 1;
  mini.mini_batch = 512;
  mini.mini_batch_steps = 200;
  ASSERT_OK_AND_ASSIGN(KMeansResult approx, KMeans(m, mini));
  EXPECT_LE(approx.inertia, best.inertia * 1.02);
  EXPECT_EQ(approx.iterations, 200u);
  // One full pass, the batches, and k-means++ on a sample of 3 batches only.
  EXPECT_LT(approx.distance_computations,
            m.rows * mini.k + 200 * 512 * mini.k + 3 * 512 * mini.k * 6);
  ASSERT_OK_AND_ASSIGN(KMeansResult again, KMeans(m, mini));
  EXPECT_EQ(again.labels, approx.labels);
  EXPECT_EQ(again.centers, approx.centers);
  // Labels: the nearest final center (transformed space = z-scores of the columns here).
  const size_t d = m.columns;
  std::vector<double> mean(d), sd(d);
  for (size_t j = 0; j < d; ++j) {
    for (size_t i = 0; i < m.rows; ++i) mean[j] += m.row(i)[j] / m.rows;
    for (size_t i = 0; i < m.rows; ++i) sd[j] += std::pow(m.row(i)[j] - mean[j], 2) / m.rows;
    sd[j] = std::sqrt(sd[j]);
  }
  for (size_t i = 0; i < m.rows; i += 101) {
    double nearest = std::numeric_limits<double>::infinity();
    uint32_t label = 0;
    for (uint32_t c = 0; c < mini.k; ++c) {
      double dist = 0;
      for (size_t j = 0; j < d; ++j) {
        dist += std::pow((m.row(i)[j] - mean[j]) / sd[j] - approx.centers[c * d + j], 2);
      }
      if (dist < nearest) {
        nearest = dist;
        label = c;
      }
    }
    EXPECT_EQ(approx.labels[i], label) << i;
  }
  uint64_t total = 0;
  for (uint64_t size : approx.sizes) total += size;
  EXPECT_EQ(total, m.rows);
}

TEST(KMeans, SilhouetteAndChoosingKFindTheBlobs) {
  // Four blobs at the corners of a square, well apart.
  FeatureMatrix m;
  m.rows = 600;
  m.columns = 2;
  m.names = {"x", "y"};
  std::mt19937_64 random(5);
  std::normal_distribution<double> noise(0, 0.5);
  for (size_t i = 0; i < m.rows; ++i) {
    m.values.push_back((i % 2) * 10.0 + noise(random));
    m.values.push_back((i / 2 % 2) * 10.0 + noise(random));
  }
  KMeansOptions options;
  options.standardize = false;
  options.seed = 3;
  options.k = 4;
  auto result = KMeans(m, options);
  ASSERT_TRUE(result.ok());
  // Every point sampled: equal to the definition.
  EXPECT_NEAR(Silhouette(m, options, result->labels, 1000, 1),
              PlainSilhouette(m, result->labels, 4), 1e-9);
  // Names from the centers: the corners are high/low in x and y.
  const std::vector<ClusterName> names = NameClusters(m, options, *result);
  std::set<std::pair<bool, bool>> corners;  // (high x, high y), from the names
  for (const ClusterName& name : names) {
    const bool high_x = name.slug.find("high_x") != std::string::npos;
    const bool high_y = name.slug.find("high_y") != std::string::npos;
    EXPECT_NE(high_x || name.slug.find("low_x") != std::string::npos, false) << name.slug;
    EXPECT_NE(high_y || name.slug.find("low_y") != std::string::npos, false) << name.slug;
    corners.emplace(high_x, high_y);
    EXPECT_NE(name.description.find("150 profiles (25.0 %)"), std::string::npos)
        << name.description;
  }
  EXPECT_EQ(corners.size(), 4u);
  auto choices = ChooseK(m, 2, 7, options, 600);
  ASSERT_TRUE(choices.ok()) << choices.status().ToString();
  EXPECT_EQ(choices->recommended, 4u);
  ASSERT_EQ(choices->curve.size(), 6u);
  for (size_t i = 1; i < choices->curve.size(); ++i) {
    EXPECT_LT(choices->curve[i].inertia, choices->curve[i - 1].inertia * 1.0001);
  }
  EXPECT_EQ(ChooseK(m, 1, 3, options).status().code(), StatusCode::kInvalidArgument);
}

TEST(KMeans, BadInputIsRefusedWithWhatIsWrong) {
  FeatureMatrix m = Blobs(10, 2, 2, 1.0, 1);
  KMeansOptions options;
  options.k = 11;
  EXPECT_NE(KMeans(m, options).status().message().find("more than the 10 points"),
            std::string::npos);
  options.k = 2;
  m.values[3] = std::nan("");
  EXPECT_NE(KMeans(m, options).status().message().find("feature 'f1' of point 1"),
            std::string::npos);
  m.values[3] = -2;
  options.log1p = {false, true};
  EXPECT_NE(KMeans(m, options).status().message().find("log needs > -1"), std::string::npos);
  EXPECT_EQ(KMeans(FeatureMatrix{}, options).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tailor::analytics
