// Event validation and event ids: what one event may carry and the hash that deduplicates it.

#include <xxhash.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/engine_impl.h"
#include "tailor/engine.h"

namespace tailor {

using engine_internal::kMaxIdBytes;

namespace {

// The other limits on what one event may carry (ids: kMaxIdBytes, in engine_impl.h).
constexpr size_t kMaxFieldBytes = 8192;
constexpr size_t kMaxProperties = 256;
// Events must lie between 1970 and 2200: anything else is a unit mistake (seconds vs ms).
constexpr Timestamp kMinEventTime = 0;
constexpr Timestamp kMaxEventTime = 7'258'118'400'000;

// Id of an event that came without one: a hash of everything it says, so that importing the
// same rows twice stores them once.
uint64_t ContentHash(const EventInput& event) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  auto add = [&](std::string_view text) {
    const uint64_t size = text.size();
    XXH3_64bits_update(state, &size, sizeof(size));
    XXH3_64bits_update(state, text.data(), text.size());
  };
  auto add_number = [&](auto number) { XXH3_64bits_update(state, &number, sizeof(number)); };
  add(event.profile_id);
  add(event.anonymous_id);
  add(event.type);
  add_number(event.time);
  add(event.item_id);
  add(event.category);
  add(event.order_id);
  // Amounts hash as the doubles they were stored as before exact amounts, so that a file imported
  // then keeps its ids (the decimal's double is the one its text parsed to).
  add_number(event.price ? event.price->ToDouble() : -0.0);
  add_number(event.quantity.value_or(INT64_MIN));
  add_number(event.value ? event.value->ToDouble() : -0.0);
  const EventContext& c = event.context;
  for (const std::string* field :
       {&c.channel, &c.page_url, &c.referrer, &c.utm_source, &c.utm_medium, &c.utm_campaign,
        &c.user_agent, &c.ip, &c.country, &c.city}) {
    add(*field);
  }
  for (const auto& [name, value] : event.properties) {
    add(name);
    add(value);
  }
  const uint64_t hash = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return hash;
}

}  // namespace

namespace engine_internal {

uint64_t IdHash(const EventInput& event) {
  if (event.id.empty()) return ContentHash(event);
  return XXH3_64bits(event.id.data(), event.id.size());
}

std::string CheckEvent(const EventInput& event) {
  if (event.profile_id.empty() && event.anonymous_id.empty()) {
    return "the event has neither a profile_id nor an anonymous_id";
  }
  if (event.type.empty()) return "the event type is missing";
  if (event.profile_id.size() > kMaxIdBytes || event.anonymous_id.size() > kMaxIdBytes ||
      event.id.size() > kMaxIdBytes) {
    return fmt::format("ids are limited to {} bytes", kMaxIdBytes);
  }
  if (event.time < kMinEventTime || event.time > kMaxEventTime) {
    return fmt::format("event time {} ms is outside 1970..2200 (seconds given as milliseconds?)",
                       event.time);
  }
  for (const std::string* field :
       {&event.type, &event.item_id, &event.category, &event.order_id, &event.context.page_url,
        &event.context.referrer, &event.context.user_agent}) {
    if (field->size() > kMaxFieldBytes) {
      return fmt::format("a field is longer than {} bytes", kMaxFieldBytes);
    }
  }
  if (event.properties.size() > kMaxProperties) {
    return fmt::format("more than {} properties", kMaxProperties);
  }
  // Columns hold quantities in 32 bits (INT32_MIN marks "none").
  if (event.quantity && (*event.quantity <= INT32_MIN || *event.quantity > INT32_MAX)) {
    return fmt::format("quantity {} is out of range", *event.quantity);
  }
  if (event.price && event.quantity && !EventSpend(event.price, event.quantity)) {
    return fmt::format("price {} × quantity {} is out of range", event.price->ToString(),
                       *event.quantity);
  }
  return {};
}

}  // namespace engine_internal

using engine_internal::CheckEvent;

std::string EventProblem(const EventInput& event) { return CheckEvent(event); }

}  // namespace tailor
