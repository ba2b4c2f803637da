// One profile's signals (tailor/signals.h), folded from its events in the working set.

#include "service/service_impl.h"

namespace tailor {

Result<Service::ProfileSignals> Service::Signals(std::string_view id, Timestamp at,
                                                 const signals::SignalOptions& options) {
  // A lookup from outside the write path: admitted to memory on its second miss.
  TAILOR_ASSIGN_OR_RETURN(
      working_set::ProfileHandle profile,
      impl_->working_set->Get(id, working_set::WorkingSet::Admit::kOnSecondMiss));
  TAILOR_ASSIGN_OR_RETURN(std::vector<StoredEventView> events, profile->Events());
  ProfileSignals out{profile->view.external_id, signals::SignalState(options)};
  for (const StoredEventView& event : events) {
    if (event.time <= at) out.state.Add(event);  // as of `at`: nothing after it
  }
  return out;
}

}  // namespace tailor
