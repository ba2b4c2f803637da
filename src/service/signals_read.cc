// One profile's signals (tailor/signals.h): the live state the working set keeps per event
// (live_signals.cc), or its events folded as of an earlier time or with other options.

#include "service/service_impl.h"

namespace tailor {

Result<Service::ProfileSignals> Service::Signals(std::string_view id, Timestamp at,
                                                 const signals::SignalOptions& options) {
  TAILOR_ASSIGN_OR_RETURN(LiveSignalsRead read, ReadLiveSignals(*impl_, id));
  // Without a time zone of their own, the options take the profile's.
  signals::SignalOptions effective = options;
  if (effective.time_zone.empty()) {
    effective.time_zone = signals::ProfileTimeZone(read.profile->view.traits);
  }
  const std::optional<signals::GeoPoint> home = signals::HomeOf(read.profile->view.traits);
  if (read.live->latest <= at && read.live->signals.options() == effective) {
    return ProfileSignals{read.profile->view.external_id, read.live->signals, home,
                          impl_->CurrentStores()};
  }
  TAILOR_ASSIGN_OR_RETURN(std::vector<StoredEventView> events, read.profile->Events());
  ProfileSignals out{read.profile->view.external_id, signals::SignalState(effective), home,
                     impl_->CurrentStores()};
  for (const StoredEventView& event : events) {
    if (event.time <= at) out.state.Add(event);  // as of `at`: nothing after it
  }
  return out;
}

}  // namespace tailor
