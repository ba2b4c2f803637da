// Lifetime value on the live snapshot, materialized as traits that rules and segments read.

#include <cmath>

#include "service/service_impl.h"

namespace tailor {
namespace {

const std::vector<TraitDef>& ClvTraits(bool spend) {
  static const std::vector<TraitDef> purchases = {
      {"clv_probability_alive", TraitType::kDouble, TraitCategory::kBehavioural},
      {"clv_expected_purchases", TraitType::kDouble, TraitCategory::kBehavioural}};
  static const std::vector<TraitDef> all = {
      purchases[0],
      purchases[1],
      {"clv_expected_order_value", TraitType::kDouble, TraitCategory::kBehavioural},
      {"clv_expected_value", TraitType::kDouble, TraitCategory::kBehavioural}};
  return spend ? all : purchases;
}

// Four significant digits: a re-fit moves every value a little, and rewriting every customer
// for a change in the sixth digit would flood the change feed for nothing.
double Rounded(double value) {
  if (value == 0 || !std::isfinite(value)) return value;
  const double scale = std::pow(10.0, 3 - std::floor(std::log10(std::abs(value))));
  return std::round(value * scale) / scale;
}

}  // namespace

Result<Service::ClvRun> Service::RunClv(const analytics::ClvOptions& options, bool materialize) {
  TAILOR_ASSIGN_OR_RETURN(
      snapshot::LiveSnapshot::Version version,
      impl_->CurrentSnapshot(*engine_, {}, std::chrono::milliseconds(0), {"order_id"}));
  ClvRun run;
  run.snapshot_at_ms = version.refreshed_at_ms;
  TAILOR_ASSIGN_OR_RETURN(run.clv, analytics::ComputeClv(*version.snapshot, options));
  if (!materialize) return run;
  TAILOR_RETURN_IF_ERROR(CheckRun(options.control));
  TAILOR_RETURN_IF_ERROR(impl_->DeclareTraits(*this, ClvTraits(/*spend=*/true)));
  std::vector<std::pair<ProfileId, TraitMap>> wanted;
  wanted.reserve(run.clv.customers.size());
  for (const analytics::ClvCustomer& c : run.clv.customers) {
    TraitMap traits = {
        {"clv_probability_alive", {TraitType::kDouble, Rounded(c.probability_alive)}},
        {"clv_expected_purchases", {TraitType::kDouble, Rounded(c.expected_purchases)}}};
    if (run.clv.spend_fitted && std::isfinite(c.expected_value)) {
      traits.push_back(
          {"clv_expected_order_value", {TraitType::kDouble, Rounded(c.expected_order_value)}});
      traits.push_back({"clv_expected_value", {TraitType::kDouble, Rounded(c.expected_value)}});
    } else {  // an earlier run's value no longer holds
      traits.push_back({"clv_expected_order_value", {TraitType::kDouble, std::monostate{}}});
      traits.push_back({"clv_expected_value", {TraitType::kDouble, std::monostate{}}});
    }
    wanted.emplace_back(c.id, std::move(traits));
  }
  TAILOR_ASSIGN_OR_RETURN(run.profiles_written,
                          impl_->WriteChangedTraits(*this, *version.snapshot, std::move(wanted),
                                                    ClvTraits(/*spend=*/true)));
  return run;
}

}  // namespace tailor
