#include "tailor/lookalike.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "analytics/column_stats.h"

namespace tailor::analytics {
namespace {

// Standardized mean difference of feature j between the rows `a` says and those `b` says.
double Smd(const FeatureMatrix& m, size_t j, const std::vector<uint8_t>& a,
           const std::vector<uint8_t>& b) {
  double mean[2] = {0, 0}, sd[2] = {0, 0};
  size_t count[2] = {0, 0};
  for (int g = 0; g < 2; ++g) {
    const std::vector<uint8_t>& in = g == 0 ? a : b;
    double sum = 0;
    for (size_t i = 0; i < m.rows; ++i) {
      if (!in[i]) continue;
      sum += m.row(i)[j];
      ++count[g];
    }
    if (count[g] < 2) return 0;
    mean[g] = sum / count[g];
    double squares = 0;
    for (size_t i = 0; i < m.rows; ++i) {
      if (in[i]) squares += (m.row(i)[j] - mean[g]) * (m.row(i)[j] - mean[g]);
    }
    sd[g] = std::sqrt(squares / (count[g] - 1));
  }
  return StandardizedMeanDifference(mean[0], sd[0], count[0], mean[1], sd[1], count[1]);
}

}  // namespace

Result<Lookalikes> FindLookalikes(const FeatureMatrix& features,
                                  const std::vector<uint8_t>& in_seed,
                                  const LookalikeOptions& options) {
  if (in_seed.size() != features.rows) {
    return InvalidArgument("{} seed flags for {} rows", in_seed.size(), features.rows);
  }
  const size_t seed = std::count(in_seed.begin(), in_seed.end(), 1);
  if (seed == 0)
    return InvalidArgument("the seed segment is empty (among profiles with the features)");
  if (seed == features.rows)
    return InvalidArgument("every profile is in the seed: nobody to score");
  Lookalikes result;
  TAILOR_ASSIGN_OR_RETURN(result.model, FitLogistic(features, in_seed, options.model));
  result.scores.resize(features.rows);
  for (size_t i = 0; i < features.rows; ++i)
    result.scores[i] = result.model.Predict(features.row(i));
  result.auroc = Auroc(result.scores, in_seed);
  for (size_t i = 0; i < features.rows; ++i) {
    if (!in_seed[i]) result.ranked.push_back(i);
  }
  const size_t top = std::min(options.top, result.ranked.size());
  std::partial_sort(result.ranked.begin(), result.ranked.begin() + top, result.ranked.end(),
                    [&](size_t a, size_t b) {
                      return result.scores[a] > result.scores[b] ||
                             (result.scores[a] == result.scores[b] && a < b);
                    });
  result.ranked.resize(top);
  std::vector<uint8_t> outside(features.rows), lookalike(features.rows, 0);
  for (size_t i = 0; i < features.rows; ++i) outside[i] = !in_seed[i];
  for (size_t i : result.ranked) lookalike[i] = 1;
  for (size_t j = 0; j < features.columns; ++j) {
    FeatureCarryOver carry;
    carry.feature = j < features.names.size() ? features.names[j] : std::to_string(j);
    carry.weight = result.model.weights[j];
    carry.seed_smd = Smd(features, j, in_seed, outside);
    carry.lookalike_smd = Smd(features, j, lookalike, outside);
    result.features.push_back(carry);
  }
  std::stable_sort(
      result.features.begin(), result.features.end(),
      [](const auto& a, const auto& b) { return std::abs(a.weight) > std::abs(b.weight); });
  return result;
}

void WriteLookalikeFields(JsonWriter& json, const Lookalikes& found,
                          const std::vector<uint8_t>& in_seed,
                          const std::vector<std::string>& ids) {
  json.Key("profiles")
      .Uint(in_seed.size())
      .Key("seed")
      .Uint(std::count(in_seed.begin(), in_seed.end(), 1))
      .Key("auroc")
      .Double(found.auroc)
      .Key("threshold")
      .Double(found.ranked.empty() ? 1.0 : found.scores[found.ranked.back()])
      .Key("features")
      .BeginArray();
  for (const FeatureCarryOver& f : found.features) {
    json.BeginObject()
        .Key("feature")
        .String(f.feature)
        .Key("weight")
        .Double(f.weight)
        .Key("seed_smd")
        .Double(f.seed_smd)
        .Key("lookalike_smd")
        .Double(f.lookalike_smd)
        .EndObject();
  }
  json.EndArray().Key("lookalikes").BeginArray();
  for (size_t i : found.ranked) {
    json.BeginObject().Key("id").String(ids[i]).Key("score").Double(found.scores[i]).EndObject();
  }
  json.EndArray();
}

}  // namespace tailor::analytics
