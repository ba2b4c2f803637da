#pragma once

// Real-time signals of one profile, folded from its own events: how they found us (touches and
// their referrer class), which messages they react to (decayed open and click rates per channel
// and campaign, unsubscribes, bounces), what they look at (decayed affinity per category, brand,
// price band and item; the searches they typed), when and how often (sessions of 30 idle
// minutes, their length, usual hours and weekdays, purchase cadence and the expected next
// purchase) and where they are now (the latest event's place and position: place.h).
//
// A fold: SignalState::Add takes one event at a time, costs no store read and is cheap, so the
// same code rebuilds a profile's signals from its history and updates them per event. Decayed
// scores do not depend on the order events arrive in (an older event is added already decayed);
// touches, sessions and cadence assume time order (a late event within an old session only
// counts). Pure and thread-compatible: one state per profile.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/json_writer.h"
#include "tailor/place.h"
#include "tailor/types.h"

namespace date {
class time_zone;
}  // namespace date

namespace tailor::signals {

// Where a visit came from, by medium and referrer host.
enum class ReferrerClass : uint8_t {
  kDirect,
  kSearch,
  kSocial,
  kEmail,
  kPaid,
  kPriceComparison,
  kReferral,
};
std::string_view ReferrerClassName(ReferrerClass value);  // "direct", "search", ...

struct Touch {
  Timestamp time = 0;
  std::string source, medium, campaign;
  ReferrerClass referrer_class = ReferrerClass::kDirect;
};
// Whether an event of this type is the person's own activity: not a message sent to them
// (`*_sent`) nor its bounce. Only their own events make sessions, touches and usual hours.
inline bool IsOwnEventType(std::string_view type) {
  return !(type.ends_with("_sent") || type == "email_bounced" || type == "bounce");
}

// The touch of an event's context (utm_* win; else the referrer's host; else direct).
Touch TouchOf(const EventInput& event);

struct SignalOptions {
  double affinity_half_life_days = 30;
  double engagement_half_life_days = 90;
  Timestamp session_gap_ms = 30 * 60 * 1000;  // 30 idle minutes end a session
  // Usual hours and weekdays are counted in this time zone (an IANA name such as
  // "America/New_York", daylight saving included; the profile's `time_zone` trait, else its
  // `geo_time_zone`), else, when empty or unknown, in this fixed offset from UTC.
  std::string time_zone;
  int utc_offset_minutes = 0;
  // Upper bounds of the price bands (the last band is open): "0-25", "25-50", ... "500+".
  std::vector<double> price_band_edges = {25, 50, 100, 250, 500};
  size_t top = 10;  // items, pages and searches kept in the reports

  bool operator==(const SignalOptions&) const = default;
};

// An exponentially decayed sum: each addition loses half its weight every half-life.
class DecayedSum {
 public:
  void Add(Timestamp time, double weight, double half_life_ms);
  double ValueAt(Timestamp now, double half_life_ms) const;
  Timestamp last() const { return at_; }

 private:
  double value_ = 0;
  Timestamp at_ = 0;  // the time `value_` is as of
};

// Messages of one channel or campaign.
struct Engagement {
  DecayedSum sent, opened, clicked;
  uint64_t sent_count = 0, open_count = 0, click_count = 0;
  Timestamp last_open = 0, last_click = 0;
};

class SignalState {
 public:
  explicit SignalState(SignalOptions options = {});

  void Add(const EventInput& event);

  const SignalOptions& options() const { return options_; }
  uint64_t events() const { return events_; }
  const std::optional<Touch>& first_touch() const { return first_touch_; }
  const std::optional<Touch>& last_touch() const { return last_touch_; }
  // The touch that started the latest session (nullopt before any event).
  const std::optional<Touch>& session_touch() const { return session_touch_; }

  // Affinity in [0, 1] to a value of a dimension ("category", "brand", "price_band", "item") at
  // `now`: its decayed views (purchases and carts count more) over the largest of the dimension.
  double Affinity(std::string_view dimension, std::string_view value, Timestamp now) const;
  // Whether any event of interest had a value of the dimension (else every affinity is 0).
  bool HasAffinity(std::string_view dimension) const { return affinity_.contains(dimension); }
  // Whether anything was sent on the channel or campaign (else its rates are 0).
  bool HasSends(std::string_view channel_or_campaign) const;
  // The dimension's values by decayed score, highest first, at most options().top.
  std::vector<std::pair<std::string, double>> Top(std::string_view dimension, Timestamp now) const;
  // Decayed open (click) rate of a channel or campaign: opens over sends; 0 without sends.
  double OpenRate(std::string_view channel_or_campaign, Timestamp now) const;
  double ClickRate(std::string_view channel_or_campaign, Timestamp now) const;

  struct Sessions {
    uint64_t count = 0;
    Timestamp current_start = 0, current_last = 0;  // the latest session
    uint64_t current_events = 0;
    double total_minutes = 0;  // of all sessions, each from its first to its last event
    double mean_minutes() const { return count ? total_minutes / count : 0; }
  };
  const Sessions& sessions() const { return sessions_; }
  // Their own events (not messages sent to them) per local hour (0-23) and weekday (0 =
  // Monday).
  const std::array<uint32_t, 24>& hours() const { return hours_; }
  const std::array<uint32_t, 7>& weekdays() const { return weekdays_; }
  int usual_hour() const;     // the hour with most events; -1 without events
  int usual_weekday() const;  // likewise

  struct Purchases {
    uint64_t count = 0;
    Timestamp first = 0, last = 0;
    double mean_gap_days() const {
      return count > 1 ? (last - first) / 86'400'000.0 / (count - 1) : 0;
    }
    // last + the mean gap; 0 with fewer than two purchases.
    Timestamp expected_next() const {
      return count > 1 ? last + (last - first) / static_cast<Timestamp>(count - 1) : 0;
    }
  };
  const Purchases& purchases() const { return purchases_; }

  bool unsubscribed() const { return unsubscribed_; }
  uint64_t bounces() const { return bounces_; }
  // The latest event's place (context country/city), and when.
  const std::string& country() const { return country_; }
  const std::string& city() const { return city_; }
  Timestamp place_time() const { return place_time_; }
  // The latest position of their own events (place.h EventPosition), its accuracy and time.
  const std::optional<GeoPoint>& position() const { return position_; }
  double position_accuracy_km() const { return position_accuracy_km_; }
  Timestamp position_time() const { return position_time_; }
  // That position against home and the stores at `now`.
  Whereabouts WhereaboutsAt(Timestamp now, const PlaceContext& context) const {
    return signals::WhereaboutsAt(position_, position_accuracy_km_, position_time_, now, context);
  }
  // The latest searches (query), newest first, at most options().top.
  const std::vector<std::string>& searches() const { return searches_; }

  // Heap bytes, for the working set's budget.
  size_t bytes() const;

 private:
  void AddAffinity(std::string_view dimension, const std::string& value, Timestamp time,
                   double weight);
  std::string PriceBand(double price) const;
  // Decayed `part` (opens, clicks) over decayed sends of a channel or campaign, at most 1.
  double Rate(std::string_view key, DecayedSum Engagement::*part, Timestamp now) const;
  void CountTime(Timestamp t);

  SignalOptions options_;
  const date::time_zone* zone_ = nullptr;  // options_.time_zone, when the OS knows it
  double affinity_half_life_ms_, engagement_half_life_ms_;
  uint64_t events_ = 0;
  uint64_t activity_ = 0;     // events of their own (not what was sent to them)
  Timestamp last_event_ = 0;  // the latest of their own
  std::optional<Touch> first_touch_, last_touch_, session_touch_;
  std::map<std::string, std::map<std::string, DecayedSum, std::less<>>, std::less<>> affinity_;
  std::map<std::string, Engagement, std::less<>> engagement_;
  Sessions sessions_;
  std::array<uint32_t, 24> hours_{};
  std::array<uint32_t, 7> weekdays_{};
  Purchases purchases_;
  std::string last_order_;
  bool unsubscribed_ = false;
  uint64_t bounces_ = 0;
  std::string country_, city_;
  Timestamp place_time_ = 0;
  std::optional<GeoPoint> position_;
  double position_accuracy_km_ = 0;
  Timestamp position_time_ = 0;
  std::vector<std::string> searches_;
};

// The affinity of one value of a dimension at `now`, from `events` in time order, exactly as a
// SignalState folded from them answers it (the same decayed sums, added in the same order),
// without folding anything else: what rules read (signal_values.h). nullopt when no event of
// interest had a value of the dimension (or the dimension is unknown).
std::optional<double> AffinityOf(std::span<const EventInput> events, std::string_view dimension,
                                 std::string_view value, Timestamp now,
                                 const SignalOptions& options = {});

// The time zone a profile's usual hours are counted in: its `time_zone` trait, else its
// `geo_time_zone` (located by IP); "" when neither is a string.
std::string ProfileTimeZone(const TraitMap& traits);

// Every signal at `now` as a JSON object: acquisition, engagement, affinity, sessions, cadence,
// place (with the distances `place` allows: home, stores). One spelling for `tailor signals` and
// the HTTP API.
void WriteSignals(JsonWriter& json, const SignalState& state, Timestamp now,
                  const PlaceContext& place = {});

}  // namespace tailor::signals
