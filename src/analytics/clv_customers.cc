// Lifetime value of every customer of a snapshot: orders per customer, the two fits, and the
// per-customer expectations, in parallel over chunks of ids.

#include <fmt/format.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "tailor/clv.h"

namespace tailor::analytics {
namespace {

constexpr double kDayMs = 86'400'000.0;
constexpr ProfileId kChunk = 16384;

struct Order {
  uint32_t code;  // order id code, or kNullCode (an order of its own)
  Timestamp time;
  int64_t micros;
};

// The summary of one profile's orders before `now`; false when it has none.
// `excluded_types`: sorted codes of the event types whose order ids cancel a purchase.
bool Summarize(const snapshot::Snapshot& snapshot, const snapshot::EventStringColumn* orders,
               uint32_t purchase, const std::vector<uint32_t>& excluded_types, Timestamp now,
               ProfileId id, std::vector<Order>& scratch, ClvSummary& out) {
  const snapshot::EventColumns& events = snapshot.events();
  scratch.clear();
  std::vector<uint32_t> excluded_orders;
  if (orders != nullptr && !excluded_types.empty()) {
    for (uint64_t e = events.offsets[id]; e < events.offsets[id + 1]; ++e) {
      if (orders->codes[e] != snapshot::kNullCode &&
          std::binary_search(excluded_types.begin(), excluded_types.end(), events.type[e])) {
        excluded_orders.push_back(orders->codes[e]);
      }
    }
    std::sort(excluded_orders.begin(), excluded_orders.end());
  }
  for (uint64_t e = events.offsets[id]; e < events.offsets[id + 1]; ++e) {
    if (events.time[e] >= now) break;  // sorted by time
    if (events.type[e] != purchase) continue;
    const uint32_t code = orders != nullptr ? orders->codes[e] : snapshot::kNullCode;
    if (code != snapshot::kNullCode &&
        std::binary_search(excluded_orders.begin(), excluded_orders.end(), code)) {
      continue;  // refunded or cancelled
    }
    const int64_t micros = events.value[e] != snapshot::kNoAmount ? events.value[e] : 0;
    scratch.push_back({code, events.time[e], micros});
  }
  if (scratch.empty()) return false;
  // Lines of one order together (stable: by time within; lines without an order id last, each
  // an order of its own), then one entry per order at its first line's time.
  std::stable_sort(scratch.begin(), scratch.end(),
                   [](const Order& a, const Order& b) { return a.code < b.code; });
  std::vector<Order> merged;
  for (const Order& o : scratch) {
    if (!merged.empty() && o.code != snapshot::kNullCode && merged.back().code == o.code) {
      merged.back().time = std::min(merged.back().time, o.time);
      merged.back().micros += o.micros;
    } else {
      merged.push_back(o);
    }
  }
  std::sort(merged.begin(), merged.end(),
            [](const Order& a, const Order& b) { return a.time < b.time; });
  const Timestamp first = merged.front().time;
  out.frequency = static_cast<double>(merged.size() - 1);
  out.recency = (merged.back().time - first) / kDayMs;
  out.age = (now - first) / kDayMs;
  double repeat_value = 0;
  for (size_t k = 1; k < merged.size(); ++k) repeat_value += merged[k].micros / 1e6;
  out.monetary = merged.size() > 1 ? repeat_value / (merged.size() - 1) : 0;
  return true;
}

double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  const size_t k = std::min(values.size() - 1, static_cast<size_t>(q * values.size()));
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return values[k];
}

}  // namespace

Result<ClvResult> ComputeClv(const snapshot::Snapshot& snapshot, const ClvOptions& options) {
  if (options.now == 0) return InvalidArgument("lifetime value needs a reference time");
  if (!(options.horizon_days > 0)) {
    return InvalidArgument("the horizon must be positive, got {} days", options.horizon_days);
  }
  const snapshot::EventColumns& events = snapshot.events();
  const uint32_t purchase = events.types.Find(options.purchase_type);
  if (purchase == snapshot::kNullCode) {
    return InvalidArgument("no event of type '{}': no customers to fit", options.purchase_type);
  }
  auto orders_column = events.extra.find("order_id");
  const snapshot::EventStringColumn* orders =
      orders_column == events.extra.end() ? nullptr : &orders_column->second;

  std::vector<uint32_t> excluded_types;
  for (const std::string& type : options.exclude_order_types) {
    const uint32_t code = events.types.Find(type);
    if (code != snapshot::kNullCode) excluded_types.push_back(code);
  }
  std::sort(excluded_types.begin(), excluded_types.end());

  // 1. Summaries, per chunk of ids.
  const ProfileId count = snapshot.profile_count();
  std::vector<std::vector<ClvCustomer>> chunks((count + kChunk - 1) / kChunk);
  tbb::parallel_for(size_t{0}, chunks.size(), [&](size_t c) {
    std::vector<Order> scratch;
    const auto begin = static_cast<ProfileId>(c * kChunk);
    const ProfileId end = std::min<ProfileId>(count, begin + kChunk);
    for (ProfileId id = begin; id < end; ++id) {
      if (!snapshot.known().Test(id)) continue;
      ClvCustomer customer;
      customer.id = id;
      if (Summarize(snapshot, orders, purchase, excluded_types, options.now, id, scratch,
                    customer.summary)) {
        chunks[c].push_back(customer);
      }
    }
  });
  ClvResult result;
  result.horizon_days = options.horizon_days;
  for (auto& chunk : chunks) {
    result.customers.insert(result.customers.end(), chunk.begin(), chunk.end());
  }
  if (result.customers.empty()) {
    return InvalidArgument("no customer has a '{}' before the reference time",
                           options.purchase_type);
  }
  std::vector<ClvSummary> summaries;
  summaries.reserve(result.customers.size());
  for (const ClvCustomer& c : result.customers) summaries.push_back(c.summary);
  const bool any_repeat = std::any_of(summaries.begin(), summaries.end(),
                                      [](const ClvSummary& s) { return s.frequency > 0; });
  if (!any_repeat) {
    return InvalidArgument(
        "none of the {} customers has a repeat purchase: the purchase rate cannot be fitted",
        summaries.size());
  }

  // 2. The fits. Spend is optional: without amounts (or with a q <= 1) the purchases still are.
  TAILOR_RETURN_IF_ERROR(CheckRun(options.control));
  if (options.control != nullptr) options.control->Report("BG/NBD fit", 0.1);
  TAILOR_ASSIGN_OR_RETURN(result.purchases, FitBgNbd(summaries, options.fit));
  TAILOR_RETURN_IF_ERROR(CheckRun(options.control));
  if (options.control != nullptr) options.control->Report("Gamma-Gamma fit", 0.4);
  std::vector<ClvSummary> spenders;
  for (const ClvSummary& s : summaries) {
    if (s.frequency > 0 && s.monetary > 0) spenders.push_back(s);
  }
  if (spenders.empty()) {
    result.spend_problem = "no repeat purchase has an amount";
  } else if (auto spend = FitGammaGamma(spenders, options.fit); !spend.ok()) {
    result.spend_problem = std::string(spend.status().message());
  } else if (spend->params.q <= 1) {
    result.spend_problem =
        fmt::format("q = {:.4g} <= 1: the mean spend is infinite", spend->params.q);
  } else {
    result.spend = std::move(spend).value();
    result.spend_fitted = true;
  }

  // 3. Per customer.
  TAILOR_RETURN_IF_ERROR(CheckRun(options.control));
  if (options.control != nullptr) options.control->Report("expected purchases and value", 0.6);
  const BgNbdParams& bg = result.purchases.params;
  const size_t n = result.customers.size();
  const size_t per_task = 4096;
  std::vector<Status> problems((n + per_task - 1) / per_task);
  tbb::parallel_for(size_t{0}, problems.size(), [&](size_t task) {
    for (size_t i = task * per_task; i < std::min(n, (task + 1) * per_task); ++i) {
      ClvCustomer& c = result.customers[i];
      auto alive = ProbabilityAlive(bg, c.summary);
      auto expected = ExpectedPurchases(bg, c.summary, options.horizon_days);
      if (!alive.ok() || !expected.ok()) {
        problems[task] = !alive.ok() ? alive.status() : expected.status();
        return;
      }
      c.probability_alive = *alive;
      c.expected_purchases = *expected;
      c.expected_order_value = c.expected_value = std::numeric_limits<double>::quiet_NaN();
      if (result.spend_fitted) {
        // Customers without a repeat amount get the population's mean (x = 0 in the model).
        ClvSummary spend = c.summary;
        if (spend.monetary <= 0) spend.frequency = spend.recency = spend.monetary = 0;
        auto value = ExpectedAverageValue(result.spend.params, spend);
        if (value.ok()) {
          c.expected_order_value = *value;
          c.expected_value = c.expected_purchases * *value;
        }
      }
    }
  });
  for (const Status& s : problems) TAILOR_RETURN_IF_ERROR(s);
  return result;
}

void WriteClvFields(JsonWriter& json, const ClvResult& result) {
  const auto params = [&](const char* key, std::initializer_list<std::pair<const char*, double>> p,
                          std::initializer_list<double> se, double log_likelihood, size_t customers,
                          bool converged) {
    json.Key(key).BeginObject();
    auto e = se.begin();
    for (const auto& [name, value] : p) json.Key(name).Double(value);
    json.Key("standard_errors").BeginObject();
    for (const auto& [name, value] : p) {
      json.Key(name).Double(std::isfinite(*e) ? *e : -1);
      ++e;
    }
    json.EndObject()
        .Key("log_likelihood")
        .Double(log_likelihood)
        .Key("customers")
        .Uint(customers)
        .Key("converged")
        .Bool(converged)
        .EndObject();
  };
  const BgNbdFit& bg = result.purchases;
  json.Key("customers").Uint(result.customers.size());
  json.Key("horizon_days").Double(result.horizon_days);
  params(
      "bgnbd",
      {{"r", bg.params.r}, {"alpha", bg.params.alpha}, {"a", bg.params.a}, {"b", bg.params.b}},
      {bg.standard_errors.r, bg.standard_errors.alpha, bg.standard_errors.a, bg.standard_errors.b},
      bg.log_likelihood, bg.customers, bg.converged);
  if (result.spend_fitted) {
    const GammaGammaFit& gg = result.spend;
    params("gamma_gamma", {{"p", gg.params.p}, {"q", gg.params.q}, {"gamma", gg.params.gamma}},
           {gg.standard_errors.p, gg.standard_errors.q, gg.standard_errors.gamma},
           gg.log_likelihood, gg.customers, gg.converged);
  } else {
    json.Key("gamma_gamma").Null().Key("spend_problem").String(result.spend_problem);
  }
  std::vector<double> purchases, alive, value;
  double total_purchases = 0, total_value = 0;
  for (const ClvCustomer& c : result.customers) {
    purchases.push_back(c.expected_purchases);
    alive.push_back(c.probability_alive);
    total_purchases += c.expected_purchases;
    if (result.spend_fitted && std::isfinite(c.expected_value)) {
      value.push_back(c.expected_value);
      total_value += c.expected_value;
    }
  }
  json.Key("expected_purchases_total").Double(total_purchases);
  if (result.spend_fitted) json.Key("expected_value_total").Double(total_value);
  const auto quantiles = [&](const char* key, const std::vector<double>& v) {
    json.Key(key).BeginObject();
    for (const auto& [name, q] :
         std::initializer_list<std::pair<const char*, double>>{{"p10", 0.1},
                                                               {"p25", 0.25},
                                                               {"p50", 0.5},
                                                               {"p75", 0.75},
                                                               {"p90", 0.9},
                                                               {"p99", 0.99}}) {
      json.Key(name).Double(Quantile(v, q));
    }
    json.EndObject();
  };
  quantiles("probability_alive", alive);
  quantiles("expected_purchases", purchases);
  if (result.spend_fitted) quantiles("expected_value", value);
}

}  // namespace tailor::analytics
