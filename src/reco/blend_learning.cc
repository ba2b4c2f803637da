// Learning the serving blend's weights from feedback on a time split (recommender.h,
// BlendReport): what each generator's score is worth is what best ranks the items people went on
// to buy.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "reco/ranker.h"

namespace tailor::reco {
namespace {

constexpr size_t kTop = 10;

// One sampled person: their candidates from their activity before the cut, and which are
// relevant (touched after it).
struct Case {
  std::vector<ScoredCandidate> candidates;
  std::vector<uint8_t> relevant;  // per candidate
  size_t relevant_count = 0;      // all their relevant items, candidates or not
};

// Mean NDCG@10 of `weights` over every other case from `first`.
double MeanNdcg(const std::vector<Case>& cases, size_t first, const WeightArray& weights) {
  double idcg[kTop + 1] = {0};
  for (size_t r = 1; r <= kTop; ++r) idcg[r] = idcg[r - 1] + 1 / std::log2(r + 1.0);
  std::vector<std::pair<double, uint32_t>> ranked;  // score, candidate
  double sum = 0;
  size_t count = 0;
  for (size_t c = first; c < cases.size(); c += 2) {
    const Case& one = cases[c];
    ranked.clear();
    for (uint32_t k = 0; k < one.candidates.size(); ++k) {
      double score = 0;
      for (size_t p = 0; p < kLearnedParts; ++p) score += weights[p] * one.candidates[k].parts[p];
      ranked.emplace_back(score, k);
    }
    const size_t top = std::min(kTop, ranked.size());
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<ptrdiff_t>(top), ranked.end(),
                      [&](const auto& a, const auto& b) {
                        if (a.first != b.first) return a.first > b.first;
                        return one.candidates[a.second].item < one.candidates[b.second].item;
                      });
    double dcg = 0;
    for (size_t r = 0; r < top; ++r) {
      if (one.relevant[ranked[r].second]) dcg += 1 / std::log2(r + 2.0);
    }
    sum += dcg / idcg[std::min(one.relevant_count, kTop)];
    ++count;
  }
  return count > 0 ? sum / static_cast<double>(count) : 0.0;
}

// Parts not learned: progression is the catalogue's rule (the next level of what they own), not
// a guess to be weighed against the others; segment membership is known as of now only, so the
// feedback after the cut may have decided it. Each keeps its default share of the blend whatever
// the others learn.
bool Fixed(size_t part) { return part == kProgressionPart || part == kPopularInSegmentPart; }

WeightArray WithFixedShares(WeightArray weights, const WeightArray& defaults) {
  double learned = 0, given = 0;
  for (size_t p = 0; p < kLearnedParts; ++p) {
    if (Fixed(p)) continue;
    learned += weights[p];
    given += defaults[p];
  }
  for (size_t p = 0; p < kLearnedParts; ++p) {
    if (Fixed(p)) weights[p] = given > 0 ? defaults[p] * learned / given : 0;
  }
  return weights;
}

}  // namespace

std::optional<std::pair<BlendWeights, BlendReport>> LearnBlend(
    const Interactions& interactions, const std::unordered_map<std::string, ItemInput>& items,
    const ModelOptions& options, const RunControl* control) {
  BlendReport report;
  const BlendWeights defaults;
  const auto as_defaults = [&](std::string why) {
    report.why = std::move(why);
    return std::make_optional(std::make_pair(defaults, report));
  };
  if (interactions.pairs.empty()) return as_defaults("no interactions");
  // The cut: the latest holdout_share of the pairs are after it.
  std::vector<Timestamp> times;
  times.reserve(interactions.pairs.size());
  for (const Interaction& pair : interactions.pairs) times.push_back(pair.time);
  const double share = std::clamp(options.holdout_share, 0.0, 1.0);
  const size_t at = std::min(times.size() - 1,
                             static_cast<size_t>((1 - share) * static_cast<double>(times.size())));
  std::nth_element(times.begin(), times.begin() + static_cast<ptrdiff_t>(at), times.end());
  const Timestamp cut = times[at];
  report.cut = cut;
  if (cut == *std::min_element(times.begin(), times.end())) {
    return as_defaults("every pair at one time: no time split");
  }

  std::shared_ptr<Model> past =
      Ranker::Fit(interactions, items, options, cut, /*version=*/0, control, cut);
  if (past == nullptr) return std::nullopt;

  // Each person's pairs on the catalogue, before and after the cut.
  std::vector<std::vector<std::pair<uint32_t, const Interaction*>>> before(
      interactions.users.size()),
      after(interactions.users.size());
  std::vector<uint32_t> to_model(interactions.items.size(), UINT32_MAX);
  for (uint32_t i = 0; i < interactions.items.size(); ++i) {
    if (const auto found = past->Find(interactions.items[i])) to_model[i] = *found;
  }
  bool any_purchase_after = false;
  for (const Interaction& pair : interactions.pairs) {
    const uint32_t item = to_model[pair.item];
    if (item == UINT32_MAX) continue;
    (pair.time < cut ? before : after)[pair.user].emplace_back(item, &pair);
    any_purchase_after = any_purchase_after || (pair.time >= cut && pair.purchased);
  }
  // Feedback: purchases where the data has them (views -> purchases), else every later pair.
  std::vector<uint32_t> eligible;
  for (uint32_t u = 0; u < interactions.users.size(); ++u) {
    if (before[u].empty()) continue;
    const bool has_feedback = std::any_of(after[u].begin(), after[u].end(), [&](const auto& entry) {
      return !any_purchase_after || entry.second->purchased;
    });
    if (has_feedback) eligible.push_back(u);
  }
  if (eligible.size() < options.min_blend_people) {
    return as_defaults(fmt::format("{} people with feedback after the cut; at least {} needed",
                                   eligible.size(), options.min_blend_people));
  }
  std::vector<std::vector<uint32_t>> segments_of(interactions.users.size());  // segment indices
  for (uint32_t s = 0; s < interactions.segment_users.size(); ++s) {
    for (uint32_t u : interactions.segment_users[s]) segments_of[u].push_back(s);
  }
  const size_t stride = (eligible.size() + options.blend_people - 1) / options.blend_people;
  std::vector<Case> cases;
  for (size_t e = 0; e < eligible.size(); e += stride) {
    if (cases.size() % 256 == 0 && !CheckRun(control).ok()) return std::nullopt;
    const uint32_t u = eligible[e];
    Activity activity;
    for (const auto& [item, pair] : before[u]) {
      Activity::Touch touch{item, pair->time, 0, 0, 0};
      (pair->purchased ? touch.purchases : touch.views) = 1;
      activity.touches.push_back(touch);
      ++activity.categories[past->item(item).category];
    }
    std::vector<uint32_t> relevant;
    for (const auto& [item, pair] : after[u]) {
      if (!any_purchase_after || pair->purchased) relevant.push_back(item);
    }
    std::sort(relevant.begin(), relevant.end());
    relevant.erase(std::unique(relevant.begin(), relevant.end()), relevant.end());
    Request request;
    request.count = kTop;
    request.now = cut;
    for (uint32_t s : segments_of[u]) request.segments.push_back(interactions.segment_names[s]);
    Case one;
    Ranker::Rank(*past, activity, request, defaults, &one.candidates);
    for (const ScoredCandidate& candidate : one.candidates) {
      one.relevant.push_back(std::binary_search(relevant.begin(), relevant.end(), candidate.item));
    }
    one.relevant_count = relevant.size();
    report.candidates += one.candidates.size();
    cases.push_back(std::move(one));
  }
  report.people = cases.size();

  // Coordinate ascent on the first half, from the defaults.
  const WeightArray given = ToArray(defaults);
  WeightArray weights = given;
  double best = MeanNdcg(cases, 0, weights);
  for (int sweep = 0; sweep < 2; ++sweep) {
    for (size_t p = 0; p < kLearnedParts; ++p) {
      if (Fixed(p)) continue;
      for (double w : {0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0}) {
        WeightArray trial = weights;
        trial[p] = w;
        trial = WithFixedShares(trial, given);
        const double ndcg = MeanNdcg(cases, 0, trial);
        if (ndcg > best + 1e-12) {
          best = ndcg;
          weights = trial;
        }
      }
    }
    if (!CheckRun(control).ok()) return std::nullopt;
  }
  report.ndcg_default = MeanNdcg(cases, 1, ToArray(defaults));
  report.ndcg_learned = MeanNdcg(cases, 1, weights);
  if (report.ndcg_learned <= report.ndcg_default) {
    return as_defaults("the learned weights were not better on the held-out half");
  }
  report.learned = true;
  return std::make_pair(FromArray(weights), report);
}

}  // namespace tailor::reco
