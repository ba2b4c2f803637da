#include "tailor/reco.h"

#include <fmt/format.h>
#include <nlopt.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>
#include <unordered_map>

#include "reco/cooccurrence.h"
#include "reco/factors.h"

namespace tailor::reco {
namespace {

constexpr size_t kTop = 10;

// The digits ending `id`, and where they start; nullopt without any (or too many to compare).
std::optional<std::pair<size_t, uint64_t>> TrailingNumber(const std::string& id) {
  size_t start = id.size();
  while (start > 0 && id[start - 1] >= '0' && id[start - 1] <= '9') --start;
  if (start == id.size() || id.size() - start > 18) return std::nullopt;
  uint64_t value = 0;
  for (size_t i = start; i < id.size(); ++i) value = value * 10 + uint64_t(id[i] - '0');
  return std::pair{start, value};
}

// Splits each user's pairs (indices into interactions.pairs) by time, as RECO.md defines.
Split SplitPairs(const Interactions& interactions,
                 const std::vector<std::vector<uint32_t>>& by_user, const Relevance& relevance,
                 const std::vector<uint32_t>& item_rank) {
  Split split;
  const size_t users = by_user.size();
  split.train.resize(users);
  split.test.resize(users);
  split.relevant.resize(users);
  split.train_pairs.resize(users);
  split.train_by_time.resize(users);
  split.in_catalogue.assign(interactions.items.size(), 0);
  for (size_t u = 0; u < users; ++u) {
    std::vector<uint32_t> order = by_user[u];
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      const Interaction &x = interactions.pairs[a], &y = interactions.pairs[b];
      if (x.time != y.time) return x.time < y.time;
      return item_rank[x.item] < item_rank[y.item];
    });
    const size_t n = order.size();
    const size_t held = n >= 5 ? (n + 4) / 5 : 0;
    for (size_t r = 0; r < n; ++r) {
      const Interaction& pair = interactions.pairs[order[r]];
      if (r < n - held) {
        split.train[u].push_back(pair.item);
        split.train_pairs[u].push_back(order[r]);
        split.in_catalogue[pair.item] = 1;
        ++split.train_pair_count;
      } else {
        split.test[u].push_back(pair.item);
        ++split.test_pair_count;
        if (relevance(pair)) {
          split.relevant[u].push_back(pair.item);
          ++split.relevant_pair_count;
        }
      }
    }
    split.train_by_time[u] = split.train[u];
    std::sort(split.train[u].begin(), split.train[u].end());
    split.evaluated_users += !split.relevant[u].empty();
  }
  split.catalogue = static_cast<size_t>(
      std::count(split.in_catalogue.begin(), split.in_catalogue.end(), uint8_t{1}));
  split.item_rank = item_rank;
  return split;
}

std::vector<uint32_t> ItemRanks(const Interactions& interactions) {
  std::vector<uint32_t> order(interactions.items.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return ItemIdLess(interactions.items[a], interactions.items[b]);
  });
  std::vector<uint32_t> rank(order.size());
  for (uint32_t r = 0; r < order.size(); ++r) rank[order[r]] = r;
  return rank;
}

}  // namespace

bool ItemIdLess(const std::string& a, const std::string& b) {
  const auto x = TrailingNumber(a), y = TrailingNumber(b);
  if (x && y && x->first == y->first && a.compare(0, x->first, b, 0, y->first) == 0) {
    if (x->second != y->second) return x->second < y->second;
  }
  return a < b;
}

namespace {

// The catalogue's category and level of each item of `out`.
void AddItemFacts(const std::unordered_map<std::string, ItemInput>& catalogue,
                  const InteractionOptions& options, Interactions& out) {
  out.item_category.assign(out.items.size(), "");
  out.item_level.assign(out.items.size(), -1);
  for (size_t j = 0; j < out.items.size(); ++j) {
    const auto found = catalogue.find(out.items[j]);
    if (found == catalogue.end()) continue;
    out.item_category[j] = found->second.category;
    for (const auto& [name, value] : found->second.attributes) {
      const auto* text = std::get_if<std::string>(&value.value);
      if (name != options.level_attribute || text == nullptr) continue;
      const auto level = std::find(options.levels.begin(), options.levels.end(), *text);
      if (level != options.levels.end())
        out.item_level[j] = int32_t(level - options.levels.begin());
    }
  }
  // Tokens of the whole catalogue (its bands are the catalogue's), in id order.
  std::vector<const ItemInput*> listed;
  listed.reserve(catalogue.size());
  for (const auto& [id, item] : catalogue) listed.push_back(&item);
  std::sort(listed.begin(), listed.end(),
            [](const ItemInput* a, const ItemInput* b) { return a->id < b->id; });
  ItemTokens tokens = TokensOf(listed);
  std::unordered_map<std::string_view, size_t> listed_at;
  for (size_t i = 0; i < listed.size(); ++i) listed_at.emplace(listed[i]->id, i);
  out.item_token_names = std::move(tokens.names);
  out.item_tokens.assign(out.items.size(), {});
  for (size_t j = 0; j < out.items.size(); ++j) {
    const auto found = listed_at.find(out.items[j]);
    if (found != listed_at.end()) out.item_tokens[j] = std::move(tokens.of_item[found->second]);
  }
}

// The categorical traits of each user (`profiles`: their dense ids) as "trait=value" tokens.
void AddTraitTokens(const snapshot::Snapshot& snapshot, const std::vector<ProfileId>& profiles,
                    const InteractionOptions& options, Interactions& out) {
  out.user_tokens.assign(profiles.size(), {});
  for (const snapshot::TraitColumn& column : snapshot.traits()) {
    switch (column.category) {
      case TraitCategory::kDemographic:
      case TraitCategory::kGeographic:
      case TraitCategory::kPsychographic:
      case TraitCategory::kTechnographic:
      case TraitCategory::kPreference:
        break;
      default:
        continue;  // behavioural or other: possibly computed from the events to predict
    }
    const bool is_bool = column.type == TraitType::kBool;
    if (!is_bool && column.type != TraitType::kString && column.type != TraitType::kStringList) {
      continue;
    }
    if (!is_bool && column.dictionary.size() > options.max_trait_values) continue;
    std::unordered_map<uint32_t, uint32_t> token_of;  // value code (bool: 0/1) -> token
    const auto token = [&](uint32_t code) {
      auto [at, added] = token_of.try_emplace(code, static_cast<uint32_t>(out.tokens.size()));
      if (added) {
        const std::string value =
            is_bool ? (code ? "true" : "false") : std::string(column.dictionary[code]);
        out.tokens.push_back(column.name + "=" + value);
      }
      return at->second;
    };
    for (size_t u = 0; u < profiles.size(); ++u) {
      const ProfileId id = profiles[u];
      if (!column.present.Test(id)) continue;
      if (is_bool) {
        out.user_tokens[u].push_back(token(column.ints[id] != 0));
      } else if (column.type == TraitType::kString) {
        out.user_tokens[u].push_back(token(column.codes[id]));
      } else {
        for (uint32_t k = column.list_offsets[id]; k < column.list_offsets[id + 1]; ++k) {
          out.user_tokens[u].push_back(token(column.list_codes[k]));
        }
      }
    }
  }
  for (auto& tokens : out.user_tokens) {
    std::sort(tokens.begin(), tokens.end());
    tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
  }
}

}  // namespace

Result<Interactions> InteractionsFromSnapshot(
    const snapshot::Snapshot& snapshot, const InteractionOptions& options,
    const std::unordered_map<std::string, ItemInput>* items) {
  const snapshot::EventColumns& events = snapshot.events();
  std::vector<uint8_t> wanted(events.types.size(), 0);
  for (const std::string& type : options.event_types) {
    const uint32_t code = events.types.Find(type);
    if (code != snapshot::kNullCode) wanted[code] = 1;
  }
  const uint32_t purchase = events.types.Find(options.purchase_type);
  Interactions out;
  std::unordered_map<uint32_t, uint32_t> item_of_code;
  struct Row {
    uint32_t item;
    Timestamp time;
    bool purchased;
    std::optional<double> value;
  };
  std::vector<Row> rows;
  std::vector<ProfileId> profiles;  // per user
  for (ProfileId id = 0; id < snapshot.profile_count(); ++id) {
    if (!snapshot.known().Test(id)) continue;
    rows.clear();
    for (uint64_t e = events.offsets[id]; e < events.offsets[id + 1]; ++e) {
      const uint32_t code = events.item.codes[e];
      if (!wanted[events.type[e]] || code == snapshot::kNullCode) continue;
      auto [it, added] = item_of_code.try_emplace(code, static_cast<uint32_t>(out.items.size()));
      if (added) out.items.emplace_back(events.item.dictionary[code]);
      std::optional<double> value;
      if (events.value[e] != snapshot::kNoAmount)
        value = static_cast<double>(events.value[e]) / 1e6;
      rows.push_back({it->second, events.time[e], events.type[e] == purchase, value});
    }
    if (rows.empty()) continue;
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      return a.item != b.item ? a.item < b.item : a.time < b.time;
    });
    const uint32_t user = static_cast<uint32_t>(out.users.size());
    out.users.emplace_back(snapshot.external_id(id));
    profiles.push_back(id);
    for (size_t r = 0; r < rows.size();) {
      Interaction pair{user, rows[r].item, rows[r].time, false, std::nullopt};
      for (; r < rows.size() && rows[r].item == pair.item; ++r) {
        pair.purchased = pair.purchased || rows[r].purchased;
        if (rows[r].value && (!pair.value || *rows[r].value > *pair.value)) {
          pair.value = rows[r].value;
        }
      }
      out.pairs.push_back(pair);
    }
  }
  out.user_profiles = profiles;
  if (items != nullptr) AddItemFacts(*items, options, out);
  if (options.trait_tokens) AddTraitTokens(snapshot, profiles, options, out);
  return out;
}

Split SplitByTime(const Interactions& interactions, const Relevance& relevance) {
  std::vector<std::vector<uint32_t>> by_user(interactions.users.size());
  for (uint32_t p = 0; p < interactions.pairs.size(); ++p) {
    by_user[interactions.pairs[p].user].push_back(p);
  }
  return SplitPairs(interactions, by_user, relevance, ItemRanks(interactions));
}

Split ValidationSplit(const Interactions& interactions, const Split& split,
                      const Relevance& relevance) {
  return SplitPairs(interactions, split.train_pairs, relevance, split.item_rank);
}

void Popularity::Fit(const Split& split, size_t items) {
  counts_.assign(items, 0);
  for (const auto& train : split.train) {
    for (uint32_t j : train) counts_[j] += 1;
  }
}

void Popularity::Score(size_t, const std::vector<uint32_t>&, std::vector<double>& scores) const {
  scores = counts_;
}

void ItemKnn::Fit(const Split& split, size_t items) {
  std::vector<WeightedItems> users(split.train.size());
  for (size_t u = 0; u < split.train.size(); ++u) {
    for (uint32_t j : split.train[u]) users[u].emplace_back(j, 1.0);
  }
  neighbours_ =
      std::make_shared<const Neighbours>(CoOccurrence(users, items, k_, shrink_, split.item_rank));
  split_ = &split;
}

std::unique_ptr<ItemKnn> ItemKnn::Reweighted(const Split& split, double position_decay) const {
  auto out = std::make_unique<ItemKnn>(k_, shrink_, position_decay);
  out->neighbours_ = neighbours_;
  out->split_ = &split;
  return out;
}

Neighbours CoOccurrence(const std::vector<WeightedItems>& users, size_t items, size_t k,
                        double shrink, const std::vector<uint32_t>& rank,
                        const std::function<bool()>& stop) {
  std::vector<std::vector<std::pair<uint32_t, double>>> users_of(items);  // user, weight
  std::vector<double> norm(items, 0.0);
  for (uint32_t u = 0; u < users.size(); ++u) {
    for (const auto& [j, w] : users[u]) {
      users_of[j].emplace_back(u, w);
      norm[j] += w * w;
    }
  }
  for (double& n : norm) n = std::sqrt(n);
  Neighbours neighbours(items);
  std::vector<double> together(items, 0.0);  // one item's row of co-occurrence
  std::vector<uint8_t> seen(items, 0);
  std::vector<uint32_t> touched;
  std::vector<std::pair<uint32_t, double>> row;
  for (uint32_t i = 0; i < items; ++i) {
    if (stop && i % 4096 == 0 && stop()) break;
    if (users_of[i].empty()) continue;
    touched.clear();
    for (const auto& [u, w_i] : users_of[i]) {
      for (const auto& [j, w_j] : users[u]) {
        if (!seen[j]) {
          seen[j] = 1;
          touched.push_back(j);
        }
        together[j] += w_i * w_j;
      }
    }
    row.clear();
    for (uint32_t j : touched) {
      if (j != i) row.emplace_back(j, together[j] / (norm[i] * norm[j] + shrink));
      together[j] = 0;
      seen[j] = 0;
    }
    const auto better = [&](const auto& a, const auto& b) {
      if (a.second != b.second) return a.second > b.second;
      return rank[a.first] < rank[b.first];
    };
    if (row.size() > k) {
      std::nth_element(row.begin(), row.begin() + static_cast<ptrdiff_t>(k), row.end(), better);
      row.resize(k);
    }
    neighbours[i] = row;
  }
  return neighbours;
}

void ItemKnn::Score(size_t user, const std::vector<uint32_t>& train_items,
                    std::vector<double>& scores) const {
  std::fill(scores.begin(), scores.end(), 0.0);
  const Neighbours& neighbours = *neighbours_;
  if (position_decay_ > 0) {
    const std::vector<uint32_t>& ordered = split_->train_by_time[user];
    for (size_t r = 0; r < ordered.size(); ++r) {
      const double from_end = static_cast<double>(ordered.size() - 1 - r);
      const double weight = 0.05 + std::exp(-from_end / position_decay_);
      for (const auto& [j, s] : neighbours[ordered[r]]) scores[j] += weight * s;
    }
    return;
  }
  for (uint32_t i : train_items) {
    for (const auto& [j, s] : neighbours[i]) scores[j] += s;
  }
}

struct Ease::Model {
  std::vector<int32_t> column;  // per item: its catalogue column, -1 outside
  bool user_space = false;
  Eigen::MatrixXd b;         // item space: B (catalogue × catalogue)
  Eigen::MatrixXd xp;        // user space: X P = (XXᵀ + λI)⁻¹ X (users × catalogue)
  Eigen::VectorXd diagonal;  // user space: diag P
};

Ease::Ease(double lambda, Space space, double position_decay)
    : lambda_(lambda), space_(space), position_decay_(position_decay) {}
Ease::~Ease() = default;

void Ease::SetWeights(const Split& split, size_t columns) {
  weighted_.clear();
  users_of_.clear();
  if (position_decay_ <= 0) return;
  const Model& m = *model_;
  const size_t users = split.train.size();
  weighted_.resize(users);
  if (m.user_space) users_of_.resize(columns);
  for (size_t u = 0; u < users; ++u) {
    const std::vector<uint32_t>& ordered = split.train_by_time[u];
    for (size_t r = 0; r < ordered.size(); ++r) {
      const double from_end = static_cast<double>(ordered.size() - 1 - r);
      const int32_t c = m.column[ordered[r]];
      weighted_[u].emplace_back(c, 0.05 + std::exp(-from_end / position_decay_));
      if (m.user_space) users_of_[static_cast<size_t>(c)].push_back(static_cast<uint32_t>(u));
    }
  }
}

std::unique_ptr<Ease> Ease::Reweighted(const Split& split, double position_decay) const {
  auto out = std::make_unique<Ease>(lambda_, space_, position_decay);
  out->model_ = model_;
  size_t columns = 0;
  for (int32_t c : model_->column) columns += c >= 0;
  out->SetWeights(split, columns);
  return out;
}

void Ease::Fit(const Split& split, size_t items) {
  auto fitted = std::make_shared<Model>();
  model_ = fitted;
  Model& m = *fitted;
  m.column.assign(items, -1);
  int32_t columns = 0;
  for (size_t j = 0; j < items; ++j) {
    if (split.in_catalogue[j]) m.column[j] = columns++;
  }
  const size_t users = split.train.size();
  m.user_space =
      space_ == Space::kAuto ? users < static_cast<size_t>(columns) : space_ == Space::kUsers;
  SetWeights(split, static_cast<size_t>(columns));
  if (!m.user_space) {
    Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(columns, columns);  // XᵀX
    for (const auto& train : split.train) {
      for (uint32_t i : train) {
        for (uint32_t j : train) gram(m.column[i], m.column[j]) += 1;
      }
    }
    gram.diagonal().array() += lambda_;
    const Eigen::MatrixXd p = gram.llt().solve(Eigen::MatrixXd::Identity(columns, columns));
    m.b = -p;
    for (int32_t j = 0; j < columns; ++j) m.b.col(j) /= p(j, j);
    m.b.diagonal().setZero();
    return;
  }
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(users), columns);
  for (size_t u = 0; u < users; ++u) {
    for (uint32_t j : split.train[u]) x(static_cast<Eigen::Index>(u), m.column[j]) = 1;
  }
  Eigen::MatrixXd kernel = x * x.transpose();
  kernel.diagonal().array() += lambda_;
  m.xp = kernel.llt().solve(x);
  m.diagonal =
      ((1.0 - x.cwiseProduct(m.xp).colwise().sum().array()) / lambda_).matrix().transpose();
}

void Ease::Score(size_t user, const std::vector<uint32_t>& train_items,
                 std::vector<double>& scores) const {
  const Model& m = *model_;
  std::fill(scores.begin(), scores.end(), 0.0);
  if (!weighted_.empty()) {  // recency-weighted input
    const auto& row = weighted_[user];
    if (m.user_space) {
      // x̃Xᵀ over the users, then (x̃Xᵀ)(XXᵀ + λI)⁻¹X; a candidate's x̃ is 0, so its score is
      // that product over λ diag P.
      Eigen::RowVectorXd overlap = Eigen::RowVectorXd::Zero(m.xp.rows());
      for (const auto& [c, weight] : row) {
        for (uint32_t v : users_of_[static_cast<size_t>(c)]) overlap(v) += weight;
      }
      const Eigen::RowVectorXd product = overlap * m.xp;
      for (size_t j = 0; j < scores.size(); ++j) {
        const int32_t c = m.column[j];
        if (c >= 0) scores[j] = product(c) / (lambda_ * m.diagonal(c));
      }
    } else {
      for (size_t j = 0; j < scores.size(); ++j) {
        const int32_t c = m.column[j];
        if (c < 0) continue;
        double sum = 0;
        for (const auto& [i, weight] : row) sum += weight * m.b(i, c);
        scores[j] = sum;
      }
    }
    return;
  }
  for (size_t j = 0; j < scores.size(); ++j) {
    const int32_t c = m.column[j];
    if (c < 0) continue;
    if (m.user_space) {
      // x_u B = x_u - (x_u P) / diag P; x_u is 0 on every candidate (its train items are not).
      scores[j] = -m.xp(static_cast<Eigen::Index>(user), c) / m.diagonal(c);
    } else {
      double sum = 0;
      for (uint32_t i : train_items) sum += m.b(m.column[i], c);
      scores[j] = sum;
    }
  }
}

struct Ials::Factors {
  Eigen::MatrixXd users, items;  // one row per user / item
};

Ials::Ials(Options options) : options_(options) {}
Ials::~Ials() = default;

void Ials::Fit(const Split& split, size_t items) {
  factors_ = std::make_unique<Factors>();
  const Eigen::Index f = static_cast<Eigen::Index>(options_.factors);
  std::vector<std::vector<uint32_t>> users_of(items);
  for (uint32_t u = 0; u < split.train.size(); ++u) {
    for (uint32_t j : split.train[u]) users_of[j].push_back(u);
  }
  std::mt19937_64 random(options_.seed);
  std::normal_distribution<double> normal(0.0, 0.01);
  factors_->items = Eigen::MatrixXd(static_cast<Eigen::Index>(items), f);
  for (Eigen::Index j = 0; j < factors_->items.rows(); ++j) {
    for (Eigen::Index k = 0; k < f; ++k) factors_->items(j, k) = normal(random);
  }
  factors_->users = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(split.train.size()), f);
  for (size_t iteration = 0; iteration < options_.iterations; ++iteration) {
    IalsHalf<Eigen::MatrixXd>(split.train, factors_->items, options_.reg, options_.alpha,
                              options_.cg_steps, factors_->users);
    IalsHalf<Eigen::MatrixXd>(users_of, factors_->users, options_.reg, options_.alpha,
                              options_.cg_steps, factors_->items);
  }
}

void Ials::Score(size_t user, const std::vector<uint32_t>&, std::vector<double>& scores) const {
  const Eigen::VectorXd all =
      factors_->items * factors_->users.row(static_cast<Eigen::Index>(user)).transpose();
  for (size_t j = 0; j < scores.size(); ++j) scores[j] = all(static_cast<Eigen::Index>(j));
}

struct Affinity::Model {
  std::vector<uint32_t> category;  // per item: its category's index
  std::vector<int32_t> level;      // per item, -1 none
  size_t categories = 0, levels = 0;
  std::vector<double> share;                      // per item: share_j
  Eigen::MatrixXd prior;                          // users × categories: P0(c | u)
  std::vector<std::vector<double>> counts;        // per user: n_u(c)
  std::vector<std::vector<double>> level_counts;  // per user: m_u(c, l) at c * levels + l
  std::vector<double> level_share;                // pi(c, l)
};

Affinity::Affinity(const Interactions& interactions, Options options)
    : interactions_(interactions), options_(options) {}
Affinity::~Affinity() = default;

namespace {

// The multinomial logit of the categories on the trait tokens: minus the log-likelihood of
// every user's category counts plus reg |L|², and its gradient, for NLopt.
struct CategoryLogit {
  const std::vector<std::vector<uint32_t>>* tokens;  // per user
  const std::vector<std::vector<double>>* counts;    // per user, per category
  size_t categories = 0, token_count = 0;
  double reg = 0;
  // theta = [b (categories), L (token_count × categories, row-major)].
  double operator()(const double* theta, double* gradient) const {
    const size_t c_count = categories;
    if (gradient != nullptr) std::fill(gradient, gradient + c_count * (1 + token_count), 0.0);
    double loss = 0;
    std::vector<double> z(c_count);
    for (size_t u = 0; u < counts->size(); ++u) {
      const std::vector<double>& n = (*counts)[u];
      double total = 0;
      for (double x : n) total += x;
      if (total == 0) continue;
      for (size_t c = 0; c < c_count; ++c) z[c] = theta[c];
      for (uint32_t t : (*tokens)[u]) {
        const double* row = theta + c_count * (1 + t);
        for (size_t c = 0; c < c_count; ++c) z[c] += row[c];
      }
      const double most = *std::max_element(z.begin(), z.end());
      double sum = 0;
      for (size_t c = 0; c < c_count; ++c) sum += std::exp(z[c] - most);
      const double log_sum = most + std::log(sum);
      for (size_t c = 0; c < c_count; ++c) {
        if (n[c] > 0) loss -= n[c] * (z[c] - log_sum);
      }
      if (gradient == nullptr) continue;
      for (size_t c = 0; c < c_count; ++c) {
        const double g = total * std::exp(z[c] - log_sum) - n[c];
        gradient[c] += g;
        for (uint32_t t : (*tokens)[u]) gradient[c_count * (1 + t) + c] += g;
      }
    }
    for (size_t k = c_count; k < c_count * (1 + token_count); ++k) {
      loss += reg * theta[k] * theta[k];
      if (gradient != nullptr) gradient[k] += 2 * reg * theta[k];
    }
    return loss;
  }
};

double CategoryLogitCallback(unsigned, const double* theta, double* gradient, void* data) {
  return (*static_cast<const CategoryLogit*>(data))(theta, gradient);
}

}  // namespace

void Affinity::Fit(const Split& split, size_t items) {
  model_ = std::make_unique<Model>();
  Model& m = *model_;
  std::unordered_map<std::string, uint32_t> category_of;
  m.category.resize(items);
  m.level.assign(items, -1);
  for (size_t j = 0; j < items; ++j) {
    const std::string& name =
        j < interactions_.item_category.size() ? interactions_.item_category[j] : std::string();
    m.category[j] =
        category_of.try_emplace(name, static_cast<uint32_t>(category_of.size())).first->second;
    if (j < interactions_.item_level.size()) m.level[j] = interactions_.item_level[j];
    m.levels = std::max(m.levels, static_cast<size_t>(m.level[j] + 1));
  }
  m.categories = category_of.size();
  const size_t users = split.train.size();
  const size_t c_count = m.categories, l_count = std::max<size_t>(m.levels, 1);
  m.counts.assign(users, std::vector<double>(c_count, 0.0));
  m.level_counts.assign(users, std::vector<double>(c_count * l_count, 0.0));
  std::vector<double> users_of(items, 0.0);
  m.level_share.assign(c_count * l_count, 1.0);  // +1 smoothing
  for (size_t u = 0; u < users; ++u) {
    for (uint32_t j : split.train[u]) {
      m.counts[u][m.category[j]] += 1;
      users_of[j] += 1;
      if (m.level[j] >= 0) {
        m.level_counts[u][m.category[j] * l_count + size_t(m.level[j])] += 1;
        m.level_share[m.category[j] * l_count + size_t(m.level[j])] += 1;
      }
    }
  }
  for (size_t c = 0; c < c_count; ++c) {
    double sum = 0;
    for (size_t l = 0; l < l_count; ++l) sum += m.level_share[c * l_count + l];
    for (size_t l = 0; l < l_count; ++l) m.level_share[c * l_count + l] /= sum;
  }
  // share_j within its (category, level) group; catalogue items only.
  std::vector<double> group_sum(c_count * (l_count + 1), 0.0);
  const auto group = [&](size_t j) {
    return m.category[j] * (l_count + 1) + size_t(m.level[j] + 1);
  };
  for (size_t j = 0; j < items; ++j) {
    if (split.in_catalogue[j]) group_sum[group(j)] += users_of[j] + 0.5;
  }
  m.share.assign(items, 0.0);
  for (size_t j = 0; j < items; ++j) {
    if (split.in_catalogue[j]) m.share[j] = (users_of[j] + 0.5) / group_sum[group(j)];
  }
  // The trait prior.
  static const std::vector<uint32_t> kNoTokens;
  std::vector<std::vector<uint32_t>> tokens(users);
  for (size_t u = 0; u < users && u < interactions_.user_tokens.size(); ++u) {
    tokens[u] = interactions_.user_tokens[u];
  }
  CategoryLogit logit{&tokens, &m.counts, c_count, interactions_.tokens.size(), options_.reg};
  std::vector<double> theta(c_count * (1 + logit.token_count), 0.0);
  std::unique_ptr<nlopt_opt_s, decltype(&nlopt_destroy)> opt(
      nlopt_create(NLOPT_LD_LBFGS, static_cast<unsigned>(theta.size())), nlopt_destroy);
  if (opt != nullptr) {
    nlopt_set_min_objective(opt.get(), CategoryLogitCallback, &logit);
    nlopt_set_ftol_rel(opt.get(), 1e-9);
    nlopt_set_maxeval(opt.get(), 500);
    double loss = 0;
    nlopt_optimize(opt.get(), theta.data(), &loss);  // any stop leaves the best point found
  }
  m.prior.resize(static_cast<Eigen::Index>(users), static_cast<Eigen::Index>(c_count));
  std::vector<double> z(c_count);
  for (size_t u = 0; u < users; ++u) {
    for (size_t c = 0; c < c_count; ++c) z[c] = theta[c];
    for (uint32_t t : tokens[u]) {
      for (size_t c = 0; c < c_count; ++c) z[c] += theta[c_count * (1 + t) + c];
    }
    const double most = *std::max_element(z.begin(), z.end());
    double sum = 0;
    for (size_t c = 0; c < c_count; ++c) sum += std::exp(z[c] - most);
    for (size_t c = 0; c < c_count; ++c) {
      m.prior(static_cast<Eigen::Index>(u), static_cast<Eigen::Index>(c)) =
          std::exp(z[c] - most) / sum;
    }
  }
}

void Affinity::Score(size_t user, const std::vector<uint32_t>&, std::vector<double>& scores) const {
  const Model& m = *model_;
  const size_t l_count = std::max<size_t>(m.levels, 1);
  const std::vector<double>& n = m.counts[user];
  double total = 0;
  for (double x : n) total += x;
  std::vector<double> affinity(m.categories);
  for (size_t c = 0; c < m.categories; ++c) {
    affinity[c] = (n[c] + options_.kappa * m.prior(static_cast<Eigen::Index>(user),
                                                   static_cast<Eigen::Index>(c))) /
                  (total + options_.kappa);
  }
  const std::vector<double>& levels = m.level_counts[user];
  for (size_t j = 0; j < scores.size(); ++j) {
    const size_t c = m.category[j];
    double level_factor = 1;
    if (m.level[j] >= 0) {
      double in_category = 0;
      for (size_t l = 0; l < l_count; ++l) in_category += levels[c * l_count + l];
      const size_t at = c * l_count + size_t(m.level[j]);
      level_factor = (levels[at] + options_.mu * m.level_share[at]) / (in_category + options_.mu);
    }
    scores[j] = affinity[c] * m.share[j] * level_factor;
  }
}

Metrics Evaluate(const Generator& generator, const Split& split, const Interactions& interactions) {
  Metrics m;
  const size_t items = interactions.items.size();
  std::vector<double> scores(items, 0.0);
  std::vector<uint8_t> recommended(items, 0), owned(items, 0);
  std::vector<uint32_t> candidates;
  double idcg[kTop + 1] = {0};
  for (size_t r = 1; r <= kTop; ++r) idcg[r] = idcg[r - 1] + 1 / std::log2(r + 1.0);
  for (size_t u = 0; u < split.train.size(); ++u) {
    const std::vector<uint32_t>& relevant = split.relevant[u];
    if (relevant.empty()) continue;
    generator.Score(u, split.train[u], scores);
    for (uint32_t j : split.train[u]) owned[j] = 1;
    candidates.clear();
    for (uint32_t j = 0; j < items; ++j) {
      if (split.in_catalogue[j] && !owned[j]) candidates.push_back(j);
    }
    for (uint32_t j : split.train[u]) owned[j] = 0;
    const auto better = [&](uint32_t a, uint32_t b) {
      if (scores[a] != scores[b]) return scores[a] > scores[b];
      return split.item_rank[a] < split.item_rank[b];
    };
    const size_t top = std::min(kTop, candidates.size());
    std::partial_sort(candidates.begin(), candidates.begin() + static_cast<ptrdiff_t>(top),
                      candidates.end(), better);
    size_t hits = 0;
    double dcg = 0;
    for (size_t r = 0; r < top; ++r) {
      recommended[candidates[r]] = 1;
      if (std::find(relevant.begin(), relevant.end(), candidates[r]) != relevant.end()) {
        ++hits;
        dcg += 1 / std::log2(r + 2.0);
      }
    }
    const size_t n = relevant.size();
    m.precision += double(hits) / kTop;
    m.recall += double(hits) / n;
    m.recall_capped += double(hits) / std::min(n, kTop);
    m.ndcg += dcg / idcg[std::min(n, kTop)];
    ++m.evaluated_users;
  }
  if (m.evaluated_users > 0) {
    const double n = static_cast<double>(m.evaluated_users);
    m.precision /= n;
    m.recall /= n;
    m.recall_capped /= n;
    m.ndcg /= n;
  }
  const size_t shown = static_cast<size_t>(std::count(recommended.begin(), recommended.end(), 1));
  m.coverage = split.catalogue > 0 ? double(shown) / split.catalogue : 0;
  return m;
}

namespace {

// A generator tuned on the validation split: its report, and the chosen point fitted on the
// validation split's train and on the test split's train (for the blend).
struct Tuned {
  GeneratorReport report;
  std::unique_ptr<Generator> on_validation, on_train;
  double validation_ndcg = -1;  // of the chosen point
};

using Factory = std::function<std::unique_ptr<Generator>()>;

Tuned Tune(std::string name, const std::vector<std::pair<std::string, Factory>>& grid,
           const Split& split, const Split& validation, const Interactions& interactions) {
  const size_t items = interactions.items.size();
  Tuned tuned;
  tuned.report.name = std::move(name);
  double best = -1;
  size_t chosen = 0;
  for (size_t g = 0; g < grid.size(); ++g) {
    std::unique_ptr<Generator> generator = grid[g].second();
    generator->Fit(validation, items);
    const double ndcg = Evaluate(*generator, validation, interactions).ndcg;
    if (grid.size() > 1) tuned.report.validation.emplace_back(grid[g].first, ndcg);
    if (ndcg > best) {  // first in grid order on a tie
      best = ndcg;
      chosen = g;
      tuned.on_validation = std::move(generator);
    }
  }
  tuned.validation_ndcg = best;
  tuned.report.params = grid[chosen].first;
  tuned.on_train = grid[chosen].second();
  tuned.on_train->Fit(split, items);
  tuned.report.metrics = Evaluate(*tuned.on_train, split, interactions);
  return tuned;
}

// A generator of `base` (Ease or ItemKnn, tuned) with the user's items weighted by recency: the
// same fit, the position decay tuned on the validation split.
template <typename Reweightable>
Tuned TuneRecency(std::string name, const Tuned& base, const Split& split, const Split& validation,
                  const Interactions& interactions) {
  const auto& on_validation = static_cast<const Reweightable&>(*base.on_validation);
  const auto& on_train = static_cast<const Reweightable&>(*base.on_train);
  Tuned recency;
  recency.report.name = std::move(name);
  double best = -1, chosen = 0;
  for (double decay : {2.0, 5.0, 10.0, 20.0}) {
    std::unique_ptr<Reweightable> weighted = on_validation.Reweighted(validation, decay);
    const double ndcg = Evaluate(*weighted, validation, interactions).ndcg;
    recency.report.validation.emplace_back(fmt::format("{}, decay={}", base.report.params, decay),
                                           ndcg);
    if (ndcg > best) {
      best = ndcg;
      chosen = decay;
      recency.on_validation = std::move(weighted);
    }
  }
  recency.validation_ndcg = best;
  recency.report.params = fmt::format("{}, decay={}", base.report.params, chosen);
  recency.on_train = on_train.Reweighted(split, chosen);
  recency.report.metrics = Evaluate(*recency.on_train, split, interactions);
  return recency;
}

// Each part's scores min-max normalized over the user's candidates, weighted and added.
class Blend : public Generator {
 public:
  Blend(std::vector<const Generator*> parts, std::vector<double> weights, const Split& split)
      : parts_(std::move(parts)), weights_(std::move(weights)), split_(split) {}
  void Fit(const Split&, size_t) override {}  // the parts are fitted
  void Score(size_t user, const std::vector<uint32_t>& train_items,
             std::vector<double>& scores) const override {
    std::fill(scores.begin(), scores.end(), 0.0);
    std::vector<double> part(scores.size());
    for (size_t p = 0; p < parts_.size(); ++p) {
      if (weights_[p] == 0) continue;
      parts_[p]->Score(user, train_items, part);
      Normalize(train_items, part);
      for (size_t j = 0; j < scores.size(); ++j) scores[j] += weights_[p] * part[j];
    }
  }
  // Min-max over the candidates (the catalogue minus the user's train items); 0 elsewhere.
  void Normalize(const std::vector<uint32_t>& train_items, std::vector<double>& scores) const {
    double low = INFINITY, high = -INFINITY;
    for (size_t j = 0; j < scores.size(); ++j) {
      if (!split_.in_catalogue[j] ||
          std::binary_search(train_items.begin(), train_items.end(), uint32_t(j))) {
        scores[j] = NAN;
        continue;
      }
      low = std::min(low, scores[j]);
      high = std::max(high, scores[j]);
    }
    const double range = high > low ? high - low : 1.0;
    for (double& score : scores) score = std::isnan(score) ? 0.0 : (score - low) / range;
  }

 private:
  std::vector<const Generator*> parts_;
  std::vector<double> weights_;
  const Split& split_;
};

// The validation scores of every part, normalized, kept once per evaluated user so that trying
// blend weights costs a weighted sum and a ranking, not the parts' scoring again.
class CachedBlend : public Generator {
 public:
  CachedBlend(const std::vector<const Generator*>& parts, const Split& validation, size_t items)
      : parts_(parts.size()), weights_(parts.size(), 0.0) {
    Blend normalizer({}, {}, validation);
    std::vector<double> scores(items);
    rows_.resize(validation.train.size());
    for (size_t u = 0; u < validation.train.size(); ++u) {
      if (validation.relevant[u].empty()) continue;
      rows_[u].resize(parts.size());
      for (size_t p = 0; p < parts.size(); ++p) {
        parts[p]->Score(u, validation.train[u], scores);
        normalizer.Normalize(validation.train[u], scores);
        rows_[u][p].assign(scores.begin(), scores.end());
      }
    }
  }
  void set_weights(std::vector<double> weights) { weights_ = std::move(weights); }
  void Fit(const Split&, size_t) override {}
  void Score(size_t user, const std::vector<uint32_t>&,
             std::vector<double>& scores) const override {
    std::fill(scores.begin(), scores.end(), 0.0);
    for (size_t p = 0; p < parts_; ++p) {
      if (weights_[p] == 0) continue;
      const std::vector<float>& row = rows_[user][p];
      for (size_t j = 0; j < scores.size(); ++j) scores[j] += weights_[p] * row[j];
    }
  }

 private:
  size_t parts_;
  std::vector<double> weights_;
  std::vector<std::vector<std::vector<float>>> rows_;  // user -> part -> item
};

}  // namespace

std::vector<GeneratorReport> EvaluateGenerators(const Interactions& interactions,
                                                const Relevance& relevance) {
  const Split split = SplitByTime(interactions, relevance);
  const Split validation = ValidationSplit(interactions, split, relevance);
  const size_t items = interactions.items.size();
  std::vector<Tuned> tuned;
  tuned.push_back(Tune("popularity", {{"", [] { return std::make_unique<Popularity>(); }}}, split,
                       validation, interactions));
  {
    std::vector<std::pair<std::string, Factory>> grid;
    for (double shrink : {0.0, 10.0}) {  // the peer's grid, in its order
      for (size_t k : {20, 50, 100, 200, 400}) {
        grid.emplace_back(fmt::format("k={}, shrink={}", k, shrink),
                          [=] { return std::make_unique<ItemKnn>(k, shrink); });
      }
    }
    tuned.push_back(Tune("item_knn", grid, split, validation, interactions));
  }
  // The same neighbours, each of the user's items weighted by its recency.
  const size_t knn = tuned.size() - 1;
  {
    std::vector<std::pair<std::string, Factory>> grid;
    // The peer's grid, in its order, with stronger regularization added (sparse histories).
    for (double alpha : {1.0, 10.0}) {
      for (double reg : {1.0, 10.0, 100.0, 1000.0}) {
        Ials::Options options;
        options.alpha = alpha;
        options.reg = reg;
        grid.emplace_back(fmt::format("reg={}, alpha={}, factors={}, iterations={}", reg, alpha,
                                      options.factors, options.iterations),
                          [=] { return std::make_unique<Ials>(options); });
      }
    }
    tuned.push_back(Tune("ials", grid, split, validation, interactions));
  }
  {
    std::vector<std::pair<std::string, Factory>> grid;
    for (double l : {10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0}) {  // the peer's grid
      grid.emplace_back(fmt::format("lambda={}", l), [=] { return std::make_unique<Ease>(l); });
    }
    tuned.push_back(Tune("ease", grid, split, validation, interactions));
  }
  // The same B (EASE's, at its lambda), the user's row weighted by recency: the decay tuned.
  tuned.push_back(TuneRecency<Ease>("ease_recency", tuned.back(), split, validation, interactions));
  tuned.push_back(
      TuneRecency<ItemKnn>("item_knn_recency", tuned[knn], split, validation, interactions));
  const bool has_categories =
      std::any_of(interactions.item_category.begin(), interactions.item_category.end(),
                  [](const std::string& category) { return !category.empty(); });
  if (has_categories) {  // needs the catalogue's categories
    std::vector<std::pair<std::string, Factory>> grid;
    for (double kappa : {10.0, 100.0, 300.0, 1000.0}) {
      Affinity::Options options;
      options.kappa = kappa;
      grid.emplace_back(
          fmt::format("kappa={}, reg={}, mu={}, {} trait tokens", kappa, options.reg, options.mu,
                      interactions.tokens.size()),
          [&interactions, options] { return std::make_unique<Affinity>(interactions, options); });
    }
    tuned.push_back(Tune("affinity", grid, split, validation, interactions));
  }
  const bool has_tokens =
      std::any_of(interactions.item_tokens.begin(), interactions.item_tokens.end(),
                  [](const std::vector<uint32_t>& tokens) { return !tokens.empty(); });
  if (has_tokens) {  // needs the catalogue's facts
    std::vector<std::pair<std::string, Factory>> grid;
    for (double decay : {0.0, 5.0, 20.0}) {
      for (double gamma : {0.0, 0.5, 1.0}) {
        const Content::Options options{decay, gamma};
        grid.emplace_back(
            fmt::format("decay={}, gamma={}, {} item tokens", decay, gamma,
                        interactions.item_token_names.size()),
            [&interactions, options] { return std::make_unique<Content>(interactions, options); });
      }
    }
    tuned.push_back(Tune("content", grid, split, validation, interactions));
  }

  // The blend: weights by coordinate ascent on the validation split, from the best part alone.
  std::vector<const Generator*> on_validation, on_train;
  size_t best_part = 0;
  for (size_t p = 0; p < tuned.size(); ++p) {
    on_validation.push_back(tuned[p].on_validation.get());
    on_train.push_back(tuned[p].on_train.get());
    if (tuned[p].validation_ndcg > tuned[best_part].validation_ndcg) best_part = p;
  }
  CachedBlend cached(on_validation, validation, items);
  std::vector<double> weights(tuned.size(), 0.0);
  weights[best_part] = 1.0;
  cached.set_weights(weights);
  double best = Evaluate(cached, validation, interactions).ndcg;
  GeneratorReport blend{"blend", "", {}, {}};
  for (int sweep = 0; sweep < 2; ++sweep) {
    for (size_t p = 0; p < tuned.size(); ++p) {
      if (p == best_part) continue;  // the others are weighed against it
      for (double w : {0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0}) {
        std::vector<double> trial = weights;
        trial[p] = w;
        cached.set_weights(trial);
        const double ndcg = Evaluate(cached, validation, interactions).ndcg;
        if (ndcg > best + 1e-12) {
          best = ndcg;
          weights = trial;
        }
      }
    }
  }
  for (size_t p = 0; p < tuned.size(); ++p) {
    if (weights[p] == 0) continue;
    blend.params +=
        fmt::format("{}{} {}", blend.params.empty() ? "" : " + ", weights[p], tuned[p].report.name);
  }
  blend.validation.emplace_back(blend.params, best);
  blend.metrics = Evaluate(Blend(on_train, weights, split), split, interactions);

  std::vector<GeneratorReport> out;
  for (Tuned& t : tuned) out.push_back(std::move(t.report));
  out.push_back(std::move(blend));
  return out;
}

}  // namespace tailor::reco
