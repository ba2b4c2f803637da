// Session intent of the live profiles (tailor/intent.h): the rules in force (stored in
// `definitions` as `intent/rules`, the defaults until someone sets them), swapped atomically so a
// broken file never replaces working rules.

#include <atomic>

#include "service/service_impl.h"

namespace tailor {
namespace {
constexpr std::string_view kRulesKey = "intent/rules";
}  // namespace

std::shared_ptr<const intent::IntentRules> Service::intent_rules() const {
  std::lock_guard lock(impl_->intent_mutex);
  if (impl_->intent_rules == nullptr) {
    std::string stored;
    if (engine_->store().Get(store::Table::kDefinitions, kRulesKey, stored).ok()) {
      auto parsed = intent::ParseIntentRules(stored);
      if (parsed.ok()) {
        impl_->intent_rules = std::make_shared<intent::IntentRules>(std::move(parsed).value());
      }
    }
    if (impl_->intent_rules == nullptr) {
      impl_->intent_rules = std::make_shared<intent::IntentRules>(intent::DefaultIntentRules());
    }
  }
  return impl_->intent_rules;
}

Status Service::SetIntentRules(std::string_view text) {
  TAILOR_ASSIGN_OR_RETURN(intent::IntentRules rules, intent::ParseIntentRules(text));
  // Under the lock across the commit: the store and memory hold the same last rules.
  std::lock_guard lock(impl_->intent_mutex);
  TAILOR_RETURN_IF_ERROR(PutDefinition(engine_->store(), kRulesKey, text));
  impl_->intent_rules = std::make_shared<intent::IntentRules>(std::move(rules));
  return Status::Ok();
}

Result<Service::ProfileIntent> Service::Intent(std::string_view id, Timestamp at) {
  // A lookup from outside the write path: admitted to memory on its second miss.
  TAILOR_ASSIGN_OR_RETURN(
      working_set::ProfileHandle profile,
      impl_->working_set->Get(id, working_set::WorkingSet::Admit::kOnSecondMiss));
  return IntentOf(profile, at);
}

Result<Service::ProfileIntent> Service::IntentOf(const working_set::ProfileHandle& profile,
                                                 Timestamp at) {
  const std::shared_ptr<const intent::IntentRules> rules = intent_rules();
  ProfileIntent out{profile->view.external_id, {}, {}, std::nullopt};
  const LiveSignals* live = CurrentLiveSignals(*impl_, *profile);
  LiveSignalsRead read;  // holds what `live` points into
  if (live == nullptr) {
    if (working_set::ProfileHandle resident = impl_->working_set->Peek(profile->view.id)) {
      // Resident without its state yet: folded once and kept for the next reads.
      read = ReadLiveSignals(*impl_, std::move(resident));
      live = read.live;
    }
  }
  if (live != nullptr && live->latest <= at) {  // the live session holds every event until `at`
    out.classification = intent::Classify(*rules, live->session.Features(at), at);
  } else {
    // Not kept in memory (or asked as of an earlier time): the session alone, from the events.
    TAILOR_ASSIGN_OR_RETURN(std::vector<StoredEventView> events, profile->Events());
    out.classification = intent::Classify(*rules, events, at);
  }
  if (const auto model = intent_model(); model && out.classification.session.events > 0) {
    out.model_intents = model->Predict(out.classification.session);
    out.purchase_readiness = model->PurchaseReadiness(out.classification.session);
  }
  return out;
}

}  // namespace tailor
