// CLV models (BG/NBD and Gamma-Gamma) against three references:
//  - the truth: customers simulated with Fader, Hardie & Lee's CDNOW parameters must give them
//    back (within 3 reported standard errors and 10 %), and the fitted model's expected holdout
//    purchases per calibration frequency must track the simulated ones (the paper's figure);
//  - scipy: the same maximum-likelihood problems solved by bench/peer_clv_scipy.py, to 1e-4;
//  - slow obvious formulas: the likelihoods and conditional expectations written as in the
//    papers, without logs, transformations or grouping, on a few customers.
// DISABLED_CdnowScaleRecoveryReport prints the full-size (200,000 customers) table; run it with
// --gtest_also_run_disabled_tests --gtest_filter='ClvReport.*'.

#include "tailor/clv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "test_util.h"

#ifndef TAILOR_BENCH_DIR
#define TAILOR_BENCH_DIR "bench"
#endif

namespace tailor::analytics {
namespace {

using ::tailor::testing::RunCommand;

using ::tailor::testing::TempDir;

// Fader, Hardie & Lee's CDNOW estimates (weeks; dollars).
constexpr BgNbdParams kCdnowPurchases{0.243, 4.414, 0.793, 2.426};
constexpr GammaGammaParams kCdnowSpend{6.25, 3.74, 15.44};

// ---------------------------------------------------------------------------------------------
// Helpers shared by the recovery tests and the report.

struct Estimate {
  const char* name;
  double truth, estimate, standard_error;
};

std::vector<Estimate> Estimates(const BgNbdFit& bg, const GammaGammaFit& gg) {
  return {{"r", kCdnowPurchases.r, bg.params.r, bg.standard_errors.r},
          {"alpha", kCdnowPurchases.alpha, bg.params.alpha, bg.standard_errors.alpha},
          {"a", kCdnowPurchases.a, bg.params.a, bg.standard_errors.a},
          {"b", kCdnowPurchases.b, bg.params.b, bg.standard_errors.b},
          {"p", kCdnowSpend.p, gg.params.p, gg.standard_errors.p},
          {"q", kCdnowSpend.q, gg.params.q, gg.standard_errors.q},
          {"gamma", kCdnowSpend.gamma, gg.params.gamma, gg.standard_errors.gamma}};
}

// One row of the paper's conditional-expectation figure: customers with x repeat purchases in
// calibration (the last bucket: x >= 7), their mean holdout purchases and the model's.
struct Bucket {
  size_t customers = 0;
  double simulated = 0, expected = 0;
  double simulated_sd = 0;  // of a customer's holdout purchases, for the mean's standard error
  double StandardError() const { return simulated_sd / std::sqrt(static_cast<double>(customers)); }
};
constexpr size_t kBuckets = 8;

std::array<Bucket, kBuckets> HoldoutBuckets(const SimulatedClv& sim, const BgNbdParams& params,
                                            double holdout_weeks) {
  std::array<Bucket, kBuckets> buckets{};
  std::array<double, kBuckets> squares{};
  for (size_t i = 0; i < sim.calibration.size(); ++i) {
    const ClvSummary& c = sim.calibration[i];
    Bucket& bucket = buckets[std::min<size_t>(static_cast<size_t>(c.frequency), kBuckets - 1)];
    const Result<double> expected = ExpectedPurchases(params, c, holdout_weeks);
    EXPECT_TRUE(expected.ok()) << expected.status().ToString();
    const double holdout = sim.holdout_purchases[i];
    ++bucket.customers;
    bucket.simulated += holdout;
    bucket.expected += expected.ok() ? *expected : 0;
    squares[&bucket - buckets.data()] += holdout * holdout;
  }
  for (size_t k = 0; k < kBuckets; ++k) {
    Bucket& b = buckets[k];
    if (b.customers == 0) continue;
    const double n = static_cast<double>(b.customers);
    b.simulated /= n;
    b.expected /= n;
    b.simulated_sd = std::sqrt(std::max(0.0, squares[k] / n - b.simulated * b.simulated));
  }
  return buckets;
}

std::string WriteSummariesCsv(const std::vector<ClvSummary>& customers, const std::string& path) {
  std::ofstream out(path);
  out.precision(17);
  out << "frequency,recency,age,monetary\n";
  for (const ClvSummary& c : customers) {
    out << c.frequency << ',' << c.recency << ',' << c.age << ',' << c.monetary << '\n';
  }
  return path;
}

bool ScipyAvailable() {
  return std::system("/usr/bin/python3 -c 'import numpy, scipy' >/dev/null 2>&1") == 0;
}

std::string PeerScript() {
  return (std::filesystem::path(TAILOR_BENCH_DIR) / "peer_clv_scipy.py").string();
}

// The number after "key": inside the object "object" of the peer's one-line JSON; NaN if absent.
double JsonNumber(const std::string& json, const std::string& object, const std::string& key) {
  const size_t start = json.find('"' + object + '"');
  if (start == std::string::npos) return std::nan("");
  const size_t at = json.find('"' + key + "\":", start);
  if (at == std::string::npos) return std::nan("");
  return std::strtod(json.c_str() + at + key.size() + 3, nullptr);
}

struct PeerComparison {
  const char* object;
  const char* key;
  double tailor;
};

std::vector<PeerComparison> PeerComparisons(const BgNbdFit& bg, const GammaGammaFit& gg) {
  return {{"bgnbd", "r", bg.params.r},
          {"bgnbd", "alpha", bg.params.alpha},
          {"bgnbd", "a", bg.params.a},
          {"bgnbd", "b", bg.params.b},
          {"bgnbd", "log_likelihood", bg.log_likelihood},
          {"gamma_gamma", "p", gg.params.p},
          {"gamma_gamma", "q", gg.params.q},
          {"gamma_gamma", "gamma", gg.params.gamma},
          {"gamma_gamma", "log_likelihood", gg.log_likelihood}};
}

// ---------------------------------------------------------------------------------------------
// Recovery, peer agreement and tracking on 100,000 simulated CDNOW-like customers: large
// enough that 3 standard errors of every parameter are within 10 % (at 50,000 the Gamma-Gamma's
// gamma, whose standard error is then 5 %, missed 10 % for 11 of 40 seeds; at 100,000 all 40
// passed both checks), small enough to simulate and fit in a fraction of a second (the scipy
// peer takes a few seconds).

class ClvRecovery : public ::testing::Test {
 protected:
  static constexpr size_t kCustomers = 100000;
  static constexpr uint64_t kSeed = 20250326;  // Fixed so that any failure replays exactly.

  static void SetUpTestSuite() {
    ClvSimulationOptions options;
    options.customers = kCustomers;
    options.seed = kSeed;
    Result<SimulatedClv> sim = SimulateClv(options);
    ASSERT_TRUE(sim.ok()) << sim.status().ToString();
    simulated = std::make_unique<SimulatedClv>(std::move(sim).value());
    Result<BgNbdFit> bg = FitBgNbd(simulated->calibration);
    ASSERT_TRUE(bg.ok()) << bg.status().ToString();
    bg_fit = std::make_unique<BgNbdFit>(*bg);
    Result<GammaGammaFit> gg = FitGammaGamma(simulated->calibration);
    ASSERT_TRUE(gg.ok()) << gg.status().ToString();
    gg_fit = std::make_unique<GammaGammaFit>(*gg);
  }
  static void TearDownTestSuite() {
    simulated.reset();
    bg_fit.reset();
    gg_fit.reset();
  }
  void SetUp() override {
    ASSERT_NE(simulated, nullptr);
    ASSERT_NE(bg_fit, nullptr);
    ASSERT_NE(gg_fit, nullptr);
  }

  // Shared, read-only after set-up (simulating and fitting once keeps the suite fast).
  static inline std::unique_ptr<SimulatedClv> simulated;
  static inline std::unique_ptr<BgNbdFit> bg_fit;
  static inline std::unique_ptr<GammaGammaFit> gg_fit;
};

TEST_F(ClvRecovery, EveryParameterWithinThreeStandardErrorsAndTenPercent) {
  EXPECT_TRUE(bg_fit->converged);
  EXPECT_TRUE(gg_fit->converged);
  EXPECT_EQ(bg_fit->customers, kCustomers);
  for (const Estimate& e : Estimates(*bg_fit, *gg_fit)) {
    SCOPED_TRACE(e.name);
    ASSERT_TRUE(std::isfinite(e.standard_error));
    EXPECT_GT(e.standard_error, 0);
    EXPECT_LE(std::abs(e.estimate - e.truth), 3 * e.standard_error)
        << e.estimate << " vs " << e.truth << ", se " << e.standard_error;
    EXPECT_LE(std::abs(e.estimate - e.truth), 0.10 * e.truth) << e.estimate << " vs " << e.truth;
  }
}

TEST_F(ClvRecovery, FitsAreLocalMaximaOfTheReportedLikelihood) {
  ASSERT_OK_AND_ASSIGN(const double bg_ll,
                       BgNbdLogLikelihood(bg_fit->params, simulated->calibration));
  EXPECT_NEAR(bg_ll, bg_fit->log_likelihood, 1e-9 * std::abs(bg_ll));
  ASSERT_OK_AND_ASSIGN(const double gg_ll,
                       GammaGammaLogLikelihood(gg_fit->params, simulated->calibration));
  EXPECT_NEAR(gg_ll, gg_fit->log_likelihood, 1e-9 * std::abs(gg_ll));
  // A step of a tenth of a standard error in any parameter lowers the likelihood (by about
  // 0.005 at the optimum; the check allows for rounding of a sum over 100,000 customers).
  for (int j = 0; j < 4; ++j) {
    for (const double sign : {-1.0, 1.0}) {
      BgNbdParams moved = bg_fit->params;
      double* field[] = {&moved.r, &moved.alpha, &moved.a, &moved.b};
      const double* se[] = {&bg_fit->standard_errors.r, &bg_fit->standard_errors.alpha,
                            &bg_fit->standard_errors.a, &bg_fit->standard_errors.b};
      *field[j] += sign * 0.1 * *se[j];
      ASSERT_OK_AND_ASSIGN(const double ll, BgNbdLogLikelihood(moved, simulated->calibration));
      EXPECT_LT(ll, bg_ll + 1e-6) << "BG/NBD parameter " << j << " sign " << sign;
    }
  }
  for (int j = 0; j < 3; ++j) {
    for (const double sign : {-1.0, 1.0}) {
      GammaGammaParams moved = gg_fit->params;
      double* field[] = {&moved.p, &moved.q, &moved.gamma};
      const double* se[] = {&gg_fit->standard_errors.p, &gg_fit->standard_errors.q,
                            &gg_fit->standard_errors.gamma};
      *field[j] += sign * 0.1 * *se[j];
      ASSERT_OK_AND_ASSIGN(const double ll, GammaGammaLogLikelihood(moved, simulated->calibration));
      EXPECT_LT(ll, gg_ll + 1e-6) << "Gamma-Gamma parameter " << j << " sign " << sign;
    }
  }
}

TEST_F(ClvRecovery, AgreesWithScipyToOneInTenThousand) {
  if (!ScipyAvailable()) GTEST_SKIP() << "/usr/bin/python3 with numpy and scipy is not installed";
  ASSERT_TRUE(std::filesystem::exists(PeerScript())) << PeerScript();
  TempDir dir;
  const std::string csv = WriteSummariesCsv(simulated->calibration, dir.File("summaries.csv"));
  const std::string json = RunCommand("/usr/bin/python3 " + PeerScript() + " " + csv);
  SCOPED_TRACE(json);
  for (const PeerComparison& c : PeerComparisons(*bg_fit, *gg_fit)) {
    const double peer = JsonNumber(json, c.object, c.key);
    ASSERT_TRUE(std::isfinite(peer)) << c.object << "." << c.key << " missing";
    EXPECT_LE(std::abs(c.tailor - peer), 1e-4 * std::abs(peer))
        << c.object << "." << c.key << ": tailor " << c.tailor << ", scipy " << peer;
  }
}

// The paper's conditional-expectation figure: for each calibration frequency, the model's mean
// E[Y(39) | x, t_x, T] against the mean simulated holdout purchases. The model is the one that
// generated the data, so the two differ by the sampling error of the simulated mean plus the
// effect of the parameters' estimation error; the tolerance is 4 standard errors of the
// simulated mean plus 3 % of it (the latter for the estimation error: at 100,000 customers the
// BG/NBD parameters are off by up to a few per cent). Over seeds 1-30 the largest difference
// used 56 % of this tolerance.
TEST_F(ClvRecovery, ExpectedHoldoutPurchasesTrackSimulatedPerFrequency) {
  const std::array<Bucket, kBuckets> buckets = HoldoutBuckets(*simulated, bg_fit->params, 39);
  for (size_t k = 0; k < kBuckets; ++k) {
    const Bucket& b = buckets[k];
    SCOPED_TRACE(::testing::Message()
                 << "x = " << k << (k + 1 == kBuckets ? "+" : "") << ", customers " << b.customers);
    ASSERT_GE(b.customers, 500u);
    EXPECT_NEAR(b.expected, b.simulated, 4 * b.StandardError() + 0.03 * b.simulated);
  }
  // And the unconditional curve: the repeat purchases of a cohort of new customers over their
  // calibration ages, E[X(T)] summed, against the simulated total (its sampling error is about
  // 1 %; over seeds 1-30 the difference was at most 0.43 %).
  double expected_total = 0, simulated_total = 0;
  for (const ClvSummary& c : simulated->calibration) {
    ASSERT_OK_AND_ASSIGN(const double e, ExpectedPurchasesNewCustomer(bg_fit->params, c.age));
    expected_total += e;
    simulated_total += c.frequency;
  }
  EXPECT_NEAR(expected_total, simulated_total, 0.02 * simulated_total);
}

TEST_F(ClvRecovery, ExpectedAverageValueShrinksTowardsThePopulationMean) {
  // Customers with many purchases keep close to their own mean, those with one move towards the
  // population's p gamma / (q - 1).
  ASSERT_OK_AND_ASSIGN(const double population, ExpectedAverageValue(gg_fit->params, ClvSummary{}));
  EXPECT_NEAR(population, gg_fit->params.p * gg_fit->params.gamma / (gg_fit->params.q - 1), 1e-12);
  const ClvSummary one{.frequency = 1, .recency = 5, .age = 30, .monetary = 100};
  const ClvSummary many{.frequency = 20, .recency = 25, .age = 30, .monetary = 100};
  ASSERT_OK_AND_ASSIGN(const double value_one, ExpectedAverageValue(gg_fit->params, one));
  ASSERT_OK_AND_ASSIGN(const double value_many, ExpectedAverageValue(gg_fit->params, many));
  EXPECT_LT(population, value_one);
  EXPECT_LT(value_one, value_many);
  EXPECT_LT(value_many, 100);
}

TEST(ClvFit, EstimatesDoNotDependOnTheTimeOrMoneyUnit) {
  // The same customers in days and cents: alpha is 7 times larger, gamma 100 times, the rest
  // unchanged, since the starting points scale with the data.
  ClvSimulationOptions options;
  options.customers = 20000;
  options.seed = 5;
  ASSERT_OK_AND_ASSIGN(const SimulatedClv sim, SimulateClv(options));
  std::vector<ClvSummary> days = sim.calibration;
  for (ClvSummary& c : days) {
    c.recency *= 7;
    c.age *= 7;
    c.monetary *= 100;
  }
  ASSERT_OK_AND_ASSIGN(const BgNbdFit weeks_bg, FitBgNbd(sim.calibration));
  ASSERT_OK_AND_ASSIGN(const BgNbdFit days_bg, FitBgNbd(days));
  ASSERT_OK_AND_ASSIGN(const GammaGammaFit dollars_gg, FitGammaGamma(sim.calibration));
  ASSERT_OK_AND_ASSIGN(const GammaGammaFit cents_gg, FitGammaGamma(days));
  ASSERT_TRUE(weeks_bg.converged && days_bg.converged && dollars_gg.converged &&
              cents_gg.converged);
  EXPECT_NEAR(days_bg.params.r, weeks_bg.params.r, 1e-8 * weeks_bg.params.r);
  EXPECT_NEAR(days_bg.params.alpha, 7 * weeks_bg.params.alpha, 7e-8 * weeks_bg.params.alpha);
  EXPECT_NEAR(days_bg.params.a, weeks_bg.params.a, 1e-8 * weeks_bg.params.a);
  EXPECT_NEAR(days_bg.params.b, weeks_bg.params.b, 1e-8 * weeks_bg.params.b);
  EXPECT_NEAR(days_bg.standard_errors.alpha, 7 * weeks_bg.standard_errors.alpha,
              1e-5 * weeks_bg.standard_errors.alpha);
  EXPECT_NEAR(cents_gg.params.p, dollars_gg.params.p, 1e-8 * dollars_gg.params.p);
  EXPECT_NEAR(cents_gg.params.q, dollars_gg.params.q, 1e-8 * dollars_gg.params.q);
  EXPECT_NEAR(cents_gg.params.gamma, 100 * dollars_gg.params.gamma, 1e-6 * dollars_gg.params.gamma);
}

TEST(ClvFit, UnidentifiedModelsAreReportedNotConvergedWithoutNaN) {
  // Three identical customers: no heterogeneity to estimate, the likelihood keeps rising
  // towards the bounds of the search.
  const std::vector<ClvSummary> identical(
      3, {.frequency = 1, .recency = 5, .age = 10, .monetary = 20});
  ASSERT_OK_AND_ASSIGN(const BgNbdFit bg, FitBgNbd(identical));
  ASSERT_OK_AND_ASSIGN(const GammaGammaFit gg, FitGammaGamma(identical));
  EXPECT_FALSE(bg.converged);
  EXPECT_FALSE(gg.converged);
  for (const double v :
       {bg.params.r, bg.params.alpha, bg.params.a, bg.params.b, bg.standard_errors.r,
        bg.standard_errors.alpha, bg.standard_errors.a, bg.standard_errors.b, bg.log_likelihood,
        gg.params.p, gg.params.q, gg.params.gamma, gg.standard_errors.p, gg.standard_errors.q,
        gg.standard_errors.gamma, gg.log_likelihood}) {
    EXPECT_FALSE(std::isnan(v));
  }
}

// ---------------------------------------------------------------------------------------------
// Slow obvious formulas.

template <typename Real>
Real Beta(Real a, Real b) {
  return std::tgamma(a) * std::tgamma(b) / std::tgamma(a + b);
}

// The paper's equation 6 as printed, one customer, without logs.
template <typename Real = double>
Real DirectBgNbdLikelihood(const BgNbdParams& params, const ClvSummary& c) {
  const Real r = params.r, alpha = params.alpha, a = params.a, b = params.b;
  const Real x = c.frequency, age = c.age, recency = c.recency;
  const Real common = std::tgamma(r + x) * std::pow(alpha, r) / std::tgamma(r);
  const Real alive = Beta(a, b + x) / Beta(a, b) * common / std::pow(alpha + age, r + x);
  if (x == 0) return alive;
  return alive + Beta(a + 1, b + x - 1) / Beta(a, b) * common / std::pow(alpha + recency, r + x);
}

// The density of a repeat purchaser's mean spend as printed, without logs.
double DirectGammaGammaDensity(const GammaGammaParams& m, const ClvSummary& c) {
  const double x = c.frequency, mean = c.monetary;
  return std::tgamma(m.p * x + m.q) / (std::tgamma(m.p * x) * std::tgamma(m.q)) *
         std::pow(m.gamma, m.q) * std::pow(mean, m.p * x - 1) * std::pow(x, m.p * x) /
         std::pow(m.gamma + mean * x, m.p * x + m.q);
}

// 2F1(a, b; c; z) by its defining series, summed in long double until the terms vanish.
long double NaiveHypergeometric(long double a, long double b, long double c, long double z) {
  long double term = 1, sum = 1;
  for (int64_t n = 0; n < 100000000; ++n) {
    term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z;
    sum += term;
    if (std::abs(term) < 1e-22L * std::abs(sum) && n > 10) break;
  }
  return sum;
}

// The paper's equation 10, as printed.
double NaiveConditionalExpectation(const BgNbdParams& m, const ClvSummary& c, double t) {
  const long double x = c.frequency, r = m.r, alpha = m.alpha, a = m.a, b = m.b;
  const long double age = c.age, z = t / (alpha + age + t);
  const long double numerator = (a + b + x - 1) / (a - 1) *
                                (1 - std::pow((alpha + age) / (alpha + age + t), r + x) *
                                         NaiveHypergeometric(r + x, b + x, a + b + x - 1, z));
  const long double denominator =
      1 + (x > 0 ? a / (b + x - 1) * std::pow((alpha + age) / (alpha + c.recency), r + x) : 0);
  return static_cast<double>(numerator / denominator);
}

std::vector<ClvSummary> FewCustomers() {
  return {
      {.frequency = 0, .recency = 0, .age = 38.86, .monetary = 0},
      {.frequency = 0, .recency = 0, .age = 27.5, .monetary = 0},
      {.frequency = 1, .recency = 1.71, .age = 38.86, .monetary = 11.77},
      {.frequency = 1, .recency = 30, .age = 31, .monetary = 40},
      {.frequency = 2, .recency = 0.5, .age = 36, .monetary = 22.5},
      {.frequency = 4, .recency = 20, .age = 33, .monetary = 18.9},
      {.frequency = 8, .recency = 37.9, .age = 38, .monetary = 55},
  };
}
constexpr BgNbdParams kOtherPurchases{1.7, 12.5, 2.6, 0.4};
constexpr GammaGammaParams kOtherSpend{1.3, 0.8, 3.1};

TEST(ClvFormulas, BgNbdLogLikelihoodEqualsTheDirectFormula) {
  for (const BgNbdParams& m : {kCdnowPurchases, kOtherPurchases}) {
    double direct = 0;
    for (const ClvSummary& c : FewCustomers()) direct += std::log(DirectBgNbdLikelihood(m, c));
    ASSERT_OK_AND_ASSIGN(const double ll, BgNbdLogLikelihood(m, FewCustomers()));
    EXPECT_NEAR(ll, direct, 1e-11 * std::abs(direct)) << m.r;
  }
}

TEST(ClvFormulas, BgNbdLogLikelihoodStaysFiniteWhereTheDirectFormulaUnderflows) {
  // 400 purchases over a long life: Γ(r+x) overflows and (α+T)^-(r+x) underflows in doubles,
  // not in long doubles (to 1e±4932).
  const ClvSummary heavy{.frequency = 400, .recency = 2000, .age = 2100, .monetary = 10};
  EXPECT_FALSE(std::isfinite(std::log(DirectBgNbdLikelihood(kCdnowPurchases, heavy))));
  const long double direct = std::log(DirectBgNbdLikelihood<long double>(kCdnowPurchases, heavy));
  ASSERT_OK_AND_ASSIGN(const double ll, BgNbdLogLikelihood(kCdnowPurchases, {heavy}));
  EXPECT_NEAR(ll, static_cast<double>(direct), 1e-11 * std::abs(ll));
}

TEST(ClvFormulas, GammaGammaLogLikelihoodEqualsTheDirectFormula) {
  for (const GammaGammaParams& m : {kCdnowSpend, kOtherSpend}) {
    double direct = 0;
    for (const ClvSummary& c : FewCustomers()) {
      if (c.frequency > 0) direct += std::log(DirectGammaGammaDensity(m, c));
    }
    ASSERT_OK_AND_ASSIGN(const double ll, GammaGammaLogLikelihood(m, FewCustomers()));
    EXPECT_NEAR(ll, direct, 1e-11 * std::abs(direct)) << m.p;
  }
}

TEST(ClvFormulas, ProbabilityAliveIsTheShareOfTheAliveTerm) {
  for (const BgNbdParams& m : {kCdnowPurchases, kOtherPurchases}) {
    for (const ClvSummary& c : FewCustomers()) {
      // The likelihood's first term is "alive at T", the second "dropped out after t_x".
      const double alive_term = Beta(m.a, m.b + c.frequency) / Beta(m.a, m.b) *
                                std::pow(m.alpha + c.age, -(m.r + c.frequency));
      const double dead_term = c.frequency == 0
                                   ? 0
                                   : Beta(m.a + 1, m.b + c.frequency - 1) / Beta(m.a, m.b) *
                                         std::pow(m.alpha + c.recency, -(m.r + c.frequency));
      ASSERT_OK_AND_ASSIGN(const double alive, ProbabilityAlive(m, c));
      EXPECT_NEAR(alive, alive_term / (alive_term + dead_term), 1e-13) << c.frequency;
      if (c.frequency == 0) {
        EXPECT_EQ(alive, 1.0);
      }
    }
  }
}

TEST(ClvFormulas, ExpectedPurchasesEqualThePapersEquationTen) {
  // z = t / (α + T + t) up to about 0.9, where the untransformed series still converges fast.
  for (const BgNbdParams& m : {kCdnowPurchases, kOtherPurchases}) {
    for (const ClvSummary& c : FewCustomers()) {
      for (const double t : {0.5, 39.0, 150.0}) {
        ASSERT_OK_AND_ASSIGN(const double e, ExpectedPurchases(m, c, t));
        const double naive = NaiveConditionalExpectation(m, c, t);
        EXPECT_NEAR(e, naive, 1e-10 * naive) << "x " << c.frequency << " t " << t;
      }
    }
  }
}

TEST(ClvFormulas, NewCustomerExpectationIsThePapersEquationNine) {
  for (const BgNbdParams& m : {kCdnowPurchases, kOtherPurchases}) {
    for (const double t : {1.0, 39.0, 78.0}) {
      const long double r = m.r, alpha = m.alpha, a = m.a, b = m.b;
      const double naive =
          static_cast<double>((a + b - 1) / (a - 1) *
                              (1 - std::pow(alpha / (alpha + t), r) *
                                       NaiveHypergeometric(r, b, a + b - 1, t / (alpha + t))));
      ASSERT_OK_AND_ASSIGN(const double e, ExpectedPurchasesNewCustomer(m, t));
      EXPECT_NEAR(e, naive, 1e-10 * naive) << t;
    }
  }
}

TEST(ClvFormulas, ExpectedPurchasesAtShortHorizonsAreTheRateTimesT) {
  // E[Y(t)] = P(alive) E[λ | x, T] t + O(t²), with λ | x, T ~ Gamma(r + x, α + T).
  for (const ClvSummary& c : FewCustomers()) {
    const double t = 1e-6;
    ASSERT_OK_AND_ASSIGN(const double alive, ProbabilityAlive(kCdnowPurchases, c));
    ASSERT_OK_AND_ASSIGN(const double e, ExpectedPurchases(kCdnowPurchases, c, t));
    const double rate = (kCdnowPurchases.r + c.frequency) / (kCdnowPurchases.alpha + c.age);
    EXPECT_NEAR(e, alive * rate * t, 1e-5 * alive * rate * t);
  }
  ASSERT_OK_AND_ASSIGN(const double zero, ExpectedPurchases(kCdnowPurchases, FewCustomers()[3], 0));
  EXPECT_EQ(zero, 0);
}

TEST(ClvFormulas, ExpectedPurchasesAreContinuousThroughAEqualsOne) {
  // Equation 10 is 0/0 at a = 1; tailor's form has no division by a - 1.
  const ClvSummary c = FewCustomers()[5];
  BgNbdParams m = kCdnowPurchases;
  m.a = 1;
  ASSERT_OK_AND_ASSIGN(const double at_one, ExpectedPurchases(m, c, 39));
  for (const double a : {1 - 1e-7, 1 + 1e-7}) {
    m.a = a;
    ASSERT_OK_AND_ASSIGN(const double near_one, ExpectedPurchases(m, c, 39));
    EXPECT_NEAR(near_one, at_one, 1e-6 * at_one) << a;
  }
  // And away from 1 it still equals the printed formula.
  m.a = 1 + 1e-3;
  ASSERT_OK_AND_ASSIGN(const double e, ExpectedPurchases(m, c, 39));
  EXPECT_NEAR(e, NaiveConditionalExpectation(m, c, 39), 1e-8 * at_one);
}

TEST(ClvFormulas, ExpectedPurchasesOverVeryLongHorizons) {
  // z = 1 - 1e-5: tailor's series would need over 100,000 terms and integrates over p instead.
  // With a = 6 the printed series converges like n^(r-a) and can be summed for comparison.
  const BgNbdParams m{0.5, 1.0, 6.0, 2.0};
  const double t = m.alpha * (1 - 1e-5) / 1e-5;
  const long double z = t / (m.alpha + t);
  const double naive =
      static_cast<double>((m.a + m.b - 1) / (m.a - 1) *
                          (1 - std::pow(1 - z, static_cast<long double>(m.r)) *
                                   NaiveHypergeometric(m.r, m.b, m.a + m.b - 1, z)));
  ASSERT_OK_AND_ASSIGN(const double e, ExpectedPurchasesNewCustomer(m, t));
  EXPECT_NEAR(e, naive, 1e-9 * naive);
  // As t grows, a customer alive now makes E[1/p] = (a+b+x-1)/(a-1) more purchases (for a > 1).
  const ClvSummary c{.frequency = 5, .recency = 10, .age = 12, .monetary = 3};
  ASSERT_OK_AND_ASSIGN(const double alive, ProbabilityAlive(m, c));
  ASSERT_OK_AND_ASSIGN(const double far, ExpectedPurchases(m, c, 1e12));
  EXPECT_NEAR(far, alive * (m.a + m.b + c.frequency - 1) / (m.a - 1), 1e-9);
}

TEST(ClvFormulas, ExpectedAverageValueIsTheWeightedMean) {
  // E[M | x, m] = (q-1)/(px+q-1) · pγ/(q-1) + px/(px+q-1) · m (the paper's equation 5).
  const GammaGammaParams g = kCdnowSpend;
  for (const ClvSummary& c : FewCustomers()) {
    const double x = c.frequency, weight = g.p * x / (g.p * x + g.q - 1);
    const double direct = (1 - weight) * g.p * g.gamma / (g.q - 1) + weight * c.monetary;
    ASSERT_OK_AND_ASSIGN(const double value, ExpectedAverageValue(g, c));
    EXPECT_NEAR(value, direct, 1e-12 * direct);
  }
}

// ---------------------------------------------------------------------------------------------
// Bad input.

void ExpectInvalid(const Status& status, const std::string& fragment) {
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  EXPECT_NE(status.message().find(fragment), std::string::npos)
      << "'" << status.message() << "' lacks '" << fragment << "'";
}

TEST(ClvBadInput, EmptyInputIsRefused) {
  ExpectInvalid(FitBgNbd({}).status(), "no customers");
  ExpectInvalid(FitGammaGamma({}).status(), "no customers");
}

TEST(ClvBadInput, EachBadSummaryIsNamedWithItsIndexAndField) {
  struct Case {
    ClvSummary summary;
    const char* fragment;
  };
  const Case cases[] = {
      {{.frequency = NAN, .recency = 0, .age = 10}, "customer 2: frequency is not a number"},
      {{.frequency = 1, .recency = INFINITY, .age = 10}, "customer 2: recency is not a number"},
      {{.frequency = 1, .recency = 1, .age = -10}, "customer 2: age is negative"},
      {{.frequency = 1, .recency = 1, .age = 10, .monetary = -5},
       "customer 2: monetary is negative"},
      {{.frequency = 1.5, .recency = 1, .age = 10}, "customer 2: frequency 1.5 is not a whole"},
      {{.frequency = 2, .recency = 11, .age = 10}, "customer 2: recency 11 is after the age 10"},
      {{.frequency = 0, .recency = 3, .age = 10}, "customer 2: recency 3 without a repeat"},
  };
  for (const Case& c : cases) {
    std::vector<ClvSummary> customers = {FewCustomers()[2], FewCustomers()[3], c.summary};
    ExpectInvalid(FitBgNbd(customers).status(), c.fragment);
    ExpectInvalid(FitGammaGamma(customers).status(), c.fragment);
    ExpectInvalid(BgNbdLogLikelihood(kCdnowPurchases, customers).status(), c.fragment);
    // The single-customer functions report the field without an index.
    const std::string field = std::string(c.fragment).substr(std::string("customer 2: ").size());
    ExpectInvalid(ProbabilityAlive(kCdnowPurchases, c.summary).status(), field);
    ExpectInvalid(ExpectedPurchases(kCdnowPurchases, c.summary, 10).status(), field);
    ExpectInvalid(ExpectedAverageValue(kCdnowSpend, c.summary).status(), field);
  }
}

TEST(ClvBadInput, ModelsWithoutRepeatPurchasersAreRefused) {
  const std::vector<ClvSummary> no_repeats = {FewCustomers()[0], FewCustomers()[1]};
  ExpectInvalid(FitBgNbd(no_repeats).status(), "none of the 2 customers has a repeat purchase");
  ExpectInvalid(FitGammaGamma(no_repeats).status(), "no customer has a repeat purchase");
  // A repeat purchase worth nothing has no Gamma density.
  std::vector<ClvSummary> free_repeat = FewCustomers();
  free_repeat[4].monetary = 0;
  ExpectInvalid(FitGammaGamma(free_repeat).status(), "customer 4: monetary is 0");
}

TEST(ClvBadInput, BadParametersAndHorizonsAreRefused) {
  const ClvSummary c = FewCustomers()[3];
  ExpectInvalid(ProbabilityAlive({0.2, 0, 1, 1}, c).status(), "BG/NBD parameter alpha");
  ExpectInvalid(ExpectedPurchases({NAN, 1, 1, 1}, c, 1).status(), "BG/NBD parameter r");
  ExpectInvalid(ExpectedPurchases(kCdnowPurchases, c, -1).status(), "horizon");
  ExpectInvalid(ExpectedPurchases(kCdnowPurchases, c, INFINITY).status(), "horizon");
  ExpectInvalid(ExpectedPurchasesNewCustomer(kCdnowPurchases, NAN).status(), "horizon");
  ExpectInvalid(BgNbdLogLikelihood({1, 1, -1, 1}, FewCustomers()).status(), "parameter a");
  ExpectInvalid(GammaGammaLogLikelihood({1, 1, 0}, FewCustomers()).status(), "parameter gamma");
  // q <= 1: the population's mean spend is infinite, so is a new customer's expected value.
  ExpectInvalid(ExpectedAverageValue({2, 0.9, 10}, ClvSummary{}).status(), "infinite");
  ASSERT_OK_AND_ASSIGN(const double value, ExpectedAverageValue({2, 0.9, 10}, c));
  EXPECT_TRUE(std::isfinite(value));  // one purchase makes it finite (p x + q > 1)
}

TEST(ClvBadInput, BadSimulationOptionsAreRefused) {
  ClvSimulationOptions options;
  options.customers = 0;
  ExpectInvalid(SimulateClv(options).status(), "no customers");
  options.customers = 10;
  options.cohort_weeks = 39;
  ExpectInvalid(SimulateClv(options).status(), "cohort_weeks");
  options.cohort_weeks = 12;
  options.purchases.b = 0;
  ExpectInvalid(SimulateClv(options).status(), "parameter b");
  options.purchases.b = 1;
  options.spend.gamma = NAN;
  ExpectInvalid(SimulateClv(options).status(), "parameter gamma");
}

// ---------------------------------------------------------------------------------------------
// The simulator.

TEST(ClvSimulation, SameSeedSameCustomers) {
  ClvSimulationOptions options;
  options.customers = 2000;
  options.seed = 11;
  ASSERT_OK_AND_ASSIGN(const SimulatedClv first, SimulateClv(options));
  ASSERT_OK_AND_ASSIGN(const SimulatedClv again, SimulateClv(options));
  options.seed = 12;
  ASSERT_OK_AND_ASSIGN(const SimulatedClv other, SimulateClv(options));
  ASSERT_EQ(first.calibration.size(), 2000u);
  bool differs = false;
  for (size_t i = 0; i < first.calibration.size(); ++i) {
    const ClvSummary &a = first.calibration[i], &b = again.calibration[i];
    EXPECT_EQ(a.frequency, b.frequency);
    EXPECT_EQ(a.recency, b.recency);
    EXPECT_EQ(a.age, b.age);
    EXPECT_EQ(a.monetary, b.monetary);
    EXPECT_EQ(first.holdout_purchases[i], again.holdout_purchases[i]);
    differs |= a.age != other.calibration[i].age;
    // Every summary is one the fits accept: first purchases in the first 12 weeks, so ages in
    // (27, 39]; recency within the age; monetary only with repeat purchases.
    EXPECT_GT(a.age, 39 - 12);
    EXPECT_LE(a.age, 39);
    EXPECT_LE(a.recency, a.age);
    EXPECT_EQ(a.frequency == 0, a.monetary == 0);
    EXPECT_EQ(a.frequency == 0, a.recency == 0);
  }
  EXPECT_TRUE(differs);
}

// ---------------------------------------------------------------------------------------------
// The full-size report (the numbers): 200,000 customers.

TEST(ClvReport, DISABLED_CdnowScaleRecoveryReport) {
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::time_point from) {
    return std::chrono::duration<double, std::milli>(Clock::now() - from).count();
  };
  ClvSimulationOptions options;
  options.customers = 200000;
  options.seed = 20250326;
  Clock::time_point start = Clock::now();
  ASSERT_OK_AND_ASSIGN(const SimulatedClv sim, SimulateClv(options));
  const double simulate_ms = ms(start);
  start = Clock::now();
  ASSERT_OK_AND_ASSIGN(const BgNbdFit bg, FitBgNbd(sim.calibration));
  const double bg_ms = ms(start);
  start = Clock::now();
  ASSERT_OK_AND_ASSIGN(const GammaGammaFit gg, FitGammaGamma(sim.calibration));
  const double gg_ms = ms(start);
  std::printf(
      "%zu customers (%zu repeat purchasers): simulated in %.0f ms; BG/NBD fitted in %.0f "
      "ms (%zu evaluations, converged %d), Gamma-Gamma in %.0f ms (%zu, converged %d)\n",
      sim.calibration.size(), gg.customers, simulate_ms, bg_ms, bg.evaluations, bg.converged, gg_ms,
      gg.evaluations, gg.converged);
  std::printf("%-6s %8s %10s %9s %7s %8s\n", "param", "truth", "estimate", "std.err", "z",
              "rel.err");
  for (const Estimate& e : Estimates(bg, gg)) {
    std::printf("%-6s %8.3f %10.5f %9.5f %7.2f %+7.2f%%\n", e.name, e.truth, e.estimate,
                e.standard_error, (e.estimate - e.truth) / e.standard_error,
                100 * (e.estimate - e.truth) / e.truth);
    EXPECT_LE(std::abs(e.estimate - e.truth), 3 * e.standard_error) << e.name;
    EXPECT_LE(std::abs(e.estimate - e.truth), 0.10 * e.truth) << e.name;
  }
  std::printf("log-likelihood: BG/NBD %.6f, Gamma-Gamma %.6f\n", bg.log_likelihood,
              gg.log_likelihood);
  if (ScipyAvailable()) {
    TempDir dir;
    const std::string csv = WriteSummariesCsv(sim.calibration, dir.File("summaries.csv"));
    start = Clock::now();
    const std::string json = RunCommand("/usr/bin/python3 " + PeerScript() + " " + csv);
    std::printf("scipy peer (%.1f s):\n", ms(start) / 1000);
    for (const PeerComparison& c : PeerComparisons(bg, gg)) {
      const double peer = JsonNumber(json, c.object, c.key);
      std::printf("  %-11s %-14s tailor %.10g scipy %.10g rel.diff %.1e\n", c.object, c.key,
                  c.tailor, peer, std::abs(c.tailor - peer) / std::abs(peer));
      EXPECT_LE(std::abs(c.tailor - peer), 1e-4 * std::abs(peer)) << c.key;
    }
  }
  start = Clock::now();
  const std::array<Bucket, kBuckets> buckets = HoldoutBuckets(sim, bg.params, 39);
  std::printf("holdout (39 weeks) per calibration frequency, %.0f ms:\n", ms(start));
  std::printf("%-4s %9s %10s %10s %8s %8s\n", "x", "customers", "simulated", "expected", "diff",
              "s.e.");
  for (size_t k = 0; k < kBuckets; ++k) {
    const Bucket& b = buckets[k];
    std::printf("%-4s %9zu %10.4f %10.4f %+8.4f %8.4f\n",
                (std::to_string(k) + (k + 1 == kBuckets ? "+" : "")).c_str(), b.customers,
                b.simulated, b.expected, b.expected - b.simulated, b.StandardError());
  }
}

}  // namespace
}  // namespace tailor::analytics
