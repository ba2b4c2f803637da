// Reads of committed data from the store, without the writer lock: profiles, events, items.

#include <algorithm>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/engine_impl.h"
#include "store/records.h"
#include "tailor/engine.h"

namespace tailor {

using engine_internal::ViewOf;

namespace engine_internal {

ProfileView ViewOf(const store::ProfileRecord& record, const Schema& schema) {
  ProfileView view;
  view.id = record.id;
  view.external_id = record.external_id;
  view.anonymous = record.anonymous;
  view.aliases = record.aliases;
  view.created_at = record.created_at;
  view.updated_at = record.updated_at;
  view.traits.reserve(record.traits.size());
  for (const auto& [slot, value] : record.traits) {
    if (const TraitDef* trait = schema.FindSlot(slot)) view.traits.emplace_back(trait->name, value);
  }
  for (uint32_t slot : record.declared) {
    if (const TraitDef* trait = schema.FindSlot(slot)) view.declared_traits.push_back(trait->name);
  }
  for (uint32_t slot : record.inferred) {
    if (const TraitDef* trait = schema.FindSlot(slot)) view.inferred_traits.push_back(trait->name);
  }
  return view;
}

}  // namespace engine_internal

namespace {

// Blocks are sorted inside; a stable sort merges them and keeps arrival order on ties. Most
// histories are already in order (one block, or blocks written as time went on), and sorting
// events (strings and all) is costly: check first.
void SortByTime(std::vector<StoredEventView>::iterator begin,
                std::vector<StoredEventView>::iterator end) {
  const auto by_time = [](const auto& a, const auto& b) { return a.time < b.time; };
  if (!std::is_sorted(begin, end, by_time)) std::stable_sort(begin, end, by_time);
}

}  // namespace

// Reads committed links straight from the store: no writer lock (the id map and its cache
// belong to the writer), so reads never wait for a write in progress.
Result<ProfileId> Engine::Resolve(std::string_view id) {
  std::string value;
  for (const std::string& key : {store::KnownIdKey(id), store::AnonymousIdKey(id)}) {
    Status found = impl_->store->Get(store::Table::kIds, key, value);
    if (found.code() == StatusCode::kNotFound) continue;
    TAILOR_RETURN_IF_ERROR(found);
    const std::optional<ProfileId> profile = store::DecodeProfileId(value);
    if (!profile) return Corruption("ids entry '{}' is malformed", key);
    return *profile;
  }
  return NotFound("no profile '{}'", id);
}

Result<std::vector<std::string>> Engine::EventBlocks(ProfileId profile) {
  std::vector<std::string> blocks;
  TAILOR_RETURN_IF_ERROR(impl_->store->Scan(store::Table::kEvents, store::EventRangeBegin(profile),
                                            store::EventRangeBegin(profile + 1),
                                            [&](std::string_view, std::string_view value) {
                                              blocks.emplace_back(value);
                                              return true;
                                            }));
  return blocks;
}

Result<std::span<const StoredEventView>> DecodeEventBlocks(
    std::span<const std::string> blocks, std::vector<StoredEventView>& pool,
    const std::function<bool(std::string_view)>& keep) {
  size_t total = 0;
  for (const std::string& block : blocks) total += store::EventBlockCount(block);
  // Events already in the pool are overwritten in place, their strings keeping their room; it
  // never shrinks, so the next history decoded into it allocates little.
  if (pool.size() < total) pool.resize(total);
  size_t at = 0;
  for (const std::string& block : blocks) {
    TAILOR_ASSIGN_OR_RETURN(const size_t kept, store::AssignEventBlock(block, pool, at, keep));
    at += kept;
  }
  SortByTime(pool.begin(), pool.begin() + static_cast<ptrdiff_t>(at));
  return std::span<const StoredEventView>(pool.data(), at);
}

Result<std::vector<StoredEventView>> DecodeEventBlocks(std::span<const std::string> blocks) {
  std::vector<StoredEventView> events;
  TAILOR_ASSIGN_OR_RETURN(auto decoded, DecodeEventBlocks(blocks, events));
  events.resize(decoded.size());
  return events;
}

Result<std::vector<StoredEventView>> Engine::Events(ProfileId profile) {
  std::vector<StoredEventView> events;
  Status decode_status;
  TAILOR_RETURN_IF_ERROR(impl_->store->Scan(
      store::Table::kEvents, store::EventRangeBegin(profile), store::EventRangeBegin(profile + 1),
      [&](std::string_view, std::string_view value) {
        decode_status = store::AppendEventBlock(value, events);
        return decode_status.ok();
      }));
  TAILOR_RETURN_IF_ERROR(decode_status);
  SortByTime(events.begin(), events.end());
  return events;
}

Result<ItemInput> Engine::GetItem(std::string_view item_id) {
  std::string bytes;
  Status found = impl_->store->Get(store::Table::kItems, item_id, bytes);
  if (found.code() == StatusCode::kNotFound) return NotFound("no item '{}'", item_id);
  TAILOR_RETURN_IF_ERROR(found);
  TAILOR_ASSIGN_OR_RETURN(store::ItemRecord record, store::DecodeItem(item_id, bytes));
  return ItemInput{std::move(record.id), std::move(record.name), std::move(record.category),
                   record.price, std::move(record.attributes)};
}

Result<std::string> Engine::ExternalId(ProfileId profile) {
  std::string bytes;
  Status found = impl_->store->Get(store::Table::kProfiles, store::ProfileKey(profile), bytes);
  if (found.code() == StatusCode::kNotFound)
    return NotFound("no profile with internal id {}", profile);
  TAILOR_RETURN_IF_ERROR(found);
  TAILOR_ASSIGN_OR_RETURN(store::ProfileRecord record, store::DecodeProfile(profile, bytes));
  return std::move(record.external_id);
}

Result<std::vector<ItemInput>> Engine::ListItems() {
  std::vector<ItemInput> items;
  Status decode_status;
  TAILOR_RETURN_IF_ERROR(impl_->store->Scan(
      store::Table::kItems, "", "", [&](std::string_view key, std::string_view value) {
        auto record = store::DecodeItem(key, value);
        if (!record.ok()) {
          decode_status = record.status();
          return false;
        }
        items.push_back(ItemInput{std::move(record->id), std::move(record->name),
                                  std::move(record->category), record->price,
                                  std::move(record->attributes)});
        return true;
      }));
  TAILOR_RETURN_IF_ERROR(decode_status);
  return items;
}

Result<ProfileView> Engine::GetProfile(std::string_view id, size_t latest_events) {
  TAILOR_ASSIGN_OR_RETURN(ProfileId profile, Resolve(id));
  return GetProfile(profile, latest_events);
}

Result<ProfileView> Engine::GetProfile(ProfileId profile, size_t latest_events,
                                       StoredProfile* stored) {
  std::string bytes;
  Status found = impl_->store->Get(store::Table::kProfiles, store::ProfileKey(profile), bytes);
  if (found.code() == StatusCode::kNotFound) {
    return NotFound("no profile with internal id {}", profile);
  }
  TAILOR_RETURN_IF_ERROR(found);
  TAILOR_ASSIGN_OR_RETURN(store::ProfileRecord record, store::DecodeProfile(profile, bytes));
  ProfileView view = ViewOf(record, *impl_->PublishedSchema());
  if (stored != nullptr) stored->record = bytes;
  found = impl_->store->Get(store::Table::kState, store::ProfileKey(profile), bytes);
  if (found.ok()) {
    TAILOR_ASSIGN_OR_RETURN(state::ProfileState profile_state, state::ProfileState::Decode(bytes));
    view.behaviour = std::move(profile_state.behaviour);
    if (stored != nullptr) stored->state = std::move(bytes);
  } else if (found.code() != StatusCode::kNotFound) {
    return found;
  }
  view.event_count = view.behaviour.event_count;
  if (latest_events == 0 || view.event_count == 0) return view;
  TAILOR_ASSIGN_OR_RETURN(std::vector<StoredEventView> events, Events(profile));
  const size_t keep = std::min(latest_events, events.size());
  for (size_t i = 0; i < keep; ++i)
    view.latest_events.push_back(std::move(events[events.size() - 1 - i]));
  return view;
}

}  // namespace tailor
