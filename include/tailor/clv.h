#pragma once

// Customer lifetime value from per-customer purchase summaries:
//  - the BG/NBD model of how many purchases a customer makes and whether they are still a
//    customer (Fader, Hardie & Lee 2005, "Counting your customers the easy way");
//  - the Gamma-Gamma model of what a customer spends per purchase (Fader, Hardie & Lee 2005,
//    "RFM and CLV: using iso-value curves for customer base analysis", the spend sub-model);
// both fitted by maximum likelihood, plus a simulator of the processes the models assume.
//
// Time is in any unit the caller picks (days, weeks) as long as it is the same for every
// summary and every horizon; the fitted alpha is in that unit (purchase rates per unit are
// lambda ~ Gamma(r, alpha)). Money likewise: gamma is in the unit of `monetary`.
//
// All functions are pure and thread-safe; a fit on n customers costs O(n) per likelihood
// evaluation (a few logarithms per customer) and a few dozen evaluations in all.

#include <cstdint>
#include <string>
#include <vector>

#include "tailor/json_writer.h"
#include "tailor/run_control.h"
#include "tailor/snapshot.h"
#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::analytics {

// One customer's history over the calibration period, counted from their first purchase.
struct ClvSummary {
  double frequency = 0;  // x: repeat purchases (purchases after the first); a whole number
  double recency = 0;    // t_x: time of the last repeat purchase since the first; 0 if x == 0
  double age = 0;        // T: time from the first purchase to the end of the calibration period
  double monetary = 0;   // mean value of the repeat purchases; 0 if x == 0 (the first purchase
                         // is left out, as in the paper, since it often differs in kind)
};

// BG/NBD: while alive a customer buys as a Poisson process of rate lambda ~ Gamma(shape r,
// rate alpha); after each repeat purchase they drop out with probability p ~ Beta(a, b).
struct BgNbdParams {
  double r = 0, alpha = 0, a = 0, b = 0;
};

// Gamma-Gamma: each transaction value ~ Gamma(shape p, rate nu) with nu ~ Gamma(shape q, rate
// gamma) per customer, independent of the purchase process.
struct GammaGammaParams {
  double p = 0, q = 0, gamma = 0;
};

struct ClvFitOptions {
  // Evaluations of the log-likelihood and its gradient that NLopt's L-BFGS may spend; the
  // Newton steps that polish its optimum and the Hessian add at most ~130 more. A fit of the
  // CDNOW-like simulations takes 30-60 in all.
  size_t max_evaluations = 2000;
  // Converged when the largest component of the gradient of the mean log-likelihood per
  // customer, in log-parameters, is at most this (and the observed information is positive
  // definite).
  double gradient_tolerance = 1e-9;
};

// A maximum-likelihood fit. Standard errors are the square roots of the diagonal of the inverse
// observed information (the Hessian of the negative log-likelihood at the optimum), in the
// natural parameters; +infinity when that matrix is not positive definite (a parameter is not
// identified by the data), in which case `converged` is false too.
struct BgNbdFit {
  BgNbdParams params;
  BgNbdParams standard_errors;
  double log_likelihood = 0;  // summed over customers
  size_t customers = 0;
  size_t evaluations = 0;  // of the log-likelihood and its gradient
  bool converged = false;  // false: the estimate is the best found, not a verified optimum
};

struct GammaGammaFit {
  GammaGammaParams params;
  GammaGammaParams standard_errors;
  double log_likelihood = 0;  // summed over the repeat purchasers
  size_t customers = 0;       // the repeat purchasers (frequency > 0) the fit used
  size_t evaluations = 0;
  bool converged = false;
};

// Every function below validates its summaries and returns kInvalidArgument, naming the
// customer's index and the field, for: a value that is not finite or is negative, a frequency
// that is not a whole number, recency > age, recency > 0 with frequency 0; and for parameters
// that are not finite and positive. No function returns NaN.

// Fits the BG/NBD. kInvalidArgument also for no customers, or none with a repeat purchase (the
// purchase rate is then not identified).
Result<BgNbdFit> FitBgNbd(const std::vector<ClvSummary>& customers,
                          const ClvFitOptions& options = {});

// Fits the Gamma-Gamma to the customers with frequency > 0 (the others are validated, then
// skipped). kInvalidArgument also when a repeat purchaser's monetary value is not positive, or
// when no customer has a repeat purchase.
Result<GammaGammaFit> FitGammaGamma(const std::vector<ClvSummary>& customers,
                                    const ClvFitOptions& options = {});

// The log-likelihoods the fits maximize (the paper's equation 6, and the density of a
// customer's mean spend given x), summed over customers.
Result<double> BgNbdLogLikelihood(const BgNbdParams& params,
                                  const std::vector<ClvSummary>& customers);
Result<double> GammaGammaLogLikelihood(const GammaGammaParams& params,
                                       const std::vector<ClvSummary>& customers);

// P(the customer is still alive at the end of calibration | x, t_x, T). 1 when x == 0: in the
// BG/NBD a customer can drop out only right after a repeat purchase.
Result<double> ProbabilityAlive(const BgNbdParams& params, const ClvSummary& customer);

// E[Y(t) | x, t_x, T]: expected purchases in the next `t` time units after the calibration
// period (the paper's equation 10, with the Gauss hypergeometric function). kInvalidArgument
// for t negative or not finite.
Result<double> ExpectedPurchases(const BgNbdParams& params, const ClvSummary& customer, double t);

// E[X(t)]: expected repeat purchases in the first `t` time units of a new customer (the
// paper's equation 9), the curve that tracks a cohort's cumulative repeat sales.
Result<double> ExpectedPurchasesNewCustomer(const BgNbdParams& params, double t);

// E[value of a purchase | x, monetary]: the posterior mean spend per transaction, p (gamma +
// x m) / (p x + q - 1). For x == 0 that is the population mean p gamma / (q - 1), which is
// infinite when q <= 1: kInvalidArgument then (and for p x + q <= 1).
Result<double> ExpectedAverageValue(const GammaGammaParams& params, const ClvSummary& customer);

// Simulated customers of one acquisition cohort, in weeks (the setting of the CDNOW analyses).
struct ClvSimulationOptions {
  size_t customers = 10000;
  double cohort_weeks = 12;  // first purchases uniform over [0, cohort_weeks)
  double calibration_weeks = 39;
  double holdout_weeks = 39;
  BgNbdParams purchases{0.243, 4.414, 0.793, 2.426};  // CDNOW (Fader, Hardie & Lee 2005)
  GammaGammaParams spend{6.25, 3.74, 15.44};          // CDNOW
  uint64_t seed = 0;
};

struct SimulatedClv {
  // Per customer: the calibration summary (frequency, recency, age in weeks; monetary is the
  // mean of the repeat purchases' values) ...
  std::vector<ClvSummary> calibration;
  // ... and the purchases made in the holdout period that follows it.
  std::vector<uint32_t> holdout_purchases;
};

// Draws each customer's lambda ~ Gamma(r, alpha), dropout probability ~ Beta(a, b), purchases
// as a Poisson process from their first purchase, a dropout coin after each repeat purchase,
// and per-purchase values from the Gamma-Gamma. Deterministic for the seed (the same numbers
// from the same standard library). kInvalidArgument for parameters that are not finite and
// positive, no customers, or a cohort period not shorter than the calibration period.
Result<SimulatedClv> SimulateClv(const ClvSimulationOptions& options);

// ---- Lifetime value of every customer of a snapshot -------------------------------------------

// A customer is a known profile with at least one purchase (`purchase_type`) before `now`. Their
// purchases are counted as orders (events with one order_id are one order, at its first event's
// time, worth the sum of its values; an event without an order id is an order of its own), as
// RFM counts them; time is in days from the first order, money in the events' currency.
struct ClvOptions {
  Timestamp now = 0;  // the end of the calibration period (required)
  std::string purchase_type = "purchase";
  // Event types that cancel an order (as RfmOptions::exclude_order_types): its purchases are
  // left out.
  std::vector<std::string> exclude_order_types;
  double horizon_days = 365;  // expected purchases and value over the next this many days
  ClvFitOptions fit;
  const RunControl* control = nullptr;  // cancellation between the stages
};

struct ClvCustomer {
  ProfileId id = kNoProfile;
  ClvSummary summary;  // in days
  double probability_alive = 0;
  double expected_purchases = 0;    // in the horizon
  double expected_order_value = 0;  // Gamma-Gamma posterior mean (NaN when spend is not fitted)
  double expected_value = 0;  // purchases x order value over the horizon, undiscounted (or NaN)
};

struct ClvResult {
  BgNbdFit purchases;
  bool spend_fitted = false;
  std::string spend_problem;  // why spend is not fitted (no amounts, q <= 1, ...)
  GammaGammaFit spend;
  double horizon_days = 0;
  std::vector<ClvCustomer> customers;  // in dense id order
};

// kInvalidArgument: no reference time, a horizon <= 0, no customers, none with a repeat
// purchase (named as such); kCancelled from the control.
Result<ClvResult> ComputeClv(const snapshot::Snapshot& snapshot, const ClvOptions& options);

// The fit and its distribution as JSON fields of an object the caller opened: customers,
// horizon_days, bgnbd and gamma_gamma (parameters, standard errors, log-likelihood,
// converged), totals and quantiles of expected value and P(alive): one spelling for `tailor clv
// --json` and the HTTP API.
void WriteClvFields(JsonWriter& json, const ClvResult& result);

}  // namespace tailor::analytics
