// RFM on the live snapshot, materialized as traits and a scheme of segments that stay live.

#include <mutex>

#include "service/service_impl.h"

namespace tailor {
namespace {

// The traits RFM writes, with their types.
const std::vector<TraitDef>& RfmTraits() {
  static const std::vector<TraitDef> traits = {
      {"rfm_recency_days", TraitType::kInt, TraitCategory::kBehavioural},
      {"rfm_frequency", TraitType::kInt, TraitCategory::kBehavioural},
      {"rfm_monetary", TraitType::kDouble, TraitCategory::kBehavioural},
      {"rfm_r", TraitType::kInt, TraitCategory::kBehavioural},
      {"rfm_f", TraitType::kInt, TraitCategory::kBehavioural},
      {"rfm_m", TraitType::kInt, TraitCategory::kBehavioural},
      {"rfm_segment", TraitType::kString, TraitCategory::kBehavioural}};
  return traits;
}

// The customer's RFM traits, in RfmTraits() order.
TraitMap TraitsOf(const analytics::RfmCustomer& c) {
  return {// Whole days: a fraction would change at every re-scoring and rewrite every customer.
          {"rfm_recency_days", {TraitType::kInt, c.recency_ms / 86'400'000}},
          {"rfm_frequency", {TraitType::kInt, static_cast<int64_t>(c.frequency)}},
          {"rfm_monetary", {TraitType::kDouble, c.monetary.ToDouble()}},
          {"rfm_r", {TraitType::kInt, int64_t{c.r_score}}},
          {"rfm_f", {TraitType::kInt, int64_t{c.f_score}}},
          {"rfm_m", {TraitType::kInt, int64_t{c.m_score}}},
          {"rfm_segment", {TraitType::kString, std::string(analytics::RfmSegmentName(c.segment))}}};
}

// Segments of the named map, in the scheme's priority order.
constexpr analytics::RfmSegment kSchemeOrder[] = {
    analytics::RfmSegment::kChampions,          analytics::RfmSegment::kLoyalCustomers,
    analytics::RfmSegment::kPotentialLoyalists, analytics::RfmSegment::kNewCustomers,
    analytics::RfmSegment::kPromising,          analytics::RfmSegment::kNeedAttention,
    analytics::RfmSegment::kAboutToSleep,       analytics::RfmSegment::kAtRisk,
    analytics::RfmSegment::kCantLoseThem,       analytics::RfmSegment::kHibernating};

// What a marketer does with each: keep the best, win back the lapsing, engage the rest.
segments::Objective ObjectiveOf(analytics::RfmSegment segment) {
  switch (segment) {
    case analytics::RfmSegment::kChampions:
    case analytics::RfmSegment::kLoyalCustomers:
      return segments::Objective::kRetain;
    case analytics::RfmSegment::kAboutToSleep:
    case analytics::RfmSegment::kAtRisk:
    case analytics::RfmSegment::kCantLoseThem:
    case analytics::RfmSegment::kHibernating:
      return segments::Objective::kReactivate;
    default:
      return segments::Objective::kEngage;
  }
}

}  // namespace

Result<Service::RfmRun> Service::RunRfm(const analytics::RfmOptions& options, bool materialize) {
  TAILOR_ASSIGN_OR_RETURN(
      snapshot::LiveSnapshot::Version version,
      impl_->CurrentSnapshot(*engine_, {}, std::chrono::milliseconds(0), {"order_id"}));
  RfmRun run;
  run.snapshot_at_ms = version.refreshed_at_ms;
  TAILOR_ASSIGN_OR_RETURN(run.rfm, analytics::ComputeRfm(*version.snapshot, options));
  if (!materialize) return run;

  // 1. The traits (declared first, so that their category is behavioural), written only where
  // they changed, through the ordinary write path: live membership and the feed follow.
  TAILOR_RETURN_IF_ERROR(impl_->DeclareTraits(*this, RfmTraits()));
  std::vector<std::pair<ProfileId, TraitMap>> wanted;
  wanted.reserve(run.rfm.customers.size());
  for (const analytics::RfmCustomer& customer : run.rfm.customers) {
    wanted.emplace_back(customer.id, TraitsOf(customer));
  }
  TAILOR_ASSIGN_OR_RETURN(
      run.profiles_written,
      impl_->WriteChangedTraits(*this, *version.snapshot, std::move(wanted), RfmTraits()));

  // 2. The scheme and its segments, when missing or changed (one evaluation for all of them).
  LabelScheme scheme;
  scheme.trait = "rfm_segment";
  scheme.scheme = "rfm";
  scheme.description = "RFM named map (tailor rfm): recency and frequency scores 1-5";
  scheme.tag = "rfm";
  for (analytics::RfmSegment segment : kSchemeOrder) {
    const std::string name(analytics::RfmSegmentName(segment));
    scheme.segments.push_back(
        {name, "rfm_" + name, fmt::format("RFM named map: {}", name), ObjectiveOf(segment)});
  }
  TAILOR_ASSIGN_OR_RETURN(run.scheme_created, impl_->PutLabelScheme(*this, scheme));
  return run;
}

}  // namespace tailor
