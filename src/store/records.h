#pragma once

// The records the store holds and their byte layouts (docs/storage_format.md). Pure functions:
// encoding and decoding never touch RocksDB.

#include <cstdint>
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
  // Traits by schema slot, sorted by slot.
  std::vector<std::pair<uint32_t, TypedValue>> traits;
  // Other ids that resolve to this profile: anonymous ids ("a:"...) and merged profile ids ("p:"...),
  // as IdKey()s, so that deleting the profile can remove them.
  std::vector<std::string> aliases;
  Timestamp created_at = 0;
  Timestamp updated_at = 0;

  const TypedValue* Trait(uint32_t slot) const;
  void SetTrait(uint32_t slot, TypedValue value);
};

std::string EncodeProfile(const ProfileRecord& record);
Result<ProfileRecord> DecodeProfile(ProfileId id, std::string_view bytes);

// One stored event: the event as it arrived (profile_id and anonymous_id are not stored; the
// owner is in the key) and the hash that de-duplicates it.
struct StoredEvent {
  uint64_t id_hash = 0;  // xxh3 of the id (or of the content when no id was given)
  EventInput event;
};

// value, else price * quantity (quantity 1 when absent), else nullopt.
std::optional<double> EventValue(const EventInput& event);

// events table: key = EventBlockKey(owner, block). A block holds events of one profile sorted by
// time: varint count, count fixed64 id hashes (read alone for de-duplication), then each event.
// `events` must be sorted by time.
std::string EncodeEventBlock(const std::vector<std::pair<uint64_t, const EventInput*>>& events);
Result<std::vector<StoredEvent>> DecodeEventBlock(std::string_view bytes);
// Only the id hashes, without decoding the events.
bool DecodeEventBlockIds(std::string_view bytes, std::vector<uint64_t>& ids);

// items table: key = item id.
struct ItemRecord {
  std::string id;
  std::string name;
  std::string category;
  std::optional<double> price;
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
