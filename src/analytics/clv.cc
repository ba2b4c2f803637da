#include "tailor/clv.h"

#include <nlopt.h>

#include <Eigen/Dense>
#include <algorithm>
#include <boost/math/policies/policy.hpp>
#include <boost/math/quadrature/tanh_sinh.hpp>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <climits>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>

namespace tailor::analytics {
namespace {

// Boost's special functions report errors through errno here instead of throwing: they run
// inside NLopt's C callback, which an exception must not cross. Arguments are positive and
// finite by validation, so no error is expected; no promotion to long double keeps them fast.
using NoThrowPolicy = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::errno_on_error>,
    boost::math::policies::pole_error<boost::math::policies::errno_on_error>,
    boost::math::policies::overflow_error<boost::math::policies::errno_on_error>,
    boost::math::policies::evaluation_error<boost::math::policies::errno_on_error>,
    boost::math::policies::promote_double<false>>;

// boost::math::lgamma rather than std::lgamma: glibc's writes the global `signgam`, a data race
// when fits run in parallel.
double LogGamma(double x) { return boost::math::lgamma(x, NoThrowPolicy()); }
double Digamma(double x) { return boost::math::digamma(x, NoThrowPolicy()); }

// Fits search log-parameters in [-kLogBound, kLogBound] (e^30 ~ 1e13): wide enough for any time
// or money unit, and it keeps exp() finite. An optimum on the bound means "not identified".
constexpr double kLogBound = 30;
// Central-difference step, in log-parameters, of the finite-difference Hessian of the analytic
// gradient: truncation error ~ step^2, rounding ~ 1e-16 / step, both far below what standard
// errors need.
constexpr double kHessianStep = 1e-5;
constexpr int kNewtonSteps = 8;

Status CheckSummary(const ClvSummary& c) {
  const std::pair<const char*, double> fields[] = {
      {"frequency", c.frequency}, {"recency", c.recency}, {"age", c.age}, {"monetary", c.monetary}};
  for (const auto& [name, value] : fields) {
    if (!std::isfinite(value)) return InvalidArgument("{} is not a number", name);
    if (value < 0) return InvalidArgument("{} is negative ({})", name, value);
  }
  if (c.frequency != std::floor(c.frequency)) {
    return InvalidArgument("frequency {} is not a whole number", c.frequency);
  }
  if (c.recency > c.age) return InvalidArgument("recency {} is after the age {}", c.recency, c.age);
  if (c.frequency == 0 && c.recency != 0) {
    return InvalidArgument("recency {} without a repeat purchase", c.recency);
  }
  return Status::Ok();
}

Status CheckSummaries(const std::vector<ClvSummary>& customers) {
  if (customers.empty()) return InvalidArgument("no customers");
  for (size_t i = 0; i < customers.size(); ++i) {
    const Status status = CheckSummary(customers[i]);
    if (!status.ok()) return status.WithContext(fmt::format("customer {}", i));
  }
  return Status::Ok();
}

Status CheckPositive(const char* model, std::initializer_list<std::pair<const char*, double>> ps) {
  for (const auto& [name, value] : ps) {
    if (!std::isfinite(value) || value <= 0) {
      return InvalidArgument("{} parameter {} must be finite and positive, got {}", model, name,
                             value);
    }
  }
  return Status::Ok();
}

Status CheckParams(const BgNbdParams& m) {
  return CheckPositive("BG/NBD", {{"r", m.r}, {"alpha", m.alpha}, {"a", m.a}, {"b", m.b}});
}
Status CheckParams(const GammaGammaParams& m) {
  return CheckPositive("Gamma-Gamma", {{"p", m.p}, {"q", m.q}, {"gamma", m.gamma}});
}

// log(exp(u) + exp(v)) and the weight exp(u) / (exp(u) + exp(v)), without overflow: the two
// terms of a BG/NBD likelihood can each underflow for heavy buyers.
struct LogSumExp {
  double value, weight_u;
};
LogSumExp LogSumExp2(double u, double v) {
  const double hi = std::max(u, v);
  const double e = std::exp(-std::abs(u - v));  // in (0, 1]
  const double w_hi = 1 / (1 + e);
  return {hi + std::log1p(e), u >= v ? w_hi : 1 - w_hi};
}

// ---------------------------------------------------------------------------------------------
// Maximum likelihood on log-parameters.

// Mean negative log-likelihood per customer at log-parameters `theta`, and its gradient in
// them. The mean, not the sum, so that tolerances do not depend on the number of customers.
using Objective = std::function<double(const Eigen::VectorXd& theta, Eigen::VectorXd& gradient)>;

struct LogFit {
  Eigen::VectorXd theta;
  Eigen::VectorXd standard_errors;  // of theta, for the summed log-likelihood
  double mean_negative_log_likelihood = 0;
  size_t evaluations = 0;
  bool converged = false;
};

struct CountedObjective {
  const Objective& objective;
  size_t evaluations = 0;
  double operator()(const Eigen::VectorXd& theta, Eigen::VectorXd& gradient) {
    ++evaluations;
    return objective(theta, gradient);
  }
};

double NloptCallback(unsigned n, const double* x, double* gradient, void* data) {
  auto& f = *static_cast<CountedObjective*>(data);
  Eigen::VectorXd g(n);
  const double value = f(Eigen::Map<const Eigen::VectorXd>(x, n), g);
  if (gradient != nullptr) Eigen::Map<Eigen::VectorXd>(gradient, n) = g;
  // NLopt's line search treats a non-finite value as an error; a huge one steers it back.
  return std::isfinite(value) ? value : std::numeric_limits<double>::max();
}

Eigen::MatrixXd FiniteDifferenceHessian(CountedObjective& f, const Eigen::VectorXd& theta) {
  const Eigen::Index n = theta.size();
  Eigen::MatrixXd h(n, n);
  Eigen::VectorXd plus(n), minus(n);
  for (Eigen::Index j = 0; j < n; ++j) {
    Eigen::VectorXd t = theta;
    t(j) += kHessianStep;
    f(t, plus);
    t(j) = theta(j) - kHessianStep;
    f(t, minus);
    h.col(j) = (plus - minus) / (2 * kHessianStep);
  }
  return (h + h.transpose()) / 2;
}

bool InsideBounds(const Eigen::VectorXd& theta) { return theta.cwiseAbs().maxCoeff() < kLogBound; }

// Why NLopt's L-BFGS and then Newton: L-BFGS with a line search is robust far from the optimum,
// where the likelihood is not concave in the parameters and a Newton step can point uphill; but
// it stops on small steps, not on a small gradient. Near the optimum the likelihood is locally
// quadratic, so a few Newton steps with the Hessian that the standard errors need anyway take
// the gradient down to rounding, which is what makes two implementations agree to 1e-4 and more.
LogFit MaximizeLikelihood(const Objective& objective, Eigen::VectorXd theta, size_t customers,
                          const ClvFitOptions& options) {
  const unsigned n = static_cast<unsigned>(theta.size());
  CountedObjective f{objective};
  std::unique_ptr<nlopt_opt_s, decltype(&nlopt_destroy)> opt(nlopt_create(NLOPT_LD_LBFGS, n),
                                                             nlopt_destroy);
  if (opt != nullptr) {
    nlopt_set_lower_bounds1(opt.get(), -kLogBound);
    nlopt_set_upper_bounds1(opt.get(), kLogBound);
    nlopt_set_min_objective(opt.get(), NloptCallback, &f);
    // Tolerances at the level of rounding: the Newton steps below decide convergence.
    nlopt_set_ftol_rel(opt.get(), 1e-15);
    nlopt_set_xtol_rel(opt.get(), 1e-12);
    const size_t max_evaluations = std::clamp<size_t>(options.max_evaluations, 1, INT_MAX);
    nlopt_set_maxeval(opt.get(), static_cast<int>(max_evaluations));
  }
  theta = theta.cwiseMax(-kLogBound).cwiseMin(kLogBound);
  double value = 0;
  // Any stop, including NLopt's "roundoff limited", leaves the best point found in `theta`;
  // whether it is an optimum is judged below by the gradient, not by NLopt's code. (Without
  // an NLopt object, out of memory, the Newton steps start from the starting point.)
  if (opt != nullptr) nlopt_optimize(opt.get(), theta.data(), &value);

  LogFit fit;
  Eigen::VectorXd gradient(n);
  value = f(theta, gradient);
  Eigen::MatrixXd hessian = FiniteDifferenceHessian(f, theta);
  for (int step = 0; step < kNewtonSteps; ++step) {
    if (gradient.cwiseAbs().maxCoeff() <= options.gradient_tolerance * 1e-3) break;
    if (f.evaluations >= options.max_evaluations) break;
    const Eigen::LLT<Eigen::MatrixXd> llt(hessian);
    if (llt.info() != Eigen::Success) break;  // not locally convex: no Newton step to take
    const Eigen::VectorXd direction = -llt.solve(gradient);
    // Backtrack (step lengths 1, 1/4, ..., 1/4^6) until the likelihood does not get worse.
    bool moved = false;
    for (int shortening = 0; shortening < 7; ++shortening) {
      const double length = std::ldexp(1.0, -2 * shortening);
      const Eigen::VectorXd candidate = theta + length * direction;
      if (!InsideBounds(candidate)) continue;
      Eigen::VectorXd candidate_gradient(n);
      const double candidate_value = f(candidate, candidate_gradient);
      // Within 1e-12 of the optimum the change in the mean log-likelihood is at the level of
      // its rounding, and a smaller gradient is the better witness of progress.
      const bool better =
          candidate_value < value || (candidate_value <= value + 1e-12 * (1 + std::abs(value)) &&
                                      candidate_gradient.norm() < gradient.norm());
      if (std::isfinite(candidate_value) && better) {
        theta = candidate;
        value = candidate_value;
        gradient = candidate_gradient;
        moved = true;
        break;
      }
    }
    if (!moved) break;
    hessian = FiniteDifferenceHessian(f, theta);
  }
  fit.theta = theta;
  fit.mean_negative_log_likelihood = value;
  fit.evaluations = f.evaluations;
  // Observed information of the summed log-likelihood = customers * Hessian of the mean.
  fit.standard_errors = Eigen::VectorXd::Constant(n, std::numeric_limits<double>::infinity());
  const Eigen::LLT<Eigen::MatrixXd> llt(hessian * static_cast<double>(customers));
  const bool definite = llt.info() == Eigen::Success;
  if (definite) {
    const Eigen::MatrixXd covariance = llt.solve(Eigen::MatrixXd::Identity(n, n));
    fit.standard_errors = covariance.diagonal().cwiseSqrt();
  }
  fit.converged = definite && InsideBounds(theta) && std::isfinite(value) &&
                  gradient.cwiseAbs().maxCoeff() <= options.gradient_tolerance;
  return fit;
}

// ---------------------------------------------------------------------------------------------
// BG/NBD likelihood.
//
// For x > 0 (the paper's equation 6, with the Beta functions written out):
//   L = Γ(r+x) α^r / Γ(r) · Γ(a+b) Γ(b+x-1) / (Γ(b) Γ(a+b+x))
//       · [ (b+x-1) (α+T)^-(r+x) + a (α+t_x)^-(r+x) ]
// and for x = 0, L = (α / (α+T))^r. The Gamma-function factor depends on x only, so it is
// computed once per distinct frequency; each customer costs two logarithms and a log-sum-exp.

struct BgNbdData {
  size_t customers = 0;
  std::vector<double> ages_without_repeat;  // T of the customers with x = 0
  std::vector<double> frequencies;          // distinct x > 0
  std::vector<size_t> frequency_counts;     // customers per distinct x
  // Customers with x > 0: their index into `frequencies`, T and t_x.
  std::vector<uint32_t> frequency_index;
  std::vector<double> ages, recencies;
};

BgNbdData PrepareBgNbd(const std::vector<ClvSummary>& customers) {
  BgNbdData d;
  d.customers = customers.size();
  std::map<double, uint32_t> index;
  for (const ClvSummary& c : customers) {
    if (c.frequency > 0) index.emplace(c.frequency, 0);
  }
  for (auto& [x, i] : index) {
    i = static_cast<uint32_t>(d.frequencies.size());
    d.frequencies.push_back(x);
  }
  d.frequency_counts.assign(d.frequencies.size(), 0);
  for (const ClvSummary& c : customers) {
    if (c.frequency == 0) {
      d.ages_without_repeat.push_back(c.age);
      continue;
    }
    const uint32_t i = index.at(c.frequency);
    ++d.frequency_counts[i];
    d.frequency_index.push_back(i);
    d.ages.push_back(c.age);
    d.recencies.push_back(c.recency);
  }
  return d;
}

// The summed log-likelihood, and its gradient in (r, alpha, a, b) if `gradient` is not null.
// Each customer's term is written relative to α (log1p(T/α), not log(α+T) - log α) so that the
// sum has no large terms that cancel: its rounding, not the optimizer, would otherwise set how
// closely the optimum can be found.
double BgNbdLogLikelihoodOf(const BgNbdData& d, const BgNbdParams& m, double* gradient) {
  const double r = m.r, alpha = m.alpha, a = m.a, b = m.b;
  const double log_alpha = std::log(alpha), log_a = std::log(a);
  double ll = 0, g_r = 0, g_alpha = 0, g_a = 0, g_b = 0;
  // x = 0: L = (α / (α+T))^r.
  for (const double age : d.ages_without_repeat) {
    const double log_age = std::log1p(age / alpha);
    ll -= r * log_age;
    g_r -= log_age;
    g_alpha += r * age / (alpha * (alpha + age));
  }
  const size_t groups = d.frequencies.size();
  std::vector<double> log_b_x1(groups);
  const double lgamma_r = LogGamma(r), lgamma_b = LogGamma(b), lgamma_ab = LogGamma(a + b);
  const double digamma_r = Digamma(r), digamma_b = Digamma(b), digamma_ab = Digamma(a + b);
  for (size_t k = 0; k < groups; ++k) {
    const double x = d.frequencies[k], count = static_cast<double>(d.frequency_counts[k]);
    // b + (x - 1), not b + x - 1: for x = 1 that is exactly b, however small b is.
    const double b_x1 = b + (x - 1);
    log_b_x1[k] = std::log(b_x1);
    ll += count * (LogGamma(r + x) - lgamma_r + lgamma_ab - lgamma_b - LogGamma(a + b + x) +
                   LogGamma(b_x1) - x * log_alpha);
    if (gradient != nullptr) {
      const double digamma_abx = Digamma(a + b + x);
      g_r += count * (Digamma(r + x) - digamma_r);
      g_alpha -= count * x / alpha;
      g_a += count * (digamma_ab - digamma_abx);
      g_b += count * (digamma_ab - digamma_b - digamma_abx + Digamma(b_x1));
    }
  }
  // x > 0: the Gamma-function factor above times
  //   α^-x [(b+x-1) (1 + T/α)^-(r+x) + a (1 + t_x/α)^-(r+x)].
  for (size_t i = 0; i < d.ages.size(); ++i) {
    const size_t k = d.frequency_index[i];
    const double x = d.frequencies[k], age = d.ages[i], recency = d.recencies[i];
    const double log_age = std::log1p(age / alpha), log_recency = std::log1p(recency / alpha);
    // u: still alive at T; v: dropped out right after the last purchase at t_x.
    const double u = log_b_x1[k] - (r + x) * log_age;
    const double v = log_a - (r + x) * log_recency;
    const LogSumExp lse = LogSumExp2(u, v);
    ll += lse.value;
    const double w_u = lse.weight_u, w_v = 1 - w_u;
    g_r -= w_u * log_age + w_v * log_recency;
    g_alpha += (r + x) / alpha * (w_u * age / (alpha + age) + w_v * recency / (alpha + recency));
    g_a += w_v / a;
    g_b += w_u / (b + (x - 1));
  }
  if (gradient != nullptr) {
    gradient[0] = g_r;
    gradient[1] = g_alpha;
    gradient[2] = g_a;
    gradient[3] = g_b;
  }
  return ll;
}

BgNbdParams BgNbdFromLog(const Eigen::VectorXd& theta) {
  return {std::exp(theta(0)), std::exp(theta(1)), std::exp(theta(2)), std::exp(theta(3))};
}

// ---------------------------------------------------------------------------------------------
// Gamma-Gamma likelihood of a repeat purchaser's mean spend m over x purchases:
//   f(m | x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m^(px-1) x^(px) / (γ + m x)^(px+q)
// (the mean of x Gamma(p, ν) values is Gamma(px, νx), mixed over ν ~ Gamma(q, γ)).

struct GammaGammaData {
  size_t customers = 0;
  std::vector<double> frequencies;
  std::vector<size_t> frequency_counts;
  double sum_log_m = 0;  // Σ log m, a constant of the likelihood
  std::vector<double> x, mx;
};

Result<GammaGammaData> PrepareGammaGamma(const std::vector<ClvSummary>& customers) {
  GammaGammaData d;
  std::map<double, size_t> counts;
  for (size_t i = 0; i < customers.size(); ++i) {
    const ClvSummary& c = customers[i];
    if (c.frequency == 0) continue;
    if (c.monetary <= 0) {
      return InvalidArgument("customer {}: monetary is {} with {} repeat purchases (must be > 0)",
                             i, c.monetary, c.frequency);
    }
    ++counts[c.frequency];
    d.x.push_back(c.frequency);
    d.mx.push_back(c.monetary * c.frequency);
    d.sum_log_m += std::log(c.monetary);
  }
  if (d.x.empty()) {
    return InvalidArgument("no customer has a repeat purchase: the Gamma-Gamma needs some");
  }
  d.customers = d.x.size();
  for (const auto& [x, count] : counts) {
    d.frequencies.push_back(x);
    d.frequency_counts.push_back(count);
  }
  return d;
}

// As for the BG/NBD, each customer's term is written without large parts that cancel:
//   log f = [log Γ(px+q) - log Γ(px) - log Γ(q)] - q log(1 + mx/γ) - px log(1 + γ/(mx)) - log m.
double GammaGammaLogLikelihoodOf(const GammaGammaData& d, const GammaGammaParams& m,
                                 double* gradient) {
  const double p = m.p, q = m.q, gamma = m.gamma;
  double ll = -d.sum_log_m, g_p = 0, g_q = 0, g_gamma = 0;
  const double lgamma_q = LogGamma(q), digamma_q = Digamma(q);
  for (size_t k = 0; k < d.frequencies.size(); ++k) {
    const double x = d.frequencies[k], count = static_cast<double>(d.frequency_counts[k]);
    ll += count * (LogGamma(p * x + q) - LogGamma(p * x) - lgamma_q);
    if (gradient != nullptr) {
      const double digamma_pxq = Digamma(p * x + q);
      g_p += count * x * (digamma_pxq - Digamma(p * x));
      g_q += count * (digamma_pxq - digamma_q);
    }
  }
  for (size_t i = 0; i < d.x.size(); ++i) {
    const double x = d.x[i], mx = d.mx[i];
    const double log_spend = std::log1p(mx / gamma), log_prior = std::log1p(gamma / mx);
    ll -= q * log_spend + p * x * log_prior;
    g_p -= x * log_prior;
    g_q -= log_spend;
    g_gamma += (q * mx / gamma - p * x) / (gamma + mx);
  }
  if (gradient != nullptr) {
    gradient[0] = g_p;
    gradient[1] = g_q;
    gradient[2] = g_gamma;
  }
  return ll;
}

GammaGammaParams GammaGammaFromLog(const Eigen::VectorXd& theta) {
  return {std::exp(theta(0)), std::exp(theta(1)), std::exp(theta(2))};
}

// Turns the gradient in natural parameters into the mean negative one in log-parameters
// (d/dlog θ = θ d/dθ).
void ToMeanNegativeLogGradient(const double* natural, const Eigen::VectorXd& theta, double n,
                               Eigen::VectorXd& gradient) {
  for (Eigen::Index j = 0; j < theta.size(); ++j) {
    gradient(j) = -std::exp(theta(j)) * natural[j] / n;
  }
}

// ---------------------------------------------------------------------------------------------
// Conditional expectations.

// Beyond this many terms the hypergeometric series hands over to quadrature (it needs that many
// only for a horizon t thousands of times longer than alpha + T).
constexpr int kMaxSeriesTerms = 100000;

// E[Y(t) | alive at T, x]: the purchases in (T, T + t] of a customer known to be alive at T, which
// is the paper's equation 10 times 1 / P(alive):
//   (a+b+x-1)/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)],  z = t/(α+T+t).
// Evaluated by Euler's transformation 2F1(A,B;C;z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z), which
// turns it into (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z): the upper parameters no longer grow
// with x, so the terms shrink from the start. Writing 2F1(A, a-1; C; z) = 1 + (a-1) S divides
// out the 1/(a-1), so a = 1 (where the formula is 0/0) needs no special case:
//   (a+b+x-1) · [(1 - (1-z)^(a-1)) / (a-1) - (1-z)^(a-1) S],
//   S = Σ_{n≥1} (A)_n (a)_{n-1} / ((C)_n n!) z^n,  A = a+b-1-r, C = a+b+x-1.
// Returns NaN only if the quadrature fallback fails, which the caller turns into an error.
double ExpectedPurchasesIfAlive(const BgNbdParams& m, double x, double age, double t) {
  if (t == 0) return 0;
  const double ratio = t / (m.alpha + age);
  const double z = ratio / (1 + ratio);
  const double log_1mz = -std::log1p(ratio);  // log(1 - z), exact for z near 1
  const double shifted = m.a - 1;
  const double first = shifted == 0 ? -log_1mz : -std::expm1(shifted * log_1mz) / shifted;
  const double upper = m.a + m.b - 1 - m.r, lower = m.a + m.b + x - 1;
  double term = upper * z / lower, sum = term;
  for (int n = 1; n <= kMaxSeriesTerms; ++n) {
    const double step = (upper + n) * (m.a + n - 1) * z / ((lower + n) * (n + 1));
    // Once upper + n > 0, every later |ratio| is below z · max(1, (a+n-1)/(n+1)) (since
    // upper < lower), which bounds the tail by a geometric series.
    const double bound = z * std::max(1.0, (m.a + n - 1) / (n + 1));
    if (term == 0 || (upper + n > 0 && bound < 1 &&
                      std::abs(term) * bound / (1 - bound) <= 1e-17 * std::abs(sum))) {
      // The difference is positive in exact arithmetic; rounding must not make it negative.
      return std::max(0.0, lower * (first - std::exp(shifted * log_1mz) * sum));
    }
    term *= step;
    sum += term;
  }
  // The slow tail: integrate over the dropout probability instead. Given alive at T, λ ~
  // Gamma(r+x, α+T) and p ~ Beta(a, b+x) independently, and E[Y(t) | λ, p] = (1 - e^(-λpt)) / p,
  // so E[Y(t) | alive] = ∫ Beta(p; a, b+x) (1 - (1 + p·ratio)^-(r+x)) / p dp. tanh-sinh handles
  // the Beta density's endpoint singularities; `complement` is the distance to the nearer end.
  const double shape = m.r + x, b_x = m.b + x;
  const double log_beta = LogGamma(m.a) + LogGamma(b_x) - LogGamma(m.a + b_x);
  auto integrand = [&](double p, double complement) {
    const double log_p = p < 0.5 && complement < 0 ? std::log(-complement) : std::log(p);
    const double log_1mp = p >= 0.5 && complement > 0 ? std::log(complement) : std::log1p(-p);
    const double pr = p * ratio;
    const double mean_given_p =
        pr < 1e-12 ? shape * ratio : -std::expm1(-shape * std::log1p(pr)) / p;
    return std::exp((m.a - 1) * log_p + (b_x - 1) * log_1mp - log_beta) * mean_given_p;
  };
  try {
    boost::math::quadrature::tanh_sinh<double> integrator;
    return integrator.integrate(integrand, 0.0, 1.0, 1e-12);
  } catch (const std::exception&) {
    return std::numeric_limits<double>::quiet_NaN();
  }
}

}  // namespace

Result<double> BgNbdLogLikelihood(const BgNbdParams& params,
                                  const std::vector<ClvSummary>& customers) {
  TAILOR_RETURN_IF_ERROR(CheckParams(params));
  TAILOR_RETURN_IF_ERROR(CheckSummaries(customers));
  return BgNbdLogLikelihoodOf(PrepareBgNbd(customers), params, nullptr);
}

Result<double> GammaGammaLogLikelihood(const GammaGammaParams& params,
                                       const std::vector<ClvSummary>& customers) {
  TAILOR_RETURN_IF_ERROR(CheckParams(params));
  TAILOR_RETURN_IF_ERROR(CheckSummaries(customers));
  TAILOR_ASSIGN_OR_RETURN(const GammaGammaData data, PrepareGammaGamma(customers));
  return GammaGammaLogLikelihoodOf(data, params, nullptr);
}

Result<BgNbdFit> FitBgNbd(const std::vector<ClvSummary>& customers, const ClvFitOptions& options) {
  TAILOR_RETURN_IF_ERROR(CheckSummaries(customers));
  const BgNbdData data = PrepareBgNbd(customers);
  if (data.ages.empty()) {
    return InvalidArgument(
        "none of the {} customers has a repeat purchase: the BG/NBD needs some to fit",
        customers.size());
  }
  const double n = static_cast<double>(customers.size());
  const Objective objective = [&](const Eigen::VectorXd& theta, Eigen::VectorXd& gradient) {
    double natural[4];
    const double ll = BgNbdLogLikelihoodOf(data, BgNbdFromLog(theta), natural);
    ToMeanNegativeLogGradient(natural, theta, n, gradient);
    return -ll / n;
  };
  // Start at r = a = b = 1 and the alpha that matches the mean purchase rate (E[λ] = r/α), so
  // that the start does not depend on the time unit.
  double purchases = 0, exposure = 0;
  for (const ClvSummary& c : customers) {
    purchases += c.frequency;
    exposure += c.age;
  }
  const double alpha = exposure > 0 ? std::max(exposure / purchases, 1e-6) : 1;
  Eigen::VectorXd start(4);
  start << 0, std::log(alpha), 0, 0;
  const LogFit log_fit = MaximizeLikelihood(objective, start, customers.size(), options);
  BgNbdFit fit;
  fit.params = BgNbdFromLog(log_fit.theta);
  // Delta method: at the optimum the information in θ is J' I J with J = diag(θ), so the
  // standard error of θ is θ times that of log θ.
  const Eigen::VectorXd& se = log_fit.standard_errors;
  fit.standard_errors = {fit.params.r * se(0), fit.params.alpha * se(1), fit.params.a * se(2),
                         fit.params.b * se(3)};
  fit.log_likelihood = -log_fit.mean_negative_log_likelihood * n;
  fit.customers = customers.size();
  fit.evaluations = log_fit.evaluations;
  fit.converged = log_fit.converged;
  return fit;
}

Result<GammaGammaFit> FitGammaGamma(const std::vector<ClvSummary>& customers,
                                    const ClvFitOptions& options) {
  TAILOR_RETURN_IF_ERROR(CheckSummaries(customers));
  TAILOR_ASSIGN_OR_RETURN(const GammaGammaData data, PrepareGammaGamma(customers));
  const double n = static_cast<double>(data.customers);
  const Objective objective = [&](const Eigen::VectorXd& theta, Eigen::VectorXd& gradient) {
    double natural[3];
    const double ll = GammaGammaLogLikelihoodOf(data, GammaGammaFromLog(theta), natural);
    ToMeanNegativeLogGradient(natural, theta, n, gradient);
    return -ll / n;
  };
  // Start at p = 1, q = 2 and the gamma that matches the mean spend (E[m] = p γ / (q - 1)), so
  // that the start does not depend on the currency.
  double mean_spend = 0;
  for (size_t i = 0; i < data.x.size(); ++i) mean_spend += data.mx[i] / data.x[i] / n;
  Eigen::VectorXd start(3);
  start << 0, std::log(2.0), std::log(mean_spend);
  const LogFit log_fit = MaximizeLikelihood(objective, start, data.customers, options);
  GammaGammaFit fit;
  fit.params = GammaGammaFromLog(log_fit.theta);
  const Eigen::VectorXd& se = log_fit.standard_errors;
  fit.standard_errors = {fit.params.p * se(0), fit.params.q * se(1), fit.params.gamma * se(2)};
  fit.log_likelihood = -log_fit.mean_negative_log_likelihood * n;
  fit.customers = data.customers;
  fit.evaluations = log_fit.evaluations;
  fit.converged = log_fit.converged;
  return fit;
}

Result<double> ProbabilityAlive(const BgNbdParams& params, const ClvSummary& customer) {
  TAILOR_RETURN_IF_ERROR(CheckParams(params));
  TAILOR_RETURN_IF_ERROR(CheckSummary(customer));
  const double x = customer.frequency;
  if (x == 0) return 1.0;
  // Odds of "dropped out after t_x" to "alive": the likelihood's two terms' ratio,
  // a / (b+x-1) · ((α+T) / (α+t_x))^(r+x), in logs so that long silences do not overflow.
  const double log_odds = std::log(params.a / (params.b + (x - 1))) +
                          (params.r + x) * std::log1p((customer.age - customer.recency) /
                                                      (params.alpha + customer.recency));
  return 1 / (1 + std::exp(log_odds));
}

Result<double> ExpectedPurchases(const BgNbdParams& params, const ClvSummary& customer, double t) {
  TAILOR_RETURN_IF_ERROR(CheckParams(params));
  TAILOR_RETURN_IF_ERROR(CheckSummary(customer));
  if (!std::isfinite(t) || t < 0) return InvalidArgument("horizon t must be >= 0, got {}", t);
  TAILOR_ASSIGN_OR_RETURN(const double alive, ProbabilityAlive(params, customer));
  const double if_alive = ExpectedPurchasesIfAlive(params, customer.frequency, customer.age, t);
  if (!std::isfinite(if_alive)) {
    return Internal("E[Y({})] did not converge for x = {}, T = {}", t, customer.frequency,
                    customer.age);
  }
  return alive * if_alive;
}

Result<double> ExpectedPurchasesNewCustomer(const BgNbdParams& params, double t) {
  // A new customer is a customer of age 0 with no repeat purchase, alive for certain, whose
  // posterior is the prior: equation 10 at x = t_x = T = 0 is equation 9.
  return ExpectedPurchases(params, ClvSummary{}, t);
}

Result<double> ExpectedAverageValue(const GammaGammaParams& params, const ClvSummary& customer) {
  TAILOR_RETURN_IF_ERROR(CheckParams(params));
  TAILOR_RETURN_IF_ERROR(CheckSummary(customer));
  // Given x purchases of mean m, ν ~ Gamma(q + px, γ + xm), and E[value] = p E[1/ν].
  const double x = customer.frequency;
  const double shape = params.p * x + params.q;
  if (shape <= 1) {
    return InvalidArgument(
        "the expected spend is infinite: p x + q = {} <= 1 (x = {}, p = {}, q = {})", shape, x,
        params.p, params.q);
  }
  return params.p * (params.gamma + x * customer.monetary) / (shape - 1);
}

}  // namespace tailor::analytics
