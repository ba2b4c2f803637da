#include "tailor/kmeans.h"

#include <fmt/format.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <random>

#include "analytics/column_stats.h"

namespace tailor::analytics {
namespace {

// Points are processed in this many fixed chunks, and per-chunk sums are added in chunk order:
// the result does not depend on how threads were scheduled.
constexpr size_t kChunks = 64;

double SquaredDistance(const double* a, const double* b, size_t d) {
  double sum = 0;
  for (size_t j = 0; j < d; ++j) {
    const double diff = a[j] - b[j];
    sum += diff * diff;
  }
  return sum;
}

template <typename Body>
void ForChunks(size_t n, Body body) {
  tbb::parallel_for(size_t{0}, kChunks,
                    [&](size_t c) { body(c, n * c / kChunks, n * (c + 1) / kChunks); });
}

// The transformed features (log1p, z-scores) and the statistics to undo the z-scores.
struct Transformed {
  std::vector<double> x;
  std::vector<double> mean, scale;
};

Result<Transformed> Transform(const FeatureMatrix& features, const KMeansOptions& options) {
  const size_t n = features.rows, d = features.columns;
  Transformed t;
  t.x = features.values;
  t.mean.assign(d, 0);
  t.scale.assign(d, 1);
  for (size_t j = 0; j < d; ++j) {
    const bool log = j < options.log1p.size() && options.log1p[j];
    const std::string name = j < features.names.size() ? features.names[j] : std::to_string(j);
    for (size_t i = 0; i < n; ++i) {
      double& v = t.x[i * d + j];
      if (!std::isfinite(v))
        return InvalidArgument("feature '{}' of point {} is not a number", name, i);
      if (log) {
        if (v <= -1)
          return InvalidArgument("feature '{}' of point {} is {} (log needs > -1)", name, i, v);
        v = std::log1p(v);
      }
    }
    if (!options.standardize) continue;
    const ColumnStats stats = StatsOfColumn(t.x.data(), n, d, j);
    t.mean[j] = stats.mean;
    t.scale[j] = stats.scale();
    for (size_t i = 0; i < n; ++i) t.x[i * d + j] = (t.x[i * d + j] - t.mean[j]) / t.scale[j];
  }
  return t;
}

// Greedy k-means++ (as scikit-learn): each new center is the best of 2 + log(k) candidates drawn
// with probability proportional to the squared distance to the nearest center so far.
std::vector<double> SeedCenters(const std::vector<double>& x, size_t n, size_t d, size_t k,
                                uint64_t seed, std::atomic<uint64_t>& distances) {
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<double> centers;
  centers.reserve(k * d);
  const size_t first = std::min<size_t>(n - 1, static_cast<size_t>(uniform(random) * n));
  centers.insert(centers.end(), x.begin() + first * d, x.begin() + (first + 1) * d);
  std::vector<double> closest(n);
  tbb::parallel_for(size_t{0}, n,
                    [&](size_t i) { closest[i] = SquaredDistance(&x[i * d], centers.data(), d); });
  distances += n;
  const size_t trials = 2 + static_cast<size_t>(std::log(static_cast<double>(k)));
  std::vector<double> cumulative(n), best_closest(n), candidate_closest(n);
  for (size_t c = 1; c < k; ++c) {
    std::partial_sum(closest.begin(), closest.end(), cumulative.begin());
    const double total = cumulative.back();
    double best_potential = std::numeric_limits<double>::infinity();
    size_t best = 0;
    for (size_t t = 0; t < trials; ++t) {
      size_t candidate = static_cast<size_t>(
          std::upper_bound(cumulative.begin(), cumulative.end(), uniform(random) * total) -
          cumulative.begin());
      candidate = std::min(candidate, n - 1);
      std::vector<double> chunk_potential(kChunks, 0);
      ForChunks(n, [&](size_t chunk, size_t begin, size_t end) {
        double potential = 0;
        for (size_t i = begin; i < end; ++i) {
          candidate_closest[i] =
              std::min(closest[i], SquaredDistance(&x[i * d], &x[candidate * d], d));
          potential += candidate_closest[i];
        }
        chunk_potential[chunk] = potential;
      });
      distances += n;
      const double potential = std::accumulate(chunk_potential.begin(), chunk_potential.end(), 0.0);
      if (potential < best_potential) {
        best_potential = potential;
        best = candidate;
        best_closest.swap(candidate_closest);
      }
    }
    centers.insert(centers.end(), x.begin() + best * d, x.begin() + (best + 1) * d);
    closest.swap(best_closest);
  }
  return centers;
}

// Inertia, sizes and centers (transformed and in the features' units) of `result.labels`.
void Finish(const std::vector<double>& x, size_t n, size_t d, const std::vector<double>& centers,
            const Transformed& t, const KMeansOptions& options, KMeansResult& result) {
  const size_t k = options.k;
  const std::vector<uint32_t>& label = result.labels;
  std::vector<double> chunk_inertia(kChunks, 0);
  ForChunks(n, [&](size_t chunk, size_t begin, size_t end) {
    double sum = 0;
    for (size_t i = begin; i < end; ++i) {
      sum += SquaredDistance(&x[i * d], &centers[label[i] * d], d);
    }
    chunk_inertia[chunk] = sum;
  });
  result.inertia = std::accumulate(chunk_inertia.begin(), chunk_inertia.end(), 0.0);
  result.seed = options.seed;
  result.sizes.assign(k, 0);
  for (uint32_t c : label) ++result.sizes[c];
  result.centers = centers;
  result.centers_raw = centers;
  for (size_t c = 0; c < k; ++c) {
    for (size_t j = 0; j < d; ++j) {
      double& v = result.centers_raw[c * d + j];
      v = v * t.scale[j] + t.mean[j];
      if (j < options.log1p.size() && options.log1p[j]) v = std::expm1(v);
    }
  }
}

// Mini-batch k-means (Sculley 2010): k-means++ on a sample of 3 batches, then `steps` batches of
// `mini_batch` points drawn with replacement, each point moving its nearest center by 1/(points
// that center has absorbed); one full assignment at the end. Deterministic for the seed.
Result<KMeansResult> MiniBatchKMeans(const Transformed& t, size_t n, size_t d,
                                     const KMeansOptions& options) {
  const size_t k = options.k, batch = options.mini_batch;
  std::mt19937_64 random(options.seed);
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  const std::vector<double>& x = t.x;
  std::atomic<uint64_t> distances{0};
  std::vector<double> centers;
  if (!options.initial_centers.empty()) {
    centers = options.initial_centers;
  } else {
    const size_t sample_size = std::min(n, std::max(3 * batch, k));
    std::vector<double> sample;
    sample.reserve(sample_size * d);
    for (size_t s = 0; s < sample_size; ++s) {
      const size_t i = sample_size == n ? s : pick(random);
      sample.insert(sample.end(), x.begin() + i * d, x.begin() + (i + 1) * d);
    }
    centers = SeedCenters(sample, sample_size, d, k, options.seed, distances);
  }
  std::vector<uint64_t> absorbed(k, 0);
  std::vector<size_t> drawn(batch);
  std::vector<uint32_t> nearest(batch);
  KMeansResult result;
  for (size_t step = 0; step < options.mini_batch_steps; ++step) {
    if (step % 16 == 0) TAILOR_RETURN_IF_ERROR(CheckRun(options.control));
    result.iterations = step + 1;
    for (size_t b = 0; b < batch; ++b) drawn[b] = pick(random);
    tbb::parallel_for(size_t{0}, batch, [&](size_t b) {
      double best = std::numeric_limits<double>::infinity();
      for (uint32_t c = 0; c < k; ++c) {
        const double dist = SquaredDistance(&x[drawn[b] * d], &centers[c * d], d);
        if (dist < best) {
          best = dist;
          nearest[b] = c;
        }
      }
    });
    distances += batch * k;
    for (size_t b = 0; b < batch; ++b) {
      const uint32_t c = nearest[b];
      const double rate = 1.0 / static_cast<double>(++absorbed[c]);
      for (size_t j = 0; j < d; ++j) {
        centers[c * d + j] += rate * (x[drawn[b] * d + j] - centers[c * d + j]);
      }
    }
  }
  TAILOR_RETURN_IF_ERROR(CheckRun(options.control));
  result.labels.assign(n, 0);
  ForChunks(n, [&](size_t, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      double best = std::numeric_limits<double>::infinity();
      for (uint32_t c = 0; c < k; ++c) {
        const double dist = SquaredDistance(&x[i * d], &centers[c * d], d);
        if (dist < best) {
          best = dist;
          result.labels[i] = c;
        }
      }
    }
  });
  result.distance_computations = distances + n * k;
  Finish(x, n, d, centers, t, options, result);
  return result;
}

}  // namespace

Result<KMeansResult> KMeans(const FeatureMatrix& features, const KMeansOptions& options) {
  if (options.restarts > 1 && options.initial_centers.empty()) {
    std::optional<KMeansResult> best;
    // The runs check for cancellation; only this loop reports progress.
    RunControl quiet;
    if (options.control != nullptr) {
      quiet.cancel = options.control->cancel;
      quiet.deadline = options.control->deadline;
    }
    for (size_t run = 0; run < options.restarts; ++run) {
      if (options.control != nullptr) {
        options.control->Report(fmt::format("k-means run {} of {}", run + 1, options.restarts),
                                static_cast<double>(run) / options.restarts);
      }
      KMeansOptions once = options;
      once.restarts = 1;
      once.seed = options.seed + run;
      once.control = options.control != nullptr ? &quiet : nullptr;
      TAILOR_ASSIGN_OR_RETURN(KMeansResult result, KMeans(features, once));
      if (!best || result.inertia < best->inertia) best = std::move(result);
    }
    return std::move(*best);
  }
  const size_t n = features.rows, d = features.columns, k = options.k;
  if (n == 0 || d == 0) return InvalidArgument("no points to cluster");
  if (features.values.size() != n * d) return InvalidArgument("the matrix is not rows x columns");
  if (k == 0) return InvalidArgument("k must be at least 1");
  if (k > n) return InvalidArgument("k = {} is more than the {} points", k, n);
  if (!options.initial_centers.empty() && options.initial_centers.size() != k * d) {
    return InvalidArgument("initial centers: expected {} values, got {}", k * d,
                           options.initial_centers.size());
  }
  TAILOR_ASSIGN_OR_RETURN(Transformed t, Transform(features, options));
  if (options.mini_batch > 0) return MiniBatchKMeans(t, n, d, options);
  const std::vector<double>& x = t.x;
  std::atomic<uint64_t> distances{0};
  std::vector<double> centers = options.initial_centers.empty()
                                    ? SeedCenters(x, n, d, k, options.seed, distances)
                                    : options.initial_centers;
  // The tolerance scaled by the mean variance of the features (scikit-learn's rule).
  double mean_variance = 0;
  for (size_t j = 0; j < d; ++j) {
    const double sd = StatsOfColumn(x.data(), n, d, j).sd;
    mean_variance += sd * sd;
  }
  const double tolerance = options.tolerance * mean_variance / d;

  KMeansResult result;
  std::vector<uint32_t>& label = result.labels;
  label.assign(n, 0);
  std::vector<double> upper(n), lower(n);
  // Nearest and second nearest center of point i, by a full scan.
  auto full_scan = [&](size_t i, uint32_t& nearest, double& first, double& second) {
    first = second = std::numeric_limits<double>::infinity();
    for (uint32_t c = 0; c < k; ++c) {
      const double dist = SquaredDistance(&x[i * d], &centers[c * d], d);
      if (dist < first) {
        second = first;
        first = dist;
        nearest = c;
      } else if (dist < second) {
        second = dist;
      }
    }
    first = std::sqrt(first);
    second = std::sqrt(second);
  };
  std::vector<uint64_t> chunk_distances(kChunks, 0);
  ForChunks(n, [&](size_t chunk, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) full_scan(i, label[i], upper[i], lower[i]);
    chunk_distances[chunk] += (end - begin) * k;
  });

  std::vector<double> half_gap(k), moved(k), sums;
  std::vector<std::vector<double>> chunk_sums(kChunks);
  std::vector<std::vector<uint64_t>> chunk_counts(kChunks);
  for (size_t iteration = 0; iteration < options.max_iterations; ++iteration) {
    TAILOR_RETURN_IF_ERROR(CheckRun(options.control));
    result.iterations = iteration + 1;
    // Update: the mean of each cluster (per chunk, then added in chunk order).
    ForChunks(n, [&](size_t chunk, size_t begin, size_t end) {
      chunk_sums[chunk].assign(k * d, 0);
      chunk_counts[chunk].assign(k, 0);
      for (size_t i = begin; i < end; ++i) {
        const uint32_t c = label[i];
        ++chunk_counts[chunk][c];
        for (size_t j = 0; j < d; ++j) chunk_sums[chunk][c * d + j] += x[i * d + j];
      }
    });
    sums.assign(k * d, 0);
    std::vector<uint64_t> counts(k, 0);
    for (size_t chunk = 0; chunk < kChunks; ++chunk) {
      for (size_t v = 0; v < k * d; ++v) sums[v] += chunk_sums[chunk][v];
      for (size_t c = 0; c < k; ++c) counts[c] += chunk_counts[chunk][c];
    }
    double shift = 0;
    for (size_t c = 0; c < k; ++c) {
      if (counts[c] == 0) {  // an empty cluster keeps its center
        moved[c] = 0;
        continue;
      }
      double squared = 0;
      for (size_t j = 0; j < d; ++j) {
        const double updated = sums[c * d + j] / counts[c];
        squared += (updated - centers[c * d + j]) * (updated - centers[c * d + j]);
        centers[c * d + j] = updated;
      }
      moved[c] = std::sqrt(squared);
      shift += squared;
    }
    // Bounds follow the centers: the assigned one moved at most moved[a] away, any other at most
    // the largest move (the second largest when the largest is the assigned one's).
    size_t farthest = 0;
    for (size_t c = 1; c < k; ++c) {
      if (moved[c] > moved[farthest]) farthest = c;
    }
    double second_farthest = 0;
    for (size_t c = 0; c < k; ++c) {
      if (c != farthest) second_farthest = std::max(second_farthest, moved[c]);
    }
    // Half the distance from each center to its nearest other center: a point closer than that
    // to its own center cannot be closer to another.
    for (size_t c = 0; c < k; ++c) {
      double nearest = std::numeric_limits<double>::infinity();
      for (size_t other = 0; other < k; ++other) {
        if (other != c) {
          nearest = std::min(nearest, SquaredDistance(&centers[c * d], &centers[other * d], d));
        }
      }
      half_gap[c] = k > 1 ? std::sqrt(nearest) / 2 : std::numeric_limits<double>::infinity();
    }
    // Assignment with bounds (Hamerly).
    ForChunks(n, [&](size_t chunk, size_t begin, size_t end) {
      uint64_t computed = 0;
      for (size_t i = begin; i < end; ++i) {
        const uint32_t a = label[i];
        upper[i] += moved[a];
        lower[i] -= a == farthest ? second_farthest : moved[farthest];
        const double bound = std::max(half_gap[a], lower[i]);
        if (upper[i] <= bound) continue;
        upper[i] = std::sqrt(SquaredDistance(&x[i * d], &centers[a * d], d));
        ++computed;
        if (upper[i] <= bound) continue;
        full_scan(i, label[i], upper[i], lower[i]);
        computed += k;
      }
      chunk_distances[chunk] += computed;
    });
    if (shift <= tolerance) break;
  }
  result.distance_computations =
      distances + std::accumulate(chunk_distances.begin(), chunk_distances.end(), uint64_t{0});
  Finish(x, n, d, centers, t, options, result);
  return result;
}

Result<FeatureMatrix> TraitFeatures(const snapshot::Snapshot& snapshot,
                                    const std::vector<std::string>& traits,
                                    std::vector<ProfileId>& ids) {
  if (traits.empty()) return InvalidArgument("no features: name numeric traits");
  std::vector<const snapshot::TraitColumn*> columns;
  for (const std::string& name : traits) {
    const snapshot::TraitColumn* column = snapshot.trait(name);
    if (column == nullptr) return NotFound("no trait '{}'", name);
    if (column->type != TraitType::kInt && column->type != TraitType::kDouble) {
      return InvalidArgument("trait '{}' is {}, not a number", name, TraitTypeName(column->type));
    }
    columns.push_back(column);
  }
  FeatureMatrix m;
  m.names = traits;
  m.columns = traits.size();
  for (ProfileId id = 0; id < snapshot.profile_count(); ++id) {
    if (!snapshot.known().Test(id)) continue;
    const bool complete = std::all_of(columns.begin(), columns.end(),
                                      [id](auto* column) { return column->present.Test(id); });
    if (!complete) continue;
    ids.push_back(id);
    for (const snapshot::TraitColumn* column : columns) {
      m.values.push_back(column->type == TraitType::kInt ? static_cast<double>(column->ints[id])
                                                         : column->doubles[id]);
    }
    ++m.rows;
  }
  return m;
}

std::vector<ClusterName> NameClusters(const FeatureMatrix& features, const KMeansOptions& options,
                                      const KMeansResult& result) {
  const size_t d = features.columns, k = result.sizes.size();
  // z-scores of the centers: the transformed centers when standardized, else computed here.
  std::vector<double> mean(d, 0), sd(d, 1);
  if (!options.standardize) {
    auto transformed = Transform(features, options);
    if (transformed.ok()) {
      for (size_t j = 0; j < d; ++j) {
        const ColumnStats stats = StatsOfColumn(transformed->x.data(), features.rows, d, j);
        mean[j] = stats.mean;
        sd[j] = stats.scale();
      }
    }
  }
  const auto slug_of = [](const std::string& text) {
    std::string slug;
    for (char c : text) {
      const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      slug += std::isalnum(static_cast<unsigned char>(lower)) ? lower : '_';
    }
    return slug;
  };
  uint64_t total = 0;
  for (uint64_t size : result.sizes) total += size;
  std::vector<ClusterName> names(k);
  for (size_t c = 0; c < k; ++c) {
    std::vector<std::pair<double, size_t>> z;
    for (size_t j = 0; j < d; ++j) z.emplace_back((result.centers[c * d + j] - mean[j]) / sd[j], j);
    std::stable_sort(z.begin(), z.end(), [](const auto& a, const auto& b) {
      return std::abs(a.first) > std::abs(b.first);
    });
    std::string slug;
    for (size_t i = 0; i < std::min<size_t>(2, z.size()); ++i) {
      if (std::abs(z[i].first) < 0.5) break;
      const std::string& name =
          z[i].second < features.names.size() ? features.names[z[i].second] : "feature";
      slug += (slug.empty() ? "" : "_") + std::string(z[i].first > 0 ? "high_" : "low_") +
              slug_of(name);
    }
    names[c].slug = slug.empty() ? "average" : slug;
    std::string description =
        fmt::format("cluster {} of {}: {} profiles ({:.1f} %)", c + 1, k, result.sizes[c],
                    total > 0 ? 100.0 * static_cast<double>(result.sizes[c]) / total : 0.0);
    for (const auto& [score, j] : z) {
      description += fmt::format("; {} {:.4g} ({:+.1f} sd)",
                                 j < features.names.size() ? features.names[j] : "feature",
                                 result.centers_raw[c * d + j], score);
    }
    names[c].description = std::move(description);
  }
  return names;
}

void WriteClusterFields(JsonWriter& json, const FeatureMatrix& features, const KMeansResult& result,
                        const std::vector<ClusterName>& names) {
  const size_t d = features.columns, k = result.sizes.size();
  json.Key("points")
      .Uint(features.rows)
      .Key("k")
      .Uint(k)
      .Key("iterations")
      .Uint(result.iterations)
      .Key("inertia")
      .Double(result.inertia)
      .Key("distance_computations")
      .Uint(result.distance_computations)
      .Key("seed")
      .Uint(result.seed)
      .Key("sizes")
      .BeginArray();
  for (uint64_t size : result.sizes) json.Uint(size);
  json.EndArray().Key("names").BeginArray();
  for (const ClusterName& name : names) json.String(name.slug);
  json.EndArray().Key("descriptions").BeginArray();
  for (const ClusterName& name : names) json.String(name.description);
  json.EndArray().Key("centers").BeginArray();
  for (size_t c = 0; c < k; ++c) {
    json.BeginObject();
    for (size_t j = 0; j < d; ++j)
      json.Key(features.names[j]).Double(result.centers_raw[c * d + j]);
    json.EndObject();
  }
  json.EndArray();
}

double Silhouette(const FeatureMatrix& features, const KMeansOptions& options,
                  const std::vector<uint32_t>& labels, size_t sample, uint64_t seed) {
  auto transformed = Transform(features, options);
  if (!transformed.ok() || labels.size() != features.rows) return 0;
  const std::vector<double>& x = transformed->x;
  const size_t n = features.rows, d = features.columns;
  // The sample: every point when few, else a deterministic draw without replacement.
  std::vector<size_t> drawn(n);
  std::iota(drawn.begin(), drawn.end(), 0);
  if (n > sample) {
    std::mt19937_64 random(seed);
    for (size_t i = 0; i < sample; ++i) {
      std::swap(drawn[i], drawn[i + random() % (n - i)]);
    }
    drawn.resize(sample);
  }
  const size_t s = drawn.size();
  uint32_t k = 0;
  for (size_t i : drawn) k = std::max(k, labels[i] + 1);
  std::vector<double> score(s, 0);
  tbb::parallel_for(size_t{0}, s, [&](size_t a) {
    std::vector<double> sum(k, 0);
    std::vector<size_t> count(k, 0);
    for (size_t b = 0; b < s; ++b) {
      if (a == b) continue;
      sum[labels[drawn[b]]] += std::sqrt(SquaredDistance(&x[drawn[a] * d], &x[drawn[b] * d], d));
      ++count[labels[drawn[b]]];
    }
    const uint32_t own = labels[drawn[a]];
    if (count[own] == 0) return;  // alone in its cluster: 0, as scikit-learn
    const double within = sum[own] / count[own];
    double nearest = std::numeric_limits<double>::infinity();
    for (uint32_t c = 0; c < k; ++c) {
      if (c != own && count[c] > 0) nearest = std::min(nearest, sum[c] / count[c]);
    }
    if (!std::isfinite(nearest)) return;
    const double larger = std::max(within, nearest);
    score[a] = larger > 0 ? (nearest - within) / larger : 0;
  });
  return std::accumulate(score.begin(), score.end(), 0.0) / s;
}

void WriteChoiceFields(JsonWriter& json, const KChoices& choices) {
  json.Key("recommended").Uint(choices.recommended).Key("curve").BeginArray();
  for (const KChoice& c : choices.curve) {
    json.BeginObject()
        .Key("k")
        .Uint(c.k)
        .Key("inertia")
        .Double(c.inertia)
        .Key("silhouette")
        .Double(c.silhouette)
        .EndObject();
  }
  json.EndArray();
}

Result<KChoices> ChooseK(const FeatureMatrix& features, size_t k_min, size_t k_max,
                         const KMeansOptions& options, size_t sample) {
  if (k_min < 2 || k_max < k_min) {
    return InvalidArgument("choose k from a range of at least 2, got {}..{}", k_min, k_max);
  }
  if (k_max > features.rows) {
    return InvalidArgument("k = {} is more than the {} points", k_max, features.rows);
  }
  KChoices choices;
  double best = -2;
  RunControl quiet;
  if (options.control != nullptr) {
    quiet.cancel = options.control->cancel;
    quiet.deadline = options.control->deadline;
  }
  for (size_t k = k_min; k <= k_max; ++k) {
    if (options.control != nullptr) {
      options.control->Report(fmt::format("k-means, k = {} ({}..{})", k, k_min, k_max),
                              static_cast<double>(k - k_min) / (k_max - k_min + 1));
    }
    KMeansOptions run = options;
    run.k = k;
    run.initial_centers.clear();
    run.control = options.control != nullptr ? &quiet : nullptr;
    TAILOR_ASSIGN_OR_RETURN(KMeansResult result, KMeans(features, run));
    KChoice choice{k, result.inertia,
                   Silhouette(features, run, result.labels, sample, options.seed)};
    if (choice.silhouette > best) {
      best = choice.silhouette;
      choices.recommended = k;
    }
    choices.curve.push_back(choice);
  }
  return choices;
}

}  // namespace tailor::analytics
