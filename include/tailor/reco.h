#pragma once

// Recommendations, offline: who interacted with which item, the shared benchmark's split and
// metrics (../shared/bench/RECO.md, protocol v1, reproduced to the pair so that figures compare
// one to one with peer_reco.py), and the candidate generators scored on it. First generators:
// popularity and item-to-item co-occurrence (item kNN, cosine with shrinkage).
//
//  - Interactions: the distinct (profile, item) pairs of a snapshot's known profiles from the
//    events of the given types that name an item; a pair's time is its earliest event, it is
//    purchased if any of its events is a purchase, and its value is the largest explicit value
//    (a rating).
//  - Split: per user, pairs ordered by (time, item id in natural order: "ml:9" before "ml:10");
//    a user with n >= 5 pairs puts the last ceil(n / 5) in test; validation repeats it on train.
//  - Relevance: purchased, or value >= a threshold (MovieLens: rating >= 4).
//  - Metrics at 10 over the users with a relevant test pair: precision, recall (and capped),
//    NDCG, and coverage of the catalogue (items with a train pair).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tailor/snapshot.h"
#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::reco {

struct InteractionOptions {
  std::vector<std::string> event_types = {"product_view", "add_to_cart", "purchase", "rate"};
  std::string purchase_type = "purchase";
  // Side information (with a catalogue): the item attribute holding a level, and their order.
  std::string level_attribute = "level";
  std::vector<std::string> levels = {"beginner", "intermediate", "advanced"};
  // Trait tokens: the string, bool and list traits of the person (demographic, geographic,
  // psychographic, technographic, preference; not behavioural or other traits, which may have
  // been computed from the very events being predicted) with at most this many values.
  size_t max_trait_values = 100;
  bool trait_tokens = true;  // off where no generator reads them (the serving model)
};

struct Interaction {
  uint32_t user = 0, item = 0;  // indices into Interactions::users / items
  Timestamp time = 0;           // the pair's earliest event
  bool purchased = false;
  std::optional<double> value;  // the largest explicit value (a rating)
};

struct Interactions {
  std::vector<std::string> users;  // external ids
  std::vector<std::string> items;  // item ids
  std::vector<Interaction> pairs;  // distinct (user, item)
  // Side information for the generators that read it (empty without a catalogue / traits).
  std::vector<std::string> item_category;          // per item ("" when unknown)
  std::vector<int32_t> item_level;                 // per item: index into the levels, -1 none
  std::vector<std::string> tokens;                 // "trait=value"
  std::vector<std::vector<uint32_t>> user_tokens;  // per user: indices into tokens, sorted
  std::vector<std::string> item_token_names;       // the catalogue's facts (ItemTokens)
  std::vector<std::vector<uint32_t>> item_tokens;  // per item: indices into item_token_names
  std::vector<ProfileId> user_profiles;            // per user: the snapshot's profile id
  // Segments (filled by whoever knows membership: the service): names, and each one's users
  // (indices into users, sorted).
  std::vector<std::string> segment_names;
  std::vector<std::vector<uint32_t>> segment_users;
};

// Each item's catalogue facts as tokens, for content-based similarity: its category
// ("category=golf_clubs"), each string attribute ("brand=Mizuno"), each value of a list attribute
// ("genres=Comedy"), each bool attribute ("in_stock=true"), and each number (the price, int and
// double attributes) as its quintile among the items of the same category that have it
// ("price=q2", "year=q5"; ties share the lower quintile).
struct ItemTokens {
  std::vector<std::string> names;
  std::vector<std::vector<uint32_t>> of_item;  // per item given: sorted, distinct
};
ItemTokens TokensOf(const std::vector<const ItemInput*>& items);

// `items`: the catalogue, for the items' categories and levels (nullptr: none).
Result<Interactions> InteractionsFromSnapshot(
    const snapshot::Snapshot& snapshot, const InteractionOptions& options = {},
    const std::unordered_map<std::string, ItemInput>* items = nullptr);

// Whether a test pair counts as relevant: purchased, or (with min_value) value >= min_value.
struct Relevance {
  std::optional<double> min_value;
  bool operator()(const Interaction& pair) const {
    return min_value ? pair.value.has_value() && *pair.value >= *min_value : pair.purchased;
  }
};

// The protocol's "natural" item order: ids that are the same prefix followed by digits compare by
// that number, others as text.
bool ItemIdLess(const std::string& a, const std::string& b);

// Train and test items per user (indices into `items`), and the relevant test items.
struct Split {
  std::vector<std::vector<uint32_t>> train, test, relevant;  // items; train sorted by index
  std::vector<std::vector<uint32_t>> train_by_time;          // train items in the split's order
  std::vector<std::vector<uint32_t>> train_pairs;            // the train pairs (indices into pairs)
  std::vector<uint8_t> in_catalogue;                         // per item: has a train pair
  std::vector<uint32_t> item_rank;  // per item: its place in ItemIdLess order
  size_t catalogue = 0;
  size_t train_pair_count = 0, test_pair_count = 0, relevant_pair_count = 0;
  size_t evaluated_users = 0;  // with a relevant test pair
};
// `pairs` of the users given (all pairs: the test split; a split's train: the validation).
Split SplitByTime(const Interactions& interactions, const Relevance& relevance);
// The validation split: the same procedure on `split`'s train pairs.
Split ValidationSplit(const Interactions& interactions, const Split& split,
                      const Relevance& relevance);

struct Metrics {
  double precision = 0, recall = 0, recall_capped = 0, ndcg = 0, coverage = 0;
  size_t evaluated_users = 0;
};

// A generator scores every item for one user from their train items (higher first).
class Generator {
 public:
  virtual ~Generator() = default;
  virtual void Fit(const Split& split, size_t items) = 0;
  // scores[j] for every item j (size items) of `user` (an index of the split fitted on), whose
  // train items are `train_items`; only candidates are ranked.
  virtual void Score(size_t user, const std::vector<uint32_t>& train_items,
                     std::vector<double>& scores) const = 0;
};

// score(j) = the number of train users with j.
class Popularity : public Generator {
 public:
  void Fit(const Split& split, size_t items) override;
  void Score(size_t user, const std::vector<uint32_t>& train_items,
             std::vector<double>& scores) const override;

 private:
  std::vector<double> counts_;
};

// S[i, j] = |U_i ∩ U_j| / (sqrt|U_i| sqrt|U_j| + shrink), S[i, i] = 0, each row keeping its k
// largest (ties by j ascending); score(u, j) = sum over i in train(u) of S[i, j]. With a position
// decay h > 0, each i is weighted by its recency in the user's history as in Ease: 0.05 +
// exp(−k/h), k its place from the end in time order.
class ItemKnn : public Generator {
 public:
  ItemKnn(size_t k, double shrink, double position_decay = 0)
      : k_(k), shrink_(shrink), position_decay_(position_decay) {}
  void Fit(const Split& split, size_t items) override;
  void Score(size_t user, const std::vector<uint32_t>& train_items,
             std::vector<double>& scores) const override;
  // The same neighbours with another position decay, for the users of `split` (the split it was
  // fitted on).
  std::unique_ptr<ItemKnn> Reweighted(const Split& split, double position_decay) const;

 private:
  size_t k_;
  double shrink_;
  double position_decay_;
  std::shared_ptr<const std::vector<std::vector<std::pair<uint32_t, double>>>>
      neighbours_;                // per item, kept entries
  const Split* split_ = nullptr;  // with a position decay: train_by_time of the fitted split
};

// EASE^R (Steck 2019): P = (XᵀX + λI)⁻¹ over the catalogue, B = I − P diag(1/diag P) (so
// diag B = 0), score = X B; in user space when there are fewer users than items (the Woodbury
// form: X P = (XXᵀ + λI)⁻¹ X, diag P_jj = (1 − x_jᵀ (XXᵀ + λI)⁻¹ x_j) / λ), as the peer does.
// With a position decay h > 0 the user's row is weighted by recency when scoring (B is the same):
// x̃_uj = 0.05 + exp(−k/h), k = the train pair's place from the end of the user's pairs in time
// order (the last is 0); in user space score = x̃ − x̃P / diag P with
// x̃P = (x̃ − (x̃Xᵀ)(XXᵀ + λI)⁻¹X) / λ.
class Ease : public Generator {
 public:
  // kAuto: whichever of users and items is fewer (both give the same scores up to round-off).
  enum class Space { kAuto, kItems, kUsers };
  explicit Ease(double lambda, Space space = Space::kAuto, double position_decay = 0);
  ~Ease() override;
  void Fit(const Split& split, size_t items) override;
  void Score(size_t user, const std::vector<uint32_t>& train_items,
             std::vector<double>& scores) const override;
  // The same fitted B with another position decay, for the users of `split` (the split it was
  // fitted on): trying decays costs no refit.
  std::unique_ptr<Ease> Reweighted(const Split& split, double position_decay) const;

 private:
  struct Model;
  void SetWeights(const Split& split, size_t columns);
  double lambda_;
  Space space_;
  double position_decay_;
  std::shared_ptr<const Model> model_;
  // With a position decay: each user's train items (catalogue columns) and their weights x̃,
  // and (user space) the users of each column, for x̃Xᵀ.
  std::vector<std::vector<std::pair<int32_t, double>>> weighted_;
  std::vector<std::vector<uint32_t>> users_of_;
};

// Implicit-feedback matrix factorization (Hu, Koren & Volinsky 2008) on the binary train pairs:
// preference 1 on a pair, confidence 1 + alpha (1 elsewhere), user and item factors alternately
// refitted by minimising sum c (p − xᵀy)² + reg (|x|² + |y|²); each row's system
// (FᵀF + alpha F_uᵀF_u + reg I) x = (1 + alpha) F_uᵀ1 is solved approximately by a few conjugate-
// gradient steps from the row's previous value (Takács et al. 2011), never forming F_uᵀF_u.
// score(u, j) = x_u · y_j. Item factors start N(0, 0.01²) from a fixed seed.
class Ials : public Generator {
 public:
  struct Options {
    size_t factors = 64;
    size_t iterations = 10;
    size_t cg_steps = 3;
    double reg = 10;
    double alpha = 10;
    uint64_t seed = 42;
  };
  explicit Ials(Options options);
  ~Ials() override;
  void Fit(const Split& split, size_t items) override;
  void Score(size_t user, const std::vector<uint32_t>& train_items,
             std::vector<double>& scores) const override;

 private:
  struct Factors;
  Options options_;
  std::unique_ptr<Factors> factors_;
};

// What the person likes, from their traits and history, times what is popular within it:
// score(u, j) = a_u(c_j) · share_j · lv_u(c_j, l_j), where
//  - a_u(c) = (n_u(c) + kappa P0(c | u)) / (n_u + kappa): the share of their train pairs in the
//    item's category, shrunk towards a prior from their traits, a multinomial logit
//    P0(c | u) = softmax_c(b_c + sum over their trait tokens t of L_tc) fitted by maximum
//    likelihood on every user's category counts with penalty reg |L|² (NLopt's L-BFGS);
//  - share_j = (train users of j + 0.5) / the same summed over its (category, level) group;
//  - lv_u(c, l) = (m_u(c, l) + mu pi(c, l)) / (m_u(c) + mu) for an item with a level: their
//    pairs at that level of the category, shrunk towards the category's level shares; else 1.
// Needs Interactions' side information (categories; tokens are optional).
class Affinity : public Generator {
 public:
  struct Options {
    double kappa = 300;
    double reg = 10;
    double mu = 3;
  };
  Affinity(const Interactions& interactions, Options options);
  ~Affinity() override;
  void Fit(const Split& split, size_t items) override;
  void Score(size_t user, const std::vector<uint32_t>& train_items,
             std::vector<double>& scores) const override;

 private:
  struct Model;
  const Interactions& interactions_;
  Options options_;
  std::unique_ptr<Model> model_;
};

// Content-based: each item a tf-idf vector of its catalogue tokens (Interactions::item_tokens;
// idf = ln((1 + N) / (1 + df)) + 1 over the N catalogue items, L2-normalized); a user's profile
// the sum of their train items' vectors, each weighted by recency as in Ease (0.05 + exp(−k/h);
// h = 0: every item 1); score(u, j) = cos(profile_u, v_j) · (train users of j + 1)^gamma. An item
// without tokens scores 0.
class Content : public Generator {
 public:
  struct Options {
    double position_decay = 0;
    double popularity_exponent = 0.5;  // gamma
  };
  Content(const Interactions& interactions, Options options)
      : interactions_(interactions), options_(options) {}
  void Fit(const Split& split, size_t items) override;
  void Score(size_t user, const std::vector<uint32_t>& train_items,
             std::vector<double>& scores) const override;

 private:
  const Interactions& interactions_;
  Options options_;
  const Split* split_ = nullptr;
  std::vector<std::vector<std::pair<uint32_t, double>>> vectors_;  // per item: token, weight
  std::vector<double> popularity_;                                 // per item: (users + 1)^gamma
};

// Top 10 of each evaluated user (score descending, ties by item id ascending, candidates: the
// catalogue minus their train items) against their relevant test items.
Metrics Evaluate(const Generator& generator, const Split& split, const Interactions& interactions);

struct GeneratorReport {
  std::string name;    // "popularity", "item_knn"
  std::string params;  // the chosen grid point ("k=50, shrink=10"), "" without a grid
  Metrics metrics;     // on the test split, fitted on the whole train
  std::vector<std::pair<std::string, double>> validation;  // grid point -> validation NDCG@10
};
// Each generator tuned on the validation split (highest NDCG@10, first in grid order on a tie),
// refitted on train and scored on test.
std::vector<GeneratorReport> EvaluateGenerators(const Interactions& interactions,
                                                const Relevance& relevance);

}  // namespace tailor::reco
