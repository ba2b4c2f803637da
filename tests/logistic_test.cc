// Logistic regression and AUROC against scikit-learn (installed by `make test`): the same L2
// objective reaches the same coefficients; the AUROC equals roc_auc_score, ties included.

#include "tailor/logistic.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "tailor/lookalike.h"
#include "test_util.h"

namespace tailor::analytics {
namespace {

using ::tailor::testing::RunCommand;

using ::tailor::testing::TempDir;

TEST(Logistic, CoefficientsAndAurocEqualScikitLearn) {
  std::mt19937_64 random(3);
  std::normal_distribution<double> normal(0, 1);
  FeatureMatrix m;
  m.rows = 3000;
  m.columns = 4;
  std::vector<uint8_t> labels;
  const double truth[4] = {1.5, -2.0, 0.0, 0.7};
  for (size_t i = 0; i < m.rows; ++i) {
    double z = -1.0;
    for (size_t j = 0; j < 4; ++j) {
      // Features on different scales, so that standardization matters.
      const double v = normal(random) * (1 + 10 * j) + j;
      m.values.push_back(v);
      z += truth[j] * (v - j) / (1 + 10 * j);
    }
    labels.push_back(std::bernoulli_distribution(1 / (1 + std::exp(-z)))(random));
  }
  TempDir dir;
  const std::string csv = dir.File("data.csv");
  {
    std::ofstream out(csv);
    out.precision(17);
    for (size_t i = 0; i < m.rows; ++i) {
      for (size_t j = 0; j < 4; ++j) out << m.row(i)[j] << ',';
      out << int(labels[i]) << '\n';
    }
  }
  LogisticOptions options;
  options.c = 0.5;
  ASSERT_OK_AND_ASSIGN(LogisticModel model, FitLogistic(m, labels, options));
  std::vector<double> scores;
  for (size_t i = 0; i < m.rows; ++i) scores.push_back(model.Predict(m.row(i)));
  // Rounded scores have ties: the AUROC must count them as scikit-learn does.
  std::vector<double> rounded;
  for (double s : scores) rounded.push_back(std::round(s * 20) / 20);

  const std::string script =
      "import numpy as np\n"
      "from sklearn.linear_model import LogisticRegression\n"
      "from sklearn.preprocessing import StandardScaler\n"
      "from sklearn.metrics import roc_auc_score\n"
      "d = np.loadtxt('" +
      csv +
      "', delimiter=',')\n"
      "x, y = StandardScaler().fit_transform(d[:, :4]), d[:, 4]\n"
      "m = LogisticRegression(C=0.5, tol=1e-12, max_iter=10000).fit(x, y)\n"
      "p = m.predict_proba(x)[:, 1]\n"
      "print(*m.coef_[0], m.intercept_[0], roc_auc_score(y, p), "
      "roc_auc_score(y, np.round(p * 20) / 20))\n";
  std::ofstream(dir.File("peer.py")) << script;
  std::istringstream peer(RunCommand("/usr/bin/python3 " + dir.File("peer.py")));
  double expected[7];
  for (double& v : expected) ASSERT_TRUE(peer >> v) << "the scikit-learn peer did not run";
  for (size_t j = 0; j < 4; ++j) EXPECT_NEAR(model.weights[j], expected[j], 1e-5) << j;
  EXPECT_NEAR(model.intercept, expected[4], 1e-5);
  EXPECT_NEAR(Auroc(scores, labels), expected[5], 1e-9);
  EXPECT_NEAR(Auroc(rounded, labels), expected[6], 1e-9);
}

TEST(Logistic, OneClassIsRefused) {
  FeatureMatrix m;
  m.rows = 3;
  m.columns = 1;
  m.values = {1, 2, 3};
  auto fit = FitLogistic(m, {1, 1, 1}, {});
  ASSERT_FALSE(fit.ok());
  EXPECT_NE(fit.status().message().find("one class only"), std::string::npos);
}

TEST(Lookalike, TheBestScoredOutsideTheSeedResembleIt) {
  // The seed: profiles with high spend and many visits; lookalikes must share both, not the noise.
  std::mt19937_64 random(9);
  std::normal_distribution<double> normal(0, 1);
  FeatureMatrix m;
  m.rows = 4000;
  m.columns = 3;
  m.names = {"spend", "visits", "noise"};
  std::vector<uint8_t> seed;
  for (size_t i = 0; i < m.rows; ++i) {
    const double spend = normal(random), visits = normal(random), noise = normal(random);
    m.values.insert(m.values.end(), {spend * 100 + 200, visits * 3 + 5, noise});
    seed.push_back(spend + visits + 0.5 * normal(random) > 2.0);
  }
  LookalikeOptions options;
  options.top = 200;
  ASSERT_OK_AND_ASSIGN(Lookalikes found, FindLookalikes(m, seed, options));
  ASSERT_EQ(found.ranked.size(), 200u);
  for (size_t i : found.ranked) EXPECT_FALSE(seed[i]);
  for (size_t k = 1; k < found.ranked.size(); ++k) {
    EXPECT_GE(found.scores[found.ranked[k - 1]], found.scores[found.ranked[k]]);
  }
  EXPECT_GT(found.auroc, 0.95);
  // Drivers: spend and visits, not the noise; both carry over to the lookalikes.
  ASSERT_EQ(found.features.size(), 3u);
  EXPECT_EQ(found.features.back().feature, "noise");
  for (const FeatureCarryOver& f : found.features) {
    if (f.feature == "noise") {
      EXPECT_LT(std::abs(f.lookalike_smd), 0.3);
      continue;
    }
    EXPECT_GT(f.seed_smd, 1.0) << f.feature;
    EXPECT_GT(f.lookalike_smd, 1.0) << f.feature;
  }
  // Bad seeds.
  EXPECT_EQ(FindLookalikes(m, std::vector<uint8_t>(m.rows, 0), options).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(FindLookalikes(m, std::vector<uint8_t>(m.rows, 1), options).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tailor::analytics
