#include "tailor/signal_values.h"

#include <algorithm>

namespace tailor::signals {
namespace {

std::optional<TypedValue> Text(std::string_view text) {
  if (text.empty()) return std::nullopt;
  return TypedValue{TraitType::kString, std::string(text)};
}

std::optional<TypedValue> TouchPart(const std::optional<Touch>& touch, std::string_view part) {
  if (!touch) return std::nullopt;
  if (part == "source") return Text(touch->source);
  if (part == "medium") return Text(touch->medium);
  if (part == "campaign") return Text(touch->campaign);
  if (part == "referrer_class") return Text(ReferrerClassName(touch->referrer_class));
  return std::nullopt;
}

}  // namespace

const std::vector<SignalDef>& SignalDefs() {
  static const std::vector<SignalDef> defs = [] {
    std::vector<SignalDef> out = {{"affinity", TraitType::kDouble, 2},
                                  {"open_rate", TraitType::kDouble, 1},
                                  {"click_rate", TraitType::kDouble, 1}};
    for (std::string_view feature : FeatureNames()) {
      const bool fraction = IsFractionFeature(feature);
      out.push_back(
          {"session." + std::string(feature), fraction ? TraitType::kDouble : TraitType::kInt, 0});
    }
    out.push_back({"session.referrer_class", TraitType::kString, 0});
    for (std::string_view touch : {"first_touch", "last_touch"}) {
      for (std::string_view part : {"source", "medium", "campaign", "referrer_class"}) {
        out.push_back({std::string(touch) + "." + std::string(part), TraitType::kString, 0});
      }
    }
    out.push_back({"place.distance_home_km", TraitType::kDouble, 0});
    out.push_back({"place.distance_store_km", TraitType::kDouble, 0});
    out.push_back({"place.nearest_store", TraitType::kString, 0});
    out.push_back({"place.accuracy_km", TraitType::kDouble, 0});
    return out;
  }();
  return defs;
}

const SignalDef* FindSignal(std::string_view name) {
  for (const SignalDef& def : SignalDefs()) {
    if (def.name == name) return &def;
  }
  return nullptr;
}

bool IsAffinityDimension(std::string_view dimension) {
  return dimension == "category" || dimension == "brand" || dimension == "price_band" ||
         dimension == "item" || dimension == "page";
}

const std::vector<std::string>& SignalEventFields() {
  static const std::vector<std::string> fields = {"order_id",
                                                  "page_url",
                                                  "referrer",
                                                  "utm_source",
                                                  "utm_medium",
                                                  "utm_campaign",
                                                  "country",
                                                  "city",
                                                  "properties.brand",
                                                  "properties.query",
                                                  "properties.sort",
                                                  "properties.campaign",
                                                  "properties.latitude",
                                                  "properties.longitude",
                                                  "properties.accuracy_km"};
  return fields;
}

SignalValues::SignalValues(std::span<const EventInput> events, Timestamp now, PlaceContext place)
    : events_(events), now_(now), place_(place) {
  // Only events at or before `now` (they are in time order).
  const auto end = std::upper_bound(events_.begin(), events_.end(), now,
                                    [](Timestamp t, const EventInput& e) { return t < e.time; });
  events_ = events_.first(static_cast<size_t>(end - events_.begin()));
}

const SignalState& SignalValues::State() {
  if (!state_) {
    state_.emplace();
    for (const EventInput& event : events_) state_->Add(event);
  }
  return *state_;
}

const SessionFeatures& SignalValues::Session() {
  if (!session_) session_ = SummarizeSession(events_, now_, kSessionGapMs);
  return *session_;
}

std::optional<TypedValue> SignalValues::Get(std::string_view name,
                                            std::span<const std::string> arguments) {
  if (name == "affinity") {
    if (arguments.size() != 2) return std::nullopt;
    if (state_) {
      if (!state_->HasAffinity(arguments[0])) return std::nullopt;
      return TypedValue{TraitType::kDouble, state_->Affinity(arguments[0], arguments[1], now_)};
    }
    // The one dimension alone (the same numbers as the whole fold's, tested).
    const std::optional<double> affinity = AffinityOf(events_, arguments[0], arguments[1], now_);
    if (!affinity) return std::nullopt;
    return TypedValue{TraitType::kDouble, *affinity};
  }
  if (name == "open_rate" || name == "click_rate") {
    if (arguments.size() != 1) return std::nullopt;
    const SignalState& state = State();
    if (!state.HasSends(arguments[0])) return std::nullopt;
    return TypedValue{TraitType::kDouble, name == "open_rate"
                                              ? state.OpenRate(arguments[0], now_)
                                              : state.ClickRate(arguments[0], now_)};
  }
  if (name.starts_with("first_touch.")) return TouchPart(State().first_touch(), name.substr(12));
  if (name.starts_with("last_touch.")) return TouchPart(State().last_touch(), name.substr(11));
  if (IsPlaceSignal(name)) return Place(name.substr(6));
  if (!IsSessionSignal(name)) return std::nullopt;
  const SessionFeatures& s = Session();
  if (s.events == 0) return std::nullopt;
  const std::string_view feature = name.substr(8);
  if (feature == "referrer_class") return Text(s.referrer_class);  // missing when empty
  return FeatureValue(s, feature);
}

std::optional<TypedValue> SignalValues::Place(std::string_view part) {
  // The latest position of their own events (as SignalState keeps it), only if current.
  for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
    if (now_ - it->time > kSessionGapMs) break;
    if (!IsOwnEventType(it->type)) continue;
    double accuracy_km = 0;
    const std::optional<GeoPoint> position = EventPosition(*it, accuracy_km);
    if (!position) continue;
    const Whereabouts where = WhereaboutsAt(position, accuracy_km, it->time, now_, place_);
    if (part == "accuracy_km") return TypedValue{TraitType::kDouble, accuracy_km};
    if (part == "distance_home_km") {
      if (!where.distance_home_km) return std::nullopt;
      return TypedValue{TraitType::kDouble, *where.distance_home_km};
    }
    if (!where.nearest_store) return std::nullopt;
    if (part == "distance_store_km") return TypedValue{TraitType::kDouble, where.nearest_store->km};
    if (part == "nearest_store") return Text(where.nearest_store->id);
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace tailor::signals
