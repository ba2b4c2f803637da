#pragma once

// Behavioural state of a profile, kept up to date as events arrive: what a segment rule or a
// personalization decision asks about a person without reading their whole history.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::state {

struct Aggregate {
  uint64_t count = 0;
  Decimal value_sum;  // sum of event values (EventValue: the explicit value, else price * quantity)
  Timestamp first = 0;
  Timestamp last = 0;
};

// Counts and sums per event type and per (event type, category). Deterministic: the same events in
// any order give the same state (sums are exact decimals).
struct BehaviourState {
  uint64_t event_count = 0;
  Timestamp first_seen = 0;
  Timestamp last_seen = 0;
  std::vector<std::pair<std::string, Aggregate>> by_type;  // sorted after Decode (see below)
  // "type/category" -> aggregate; sorted after Decode, in insertion order after Apply (sorting
  // there would move strings on every new category).
  std::vector<std::pair<std::string, Aggregate>> by_type_category;

  // Folds one event in.
  void Apply(std::string_view type, std::string_view category, Timestamp time,
             std::optional<Decimal> value);
  // Folds another profile's state in (when profiles merge).
  void Merge(const BehaviourState& other);
  const Aggregate* ForType(std::string_view type) const;

  std::string Encode() const;
  static Result<BehaviourState> Decode(std::string_view bytes);
};

// What the state table holds for one profile (key: the profile's id, as in the profiles table).
struct ProfileState {
  uint32_t next_event_block = 0;  // events table: blocks 0..next_event_block-1 may exist
  BehaviourState behaviour;

  std::string Encode() const;
  static Result<ProfileState> Decode(std::string_view bytes);
};

}  // namespace tailor::state
