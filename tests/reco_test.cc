// The shared recommendation protocol (../shared/bench/RECO.md) by hand: the natural item order,
// the per-user temporal split, relevance, and the metrics at 10 of a known ranking.

#include "tailor/reco.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <map>
#include <random>
#include <set>

namespace tailor::reco {
namespace {

Interactions Make(const std::vector<std::tuple<uint32_t, std::string, Timestamp, bool>>& rows,
                  size_t users) {
  Interactions out;
  for (size_t u = 0; u < users; ++u) out.users.push_back("u" + std::to_string(u));
  for (const auto& [user, item, time, bought] : rows) {
    auto it = std::find(out.items.begin(), out.items.end(), item);
    if (it == out.items.end()) it = out.items.insert(out.items.end(), item);
    out.pairs.push_back({user, static_cast<uint32_t>(it - out.items.begin()), time, bought, {}});
  }
  return out;
}

TEST(Reco, NaturalItemOrder) {
  EXPECT_TRUE(ItemIdLess("ml:9", "ml:10"));
  EXPECT_FALSE(ItemIdLess("ml:10", "ml:9"));
  EXPECT_TRUE(ItemIdLess("i000009", "i000010"));
  EXPECT_TRUE(ItemIdLess("a:10", "b:9"));  // other prefixes: as text
  EXPECT_TRUE(ItemIdLess("x", "y"));
}

// User 0 has 6 pairs: the last ceil(6/5) = 2 by (time, item) go to test, "ml:9" before "ml:10"
// at the same time. User 1 has 4: all train, never evaluated.
TEST(Reco, PerUserTemporalSplit) {
  const Interactions data = Make({{0, "ml:1", 1, false},
                                  {0, "ml:2", 2, false},
                                  {0, "ml:3", 3, false},
                                  {0, "ml:4", 4, false},
                                  {0, "ml:10", 5, true},
                                  {0, "ml:9", 5, false},
                                  {1, "ml:1", 1, false},
                                  {1, "ml:5", 2, true},
                                  {1, "ml:6", 3, false},
                                  {1, "ml:7", 4, false}},
                                 2);
  const Split split = SplitByTime(data, Relevance{});
  const auto names = [&](const std::vector<uint32_t>& items) {
    std::vector<std::string> out;
    for (uint32_t j : items) out.push_back(data.items[j]);
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(names(split.test[0]), (std::vector<std::string>{"ml:10", "ml:9"}));
  EXPECT_EQ(names(split.relevant[0]), std::vector<std::string>{"ml:10"});  // purchased
  EXPECT_TRUE(split.test[1].empty());
  EXPECT_EQ(split.train[1].size(), 4u);
  EXPECT_EQ(split.train_pair_count, 8u);
  EXPECT_EQ(split.evaluated_users, 1u);
  // ml:10 and ml:9 were only in test: the catalogue is the 7 others (ml:1..7 less none).
  EXPECT_EQ(split.catalogue, 7u);
  // Relevance by value instead.
  Interactions rated = data;
  for (Interaction& p : rated.pairs) p.value = p.time >= 5 ? 4.5 : 3.0;
  EXPECT_EQ(SplitByTime(rated, Relevance{4.0}).relevant[0].size(), 2u);
}

// Popularity recommends ml:5, ml:6, ml:7 (one train user each, then by id) ... to user 0: one
// relevant item in test (ml:6), ranked 2nd: precision 0.1, recall 1, NDCG 1/log2(3).
TEST(Reco, MetricsOfAKnownRanking) {
  std::vector<std::tuple<uint32_t, std::string, Timestamp, bool>> rows = {
      {0, "ml:1", 1, false}, {0, "ml:2", 2, false}, {0, "ml:3", 3, false},
      {0, "ml:4", 4, false}, {0, "ml:6", 5, true},  {1, "ml:5", 1, false},
      {1, "ml:6", 2, false}, {1, "ml:7", 3, false}, {1, "ml:8", 4, false}};
  const Interactions data = Make(rows, 2);
  const Split split = SplitByTime(data, Relevance{});
  Popularity popularity;
  popularity.Fit(split, data.items.size());
  const Metrics m = Evaluate(popularity, split, data);
  EXPECT_EQ(m.evaluated_users, 1u);
  EXPECT_DOUBLE_EQ(m.precision, 0.1);
  EXPECT_DOUBLE_EQ(m.recall, 1.0);
  EXPECT_DOUBLE_EQ(m.ndcg, 1 / std::log2(3.0));
  // Top 10 of user 0: ml:5, ml:6, ml:7, ml:8 (the catalogue less what they have): 4 of 8.
  EXPECT_DOUBLE_EQ(m.coverage, 4.0 / 8);
}

// EASE^R's two forms (item space, and user space by Woodbury) score alike, and the item-space
// weights have a zero diagonal: a user's own items never recommend themselves.
TEST(Reco, EaseItemAndUserSpaceAgree) {
  std::mt19937_64 random(8);
  std::vector<std::tuple<uint32_t, std::string, Timestamp, bool>> rows;
  for (uint32_t u = 0; u < 40; ++u) {
    for (int j = 0; j < 30; ++j) {
      if (random() % 4 == 0) rows.emplace_back(u, "i" + std::to_string(j), j, random() % 3 == 0);
    }
  }
  const Interactions data = Make(rows, 40);
  const Split split = SplitByTime(data, Relevance{});
  Ease by_items(50, Ease::Space::kItems), by_users(50, Ease::Space::kUsers);
  by_items.Fit(split, data.items.size());
  by_users.Fit(split, data.items.size());
  std::vector<double> a(data.items.size()), b(data.items.size());
  size_t compared = 0;
  for (size_t u = 0; u < split.train.size(); ++u) {
    by_items.Score(u, split.train[u], a);
    by_users.Score(u, split.train[u], b);
    for (size_t j = 0; j < a.size(); ++j) {
      const bool owned =
          std::find(split.train[u].begin(), split.train[u].end(), j) != split.train[u].end();
      if (owned || !split.in_catalogue[j]) continue;  // only candidates are ranked
      ASSERT_NEAR(a[j], b[j], 1e-10) << u << " " << j;
      ++compared;
    }
  }
  EXPECT_GT(compared, 500u);
  EXPECT_EQ(Evaluate(by_items, split, data).ndcg, Evaluate(by_users, split, data).ndcg);
}

// 40 users, 30 items, each pair purchased with probability 1/4 at a random time.
Interactions RandomPurchases(uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<std::tuple<uint32_t, std::string, Timestamp, bool>> rows;
  for (uint32_t u = 0; u < 40; ++u) {
    for (int j = 0; j < 30; ++j) {
      if (random() % 4 == 0) {
        rows.emplace_back(u, "i" + std::to_string(j), static_cast<Timestamp>(random() % 1000),
                          true);
      }
    }
  }
  return Make(rows, 40);
}

// The recency-weighted input: both forms agree, the last train pair weighs most, and with no decay
// (every weight 1.05) the scores are plain EASE's times 1.05.
TEST(Reco, EaseWithRecencyWeightsAgreesInBothSpacesAndReducesToEase) {
  const Interactions data = RandomPurchases(9);
  const Split split = SplitByTime(data, Relevance{});
  Ease by_items(50, Ease::Space::kItems, 3), by_users(50, Ease::Space::kUsers, 3);
  Ease plain(50, Ease::Space::kUsers), flat(50, Ease::Space::kUsers, 1e15);
  for (Ease* ease : {&by_items, &by_users, &plain, &flat}) ease->Fit(split, data.items.size());
  std::vector<double> a(data.items.size()), b(data.items.size()), c(data.items.size()),
      d(data.items.size());
  size_t compared = 0, differs = 0;
  for (size_t u = 0; u < split.train.size(); ++u) {
    by_items.Score(u, split.train[u], a);
    by_users.Score(u, split.train[u], b);
    plain.Score(u, split.train[u], c);
    flat.Score(u, split.train[u], d);
    for (size_t j = 0; j < a.size(); ++j) {
      const bool owned =
          std::find(split.train[u].begin(), split.train[u].end(), j) != split.train[u].end();
      if (owned || !split.in_catalogue[j]) continue;
      ASSERT_NEAR(a[j], b[j], 1e-10) << u << " " << j;
      ASSERT_NEAR(d[j], 1.05 * c[j], 1e-10) << u << " " << j;
      differs += std::abs(a[j] - 1.05 * c[j]) > 1e-6;
      ++compared;
    }
  }
  EXPECT_GT(compared, 500u);
  EXPECT_GT(differs, compared / 2) << "the weights change the scores";
  // The train items in time order: the split keeps them.
  for (size_t u = 0; u < split.train.size(); ++u) {
    std::vector<uint32_t> sorted = split.train_by_time[u];
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, split.train[u]);
  }
}

// Item kNN with recency weights, against the sum written out plainly: each of the user's train
// items, in time order, weighs 0.05 + exp(-k/h) times its similarity (from plain kNN's scores of
// that one item); the reweighted copy of a fitted kNN gives the same.
TEST(Reco, ItemKnnWithRecencyWeightsIsTheWeightedSumOfEachItemsNeighbours) {
  const Interactions data = RandomPurchases(10);
  const Split split = SplitByTime(data, Relevance{});
  ItemKnn plain(10, 2), weighted(10, 2, 3);
  plain.Fit(split, data.items.size());
  weighted.Fit(split, data.items.size());
  const std::unique_ptr<ItemKnn> reweighted = plain.Reweighted(split, 3);
  std::vector<double> got(data.items.size()), again(data.items.size()), one(data.items.size());
  size_t differs = 0;
  for (size_t u = 0; u < split.train.size(); ++u) {
    weighted.Score(u, split.train[u], got);
    reweighted->Score(u, split.train[u], again);
    std::vector<double> expected(data.items.size(), 0.0);
    const std::vector<uint32_t>& ordered = split.train_by_time[u];
    for (size_t r = 0; r < ordered.size(); ++r) {
      plain.Score(u, {ordered[r]}, one);
      const double weight = 0.05 + std::exp(-static_cast<double>(ordered.size() - 1 - r) / 3);
      for (size_t j = 0; j < one.size(); ++j) expected[j] += weight * one[j];
    }
    plain.Score(u, split.train[u], one);
    for (size_t j = 0; j < got.size(); ++j) {
      ASSERT_NEAR(got[j], expected[j], 1e-12) << u << " " << j;
      ASSERT_EQ(got[j], again[j]) << u << " " << j;
      differs += std::abs(got[j] - one[j]) > 1e-9;
    }
  }
  EXPECT_GT(differs, 100u) << "the weights change the scores";
}

// The catalogue's facts as tokens: category, strings, list values, bools, and numbers as their
// quintile within the category (ties share the lower one; a lone value is q1).
TEST(Reco, ItemTokensNameEachFactAndBandNumbersWithinTheirCategory) {
  std::vector<ItemInput> items;
  for (int k = 0; k < 10; ++k) {
    ItemInput item;
    item.id = "i" + std::to_string(k);
    item.category = k < 5 ? "clubs" : "balls";
    item.price = Decimal::FromInteger(k < 5 ? 10 * (k + 1) : 7);  // balls: all the same price
    items.push_back(item);
  }
  items[0].attributes = {{"brand", {TraitType::kString, std::string("Mizuno")}},
                         {"genres", {TraitType::kStringList, StringList{"a", "b"}}},
                         {"in_stock", {TraitType::kBool, true}},
                         {"year", {TraitType::kInt, int64_t{1999}}},
                         {"launched", {TraitType::kTimestamp, int64_t{5}}}};
  std::vector<const ItemInput*> pointers;
  for (const ItemInput& item : items) pointers.push_back(&item);
  const ItemTokens tokens = TokensOf(pointers);
  const auto names = [&](size_t i) {
    std::set<std::string> out;
    for (uint32_t t : tokens.of_item[i]) out.insert(tokens.names[t]);
    return out;
  };
  EXPECT_EQ(names(0), (std::set<std::string>{"category=clubs", "price=q1", "brand=Mizuno",
                                             "genres=a", "genres=b", "in_stock=true", "year=q1"}));
  EXPECT_EQ(names(2), (std::set<std::string>{"category=clubs", "price=q3"}));
  EXPECT_EQ(names(4), (std::set<std::string>{"category=clubs", "price=q5"}));
  EXPECT_EQ(names(7), (std::set<std::string>{"category=balls", "price=q1"}));
  EXPECT_EQ(tokens.of_item[7], tokens.of_item[9]);
}

// Content against the cosine written out with named tokens: tf-idf vectors, a recency-weighted
// profile, times popularity to the power gamma.
TEST(Reco, ContentScoresAreTheCosineOfTfIdfVectorsTimesPopularity) {
  Interactions data = RandomPurchases(12);
  const std::vector<std::string> vocabulary = {
      "category=a", "category=b", "brand=x", "brand=y", "brand=z", "genres=comedy", "genres=drama"};
  data.item_token_names = vocabulary;
  std::mt19937_64 random(3);
  data.item_tokens.assign(data.items.size(), {});
  for (size_t j = 0; j < data.items.size(); ++j) {
    if (j % 7 == 3) continue;  // some items have no facts
    std::set<uint32_t> chosen{static_cast<uint32_t>(random() % 2),
                              static_cast<uint32_t>(2 + random() % 3)};
    if (random() % 2) chosen.insert(static_cast<uint32_t>(5 + random() % 2));
    data.item_tokens[j].assign(chosen.begin(), chosen.end());
  }
  const Split split = SplitByTime(data, Relevance{});
  const size_t items = data.items.size();
  // The slow model.
  std::map<std::string, double> df;
  double catalogue = 0;
  for (size_t j = 0; j < items; ++j) {
    if (!split.in_catalogue[j]) continue;
    catalogue += 1;
    for (uint32_t t : data.item_tokens[j]) df[vocabulary[t]] += 1;
  }
  const auto vector_of = [&](size_t j) {
    std::map<std::string, double> v;
    double norm = 0;
    for (uint32_t t : data.item_tokens[j]) {
      const double idf = std::log((1 + catalogue) / (1 + df[vocabulary[t]])) + 1;
      v[vocabulary[t]] = idf;
      norm += idf * idf;
    }
    for (auto& [name, x] : v) x /= std::sqrt(norm);
    return v;
  };
  for (const double decay : {0.0, 3.0}) {
    for (const double gamma : {0.0, 0.5}) {
      Content content(data, {decay, gamma});
      content.Fit(split, items);
      std::vector<double> got(items);
      size_t nonzero = 0;
      for (size_t u = 0; u < split.train.size(); ++u) {
        content.Score(u, split.train[u], got);
        std::map<std::string, double> profile;
        const std::vector<uint32_t>& ordered = split.train_by_time[u];
        for (size_t r = 0; r < ordered.size(); ++r) {
          const double weight =
              decay > 0 ? 0.05 + std::exp(-static_cast<double>(ordered.size() - 1 - r) / decay)
                        : 1.0;
          for (const auto& [name, x] : vector_of(ordered[r])) profile[name] += weight * x;
        }
        double norm = 0;
        for (const auto& [name, x] : profile) norm += x * x;
        for (size_t j = 0; j < items; ++j) {
          double dot = 0;
          for (const auto& [name, x] : vector_of(j)) dot += x * profile[name];
          double users = 0;
          for (const auto& train : split.train) {
            users += std::count(train.begin(), train.end(), static_cast<uint32_t>(j));
          }
          const double expected =
              norm > 0 ? dot / std::sqrt(norm) * std::pow(users + 1, gamma) : 0.0;
          ASSERT_NEAR(got[j], expected, 1e-12) << u << " " << j;
          nonzero += expected > 0;
        }
      }
      EXPECT_GT(nonzero, 500u);
    }
  }
}

// iALS by conjugate gradient against the exact alternating solves written out plainly: with as
// many CG steps (twice the factors), each row's system is solved to round-off, so both give the
// same scores.
TEST(Reco, IalsConjugateGradientMatchesExactAlternatingLeastSquares) {
  std::mt19937_64 random(10);
  std::vector<std::tuple<uint32_t, std::string, Timestamp, bool>> rows;
  for (uint32_t u = 0; u < 30; ++u) {
    for (int j = 0; j < 25; ++j) {
      if (random() % 3 == 0) rows.emplace_back(u, "i" + std::to_string(j), j, true);
    }
  }
  const Interactions data = Make(rows, 30);
  const Split split = SplitByTime(data, Relevance{});
  const size_t items = data.items.size();
  Ials::Options options;
  options.factors = 8;
  options.iterations = 4;
  options.reg = 2;
  options.alpha = 5;
  options.cg_steps = 16;  // twice the factors: converged to round-off
  Ials exact_cg(options);
  exact_cg.Fit(split, items);

  // The slow model: the same start, each row solved exactly.
  const Eigen::Index f = 8;
  std::mt19937_64 seed(options.seed);
  std::normal_distribution<double> normal(0.0, 0.01);
  Eigen::MatrixXd y(static_cast<Eigen::Index>(items), f);
  for (Eigen::Index j = 0; j < y.rows(); ++j) {
    for (Eigen::Index k = 0; k < f; ++k) y(j, k) = normal(seed);
  }
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(split.train.size()), f);
  std::vector<std::vector<uint32_t>> users_of(items);
  for (uint32_t u = 0; u < split.train.size(); ++u) {
    for (uint32_t j : split.train[u]) users_of[j].push_back(u);
  }
  const auto solve = [&](const std::vector<std::vector<uint32_t>>& of_row,
                         const Eigen::MatrixXd& other, Eigen::MatrixXd& out) {
    for (size_t r = 0; r < of_row.size(); ++r) {
      Eigen::MatrixXd a = other.transpose() * other + options.reg * Eigen::MatrixXd::Identity(f, f);
      Eigen::VectorXd b = Eigen::VectorXd::Zero(f);
      for (uint32_t i : of_row[r]) {
        a += options.alpha * other.row(i).transpose() * other.row(i);
        b += (1 + options.alpha) * other.row(i).transpose();
      }
      out.row(static_cast<Eigen::Index>(r)) = a.ldlt().solve(b).transpose();
    }
  };
  for (size_t iteration = 0; iteration < options.iterations; ++iteration) {
    solve(split.train, y, x);
    solve(users_of, x, y);
  }
  std::vector<double> scores(items);
  for (size_t u = 0; u < split.train.size(); ++u) {
    exact_cg.Score(u, split.train[u], scores);
    const Eigen::VectorXd expected = y * x.row(static_cast<Eigen::Index>(u)).transpose();
    for (size_t j = 0; j < items; ++j) {
      ASSERT_NEAR(scores[j], expected(static_cast<Eigen::Index>(j)), 1e-6) << u << " " << j;
    }
  }
  EXPECT_GT(Evaluate(exact_cg, split, data).ndcg, 0.0);
}

}  // namespace
}  // namespace tailor::reco
