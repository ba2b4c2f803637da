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

// Which event ids (their 64-bit hashes) a profile may already have: a Bloom filter of about
// 10 bits per id, so that a new event is known to be new without reading the profile's stored
// events; only a "maybe" (a re-sent event, or 1 in ~100 new ones) reads them to be sure. Sized
// for twice the ids it holds; past its capacity it is rebuilt from all of them (amortized).
class EventIdFilter {
 public:
  // False for a state written before filters existed: everything "may" be there.
  bool valid() const { return valid_; }
  uint32_t count() const { return count_; }
  bool MayContain(uint64_t id_hash) const;
  // Adds an id; false (nothing added) when the filter must first be rebuilt with every id.
  bool Add(uint64_t id_hash);
  void Rebuild(const std::vector<uint64_t>& id_hashes);

  void EncodeTo(std::string& out) const;
  // From a state record's remaining bytes; empty (a record without a filter): not valid.
  bool DecodeFrom(std::string_view bytes);

 private:
  bool valid_ = true;
  uint32_t count_ = 0;
  uint32_t capacity_ = 0;  // ids the bits are sized for
  std::string bits_;
};

// What the state table holds for one profile (key: the profile's id, as in the profiles table).
struct ProfileState {
  uint32_t next_event_block = 0;  // events table: blocks 0..next_event_block-1 may exist
  BehaviourState behaviour;
  EventIdFilter event_ids;

  std::string Encode() const;
  static Result<ProfileState> Decode(std::string_view bytes);
};

}  // namespace tailor::state
