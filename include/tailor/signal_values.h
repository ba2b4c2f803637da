#pragma once

// Signals as segment rules read them (docs/rule_language.md, Signals): computed from a profile's
// events at evaluation, the same for every evaluator (the columnar one rebuilds each profile's
// events from the snapshot's columns; the row evaluator has them).
//
//   affinity(DIMENSION, "value")   number in [0, 1]: the value's decayed interest over the
//                                  dimension's largest (signals.h); missing when no event of
//                                  interest had a value of the dimension. DIMENSION: category,
//                                  brand, price_band, item, page; `affinity("golf")` is
//                                  affinity(category, "golf").
//   open_rate("email"), click_rate("campaign:spring")
//                                  decayed opens (clicks) over sends of a channel (email, push,
//                                  sms) or campaign; missing when nothing was sent on it.
//   session.<feature>              the session under way (session.h): events, minutes,
//                                  page_views, ..., referrer_class; missing when no session is in
//                                  progress at `now` (the last event of their own is more than
//                                  30 minutes before it).
//   first_touch.<part>, last_touch.<part>
//                                  source, medium, campaign, referrer_class of the first and the
//                                  latest touch; missing when none (or the part is empty).
//   place.distance_home_km, place.distance_store_km, place.nearest_store, place.accuracy_km
//                                  where they are now (place.h): their latest position against
//                                  their home traits and the nearest store; missing when the
//                                  position is more than 30 minutes old (they are not there now),
//                                  or without a home or stores. Near a store now (a device's
//                                  position within 1 km): `place.distance_store_km <= 1 and
//                                  place.accuracy_km = 0`.
//
// Only events at or before `now` count. Affinities and rates are ratios of sums decaying at
// the same pace, so they change only with events; a session feature also changes when the
// session ends, and a place signal when the position gets old: live membership times those (an
// edge kSessionGapMs + 1 ms after each event).

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/place.h"
#include "tailor/session.h"
#include "tailor/signals.h"
#include "tailor/types.h"

namespace tailor::signals {

struct SignalDef {
  std::string name;  // "affinity", "session.events", "first_touch.source", ...
  TraitType type = TraitType::kDouble;
  size_t arguments = 0;  // affinity 2 (dimension, value), the rates 1, the others 0
};
// Every signal a rule may read, in documentation order.
const std::vector<SignalDef>& SignalDefs();
const SignalDef* FindSignal(std::string_view name);
// category, brand, price_band, item, page.
bool IsAffinityDimension(std::string_view dimension);
// A session ends after this much inactivity (and its session.* signals go missing).
inline constexpr Timestamp kSessionGapMs = 30 * 60 * 1000;
// Whether signals with this name read the session or the current position (and so end 30 idle
// minutes after the latest event: they need only the events since the last such gap, and the
// last one of their own before).
inline bool IsSessionSignal(std::string_view name) {
  return name.starts_with("session.") || name.starts_with("place.");
}
// Whether signals with this name read the home traits (place.h kHomeLatitudeTrait, ...).
inline bool IsPlaceSignal(std::string_view name) { return name.starts_with("place."); }

// The event fields beyond type, time, item_id, category, price and quantity that signals read:
// what a columnar snapshot must hold to rebuild events for them.
const std::vector<std::string>& SignalEventFields();

// One profile's signals at `now`, from its events in time order; folded once, on first use.
class SignalValues {
 public:
  SignalValues(std::span<const EventInput> events, Timestamp now, PlaceContext place = {});

  // nullopt when missing (above) or not a signal.
  std::optional<TypedValue> Get(std::string_view name, std::span<const std::string> arguments);

 private:
  const SignalState& State();
  const SessionFeatures& Session();
  std::optional<TypedValue> Place(std::string_view part);

  std::span<const EventInput> events_;
  Timestamp now_;
  PlaceContext place_;
  std::optional<SignalState> state_;
  std::optional<SessionFeatures> session_;
};

}  // namespace tailor::signals
