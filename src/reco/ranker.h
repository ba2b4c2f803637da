#pragma once

// The serving model's internals shared by its files: training on the pairs before a time, the
// ranking with each generator's score kept per candidate (what learning the blend reads), and
// learning the blend (blend_learning.cc).

#include <array>
#include <limits>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tailor/recommender.h"

namespace tailor::reco {

// The generators whose weights are learned, in BlendWeights' order.
enum LearnedPart : uint8_t {
  kProgressionPart,
  kBrowsingPart,
  kAlsoBoughtPart,
  kLikeYouPart,
  kSimilarPart,
  kPopularInSegmentPart,
  kPopularInCategoryPart,
  kPopularPart,
  kLearnedParts
};
using WeightArray = std::array<double, kLearnedParts>;
WeightArray ToArray(const BlendWeights& weights);
BlendWeights FromArray(const WeightArray& weights);

// One candidate with each learned generator's own score (before its weight).
struct ScoredCandidate {
  uint32_t item = 0;
  std::array<float, kLearnedParts> parts{};
};

constexpr Timestamp kNoCut = std::numeric_limits<Timestamp>::max();

struct Ranker {
  using Ranked = Model::Ranked;
  // The model of the pairs with a time before `before` (all: kNoCut), with the default blend.
  // Null when `control` asked to stop.
  static std::shared_ptr<Model> Fit(const Interactions& interactions,
                                    const std::unordered_map<std::string, ItemInput>& items,
                                    const ModelOptions& options, Timestamp now, uint64_t version,
                                    const RunControl* control, Timestamp before);
  // Recommend with `weights`; with `scored`, the candidates and their parts instead (the
  // answer is then empty; intent adds nothing).
  static std::vector<Recommendation> Rank(const Model& model, const Activity& activity,
                                          const Request& request, const BlendWeights& weights,
                                          std::vector<ScoredCandidate>* scored);
  // like_you's search: the person's vector folded in from what they touched, then the k items
  // of the largest inner product with it (none without factors or touches).
  // similar's picks for a person (Activity::SimilarPick), each of their strongest tokens' popular
  // items read `depth` deep, touches weighed as of `now`.
  static std::vector<Activity::SimilarPick> Similar(const Model& model, const Activity& activity,
                                                    Timestamp now, size_t depth);
  // also_bought's picks (Activity::AlsoPick): the neighbours of what they touched, each touch
  // weighed by its kind and recency as of `now`, the strongest 4 x `depth` sums, best first.
  static std::vector<Activity::AlsoPick> AlsoBought(const Model& model, const Activity& activity,
                                                    Timestamp now, size_t depth);
  static std::vector<std::pair<uint32_t, float>> Nearest(const Model& model,
                                                         const Activity& activity, size_t k);
  static void SetBlend(Model& model, const BlendWeights& weights, BlendReport report) {
    model.blend_ = weights;
    model.blend_report_ = std::move(report);
  }
  static void SetTrainSeconds(Model& model, double seconds) {
    model.stats_.train_seconds = seconds;
  }
};

// The blend learned from the pairs after the cut (BlendReport). Nullopt when `control` asked to
// stop.
std::optional<std::pair<BlendWeights, BlendReport>> LearnBlend(
    const Interactions& interactions, const std::unordered_map<std::string, ItemInput>& items,
    const ModelOptions& options, const RunControl* control);

}  // namespace tailor::reco
