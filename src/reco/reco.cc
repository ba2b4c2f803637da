#include "tailor/reco.h"

#include <fmt/format.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <unordered_map>

#include "reco/cooccurrence.h"

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

Result<Interactions> InteractionsFromSnapshot(const snapshot::Snapshot& snapshot,
                                              const InteractionOptions& options) {
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
  neighbours_ = CoOccurrence(users, items, k_, shrink_, split.item_rank);
}

Neighbours CoOccurrence(const std::vector<WeightedItems>& users, size_t items, size_t k,
                        double shrink, const std::vector<uint32_t>& rank) {
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

void ItemKnn::Score(size_t, const std::vector<uint32_t>& train_items,
                    std::vector<double>& scores) const {
  std::fill(scores.begin(), scores.end(), 0.0);
  for (uint32_t i : train_items) {
    for (const auto& [j, s] : neighbours_[i]) scores[j] += s;
  }
}

struct Ease::Model {
  std::vector<int32_t> column;  // per item: its catalogue column, -1 outside
  bool user_space = false;
  Eigen::MatrixXd b;         // item space: B (catalogue × catalogue)
  Eigen::MatrixXd xp;        // user space: X P = (XXᵀ + λI)⁻¹ X (users × catalogue)
  Eigen::VectorXd diagonal;  // user space: diag P
  // With a position decay: each user's train items and their weights x̃, and (user space) the
  // users of each catalogue column, for x̃Xᵀ.
  std::vector<std::vector<std::pair<int32_t, double>>> weighted;  // per user: column, x̃
  std::vector<std::vector<uint32_t>> users_of;                    // per column
};

Ease::Ease(double lambda, Space space, double position_decay)
    : lambda_(lambda), space_(space), position_decay_(position_decay) {}
Ease::~Ease() = default;

void Ease::Fit(const Split& split, size_t items) {
  model_ = std::make_unique<Model>();
  Model& m = *model_;
  m.column.assign(items, -1);
  int32_t columns = 0;
  for (size_t j = 0; j < items; ++j) {
    if (split.in_catalogue[j]) m.column[j] = columns++;
  }
  const size_t users = split.train.size();
  m.user_space =
      space_ == Space::kAuto ? users < static_cast<size_t>(columns) : space_ == Space::kUsers;
  if (position_decay_ > 0) {
    m.weighted.resize(users);
    if (m.user_space) m.users_of.resize(static_cast<size_t>(columns));
    for (size_t u = 0; u < users; ++u) {
      const std::vector<uint32_t>& ordered = split.train_by_time[u];
      for (size_t r = 0; r < ordered.size(); ++r) {
        const double from_end = static_cast<double>(ordered.size() - 1 - r);
        const int32_t c = m.column[ordered[r]];
        m.weighted[u].emplace_back(c, 0.05 + std::exp(-from_end / position_decay_));
        if (m.user_space) m.users_of[static_cast<size_t>(c)].push_back(static_cast<uint32_t>(u));
      }
    }
  }
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
  if (!m.weighted.empty()) {  // recency-weighted input
    const auto& row = m.weighted[user];
    if (m.user_space) {
      // x̃Xᵀ over the users, then (x̃Xᵀ)(XXᵀ + λI)⁻¹X; a candidate's x̃ is 0, so its score is
      // that product over λ diag P.
      Eigen::RowVectorXd overlap = Eigen::RowVectorXd::Zero(m.xp.rows());
      for (const auto& [c, weight] : row) {
        for (uint32_t v : m.users_of[static_cast<size_t>(c)]) overlap(v) += weight;
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

namespace {

// One side of an iALS sweep: every row r of `rows` (its columns in `of_row`) refitted against
// the other side's factors `other`, by `steps` conjugate-gradient steps from its current value.
void IalsHalf(const std::vector<std::vector<uint32_t>>& of_row, const Eigen::MatrixXd& other,
              double reg, double alpha, size_t steps, Eigen::MatrixXd& rows) {
  const Eigen::Index f = other.cols();
  Eigen::MatrixXd gram = other.transpose() * other;
  gram.diagonal().array() += reg;
  Eigen::VectorXd x(f), residual(f), direction(f), product(f), target(f);
  for (size_t r = 0; r < of_row.size(); ++r) {
    const std::vector<uint32_t>& columns = of_row[r];
    // A v = (FᵀF + reg I) v + alpha Σ_i y_i (y_iᵀ v); b = (1 + alpha) Σ_i y_i.
    const auto apply = [&](const Eigen::VectorXd& v, Eigen::VectorXd& out) {
      out.noalias() = gram * v;
      for (uint32_t i : columns)
        out.noalias() += alpha * other.row(i).dot(v) * other.row(i).transpose();
    };
    target.setZero();
    for (uint32_t i : columns) target += other.row(i).transpose();
    target *= 1.0 + alpha;
    x = rows.row(static_cast<Eigen::Index>(r)).transpose();
    apply(x, product);
    residual = target - product;
    direction = residual;
    double norm = residual.squaredNorm();
    for (size_t step = 0; step < steps && norm > 1e-20; ++step) {
      apply(direction, product);
      const double length = norm / direction.dot(product);
      x += length * direction;
      residual -= length * product;
      const double next = residual.squaredNorm();
      direction = residual + (next / norm) * direction;
      norm = next;
    }
    rows.row(static_cast<Eigen::Index>(r)) = x.transpose();
  }
}

}  // namespace

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
    IalsHalf(split.train, factors_->items, options_.reg, options_.alpha, options_.cg_steps,
             factors_->users);
    IalsHalf(users_of, factors_->users, options_.reg, options_.alpha, options_.cg_steps,
             factors_->items);
  }
}

void Ials::Score(size_t user, const std::vector<uint32_t>&, std::vector<double>& scores) const {
  const Eigen::VectorXd all =
      factors_->items * factors_->users.row(static_cast<Eigen::Index>(user)).transpose();
  for (size_t j = 0; j < scores.size(); ++j) scores[j] = all(static_cast<Eigen::Index>(j));
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

std::vector<GeneratorReport> EvaluateGenerators(const Interactions& interactions,
                                                const Relevance& relevance) {
  const Split split = SplitByTime(interactions, relevance);
  const Split validation = ValidationSplit(interactions, split, relevance);
  const size_t items = interactions.items.size();
  std::vector<GeneratorReport> out;
  {
    Popularity popularity;
    popularity.Fit(split, items);
    out.push_back({"popularity", "", Evaluate(popularity, split, interactions), {}});
  }
  {
    GeneratorReport report{"item_knn", "", {}, {}};
    double best = -1;
    size_t best_k = 0;
    double best_shrink = 0;
    for (double shrink : {0.0, 10.0}) {  // the peer's grid, in its order
      for (size_t k : {20, 50, 100, 200, 400}) {
        ItemKnn knn(k, shrink);
        knn.Fit(validation, items);
        const double ndcg = Evaluate(knn, validation, interactions).ndcg;
        report.validation.emplace_back(fmt::format("k={}, shrink={}", k, shrink), ndcg);
        if (ndcg > best) {
          best = ndcg;
          best_k = k;
          best_shrink = shrink;
        }
      }
    }
    ItemKnn knn(best_k, best_shrink);
    knn.Fit(split, items);
    report.params = fmt::format("k={}, shrink={}", best_k, best_shrink);
    report.metrics = Evaluate(knn, split, interactions);
    out.push_back(std::move(report));
  }
  {
    GeneratorReport report{"ials", "", {}, {}};
    double best = -1;
    Ials::Options chosen;
    for (double alpha : {1.0, 10.0}) {  // the peer's grid, in its order
      for (double reg : {1.0, 10.0}) {
        Ials::Options options;
        options.alpha = alpha;
        options.reg = reg;
        Ials ials(options);
        ials.Fit(validation, items);
        const double ndcg = Evaluate(ials, validation, interactions).ndcg;
        report.validation.emplace_back(fmt::format("reg={}, alpha={}", reg, alpha), ndcg);
        if (ndcg > best) {
          best = ndcg;
          chosen = options;
        }
      }
    }
    Ials ials(chosen);
    ials.Fit(split, items);
    report.params = fmt::format("reg={}, alpha={}, factors={}, iterations={}", chosen.reg,
                                chosen.alpha, chosen.factors, chosen.iterations);
    report.metrics = Evaluate(ials, split, interactions);
    out.push_back(std::move(report));
  }
  {
    GeneratorReport report{"ease", "", {}, {}};
    double best = -1, best_lambda = 0;
    for (double lambda : {10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0}) {  // the peer's grid
      Ease ease(lambda);
      ease.Fit(validation, items);
      const double ndcg = Evaluate(ease, validation, interactions).ndcg;
      report.validation.emplace_back(fmt::format("lambda={}", lambda), ndcg);
      if (ndcg > best) {
        best = ndcg;
        best_lambda = lambda;
      }
    }
    Ease ease(best_lambda);
    ease.Fit(split, items);
    report.params = fmt::format("lambda={}", best_lambda);
    report.metrics = Evaluate(ease, split, interactions);
    out.push_back(std::move(report));

    // The same B, the user's row weighted by recency: the decay tuned at EASE's lambda.
    GeneratorReport recency{"ease_recency", "", {}, {}};
    double best_recency = -1, best_decay = 0;
    for (double decay : {2.0, 5.0, 10.0, 20.0}) {
      Ease weighted(best_lambda, Ease::Space::kAuto, decay);
      weighted.Fit(validation, items);
      const double ndcg = Evaluate(weighted, validation, interactions).ndcg;
      recency.validation.emplace_back(fmt::format("lambda={}, decay={}", best_lambda, decay), ndcg);
      if (ndcg > best_recency) {
        best_recency = ndcg;
        best_decay = decay;
      }
    }
    Ease weighted(best_lambda, Ease::Space::kAuto, best_decay);
    weighted.Fit(split, items);
    recency.params = fmt::format("lambda={}, decay={}", best_lambda, best_decay);
    recency.metrics = Evaluate(weighted, split, interactions);
    out.push_back(std::move(recency));
  }
  return out;
}

}  // namespace tailor::reco
