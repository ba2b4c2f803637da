#include "tailor/recommender.h"

#include <fmt/format.h>

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "reco/cooccurrence.h"
#include "reco/factors.h"
#include "reco/item_index.h"
#include "reco/ranker.h"

namespace tailor::reco {
namespace {

constexpr double kDayMs = 86'400'000.0;

// Intent's weights (the learned ones are BlendWeights).
constexpr double kComparedWeight = 2.5;      // best offer: the items they compared
constexpr double kKeepsViewingWeight = 6.0;  // concerns: the item they keep looking at
constexpr size_t kInspirationPerCategory = 2;
constexpr double kTouchHalfLifeDays = 30;
constexpr size_t kNearestDepth = 30;  // how deep a ten-item answer reads each generator  //
                                      // also_bought: a touch this old counts half

double Decay(Timestamp age_ms, double half_life_days) {
  if (age_ms <= 0 || half_life_days <= 0) return 1.0;
  return std::exp2(-static_cast<double>(age_ms) / (half_life_days * kDayMs));
}

std::optional<std::string> StringAttribute(const TraitMap& attributes, std::string_view name) {
  if (name.empty()) return std::nullopt;
  for (const auto& [key, value] : attributes) {
    if (key != name) continue;
    if (const auto* text = std::get_if<std::string>(&value.value)) return *text;
    return std::nullopt;
  }
  return std::nullopt;
}

// A bool attribute (true/false, or the text "true"/"false", or a number: nonzero), else nullopt.
std::optional<bool> BoolAttribute(const TraitMap& attributes, std::string_view name) {
  if (name.empty()) return std::nullopt;
  for (const auto& [key, value] : attributes) {
    if (key != name) continue;
    if (const auto* flag = std::get_if<bool>(&value.value)) return *flag;
    if (const auto* number = std::get_if<int64_t>(&value.value)) return *number != 0;
    if (const auto* text = std::get_if<std::string>(&value.value)) {
      if (*text == "true") return true;
      if (*text == "false") return false;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

// The best `keep` of `scores` (item, score; zero scores included), ties by item order.
std::vector<std::pair<uint32_t, float>> Best(std::vector<std::pair<uint32_t, float>> scores,
                                             size_t keep) {
  const auto better = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  const size_t top = std::min(keep, scores.size());
  std::partial_sort(scores.begin(), scores.begin() + static_cast<ptrdiff_t>(top), scores.end(),
                    better);
  scores.resize(top);
  return scores;
}

// Popularity with a floor: an item nobody touched yet (a new catalogue) still fills the list, in
// catalogue order, after every item someone did touch.
double Floored(float popularity) { return 0.05 + 0.95 * static_cast<double>(popularity); }

}  // namespace

WeightArray ToArray(const BlendWeights& w) {
  return {w.progression, w.browsing,           w.also_bought,         w.like_you,
          w.similar,     w.popular_in_segment, w.popular_in_category, w.popular};
}

BlendWeights FromArray(const WeightArray& w) {
  BlendWeights out;
  out.progression = w[kProgressionPart];
  out.browsing = w[kBrowsingPart];
  out.also_bought = w[kAlsoBoughtPart];
  out.like_you = w[kLikeYouPart];
  out.similar = w[kSimilarPart];
  out.popular_in_segment = w[kPopularInSegmentPart];
  out.popular_in_category = w[kPopularInCategoryPart];
  out.popular = w[kPopularPart];
  return out;
}

std::shared_ptr<const Model> Model::Train(const Interactions& interactions,
                                          const std::unordered_map<std::string, ItemInput>& items,
                                          const ModelOptions& options, Timestamp now,
                                          uint64_t version, const RunControl* control) {
  const auto started = std::chrono::steady_clock::now();
  std::shared_ptr<Model> model =
      Ranker::Fit(interactions, items, options, now, version, control, kNoCut);
  if (model == nullptr) return nullptr;
  if (options.blend) {
    BlendReport given;
    given.why = "given";
    Ranker::SetBlend(*model, *options.blend, std::move(given));
  } else {
    auto learned = LearnBlend(interactions, items, options, control);
    if (!learned) return nullptr;
    Ranker::SetBlend(*model, learned->first, std::move(learned->second));
  }
  Ranker::SetTrainSeconds(
      *model, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return model;
}

std::shared_ptr<Model> Ranker::Fit(const Interactions& interactions,
                                   const std::unordered_map<std::string, ItemInput>& items,
                                   const ModelOptions& options, Timestamp now, uint64_t version,
                                   const RunControl* control, Timestamp before) {
  const auto stopped = [control] { return !CheckRun(control).ok(); };
  auto model = std::make_shared<Model>();
  Model& m = *model;
  m.version_ = version;
  m.trained_at_ = now;
  m.options_ = options;
  const CatalogueOptions& catalogue = options.catalogue;

  // Items in the protocol's natural id order, so that every tie is broken the same way.
  std::vector<const ItemInput*> ordered;
  ordered.reserve(items.size());
  for (const auto& [id, item] : items) ordered.push_back(&item);
  std::sort(ordered.begin(), ordered.end(),
            [](const ItemInput* a, const ItemInput* b) { return ItemIdLess(a->id, b->id); });
  m.items_.reserve(ordered.size());
  for (const ItemInput* input : ordered) {
    ItemFacts facts;
    facts.id = input->id;
    facts.name = input->name;
    facts.category = input->category;
    facts.kind =
        StringAttribute(input->attributes, catalogue.kind_attribute).value_or(input->category);
    if (input->price) facts.price = input->price->ToDouble();
    if (const auto level = StringAttribute(input->attributes, catalogue.level_attribute)) {
      const auto found = std::find(catalogue.levels.begin(), catalogue.levels.end(), *level);
      if (found != catalogue.levels.end()) {
        facts.level = static_cast<int>(found - catalogue.levels.begin());
        ++m.stats_.items_with_level;
      } else if (!level->empty()) {
        ++m.stats_.levels_outside_order;
      }
    }
    facts.consumable =
        BoolAttribute(input->attributes, catalogue.consumable_attribute).value_or(false);
    facts.in_stock = BoolAttribute(input->attributes, catalogue.stock_attribute).value_or(true);
    m.items_.push_back(std::move(facts));
  }
  m.kinds_.reserve(m.items_.size());
  {
    std::unordered_map<std::string, uint32_t> kind_of;
    for (ItemFacts& item : m.items_) {
      auto [at, added] = kind_of.try_emplace(item.kind, static_cast<uint32_t>(kind_of.size()));
      if (added) m.kinds_.push_back(item.kind);
      item.kind_id = at->second;
    }
  }
  for (uint32_t k = 0; k < m.kinds_.size(); ++k) m.kind_index_.emplace(m.kinds_[k], k);
  m.filters_.reserve(m.items_.size());
  for (const ItemFacts& item : m.items_) {
    m.filters_.push_back({item.kind_id, item.price, static_cast<int16_t>(item.level),
                          item.consumable, item.in_stock});
  }
  for (uint32_t i = 0; i < m.items_.size(); ++i) m.index_.emplace(m.items_[i].id, i);
  const size_t n = m.items_.size();
  m.stats_.catalogue_items = n;
  m.stats_.items = n;

  // Interactions on catalogue items: popularity (recency-weighted, a purchase worth more than a
  // look) and each user's touched items for co-occurrence.
  std::vector<uint32_t> to_model(interactions.items.size(), UINT32_MAX);
  for (uint32_t i = 0; i < interactions.items.size(); ++i) {
    if (const auto found = m.Find(interactions.items[i])) to_model[i] = *found;
  }
  std::vector<double> popularity(n, 0.0);
  std::vector<WeightedItems> users(interactions.users.size());
  std::vector<uint8_t> active(interactions.users.size(), 0);
  for (const Interaction& pair : interactions.pairs) {
    if (pair.time >= before) continue;  // feedback for learning the blend
    const uint32_t item = to_model[pair.item];
    if (item == UINT32_MAX) {
      ++m.stats_.interacted_items_unknown;
      continue;
    }
    const double decay = Decay(now - pair.time, options.half_life_days);
    popularity[item] += decay * (pair.purchased ? 1.0 : 0.3);
    users[pair.user].emplace_back(item, 1.0);
    active[pair.user] = 1;
    ++m.stats_.pairs;
  }
  m.stats_.profiles = static_cast<size_t>(std::count(active.begin(), active.end(), uint8_t{1}));
  const double most = n > 0 ? *std::max_element(popularity.begin(), popularity.end()) : 0.0;
  m.popularity_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    m.popularity_[i] = most > 0 ? static_cast<float>(popularity[i] / most) : 0.0f;
  }
  std::vector<uint32_t> rank(n);
  std::iota(rank.begin(), rank.end(), 0);  // items_ is in id order already
  if (stopped()) return nullptr;
  const Neighbours neighbours =
      CoOccurrence(users, n, options.neighbours, options.shrink, rank, stopped);
  if (stopped()) return nullptr;
  m.neighbours_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    Ranked row;
    row.reserve(neighbours[i].size());
    for (const auto& [j, s] : neighbours[i]) row.emplace_back(j, static_cast<float>(s));
    m.neighbours_[i] = Best(std::move(row), options.neighbours);
  }

  // like_you: iALS factors of who touched what, the items' in an index.
  if (options.factors > 0 && m.stats_.pairs > 0) {
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Eigen::Index f = static_cast<Eigen::Index>(options.factors);
    std::vector<std::vector<uint32_t>> items_of, users_of(n);
    for (const WeightedItems& touched : users) {
      if (touched.empty()) continue;
      items_of.emplace_back();
      for (const auto& [item, weight] : touched) {
        items_of.back().push_back(item);
        users_of[item].push_back(static_cast<uint32_t>(items_of.size() - 1));
      }
    }
    std::mt19937_64 random(42);
    std::normal_distribution<float> normal(0.0f, 0.01f);
    RowMajor item_factors(static_cast<Eigen::Index>(n), f);
    for (Eigen::Index i = 0; i < item_factors.size(); ++i) item_factors.data()[i] = normal(random);
    RowMajor user_factors = RowMajor::Zero(static_cast<Eigen::Index>(items_of.size()), f);
    const auto reg = static_cast<float>(options.factor_reg);
    const auto alpha = static_cast<float>(options.factor_alpha);
    for (size_t iteration = 0; iteration < options.factor_iterations; ++iteration) {
      IalsHalf(items_of, item_factors, reg, alpha, 3, user_factors);
      IalsHalf(users_of, user_factors, reg, alpha, 3, item_factors);
      if (stopped()) return nullptr;
    }
    Eigen::MatrixXf gram = item_factors.transpose() * item_factors;
    gram.diagonal().array() += reg;
    m.item_gram_.assign(gram.data(), gram.data() + gram.size());  // symmetric: either order
    ItemIndex::Options index_options;
    index_options.ann_min_items = options.ann_min_items;
    std::shared_ptr<ItemIndex> index = ItemIndex::Build(
        std::vector<float>(item_factors.data(), item_factors.data() + item_factors.size()),
        options.factors, index_options, stopped);
    if (index == nullptr) return nullptr;
    m.stats_.factors = options.factors;
    m.stats_.approximate = index->approximate();
    if (index->approximate()) {  // recall@30 of 200 people's vectors against the exact scan
      std::vector<std::vector<float>> queries;
      const size_t step = std::max<size_t>(1, items_of.size() / 200);
      for (size_t u = 0; u < items_of.size() && queries.size() < 200; u += step) {
        const auto row = user_factors.row(static_cast<Eigen::Index>(u));
        queries.emplace_back(row.data(), row.data() + f);
      }
      m.stats_.recall = index->Recall(queries, 30);
    }
    m.item_index_ = std::move(index);
  }

  // Popularity lists: overall, per category, per kind and level (every item of a level is a
  // candidate of its progression, popular or not, so a catalogue alone can progress someone).
  Ranked all;
  std::unordered_map<std::string, Ranked> by_category;
  std::vector<std::vector<Ranked>> by_kind_level(m.kinds_.size());
  for (uint32_t i = 0; i < n; ++i) {
    const ItemFacts& item = m.items_[i];
    all.emplace_back(i, m.popularity_[i]);
    if (!item.category.empty()) by_category[item.category].emplace_back(i, m.popularity_[i]);
    if (item.level >= 0) {
      auto& levels = by_kind_level[item.kind_id];
      levels.resize(catalogue.levels.size());
      levels[static_cast<size_t>(item.level)].emplace_back(i, m.popularity_[i]);
    }
  }
  m.popular_ = Best(std::move(all), options.popular_per_list);
  for (auto& [category, list] : by_category) {
    m.popular_in_category_.emplace(category, Best(std::move(list), options.popular_per_list));
  }
  for (auto& levels : by_kind_level) {
    for (Ranked& list : levels) list = Best(std::move(list), options.popular_per_list);
  }
  m.popular_in_kind_level_ = std::move(by_kind_level);

  // Popular in each segment: the members' recency-weighted popularity times its lift over
  // everyone's, (c_s + 1) / (c * share_s + 1), share_s the segment's part of all the weight.
  // One pass over the pairs for every segment: each user's segments first.
  const size_t segment_count = interactions.segment_names.size();
  if (segment_count > 0) {
    std::vector<std::vector<uint32_t>> segments_of(interactions.users.size());
    for (uint32_t s = 0; s < segment_count; ++s) {
      for (uint32_t u : interactions.segment_users[s]) segments_of[u].push_back(s);
    }
    std::vector<std::vector<double>> in_segment(segment_count);  // per item, filled when used
    std::vector<double> total(segment_count, 0.0);
    std::vector<std::vector<uint8_t>> counted(segment_count);  // per user: has a pair
    std::vector<size_t> people(segment_count, 0);
    for (const Interaction& pair : interactions.pairs) {
      if (pair.time >= before || to_model[pair.item] == UINT32_MAX) continue;
      if (segments_of[pair.user].empty()) continue;
      const double weight =
          Decay(now - pair.time, options.half_life_days) * (pair.purchased ? 1.0 : 0.3);
      for (uint32_t s : segments_of[pair.user]) {
        if (in_segment[s].empty()) {
          in_segment[s].assign(n, 0.0);
          counted[s].assign(interactions.users.size(), 0);
        }
        in_segment[s][to_model[pair.item]] += weight;
        total[s] += weight;
        if (!counted[s][pair.user]) {
          counted[s][pair.user] = 1;
          ++people[s];
        }
      }
    }
    double everyone = 0;
    for (double p : popularity) everyone += p;
    for (size_t s = 0; s < segment_count; ++s) {
      if (total[s] <= 0) continue;
      const double share = everyone > 0 ? total[s] / everyone : 0;
      Ranked list;
      for (uint32_t i = 0; i < n; ++i) {
        if (in_segment[s][i] <= 0) continue;
        const double lift = (in_segment[s][i] + 1) / (popularity[i] * share + 1);
        list.emplace_back(i, static_cast<float>(in_segment[s][i] * lift));
      }
      list = Best(std::move(list), options.popular_per_list);
      const float best = list.empty() ? 0.0f : list.front().second;
      for (auto& [i, score] : list) score /= best;
      m.popular_in_segment_.emplace(interactions.segment_names[s],
                                    Model::SegmentList{people[s], std::move(list)});
      in_segment[s] = {};  // freed as soon as listed
      counted[s] = {};
    }
  }

  // similar: the items' tokens as tf-idf vectors, and each token's most popular items.
  ItemTokens tokens = TokensOf(ordered);
  m.token_names_ = std::move(tokens.names);
  std::vector<double> items_with(m.token_names_.size(), 0.0);
  for (const auto& list : tokens.of_item) {
    for (uint32_t t : list) items_with[t] += 1;
  }
  m.item_token_offsets_.assign(1, 0);
  std::vector<Ranked> with_token(m.token_names_.size());
  for (uint32_t i = 0; i < n; ++i) {
    double norm = 0;
    const size_t first = m.item_tokens_.size();
    for (uint32_t t : tokens.of_item[i]) {
      const double idf = std::log((1.0 + static_cast<double>(n)) / (1.0 + items_with[t])) + 1;
      m.item_tokens_.emplace_back(t, static_cast<float>(idf));
      norm += idf * idf;
      with_token[t].emplace_back(i, m.popularity_[i]);
    }
    for (size_t k = first; k < m.item_tokens_.size(); ++k) {
      m.item_tokens_[k].second /= static_cast<float>(std::sqrt(norm));
    }
    m.item_token_offsets_.push_back(static_cast<uint32_t>(m.item_tokens_.size()));
  }
  m.popular_with_token_.resize(with_token.size());
  for (size_t t = 0; t < with_token.size(); ++t) {
    m.popular_with_token_[t] = Best(std::move(with_token[t]), options.popular_per_list);
  }
  return model;
}

std::vector<std::string> Model::SegmentLists() const {
  std::vector<std::string> names;
  for (const auto& [name, list] : popular_in_segment_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<uint32_t> Model::Find(std::string_view id) const {
  const auto found = index_.find(id);
  if (found == index_.end()) return std::nullopt;
  return found->second;
}

namespace {

// Found without making a string: most events name a category already counted.
void CountCategory(Activity& activity, std::string_view category) {
  const auto found = activity.categories.find(category);
  if (found != activity.categories.end()) {
    ++found->second;
  } else {
    activity.categories.emplace(std::string(category), 1);
  }
}

}  // namespace

Activity ActivityOf(const Model& model, std::span<const EventInput> events) {
  Activity activity;
  FoldActivity(model, events, activity);
  return activity;
}

void FoldActivity(const Model& model, std::span<const EventInput> events, Activity& activity) {
  const InteractionOptions& kinds = model.options_.interactions;
  std::unordered_map<uint32_t, size_t> touch_of;
  for (size_t i = 0; i < activity.touches.size(); ++i)
    touch_of.emplace(activity.touches[i].item, i);
  for (const EventInput& event : events) {
    std::optional<uint32_t> item;
    if (!event.item_id.empty()) item = model.Find(event.item_id);
    if (item) {
      CountCategory(activity, model.item(*item).category);
    } else if (!event.category.empty()) {
      CountCategory(activity, event.category);
    }
    if (!item) continue;
    const bool purchase = event.type == kinds.purchase_type;
    const bool refund = event.type == "refund";
    const bool cart = event.type == "add_to_cart";
    if (!purchase && !refund && !cart &&
        std::find(kinds.event_types.begin(), kinds.event_types.end(), event.type) ==
            kinds.event_types.end()) {
      continue;
    }
    auto [at, added] = touch_of.try_emplace(*item, activity.touches.size());
    if (added) activity.touches.push_back({*item, 0, 0, 0, 0});
    Activity::Touch& touch = activity.touches[at->second];
    touch.last = std::max(touch.last, event.time);
    if (purchase) {
      ++touch.purchases;
    } else if (refund) {
      touch.purchases -= touch.purchases > 0;  // given back: no longer owned
    } else if (cart) {
      ++touch.carts;
    } else {
      ++touch.views;
    }
  }
  // like_you's and similar's searches, for a ten-item answer (deeper ones search again), for the
  // generators the blend weighs.
  activity.nearest.clear();
  activity.nearest_k = 0;
  if (model.item_index_ != nullptr && !activity.touches.empty() && model.blend().like_you > 0) {
    activity.nearest_k = kNearestDepth + activity.touches.size();
    activity.nearest = Ranker::Nearest(model, activity, activity.nearest_k);
  }
  activity.latest_touch = 0;
  for (const Activity::Touch& touch : activity.touches) {
    activity.latest_touch = std::max(activity.latest_touch, touch.last);
  }
  activity.also_bought.clear();
  activity.also_bought_depth = 0;
  if (model.blend().also_bought > 0 && !activity.touches.empty()) {
    activity.also_bought =
        Ranker::AlsoBought(model, activity, activity.latest_touch, kNearestDepth);
    activity.also_bought_depth = kNearestDepth;
  }
  activity.similar.clear();
  activity.similar_depth = 0;
  if (model.blend().similar > 0 && !activity.touches.empty()) {
    activity.similar = Ranker::Similar(model, activity, activity.latest_touch, kNearestDepth);
    activity.similar_depth = kNearestDepth;
  }
}

namespace {

// Per-thread scratch: each item's candidate slot, sized to the catalogue and reset after each
// call for the items touched, so a call costs what it touches; and the also_bought sums' index,
// a small open-addressing table sized to the neighbours read (a table per item would miss the
// cache on nearly every neighbour: most of the call's time, measured with perf).
struct Scratch {
  std::vector<int32_t> slot;   // per item: its candidate's index, -1 none
  std::vector<uint64_t> also;  // (item + 1) << 32 | sum index; 0: empty
  std::vector<double> token;   // similar: the profile's weight per token, 0 elsewhere
  void Fit(size_t items) {
    if (slot.size() < items) slot.assign(items, -1);
  }
  // Empty, with room for `entries` keys at most half full.
  void FitAlso(size_t entries) {
    size_t capacity = 64;
    while (capacity < 2 * entries) capacity *= 2;
    also.assign(capacity, 0);
  }
  // The sum index of `item`, `fresh` (the next index) when it has none yet.
  uint32_t AlsoIndex(uint32_t item, uint32_t fresh, bool& added) {
    const size_t mask = also.size() - 1;
    const uint64_t key = static_cast<uint64_t>(item) + 1;
    for (size_t at = (item * 0x9E3779B1u) & mask;; at = (at + 1) & mask) {
      if (also[at] == 0) {
        also[at] = key << 32 | fresh;
        added = true;
        return fresh;
      }
      if (also[at] >> 32 == key) {
        added = false;
        return static_cast<uint32_t>(also[at]);
      }
    }
  }
};
thread_local Scratch scratch;

}  // namespace

std::vector<Recommendation> Recommend(const Model& model, const Activity& activity,
                                      const Request& request) {
  return Ranker::Rank(model, activity, request, model.blend(), nullptr);
}

std::vector<std::pair<uint32_t, float>> Ranker::Nearest(const Model& model,
                                                        const Activity& activity, size_t k) {
  if (model.item_index_ == nullptr || activity.touches.empty()) return {};
  const ItemIndex& index = *model.item_index_;
  const Eigen::Index f = static_cast<Eigen::Index>(index.dimensions());
  const auto alpha = static_cast<float>(model.options_.factor_alpha);
  // Their items' factors as rows, so the update is one product (not one outer product each).
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> touched(
      static_cast<Eigen::Index>(activity.touches.size()), f);
  for (size_t t = 0; t < activity.touches.size(); ++t) {
    touched.row(static_cast<Eigen::Index>(t)) =
        Eigen::Map<const Eigen::RowVectorXf>(index.vector(activity.touches[t].item), f);
  }
  Eigen::MatrixXf system = Eigen::Map<const Eigen::MatrixXf>(model.item_gram_.data(), f, f);
  system.noalias() += alpha * touched.transpose() * touched;
  const Eigen::VectorXf target = (1 + alpha) * touched.colwise().sum().transpose();
  const Eigen::VectorXf x = system.llt().solve(target);
  return index.Top(x.data(), k);
}

std::vector<Activity::AlsoPick> Ranker::AlsoBought(const Model& model, const Activity& activity,
                                                   Timestamp now, size_t depth) {
  struct Sum {
    uint32_t item;
    double total, best_part;
    uint32_t source;
  };
  std::vector<Sum> sums;
  size_t read = 0;
  for (const Activity::Touch& touch : activity.touches) {
    // Each list is read below; asked for now, the lists arrive from memory together rather
    // than one after another (the loads of the sums were most of this loop's time).
    const Model::Ranked& list = model.neighbours_[touch.item];
    const char* bytes = reinterpret_cast<const char*>(list.data());
    for (size_t at = 0; at < list.size() * sizeof(list[0]); at += 64) {
      __builtin_prefetch(bytes + at);
    }
    read += list.size();
  }
  scratch.FitAlso(read);
  sums.reserve(read);
  for (const Activity::Touch& touch : activity.touches) {
    const double strength = touch.purchases > 0 ? 1.0 : touch.carts > 0 ? 0.7 : 0.4;
    const double weight = strength * Decay(now - touch.last, kTouchHalfLifeDays);
    for (const auto& [j, similarity] : model.neighbours_[touch.item]) {
      const double part = weight * similarity;
      bool added = false;
      const uint32_t at = scratch.AlsoIndex(j, static_cast<uint32_t>(sums.size()), added);
      if (added) sums.push_back({j, 0, 0, touch.item});
      Sum& sum = sums[at];
      sum.total += part;
      if (part > sum.best_part) {
        sum.best_part = part;
        sum.source = touch.item;
      }
    }
  }
  // The strongest few, best first.
  const auto stronger = [](const Sum& a, const Sum& b) {
    return a.total != b.total ? a.total > b.total : a.item < b.item;
  };
  const size_t keep = std::min(sums.size(), 4 * depth);
  std::partial_sort(sums.begin(), sums.begin() + static_cast<ptrdiff_t>(keep), sums.end(),
                    stronger);
  std::vector<Activity::AlsoPick> picks;
  picks.reserve(keep);
  const double most = keep > 0 ? sums.front().total : 0;
  for (size_t k = 0; k < keep && most > 0; ++k) {
    picks.push_back({sums[k].item, sums[k].source, sums[k].total / most});
  }
  return picks;
}

std::vector<Activity::SimilarPick> Ranker::Similar(const Model& model, const Activity& activity,
                                                   Timestamp now, size_t depth) {
  std::vector<Activity::SimilarPick> picks;
  if (activity.touches.empty() || model.token_names_.empty()) return picks;
  // Their profile: the tokens of what they touched, recent touches and purchases weighing more.
  std::vector<std::pair<uint32_t, double>> profile;  // token, weight
  for (const Activity::Touch& touch : activity.touches) {
    const double strength = touch.purchases > 0 ? 1.0 : touch.carts > 0 ? 0.7 : 0.4;
    const double w = strength * Decay(now - touch.last, kTouchHalfLifeDays);
    for (uint32_t k = model.item_token_offsets_[touch.item];
         k < model.item_token_offsets_[touch.item + 1]; ++k) {
      profile.emplace_back(model.item_tokens_[k].first, w * model.item_tokens_[k].second);
    }
  }
  std::sort(profile.begin(), profile.end());
  size_t kept = 0;
  for (size_t i = 0; i < profile.size(); ++i) {
    if (kept > 0 && profile[kept - 1].first == profile[i].first) {
      profile[kept - 1].second += profile[i].second;
    } else {
      profile[kept++] = profile[i];
    }
  }
  profile.resize(kept);
  double norm = 0;
  for (const auto& [t, w] : profile) norm += w * w;
  norm = std::sqrt(norm);
  if (norm <= 0) return picks;
  std::vector<std::pair<uint32_t, double>> strongest = profile;
  const size_t top = std::min(strongest.size(), model.options_.similar_tokens);
  std::partial_sort(strongest.begin(), strongest.begin() + static_cast<ptrdiff_t>(top),
                    strongest.end(), [](const auto& a, const auto& b) {
                      return a.second != b.second ? a.second > b.second : a.first < b.first;
                    });
  if (scratch.token.size() < model.token_names_.size()) {
    scratch.token.assign(model.token_names_.size(), 0.0);
  }
  for (const auto& [t, w] : profile) scratch.token[t] = w;
  for (size_t k = 0; k < top; ++k) {
    const uint32_t token = strongest[k].first;
    const Model::Ranked& list = model.popular_with_token_[token];
    for (uint32_t position = 0; position < std::min(depth, list.size()); ++position) {
      const auto& [j, popularity] = list[position];
      const bool done =
          std::any_of(picks.begin(), picks.end(),
                      [j = j](const Activity::SimilarPick& p) { return p.item == j; });
      if (done) continue;  // several of their tokens are read
      // The item's few tokens looked up in their profile (spread over the scratch array).
      double dot = 0;
      for (uint32_t t = model.item_token_offsets_[j]; t < model.item_token_offsets_[j + 1]; ++t) {
        dot += model.item_tokens_[t].second * scratch.token[model.item_tokens_[t].first];
      }
      picks.push_back({j, token, position, dot / norm * Floored(popularity)});
    }
  }
  for (const auto& [t, w] : profile) scratch.token[t] = 0.0;
  return picks;
}

std::vector<Recommendation> Ranker::Rank(const Model& model, const Activity& activity,
                                         const Request& request, const BlendWeights& blend,
                                         std::vector<ScoredCandidate>* scored) {
  const WeightArray weight = ToArray(blend);
  const CatalogueOptions& catalogue = model.options_.catalogue;
  const auto level_name = [&](int level) -> std::string_view {
    return catalogue.levels[static_cast<size_t>(level)];
  };
  const auto name_of = [&](uint32_t j) -> const std::string& {
    const ItemFacts& item = model.item(j);
    return item.name.empty() ? item.id : item.name;
  };

  // What they own, and the highest level they own per kind (with the item that holds it).
  struct Held {
    uint32_t kind;
    int level;
    uint32_t holder;
  };
  std::vector<uint32_t> owned;
  std::vector<Held> owned_level;  // a few entries: searched in order
  const auto held_of = [&](uint32_t kind) -> Held* {
    for (Held& held : owned_level) {
      if (held.kind == kind) return &held;
    }
    return nullptr;
  };
  for (const Activity::Touch& touch : activity.touches) {
    if (touch.purchases == 0) continue;
    owned.push_back(touch.item);
    const ItemFacts& item = model.item(touch.item);
    if (item.level < 0) continue;
    Held* held = held_of(item.kind_id);
    if (held == nullptr) {
      owned_level.push_back({item.kind_id, item.level, touch.item});
    } else if (item.level > held->level) {
      *held = {item.kind_id, item.level, touch.item};
    }
  }
  std::sort(owned.begin(), owned.end());
  std::vector<uint32_t> excluded;
  for (const std::string& id : request.exclude) {
    if (const auto found = model.Find(id)) excluded.push_back(*found);
  }
  const auto allowed = [&](uint32_t j) {
    const Model::Filter& item = model.filters_[j];  // compact: one cache line holds several
    if (!item.in_stock) return false;
    if (!item.consumable && std::binary_search(owned.begin(), owned.end(), j)) return false;
    if (!request.category.empty() && model.item(j).category != request.category) return false;
    if (!request.exclude_categories.empty() &&
        std::find(request.exclude_categories.begin(), request.exclude_categories.end(),
                  model.item(j).category) != request.exclude_categories.end()) {
      return false;
    }
    if (request.min_price && (!item.price || *item.price < *request.min_price)) return false;
    if (request.max_price && (!item.price || *item.price > *request.max_price)) return false;
    if (std::find(excluded.begin(), excluded.end(), j) != excluded.end()) return false;
    if (item.level >= 0) {  // never the level they own, or below, of a kind they own
      const Held* held = held_of(item.kind);
      if (held != nullptr && item.level <= held->level) return false;
    }
    return true;
  };

  // How deep each generator's list is read: enough to fill the answer when some are refused.
  const size_t depth = std::max<size_t>(2 * request.count + 10, 20);

  // Candidates in slots; reasons formatted once per group and referred to by index.
  scratch.Fit(model.item_count());
  struct Candidate {
    uint32_t item;
    double score;
  };
  struct Part {
    uint32_t candidate;
    double contribution;
    uint32_t reason;
  };
  std::vector<Candidate> candidates;
  std::vector<Part> parts;
  if (scored != nullptr) scored->clear();
  candidates.reserve(8 * depth);
  parts.reserve(12 * depth);
  // Reasons are written out only for the items shown: the frequent ones (one per item touched or
  // category looked at) keep what to say, and are formatted at the end.
  enum class Detail : uint8_t {
    kGiven,
    kGoesWith,
    kPopularIn,
    kCompared,
    kShares,
    kPopularInSegment
  };
  struct Why {
    std::string_view generator;
    Detail detail;
    uint32_t value;         // kGoesWith: the item; kCompared: the views
    std::string_view text;  // kPopularIn: the category
    std::string given;      // kGiven
  };
  std::vector<Why> reasons;
  const auto reason = [&](std::string_view generator, std::string detail) {
    reasons.push_back({generator, Detail::kGiven, 0, {}, std::move(detail)});
    return static_cast<uint32_t>(reasons.size() - 1);
  };
  const auto later = [&](std::string_view generator, Detail detail, uint32_t value,
                         std::string_view text = {}) {
    reasons.push_back({generator, detail, value, text, {}});
    return static_cast<uint32_t>(reasons.size() - 1);
  };
  const auto describe = [&](const Why& why) -> Reason {
    switch (why.detail) {
      case Detail::kGoesWith:
        return {std::string(why.generator), fmt::format("goes with {}", name_of(why.value))};
      case Detail::kPopularIn:
        return {std::string(why.generator),
                fmt::format("popular in {}, which they look at", why.text)};
      case Detail::kCompared:
        return {std::string(why.generator),
                fmt::format("best offer: compared it ({} views)", why.value)};
      case Detail::kPopularInSegment:
        return {std::string(why.generator),
                fmt::format("bought more in segment {}, which they are in", why.text)};
      case Detail::kShares:
        return {std::string(why.generator),
                fmt::format("shares {} with what they look at", model.token_names_[why.value])};
      case Detail::kGiven:
        break;
    }
    return {std::string(why.generator), why.given};
  };
  constexpr int32_t kRejected = -2;  // an item `allowed` refused: not asked again
  std::vector<uint32_t> rejected;
  // A generator's own score for j (`part`: kLearnedParts for intent, weighed on its own).
  const auto add = [&](uint32_t j, size_t part, double own, uint32_t why) {
    const double contribution = part < kLearnedParts ? weight[part] * own : own;
    if (contribution <= 0 && (scored == nullptr || own <= 0)) return;
    int32_t& slot = scratch.slot[j];
    if (slot == kRejected) return;
    if (slot < 0) {
      if (!allowed(j)) {
        slot = kRejected;
        rejected.push_back(j);
        return;
      }
      slot = static_cast<int32_t>(candidates.size());
      candidates.push_back({j, 0});
      if (scored != nullptr) scored->push_back({j, {}});
    }
    if (scored != nullptr && part < kLearnedParts) {
      (*scored)[static_cast<size_t>(slot)].parts[part] += static_cast<float>(own);
    }
    candidates[static_cast<size_t>(slot)].score += contribution;
    parts.push_back({static_cast<uint32_t>(slot), contribution, why});
  };
  const auto level_list = [&](uint32_t kind, int level) -> const Model::Ranked* {
    const auto& levels = model.popular_in_kind_level_[kind];
    if (level < 0 || static_cast<size_t>(level) >= levels.size()) return nullptr;
    return &levels[static_cast<size_t>(level)];
  };

  // Progression: the next level of each kind they own.
  for (const Held& held : owned_level) {
    const Model::Ranked* next = level_list(held.kind, held.level + 1);
    if (next == nullptr || next->empty()) continue;
    const uint32_t why =
        reason("progression", fmt::format("owns {} {} ({}); next level: {}", level_name(held.level),
                                          model.kinds_[held.kind], name_of(held.holder),
                                          level_name(held.level + 1)));
    size_t taken = 0;
    for (const auto& [j, popularity] : *next) {
      if (taken++ == depth) break;
      add(j, kProgressionPart, 0.75 + 0.25 * popularity, why);
    }
  }

  // Browsing: kinds they look at without owning one, at the level they look at most.
  std::vector<std::pair<uint32_t, std::vector<uint32_t>>> looked;  // kind, looks per level
  const auto looks_of = [&](uint32_t kind) -> std::vector<uint32_t>& {
    for (auto& [k, counts] : looked) {
      if (k == kind) return counts;
    }
    looked.emplace_back(kind, std::vector<uint32_t>(catalogue.levels.size(), 0));
    return looked.back().second;
  };
  for (const Activity::Touch& touch : activity.touches) {
    const Model::Filter& item = model.filters_[touch.item];
    if (item.level < 0 || held_of(item.kind) != nullptr) continue;
    looks_of(item.kind)[static_cast<size_t>(item.level)] += touch.views + touch.carts;
  }
  if (catalogue.kind_attribute.empty()) {  // pages of a category: the kind, no level seen
    for (const auto& [category, count] : activity.categories) {
      const auto kind = model.kind_index_.find(category);
      if (kind == model.kind_index_.end() || held_of(kind->second) != nullptr) continue;
      bool leveled = false;
      for (const Model::Ranked& list : model.popular_in_kind_level_[kind->second]) {
        leveled = leveled || !list.empty();
      }
      if (leveled) looks_of(kind->second);
    }
  }
  for (const auto& [kind, counts] : looked) {
    const auto most = std::max_element(counts.begin(), counts.end());
    const int level = *most > 0 ? static_cast<int>(most - counts.begin()) : 0;
    const Model::Ranked* list = level_list(kind, level);
    if (list == nullptr || list->empty()) continue;
    const std::string& kind_name = model.kinds_[kind];
    const uint32_t why =
        reason("browsing", *most > 0 ? fmt::format("looks at {} {} ({} times), owns none",
                                                   level_name(level), kind_name, *most)
                                     : fmt::format("looks at {}, owns none: {} level first",
                                                   kind_name, level_name(level)));
    size_t taken = 0;
    for (const auto& [j, popularity] : *list) {
      if (taken++ == depth) break;
      add(j, kBrowsingPart, 0.75 + 0.25 * popularity, why);
    }
  }

  // Also bought: neighbours of what they touched (AlsoBought, below); summed when the activity was
  // folded unless this answer reads deeper or is dated before a touch.
  if (!activity.touches.empty() && (weight[kAlsoBoughtPart] > 0 || scored != nullptr)) {
    std::vector<Activity::AlsoPick> summed;
    const std::vector<Activity::AlsoPick>* picks = &activity.also_bought;
    if (activity.also_bought_depth < depth || request.now < activity.latest_touch) {
      summed = AlsoBought(model, activity, request.now, depth);
      picks = &summed;
    }
    const size_t keep = std::min(picks->size(), 4 * depth);
    std::vector<std::pair<uint32_t, uint32_t>> source_reason;  // source item, reason
    for (size_t k = 0; k < keep; ++k) {
      const Activity::AlsoPick& pick = (*picks)[k];
      uint32_t why = UINT32_MAX;
      for (const auto& [source, r] : source_reason) {
        if (source == pick.source) why = r;
      }
      if (why == UINT32_MAX) {
        why = later("also_bought", Detail::kGoesWith, pick.source);
        source_reason.emplace_back(pick.source, why);
      }
      add(pick.item, kAlsoBoughtPart, pick.score, why);
    }
  }

  // Like you: their vector folded in from what they touched, (G + alpha Σ y_i y_iᵀ) x =
  // (1 + alpha) Σ y_i with G = YᵀY + reg I, then the items nearest it by inner product.
  // The search was made when the activity was folded, unless this answer reads deeper.
  if (model.item_index_ != nullptr && !activity.touches.empty() &&
      (weight[kLikeYouPart] > 0 || scored != nullptr)) {
    const size_t wanted = depth + activity.touches.size();
    std::vector<std::pair<uint32_t, float>> searched;
    const std::vector<std::pair<uint32_t, float>>* nearest = &activity.nearest;
    if (activity.nearest_k < wanted) {
      searched = Nearest(model, activity, wanted);
      nearest = &searched;
    }
    const float most = nearest->empty() ? 0.0f : nearest->front().second;
    if (most > 0) {
      const uint32_t why = reason("like_you", "chosen by customers with their tastes");
      const size_t read = std::min(wanted, nearest->size());
      for (size_t r = 0; r < read; ++r) {
        add((*nearest)[r].first, kLikeYouPart, (*nearest)[r].second / most, why);
      }
    }
  }

  // Similar: the popular items of their strongest tokens, by cosine (Similar, below); searched
  // when the activity was folded unless this answer reads deeper or is dated before a touch.
  if (!activity.touches.empty() && !model.token_names_.empty() &&
      (weight[kSimilarPart] > 0 || scored != nullptr)) {
    std::vector<Activity::SimilarPick> searched;
    const std::vector<Activity::SimilarPick>* picks = &activity.similar;
    if (activity.similar_depth < depth || request.now < activity.latest_touch) {
      searched = Similar(model, activity, request.now, depth);
      picks = &searched;
    }
    std::vector<std::pair<uint32_t, uint32_t>> token_reason;  // token, reason
    for (const Activity::SimilarPick& pick : *picks) {
      if (pick.position >= depth) continue;  // each token's list is read `depth` deep
      uint32_t why = UINT32_MAX;
      for (const auto& [token, r] : token_reason) {
        if (token == pick.token) why = r;
      }
      if (why == UINT32_MAX) {
        why = later("similar", Detail::kShares, pick.token);
        token_reason.emplace_back(pick.token, why);
      }
      add(pick.item, kSimilarPart, pick.score, why);
    }
  }

  // Popular in their most specific segments (the fewest people).
  {
    std::vector<std::pair<size_t, const std::string*>> theirs;  // people, name
    for (const std::string& name : request.segments) {
      const auto found = model.popular_in_segment_.find(name);
      if (found != model.popular_in_segment_.end())
        theirs.emplace_back(found->second.people, &name);
    }
    std::sort(theirs.begin(), theirs.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : *a.second < *b.second;
    });
    if (theirs.size() > 3) theirs.resize(3);
    for (const auto& [people, name] : theirs) {
      const uint32_t why = later("popular_in_segment", Detail::kPopularInSegment, 0, *name);
      size_t taken = 0;
      for (const auto& [j, score] : model.popular_in_segment_.at(*name).items) {
        if (taken++ == depth) break;
        add(j, kPopularInSegmentPart, score, why);
      }
    }
  }

  // Popular in the categories they look at (by their share of the looks), then overall.
  {
    uint32_t looks = 0;
    for (const auto& [category, count] : activity.categories) looks += count;
    for (const auto& [category, count] : activity.categories) {
      const auto found = model.popular_in_category_.find(category);
      if (found == model.popular_in_category_.end()) continue;
      const double share = static_cast<double>(count) / looks;
      const uint32_t why = later("popular", Detail::kPopularIn, 0, category);
      size_t taken = 0;
      for (const auto& [j, popularity] : found->second) {
        if (taken++ == depth) break;
        add(j, kPopularInCategoryPart, share * Floored(popularity), why);
      }
    }
    const uint32_t why = reason("popular", "popular overall");
    size_t taken = 0;
    for (const auto& [j, popularity] : model.popular_) {
      if (taken++ == 2 * depth) break;
      add(j, kPopularPart, Floored(popularity), why);
    }
  }

  if (scored != nullptr) {  // the candidates and their parts are the answer
    for (const Candidate& candidate : candidates) scratch.slot[candidate.item] = -1;
    for (uint32_t j : rejected) scratch.slot[j] = -1;
    return {};
  }

  // Intent of the session.
  if (request.intent == intent::Intent::kBestOffer || request.intent == intent::Intent::kConcerns) {
    const Activity::Touch* kept = nullptr;  // the item they keep looking at
    for (const Activity::Touch& touch : activity.touches) {
      if (touch.purchases > 0 || touch.views + touch.carts == 0) continue;
      if (request.intent == intent::Intent::kBestOffer) {
        // This session's comparisons above all: the weight halves with each day since.
        add(touch.item, kLearnedParts, kComparedWeight * Decay(request.now - touch.last, 1.0),
            later("intent", Detail::kCompared, touch.views));
      } else if (kept == nullptr || touch.views > kept->views ||
                 (touch.views == kept->views && touch.last > kept->last)) {
        kept = &touch;
      }
    }
    if (kept != nullptr && kept->views >= 2) {
      add(kept->item, kLearnedParts, kKeepsViewingWeight,
          reason("intent", fmt::format("concerns: keeps looking at it ({} views); show reassurance",
                                       kept->views)));
    }
  }

  for (const Candidate& candidate : candidates) scratch.slot[candidate.item] = -1;
  for (uint32_t j : rejected) scratch.slot[j] = -1;
  std::vector<uint32_t> order(candidates.size());
  std::iota(order.begin(), order.end(), 0);
  const auto better = [&](uint32_t a, uint32_t b) {
    const Candidate &x = candidates[a], &y = candidates[b];
    return x.score != y.score ? x.score > y.score : x.item < y.item;
  };
  // Only the first few need an order (inspiration may skip some: then all of them).
  const size_t ranked = request.intent == intent::Intent::kInspiration
                            ? order.size()
                            : std::min(order.size(), request.count);
  std::partial_sort(order.begin(), order.begin() + static_cast<ptrdiff_t>(ranked), order.end(),
                    better);
  std::vector<uint32_t> chosen;  // candidates, best first
  std::unordered_map<std::string_view, size_t> per_category;
  for (const uint32_t c : order) {
    if (chosen.size() == request.count) break;
    if (request.intent == intent::Intent::kInspiration &&
        per_category[model.item(candidates[c].item).category]++ >= kInspirationPerCategory) {
      continue;  // variety: a few of each category
    }
    chosen.push_back(c);
  }
  // Each chosen candidate's parts, in one pass over them all.
  std::vector<int32_t> position(candidates.size(), -1);
  for (size_t i = 0; i < chosen.size(); ++i) position[chosen[i]] = static_cast<int32_t>(i);
  std::vector<std::vector<std::pair<double, uint32_t>>> mine(chosen.size());
  for (const Part& part : parts) {
    const int32_t at = position[part.candidate];
    if (at >= 0) mine[static_cast<size_t>(at)].emplace_back(part.contribution, part.reason);
  }
  std::vector<Recommendation> out;
  out.reserve(chosen.size());
  for (size_t i = 0; i < chosen.size(); ++i) {
    const Candidate& candidate = candidates[chosen[i]];
    std::stable_sort(mine[i].begin(), mine[i].end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    Recommendation recommendation{
        model.item(candidate.item).id, candidate.item, candidate.score, {}};
    recommendation.reasons.reserve(mine[i].size());
    for (const auto& [contribution, r] : mine[i]) {
      recommendation.reasons.push_back(describe(reasons[r]));
    }
    out.push_back(std::move(recommendation));
  }
  return out;
}

void WriteModel(JsonWriter& json, const Model& model) {
  const Model::Stats& s = model.stats();
  json.BeginObject()
      .Key("version")
      .Uint(model.version())
      .Key("trained_at")
      .String(IsoTime(model.trained_at()))
      .Key("profiles")
      .Uint(s.profiles)
      .Key("pairs")
      .Uint(s.pairs)
      .Key("items")
      .Uint(s.items)
      .Key("items_with_level")
      .Uint(s.items_with_level)
      .Key("levels_outside_order")
      .Uint(s.levels_outside_order)
      .Key("interactions_on_unknown_items")
      .Uint(s.interacted_items_unknown)
      .Key("train_seconds")
      .Double(s.train_seconds);
  json.Key("levels").BeginArray();
  for (const std::string& level : model.options().catalogue.levels) json.String(level);
  json.EndArray();
  json.Key("factors")
      .BeginObject()
      .Key("dimensions")
      .Uint(s.factors)
      .Key("retrieval")
      .String(s.approximate ? "hnsw" : "exact")
      .Key("recall_at_30");
  if (s.recall >= 0) {
    json.Double(s.recall);
  } else {
    json.Null();
  }
  json.EndObject();
  json.Key("segments").BeginArray();
  for (const std::string& name : model.SegmentLists()) json.String(name);
  json.EndArray();
  const BlendWeights& w = model.blend();
  const BlendReport& report = model.blend_report();
  json.Key("blend")
      .BeginObject()
      .Key("weights")
      .BeginObject()
      .Key("progression")
      .Double(w.progression)
      .Key("browsing")
      .Double(w.browsing)
      .Key("also_bought")
      .Double(w.also_bought)
      .Key("like_you")
      .Double(w.like_you)
      .Key("similar")
      .Double(w.similar)
      .Key("popular_in_category")
      .Double(w.popular_in_category)
      .Key("popular_in_segment")
      .Double(w.popular_in_segment)
      .Key("popular")
      .Double(w.popular)
      .EndObject()
      .Key("learned")
      .Bool(report.learned)
      .Key("cut");
  if (report.cut > 0) {
    json.String(IsoTime(report.cut));
  } else {
    json.Null();
  }
  json.Key("people")
      .Uint(report.people)
      .Key("candidates")
      .Uint(report.candidates)
      .Key("ndcg_default")
      .Double(report.ndcg_default)
      .Key("ndcg_learned")
      .Double(report.ndcg_learned)
      .Key("why")
      .String(report.why)
      .EndObject()
      .EndObject();
}

void WriteRecommendation(JsonWriter& json, const Model& model, const Recommendation& r) {
  const ItemFacts& item = model.item(r.index);
  json.BeginObject()
      .Key("item")
      .String(r.item)
      .Key("name")
      .String(item.name)
      .Key("category")
      .String(item.category)
      .Key("level");
  if (item.level >= 0) {
    json.String(model.options().catalogue.levels[static_cast<size_t>(item.level)]);
  } else {
    json.Null();
  }
  json.Key("price");
  if (item.price) {
    json.Double(*item.price);
  } else {
    json.Null();
  }
  json.Key("score").Double(r.score).Key("reasons").BeginArray();
  for (const Reason& reason : r.reasons) {
    json.BeginObject()
        .Key("generator")
        .String(reason.generator)
        .Key("detail")
        .String(reason.detail)
        .EndObject();
  }
  json.EndArray().EndObject();
}

}  // namespace tailor::reco
