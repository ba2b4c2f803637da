// The signals of one profile as JSON (`tailor signals`, GET /v1/profiles/{id}/signals).

#include <cmath>

#include "tailor/signals.h"

namespace tailor::signals {
namespace {

void WriteTouch(JsonWriter& json, std::string_view key, const std::optional<Touch>& touch) {
  json.Key(key);
  if (!touch) {
    json.Null();
    return;
  }
  json.BeginObject()
      .Key("time")
      .String(IsoTime(touch->time))
      .Key("source")
      .String(touch->source)
      .Key("medium")
      .String(touch->medium)
      .Key("campaign")
      .String(touch->campaign)
      .Key("referrer_class")
      .String(ReferrerClassName(touch->referrer_class))
      .EndObject();
}

double Round(double v) { return std::round(v * 1e6) / 1e6; }

}  // namespace

void WriteSignals(JsonWriter& json, const SignalState& state, Timestamp now,
                  const PlaceContext& place) {
  json.BeginObject().Key("as_of").String(IsoTime(now)).Key("events").Uint(state.events());
  json.Key("acquisition").BeginObject();
  WriteTouch(json, "first_touch", state.first_touch());
  WriteTouch(json, "last_touch", state.last_touch());
  WriteTouch(json, "session_touch", state.session_touch());
  json.EndObject();

  json.Key("affinity").BeginObject();
  for (std::string_view dimension : {"category", "brand", "price_band", "item", "page"}) {
    json.Key(dimension).BeginArray();
    const auto top = state.Top(dimension, now);
    const double largest = top.empty() ? 0 : top.front().second;
    for (const auto& [value, score] : top) {
      json.BeginObject()
          .Key("value")
          .String(value)
          .Key("affinity")
          .Double(largest > 0 ? Round(score / largest) : 0)
          .Key("score")
          .Double(Round(score))
          .EndObject();
    }
    json.EndArray();
  }
  json.EndObject();
  json.Key("searches").BeginArray();
  for (const std::string& query : state.searches()) json.String(query);
  json.EndArray();

  json.Key("engagement").BeginObject();
  for (std::string_view channel : {"email", "push", "sms"}) {
    json.Key(channel)
        .BeginObject()
        .Key("open_rate")
        .Double(Round(state.OpenRate(channel, now)))
        .Key("click_rate")
        .Double(Round(state.ClickRate(channel, now)))
        .EndObject();
  }
  json.Key("unsubscribed").Bool(state.unsubscribed()).Key("bounces").Uint(state.bounces());
  json.EndObject();

  const SignalState::Sessions& s = state.sessions();
  json.Key("sessions")
      .BeginObject()
      .Key("count")
      .Uint(s.count)
      .Key("mean_minutes")
      .Double(Round(s.mean_minutes()))
      .Key("current_start")
      .String(s.count ? IsoTime(s.current_start) : "")
      .Key("current_events")
      .Uint(s.current_events)
      .Key("days_since_last")
      .Double(s.count ? Round((now - s.current_last) / 86'400'000.0) : -1)
      .Key("active_now")
      .Bool(s.count > 0 && now - s.current_last <= state.options().session_gap_ms)
      .Key("usual_hour")
      .Int(state.usual_hour())
      .Key("time_zone")  // the usual hour's and weekday's
      .String(state.options().time_zone.empty() ? "UTC" : state.options().time_zone)
      .Key("usual_weekday")
      .Int(state.usual_weekday())
      .EndObject();

  const SignalState::Purchases& p = state.purchases();
  json.Key("purchases")
      .BeginObject()
      .Key("count")
      .Uint(p.count)
      .Key("last")
      .String(p.count ? IsoTime(p.last) : "")
      .Key("mean_gap_days")
      .Double(Round(p.mean_gap_days()))
      .Key("expected_next")
      .String(p.count > 1 ? IsoTime(p.expected_next()) : "")
      .EndObject();

  json.Key("place")
      .BeginObject()
      .Key("country")
      .String(state.country())
      .Key("city")
      .String(state.city())
      .Key("time")
      .String(state.place_time() ? IsoTime(state.place_time()) : "");
  const Whereabouts where = state.WhereaboutsAt(now, place);
  const auto optional = [&](const char* key, const std::optional<double>& value) {
    json.Key(key);
    if (value) {
      json.Double(Round(*value));
    } else {
      json.Null();
    }
  };
  json.Key("position");
  if (where.position) {
    json.BeginObject()
        .Key("latitude")
        .Double(where.position->latitude)
        .Key("longitude")
        .Double(where.position->longitude)
        .Key("accuracy_km")
        .Double(where.accuracy_km)
        .Key("time")
        .String(IsoTime(where.time))
        .Key("current")
        .Bool(where.current)
        .EndObject();
  } else {
    json.Null();
  }
  optional("distance_home_km", where.distance_home_km);
  json.Key("nearest_store");
  if (where.nearest_store) {
    json.BeginObject()
        .Key("id")
        .String(where.nearest_store->id)
        .Key("distance_km")
        .Double(Round(where.nearest_store->km))
        .EndObject();
  } else {
    json.Null();
  }
  json.Key("near_store").Bool(where.near_store).EndObject();
  json.EndObject();
}

}  // namespace tailor::signals
