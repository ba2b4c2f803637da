#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "tailor/decimal.h"

namespace tailor {

// Dense internal id of a profile: 0, 1, 2, ... in order of creation, never reused. Columnar
// engines index arrays and bitmaps with it; the external id is what users see.
using ProfileId = uint32_t;
inline constexpr ProfileId kNoProfile = UINT32_MAX;

// Milliseconds since the Unix epoch, UTC.
using Timestamp = int64_t;

enum class TraitType : uint8_t { kString, kInt, kDouble, kBool, kTimestamp, kStringList };
enum class TraitCategory : uint8_t {
  kDemographic,
  kGeographic,
  kPsychographic,
  kBehavioural,
  kTechnographic,
  kPreference,
  kOther,
};

std::string_view TraitTypeName(TraitType type);
std::string_view TraitCategoryName(TraitCategory category);
// Accepts the names above ("string", "int", "double", "bool", "timestamp", "list").
std::optional<TraitType> ParseTraitType(std::string_view name);
std::optional<TraitCategory> ParseTraitCategory(std::string_view name);

using StringList = std::vector<std::string>;
// One value. std::monostate means "missing": it never matches a comparison. Timestamps are held
// as int64_t milliseconds, so a value carries its TraitType beside it (TypedValue).
using TraitValue = std::variant<std::monostate, std::string, int64_t, double, bool, StringList>;

struct TypedValue {
  TraitType type = TraitType::kString;
  TraitValue value;
};

// Traits of one profile as name -> value, in the order they were set.
using TraitMap = std::vector<std::pair<std::string, TypedValue>>;

// A profile as it arrives from a file or an API call.
// Where a profile's trait values come from. The person's own answers (declared: survey answers,
// zero-party data) take precedence over what tailor infers (analytics results written back as
// traits): an inferred write never replaces or clears a declared value. Anything else (identify
// calls, imports) is observed: it replaces a value by the usual time rule, declared or not.
enum class TraitSource : uint8_t { kObserved, kDeclared, kInferred };

struct ProfileInput {
  std::string external_id;
  TraitMap traits;
  // external_id is an anonymous id (a visitor not signed in): the traits go to the known profile
  // it is linked to, else to the visitor's own (anonymous) profile, created if new.
  bool anonymous = false;
  // When the traits were set (0: now). A trait keeps a value set later than this, here and when
  // profiles merge (identify, alias): the later value wins.
  Timestamp time = 0;
  TraitSource source = TraitSource::kObserved;
};

// Where and how an event happened.
struct EventContext {
  std::string channel;  // web, app, email, store, chatbot, sms, ...
  std::string page_url;
  std::string referrer;
  std::string utm_source;
  std::string utm_medium;
  std::string utm_campaign;
  std::string user_agent;
  std::string ip;
  std::string country;
  std::string city;
};

// A behavioural event as it arrives. At least one of profile_id and anonymous_id is set.
struct EventInput {
  // Caller's id; a second event with the same id for the same profile is not stored again.
  // Empty: tailor derives one from the content, so re-importing a file is still idempotent.
  std::string id;
  std::string profile_id;
  std::string anonymous_id;
  std::string type;
  Timestamp time = 0;
  std::string item_id;
  std::string category;
  std::string order_id;
  // Amounts are exact decimals (tailor/decimal.h). quantity fits in 32 bits (engine-checked).
  std::optional<Decimal> price;
  std::optional<int64_t> quantity;
  // Explicit value (an order's revenue, a rating). Without it, value = price * quantity, or the
  // price when there is no quantity (EventValue below); spend stays missing then (EventSpend).
  std::optional<Decimal> value;
  EventContext context;
  // Free-form properties, string-valued, in arrival order.
  std::vector<std::pair<std::string, std::string>> properties;
};

// What an event's line costs: price * quantity; missing when either is missing or when the product
// does not fit (the engine refuses such events).
inline std::optional<Decimal> EventSpend(const std::optional<Decimal>& price,
                                         const std::optional<int64_t>& quantity) {
  if (!price || !quantity) return std::nullopt;
  return Decimal::Multiply(*price, *quantity);
}
// The explicit value, else the spend, else the price (an event without a quantity).
inline std::optional<Decimal> EventValue(const std::optional<Decimal>& value,
                                         const std::optional<Decimal>& price,
                                         const std::optional<int64_t>& quantity) {
  if (value) return value;
  return quantity ? EventSpend(price, quantity) : price;
}
inline std::optional<Decimal> EventValue(const EventInput& event) {
  return EventValue(event.value, event.price, event.quantity);
}
// The event's property of that name ("" when it has none).
inline std::string_view EventProperty(const EventInput& event, std::string_view name) {
  for (const auto& [key, value] : event.properties) {
    if (key == name) return value;
  }
  return {};
}

// An entry of the product/content catalogue.
struct ItemInput {
  std::string id;
  std::string name;
  std::string category;
  std::optional<Decimal> price;
  TraitMap attributes;  // level, brand, genres (list), ...
};

}  // namespace tailor
