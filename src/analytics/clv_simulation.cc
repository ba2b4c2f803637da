// The BG/NBD and Gamma-Gamma processes, simulated customer by customer: the ground truth the
// fits are tested against (tests/clv_test.cc).

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "tailor/clv.h"

namespace tailor::analytics {
namespace {

Status CheckSimulationParameter(const char* name, double value) {
  if (!std::isfinite(value) || value <= 0) {
    return InvalidArgument("simulation parameter {} must be finite and positive, got {}", name,
                           value);
  }
  return Status::Ok();
}

}  // namespace

Result<SimulatedClv> SimulateClv(const ClvSimulationOptions& options) {
  if (options.customers == 0) return InvalidArgument("no customers to simulate");
  const BgNbdParams& bg = options.purchases;
  const GammaGammaParams& gg = options.spend;
  const std::pair<const char*, double> parameters[] = {
      {"r", bg.r},         {"alpha", bg.alpha},
      {"a", bg.a},         {"b", bg.b},
      {"p", gg.p},         {"q", gg.q},
      {"gamma", gg.gamma}, {"calibration_weeks", options.calibration_weeks}};
  for (const auto& [name, value] : parameters) {
    TAILOR_RETURN_IF_ERROR(CheckSimulationParameter(name, value));
  }
  if (!(options.cohort_weeks >= 0 && options.cohort_weeks < options.calibration_weeks)) {
    return InvalidArgument("cohort_weeks {} must be in [0, calibration_weeks = {})",
                           options.cohort_weeks, options.calibration_weeks);
  }
  if (!(options.holdout_weeks >= 0 && std::isfinite(options.holdout_weeks))) {
    return InvalidArgument("holdout_weeks must be finite and >= 0, got {}", options.holdout_weeks);
  }

  // libstdc++'s distributions are fixed for a given toolchain, so a seed replays exactly.
  std::mt19937_64 random(options.seed);
  std::uniform_real_distribution<double> first_purchase(0, options.cohort_weeks);
  std::uniform_real_distribution<double> coin(0, 1);
  std::gamma_distribution<double> rate(bg.r, 1 / bg.alpha);  // shape, scale = 1 / rate
  std::gamma_distribution<double> beta_a(bg.a, 1), beta_b(bg.b, 1);
  std::gamma_distribution<double> spend_rate(gg.q, 1 / gg.gamma);

  SimulatedClv out;
  out.calibration.reserve(options.customers);
  out.holdout_purchases.reserve(options.customers);
  for (size_t customer = 0; customer < options.customers; ++customer) {
    const double age = options.calibration_weeks - first_purchase(random);
    const double end = age + options.holdout_weeks;  // since the first purchase
    const double lambda = rate(random);
    // Beta(a, b) as G_a / (G_a + G_b). Both draws are 0 only by underflow at shapes far below
    // any fitted value; such a customer then never drops out.
    const double g_a = beta_a(random), g_b = beta_b(random);
    const double dropout = g_a + g_b > 0 ? g_a / (g_a + g_b) : 0;
    // ν = 0 (underflow at tiny q) would make every value infinite; the smallest positive ν
    // stands in for it.
    const double nu = std::max(spend_rate(random), std::numeric_limits<double>::min());
    std::gamma_distribution<double> value(gg.p, 1 / nu);

    ClvSummary summary{.age = age};
    double value_sum = 0;
    uint32_t holdout = 0;
    // λ underflows to 0 for tiny r: a customer who never buys again (exponential(0) is undefined).
    if (lambda > 0) {
      std::exponential_distribution<double> wait(lambda);
      // The first purchase is at time 0; the customer is alive then for certain. After each
      // repeat purchase they drop out with probability `dropout`, so P(alive | x = 0) = 1 as in
      // the BG/NBD likelihood.
      double time = 0;
      while (true) {
        time += wait(random);
        if (time > end) break;
        if (time <= age) {
          summary.frequency += 1;
          summary.recency = time;
          value_sum += value(random);
        } else {
          ++holdout;
        }
        if (coin(random) < dropout) break;
      }
    }
    if (summary.frequency > 0) summary.monetary = value_sum / summary.frequency;
    out.calibration.push_back(summary);
    out.holdout_purchases.push_back(holdout);
  }
  return out;
}

}  // namespace tailor::analytics
