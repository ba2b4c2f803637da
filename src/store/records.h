#pragma once

// The records the store holds and their byte layouts (docs/storage_format.md). Pure functions:
// encoding and decoding never touch RocksDB.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::store {

// profiles table: key = ProfileKey(id). Who the profile is (ids, traits); what they did lives in
// the state table (same key) and the events table, so that ingesting events never rewrites traits.
struct ProfileRecord {
  ProfileId id = kNoProfile;
  std::string external_id;  // anonymous profiles: the anonymous id
  bool anonymous = false;
  // Traits by schema slot, sorted by slot, and when each was set (same positions): when two
  // profiles merge, the later value of a trait wins.
  std::vector<std::pair<uint32_t, TypedValue>> traits;
  std::vector<Timestamp> trait_times;
  // Other ids that resolve to this profile: anonymous ids ("a:"...) and merged profile ids
  // ("p:"...), as IdKey()s, so that deleting the profile can remove them.
  std::vector<std::string> aliases;
  Timestamp created_at = 0;
  Timestamp updated_at = 0;
  // Slots (sorted) whose value the person declared (TraitSource::kDeclared), and those whose value
  // tailor inferred (kInferred): merges keep each value's source.
  std::vector<uint32_t> declared, inferred;

  const TypedValue* Trait(uint32_t slot) const;
  bool IsDeclared(uint32_t slot) const {
    return std::binary_search(declared.begin(), declared.end(), slot);
  }
  bool IsInferred(uint32_t slot) const {
    return std::binary_search(inferred.begin(), inferred.end(), slot);
  }
  TraitSource SourceOf(uint32_t slot) const {
    return IsDeclared(slot)   ? TraitSource::kDeclared
           : IsInferred(slot) ? TraitSource::kInferred
                              : TraitSource::kObserved;
  }
  // When the trait was set (0: it is not set).
  Timestamp TraitTime(uint32_t slot) const;
  // Sets the trait unless the profile holds a value set later than `time`, or a declared value
  // and `source` is inferred; a declared value replaces an inferred one whatever their times.
  // True if set; the value then has `source`.
  bool SetTrait(uint32_t slot, TypedValue value, Timestamp time,
                TraitSource source = TraitSource::kObserved);
  // Removes the trait unless it was set later than `time`, or declared and `source` is
  // inferred; true if removed.
  bool ClearTrait(uint32_t slot, Timestamp time, TraitSource source = TraitSource::kObserved);
};

std::string EncodeProfile(const ProfileRecord& record);
Result<ProfileRecord> DecodeProfile(ProfileId id, std::string_view bytes);

// One stored event: the event as it arrived (profile_id and anonymous_id are not stored; the
// owner is in the key) and the hash that de-duplicates it.
struct StoredEvent {
  uint64_t id_hash = 0;  // xxh3 of the id (or of the content when no id was given)
  EventInput event;
};

// events table: key = EventBlockKey(owner, block). A block holds events of one profile sorted by
// time: varint count, count fixed64 id hashes (read alone for de-duplication), then each event.
// `events` must be sorted by time.
std::string EncodeEventBlock(const std::vector<std::pair<uint64_t, const EventInput*>>& events);
Result<std::vector<StoredEvent>> DecodeEventBlock(std::string_view bytes);
// The block's events appended to `out`, without their id hashes or a vector of their own.
Status AppendEventBlock(std::string_view bytes, std::vector<EventInput>& out);
// The block's events whose type `keep` accepts (all when empty) decoded over out[at, ...),
// reusing those events' storage (`out` is sized by the caller, from EventBlockCount); returns how
// many.
Result<size_t> AssignEventBlock(std::string_view bytes, std::vector<EventInput>& out, size_t at,
                                const std::function<bool(std::string_view)>& keep = {});
// How many events the block holds (0 when its header is malformed): to size `out` once.
uint64_t EventBlockCount(std::string_view bytes);
// Only the id hashes, without decoding the events.
bool DecodeEventBlockIds(std::string_view bytes, std::vector<uint64_t>& ids);

// One event of a block, decoded without copying: the views point into the block's bytes.
struct EventView {
  uint64_t id_hash = 0;
  Timestamp time = 0;
  std::string_view id, type, item_id, category, order_id;
  std::optional<Decimal> price, value;
  std::optional<int64_t> quantity;
  // Context fields in the order of EventContext: channel, page_url, referrer, utm_source,
  // utm_medium, utm_campaign, user_agent, ip, country, city.
  std::string_view context[10];
  // The encoded properties (varint count, then name/value strings); read with FindProperty.
  std::string_view properties;
};
// The value of property `name` of `view` ("" when the event has none).
std::string_view FindProperty(const EventView& view, std::string_view name);
// Context field index by name (as in EventView::context), or -1.
int ContextFieldIndex(std::string_view name);

// Calls `visit` for each event of the block, in time order. kCorruption if malformed.
template <typename Visit>
Status ForEachEventInBlock(std::string_view bytes, Visit&& visit);
// Non-template core of ForEachEventInBlock: decodes event `index` of `count` at `reader`.
bool DecodeEventView(std::string_view& cursor, EventView& view, Timestamp previous_time);
bool DecodeBlockHeader(std::string_view& cursor, uint64_t& count, std::string_view& id_hashes);

template <typename Visit>
Status ForEachEventInBlock(std::string_view bytes, Visit&& visit) {
  uint64_t count = 0;
  std::string_view id_hashes;
  if (!DecodeBlockHeader(bytes, count, id_hashes))
    return Corruption("event block header is malformed");
  EventView view;
  Timestamp previous = 0;
  for (uint64_t i = 0; i < count; ++i) {
    view = EventView{};
    std::memcpy(&view.id_hash, id_hashes.data() + i * 8, 8);
    if (!DecodeEventView(bytes, view, previous)) return Corruption("event block is truncated");
    previous = view.time;
    visit(view);
  }
  return Status::Ok();
}

// items table: key = item id.
struct ItemRecord {
  std::string id;
  std::string name;
  std::string category;
  std::optional<Decimal> price;
  TraitMap attributes;
};
std::string EncodeItem(const ItemRecord& item);
Result<ItemRecord> DecodeItem(std::string_view id, std::string_view bytes);

// Keys.
std::string ProfileKey(ProfileId id);
ProfileId ProfileIdFromKey(std::string_view key);
std::string EventBlockKey(ProfileId owner, uint32_t block);
// [EventRangeBegin(owner), EventRangeBegin(owner + 1)) holds all of owner's blocks.
std::string EventRangeBegin(ProfileId owner);
// ids table: "p:" + external profile id, "a:" + anonymous id -> 4-byte big-endian ProfileId.
std::string KnownIdKey(std::string_view external_id);
std::string AnonymousIdKey(std::string_view anonymous_id);
std::string EncodeProfileId(ProfileId id);
std::optional<ProfileId> DecodeProfileId(std::string_view bytes);

}  // namespace tailor::store
