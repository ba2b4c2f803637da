#pragma once

// Recommendations for one person, online: a model trained on a snapshot (who interacted with
// which item, and the catalogue) and the person's own activity (what they own, what they looked
// at and when, their session's intent) give the top items, each with its reasons.
//
// Candidates come from these generators, blended by adding their weighted scores:
//  - progression: items with an ordered attribute (`level`: beginner → intermediate → advanced,
//    configurable) form a progression per kind (the item's category, or another attribute).
//    Someone who owns an item of a level is offered the next level of that kind, and never an
//    item of that kind at a level they own or below;
//  - browsing: kinds they looked at without owning one of them, at the level they looked at most
//    (the first level when the items they looked at carry none);
//  - also_bought: item-to-item co-occurrence (cosine with shrinkage, the k closest per item) of
//    the items they touched, each touch weighted by its recency (a half-life);
//  - like_you: "customers like you": implicit-feedback matrix factorization (iALS) of who touched
//    what; the person's vector folded in from what they touched (one small solve), the items with
//    the largest inner product found in an approximate nearest-neighbour index (HNSW, hnswlib)
//    when the catalogue is large (its recall against the exact scan measured at training), by an
//    exact scan when it is small;
//  - similar: items sharing the catalogue facts of what they touched (content-based: tf-idf
//    cosine of the items' tokens, reco.h's ItemTokens, against their recency-weighted profile),
//    read from the popular items of their strongest few tokens;
//  - popular_in_segment: what the people of their segments buy more than others do (the
//    segments' popularity times its smoothed lift over the whole population), for their three
//    most specific (smallest) segments;
//  - popular: the catalogue's popularity (every pair weighted by its recency), within the
//    categories they look at, then overall: what a visitor with no history gets.
// The blend's weights are learned at training from feedback on a time split (BlendWeights).
// Filters: items they own (unless consumable), out of stock, outside the price band or the
// asked category, asked to exclude. Intent reorders: best offer puts the items they compared
// (looked at, not bought) first; concerns puts the item they keep looking at first, with
// reassurance; inspiration shows at most two items per category for variety.
//
// Defined answers for odd input: an unknown profile is a visitor with no history (popular
// items); events naming items outside the catalogue are ignored; an empty catalogue and no
// interactions give no recommendations; a level value outside the declared order takes the item
// out of every progression (it is still recommended by the other generators) and is counted in
// the model's stats.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tailor/intent.h"
#include "tailor/json_writer.h"
#include "tailor/reco.h"
#include "tailor/run_control.h"
#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::reco {

class Model;
class ItemIndex;

// How the catalogue's attributes are read.
struct CatalogueOptions {
  std::string level_attribute = "level";
  std::vector<std::string> levels = {"beginner", "intermediate", "advanced"};  // in order
  std::string kind_attribute;                       // "": an item's kind is its category
  std::string consumable_attribute = "consumable";  // bool; consumables may be bought again
  std::string stock_attribute = "in_stock";         // bool; missing: in stock
};

// {"level_attribute", "levels": [...] (in order, distinct, at least one), "kind_attribute",
// "consumable_attribute", "stock_attribute"}, each optional (missing: as `defaults`);
// kInvalidArgument naming the field for anything else.
Result<CatalogueOptions> ParseCatalogueOptions(std::string_view json,
                                               const CatalogueOptions& defaults);
void WriteCatalogueOptions(JsonWriter& json, const CatalogueOptions& options);

// What each generator's score (each in [0, 1]) is worth in the blend. The defaults put
// progression first (the next level of what they own is the point), then browsing (the kind they
// look at, at their level), what goes with what they touched, similar items, and popularity last.
// Intent's reorderings (compared items, the item they keep viewing) are not learned: they come
// from the session under way, which interactions do not record.
struct BlendWeights {
  double progression = 8.0;  // 0.75 x 8 = 6: about what every other part can add at most
  double browsing = 2.0;
  double also_bought = 1.5;
  double like_you = 1.0;
  double similar = 0.5;
  double popular_in_segment = 0.5;
  double popular_in_category = 0.75;
  double popular = 0.25;
};

// How the blend was learned. At training, the pairs after the cut (the latest
// `holdout_share` of the catalogue's pairs by time) are the feedback: a model trained on the
// pairs before it gives each sampled person (one with pairs on both sides) their candidates
// and each generator's score from their activity before the cut; the weights are chosen by
// coordinate ascent on NDCG@10 of the new items they bought after it (every new item they
// touched, where the data has no purchases), on half of the sampled people, and kept only when
// they beat the defaults on the other half. Progression is the catalogue's rule, not learned: it
// keeps its default share of the blend (its weight scales with the sum of the others); so does
// popular_in_segment, since membership is known as of now only (a segment of buyers of X would
// tell the learner who bought X after the cut).
struct BlendReport {
  bool learned = false;  // false: the defaults serve (too little feedback, or not better)
  Timestamp cut = 0;
  size_t people = 0;  // sampled, both halves
  size_t candidates = 0;
  double ndcg_default = 0, ndcg_learned = 0;  // on the held-out half
  std::string why;                            // when not learned
};

struct ModelOptions {
  CatalogueOptions catalogue;
  InteractionOptions interactions;
  size_t neighbours = 50;  // per item (also_bought)
  double shrink = 10;
  double half_life_days = 90;     // popularity: a pair this old counts half
  size_t popular_per_list = 200;  // kept per popularity list (overall, per category, per level)
  // The blend: given, it is used as is; else learned (BlendReport) when there is enough feedback.
  std::optional<BlendWeights> blend;
  double holdout_share = 0.1;     // of the pairs, the latest: the feedback
  size_t blend_people = 4000;     // sampled for learning, at most
  size_t min_blend_people = 100;  // fewer with feedback: the defaults
  size_t similar_tokens = 3;      // the person's strongest tokens read by `similar`
  // like_you: iALS (0 factors: none), and the catalogue size from which retrieval is approximate.
  size_t factors = 32;
  size_t factor_iterations = 5;
  double factor_reg = 10, factor_alpha = 10;
  size_t ann_min_items = 20'000;
};

struct ItemFacts {
  std::string id, name, category, kind;
  uint32_t kind_id = 0;  // index of `kind` among the model's kinds
  std::optional<double> price;
  int level = -1;  // index into CatalogueOptions::levels; -1: none
  bool consumable = false;
  bool in_stock = true;
};

// One person's activity, from their events (oldest first).
struct Activity {
  struct Touch {
    uint32_t item = 0;
    Timestamp last = 0;
    uint32_t views = 0, carts = 0, purchases = 0;
  };
  std::vector<Touch> touches;  // one per item
  // Categories of what they looked at (events naming a category, with or without an item).
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  std::unordered_map<std::string, uint32_t, TextHash, std::equal_to<>> categories;
  // like_you's items nearest the person's vector, best first: searched when the activity is
  // folded (with a model that has factors), so that a request reads them instead of searching;
  // `nearest_k`: how many were asked for (0: none searched).
  std::vector<std::pair<uint32_t, float>> nearest;
  size_t nearest_k = 0;
  // similar's items, likewise searched at the fold for a ten-item answer: each item once, with
  // its score and the token it was found by, in the order read. Exponential decay scales every
  // touch alike, so the scores hold for any later request time (cosine ignores scale).
  struct SimilarPick {
    uint32_t item = 0;
    uint32_t token = 0;
    uint32_t position = 0;  // in the token's list of popular items
    double score = 0;
  };
  std::vector<SimilarPick> similar;
  size_t similar_depth = 0;  // how deep each token's list was read (0: none searched)
  // also_bought's strongest sums of neighbours, best first, for the same reason: each item with
  // its score (its sum over the best one's) and the touched item that gave it the most.
  struct AlsoPick {
    uint32_t item = 0;
    uint32_t source = 0;
    double score = 0;
  };
  std::vector<AlsoPick> also_bought;
  size_t also_bought_depth = 0;  // the answer depth they were kept for (0: none)
  Timestamp latest_touch = 0;
};

struct Request {
  size_t count = 10;
  Timestamp now = 0;
  intent::Intent intent = intent::Intent::kUnknown;
  std::optional<double> min_price, max_price;
  std::string category;                         // only this category ("": any)
  std::vector<std::string> exclude;             // item ids not to show
  std::vector<std::string> exclude_categories;  // categories not to show (ItemRules that apply)
  std::vector<std::string> segments;            // the person's segments (popular_in_segment)
};

// Rules that keep items from a group of people, by segment: the items of `categories` and
// `items` are never recommended to the members of `segment` ("members": alcohol not for the
// segment of minors), or to everyone outside it ("non_members": items reserved for a segment, its
// anti-segment excluded). A person is a member as live membership says now; an unknown visitor
// and a segment that no longer exists count as not a member.
struct ItemRule {
  std::string name;
  std::string segment;
  bool members = true;  // false: applies to everyone outside the segment
  std::vector<std::string> categories, items;
};
struct ItemRules {
  std::vector<ItemRule> rules;
};
// {"rules": [{"name", "segment", "applies_to": "members" | "non_members", "categories": [...],
// "items": [...]}]}: kInvalidArgument naming the field ("$.rules[1].segment: expected a string")
// for anything else (unknown fields, a rule with neither categories nor items, a name twice).
Result<ItemRules> ParseItemRules(std::string_view json);
void WriteItemRules(JsonWriter& json, const ItemRules& rules);

struct Reason {
  std::string generator;  // progression, browsing, also_bought, similar, popular_in_segment,
                          // popular, intent
  std::string detail;     // human-readable: which item, signal or rule
};

struct Recommendation {
  std::string item;
  uint32_t index = 0;  // the item's index in the model
  double score = 0;
  std::vector<Reason> reasons;  // strongest first
};

// An immutable, versioned model: trained in the background, swapped whole.
class Model {
 public:
  struct Stats {
    size_t profiles = 0, pairs = 0, items = 0;
    size_t catalogue_items = 0;  // items the catalogue describes
    size_t items_with_level = 0;
    size_t levels_outside_order = 0;      // level values not in the declared order
    size_t interacted_items_unknown = 0;  // interactions on items outside the catalogue
    size_t factors = 0;                   // like_you's dimensions (0: no factors)
    bool approximate = false;             // retrieval by the HNSW index, not the exact scan
    double recall = -1;  // the index's recall@30 against the exact scan (-1: exact or none)
    double train_seconds = 0;
  };

  // From interactions (InteractionsFromSnapshot) and the catalogue at `now`. Never fails on
  // data: nothing to learn from gives a model of the catalogue alone. Null when `control` asked
  // to stop (checked between stages and every few thousand items of the co-occurrence).
  static std::shared_ptr<const Model> Train(const Interactions& interactions,
                                            const std::unordered_map<std::string, ItemInput>& items,
                                            const ModelOptions& options, Timestamp now,
                                            uint64_t version, const RunControl* control = nullptr);

  uint64_t version() const { return version_; }
  Timestamp trained_at() const { return trained_at_; }
  const Stats& stats() const { return stats_; }
  const ModelOptions& options() const { return options_; }
  const BlendWeights& blend() const { return blend_; }
  const BlendReport& blend_report() const { return blend_report_; }
  size_t item_count() const { return items_.size(); }
  const ItemFacts& item(uint32_t index) const { return items_[index]; }
  std::optional<uint32_t> Find(std::string_view id) const;
  // The segments with a popular_in_segment list, by name.
  std::vector<std::string> SegmentLists() const;

 private:
  friend void FoldActivity(const Model& model, std::span<const EventInput> events,
                           Activity& activity);
  friend struct Ranker;
  using Ranked = std::vector<std::pair<uint32_t, float>>;  // item, score; best first

  uint64_t version_ = 0;
  Timestamp trained_at_ = 0;
  ModelOptions options_;
  Stats stats_;
  std::vector<ItemFacts> items_;
  // What filtering reads of each item, packed (the facts above span many cache lines).
  struct Filter {
    uint32_t kind;
    std::optional<double> price;
    int16_t level;
    bool consumable, in_stock;
  };
  std::vector<Filter> filters_;
  std::unordered_map<std::string_view, uint32_t> index_;  // views into items_[i].id
  std::vector<float> popularity_;                         // per item, normalized to [0, 1]
  std::vector<Ranked> neighbours_;                        // per item
  Ranked popular_;                                        // overall
  std::unordered_map<std::string, Ranked> popular_in_category_;
  struct SegmentList {
    size_t people = 0;  // members with pairs
    Ranked items;       // by popularity times lift, normalized to [0, 1]
  };
  std::unordered_map<std::string, SegmentList> popular_in_segment_;
  std::unordered_map<std::string_view, uint32_t> kind_index_;  // views into kinds_
  std::vector<std::string> kinds_;
  std::vector<std::vector<Ranked>> popular_in_kind_level_;  // per kind id, per level
  // similar: each item's tokens with their tf-idf weights (L2-normalized), sorted by token; the
  // tokens' names; each token's most popular items.
  // Item i's tokens: item_tokens_[item_token_offsets_[i] .. item_token_offsets_[i + 1]).
  std::vector<uint32_t> item_token_offsets_;
  std::vector<std::pair<uint32_t, float>> item_tokens_;
  std::vector<std::string> token_names_;
  std::vector<Ranked> popular_with_token_;
  // like_you: the items' factors (and their index), FᵀF + reg I of the items' factors for the
  // fold-in, row-major.
  std::shared_ptr<const ItemIndex> item_index_;
  std::vector<float> item_gram_;
  BlendWeights blend_;
  BlendReport blend_report_;
};

// One person's activity from their events (any order); items outside the model are ignored.
Activity ActivityOf(const Model& model, std::span<const EventInput> events);
// Adds later events to an activity of the same model (a profile's new event blocks): the same as
// ActivityOf of every event, except that a refund folded before its purchase gives nothing back.
void FoldActivity(const Model& model, std::span<const EventInput> events, Activity& activity);

// The top `request.count` items for the person (score descending, ties by item id).
std::vector<Recommendation> Recommend(const Model& model, const Activity& activity,
                                      const Request& request);

// The model as JSON: {"version", "trained_at", "profiles", "pairs", "items", "items_with_level",
// "levels_outside_order", "interactions_on_unknown_items", "train_seconds", "levels",
// "factors": {"dimensions", "retrieval": "hnsw" | "exact", "recall_at_30" (or null)},
// "segments" (with a popularity list), "blend": {"weights": {generator: weight}, "learned",
// "cut", "people", "candidates", "ndcg_default", "ndcg_learned", "why"}}.
void WriteModel(JsonWriter& json, const Model& model);

// One recommendation as JSON: {"item", "name", "category", "level" (or null), "price" (or null),
// "score", "reasons": [{"generator", "detail"}]}, the item described by `model` (the one that
// answered).
void WriteRecommendation(JsonWriter& json, const Model& model, const Recommendation& r);

}  // namespace tailor::reco
