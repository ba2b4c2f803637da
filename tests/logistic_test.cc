// Logistic regression and AUROC against scikit-learn (installed by `make test`): the same L2
// objective reaches the same coefficients; the AUROC equals roc_auc_score, ties included.

#include "tailor/logistic.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "test_util.h"

namespace tailor::analytics {
namespace {

using ::tailor::testing::TempDir;

std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  pclose(pipe);
  return out;
}

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

}  // namespace
}  // namespace tailor::analytics
