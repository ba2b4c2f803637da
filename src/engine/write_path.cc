// The write path: stage profiles and events, apply them per profile, commit, tell observers.

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/value_coding.h"
#include "engine/engine_impl.h"
#include "store/records.h"
#include "tailor/engine.h"

namespace tailor {

using engine_internal::CheckEvent;
using engine_internal::IdHash;
using engine_internal::kCountersKey;
using engine_internal::kMaxIdBytes;
using engine_internal::kSchemaKey;
using engine_internal::ViewOf;

namespace {

// Profiles per parallel task when applying a batch: enough to amortize scheduling.
constexpr size_t kApplyGrain = 32;

}  // namespace

Engine::Impl::Staged* Engine::Impl::LoadProfile(WriteContext& context, ProfileId id) {
  auto [it, inserted] = context.profiles.try_emplace(id);
  if (inserted) it->second.id = id;
  return &it->second;
}

Status Engine::Impl::LoadState(Staged& staged) const {
  if (staged.state_loaded) return Status::Ok();
  if (staged.id >= first_session_id) {
    const size_t index = staged.id - first_session_id;
    if (index >= session_state_written.size() || !session_state_written[index]) {
      staged.state_loaded = true;
      return Status::Ok();
    }
  }
  StoredProfile resident_copy;
  if (FindResident(staged.id, resident_copy)) {
    if (!resident_copy.state.empty()) {
      TAILOR_ASSIGN_OR_RETURN(staged.state, state::ProfileState::Decode(resident_copy.state));
    }
    staged.state_loaded = true;
    return Status::Ok();
  }
  std::string bytes;
  Status found = store->Get(store::Table::kState, store::ProfileKey(staged.id), bytes);
  if (found.ok()) {
    TAILOR_ASSIGN_OR_RETURN(staged.state, state::ProfileState::Decode(bytes));
  } else if (found.code() != StatusCode::kNotFound) {
    return found;  // kNotFound: a profile that never had an event has no state yet
  }
  staged.state_loaded = true;
  return Status::Ok();
}

Result<store::ProfileRecord*> Engine::Impl::Record(Staged& staged) {
  StoredProfile resident_copy;
  if (!staged.record && FindResident(staged.id, resident_copy)) {
    TAILOR_ASSIGN_OR_RETURN(staged.record, store::DecodeProfile(staged.id, resident_copy.record));
  }
  if (!staged.record) {
    std::string bytes;
    Status found = store->Get(store::Table::kProfiles, store::ProfileKey(staged.id), bytes);
    if (!found.ok()) {
      return found.code() == StatusCode::kNotFound
                 ? Corruption("profile {} is in the id map but has no record", staged.id)
                 : found;
    }
    TAILOR_ASSIGN_OR_RETURN(staged.record, store::DecodeProfile(staged.id, bytes));
  }
  return &*staged.record;
}

Engine::Impl::Staged& Engine::Impl::CreateProfile(WriteContext& context,
                                                  std::string_view external_id, bool anonymous) {
  const ProfileId id = ids->Allocate();
  Staged& staged = context.profiles[id];
  staged.id = id;
  staged.record.emplace();
  staged.record->id = id;
  staged.record->external_id = std::string(external_id);
  staged.record->anonymous = anonymous;
  staged.record->created_at = staged.record->updated_at = Now(clock);
  staged.record_dirty = true;
  staged.created = true;
  staged.state_loaded = true;  // a new profile has no state and no stored events
  staged.ids_loaded = true;
  ids->Link(context.batch,
            anonymous ? store::AnonymousIdKey(external_id) : store::KnownIdKey(external_id), id);
  (anonymous ? context.counters.anonymous_profiles : context.counters.profiles)++;
  return staged;
}

Status Engine::Impl::StoredEventIds(const Staged& staged, std::vector<uint64_t>& hashes) const {
  if (staged.state.next_event_block == 0) return Status::Ok();
  Status decode_status;
  TAILOR_RETURN_IF_ERROR(store->Scan(
      store::Table::kEvents, store::EventRangeBegin(staged.id),
      store::EventRangeBegin(staged.id + 1), [&](std::string_view, std::string_view value) {
        if (!store::DecodeEventBlockIds(value, hashes)) {
          decode_status = Corruption("event block of profile {} is malformed", staged.id);
          return false;
        }
        return true;
      }));
  return decode_status;
}

Status Engine::Impl::LoadEventIds(Staged& staged) const {
  if (staged.ids_loaded) return Status::Ok();
  staged.ids_loaded = true;
  TAILOR_RETURN_IF_ERROR(StoredEventIds(staged, staged.stored_ids));
  for (uint64_t hash : staged.stored_ids) staged.known_ids.Insert(hash);
  return Status::Ok();
}

Status Engine::Impl::UpdateEventIdFilter(Staged& staged) const {
  state::EventIdFilter& filter = staged.state.event_ids;
  size_t added = 0;
  while (added < staged.new_events.size() && filter.Add(staged.new_events[added].first)) {
    ++added;
  }
  if (added == staged.new_events.size()) return Status::Ok();
  // The ids stored before this batch: read for the duplicate check already, or now.
  std::vector<uint64_t> all = std::move(staged.stored_ids);
  if (!staged.ids_loaded) TAILOR_RETURN_IF_ERROR(StoredEventIds(staged, all));
  for (const auto& [id_hash, event] : staged.new_events) all.push_back(id_hash);
  filter.Rebuild(all);
  return Status::Ok();
}

Status Engine::Impl::ApplyPending(Staged& staged) const {
  if (staged.deleted) return Status::Ok();
  if (!staged.pending.empty()) {
    TAILOR_RETURN_IF_ERROR(LoadState(staged));
    for (const Staged::Pending& pending : staged.pending) {
      // A stored event with this id is possible only if the filter says "maybe": then read
      // the stored ids to know (a re-sent event, or a rare false positive).
      if (!staged.ids_loaded && staged.state.next_event_block > 0 &&
          staged.state.event_ids.MayContain(pending.id_hash)) {
        TAILOR_RETURN_IF_ERROR(LoadEventIds(staged));
      }
      if (!staged.known_ids.Insert(pending.id_hash)) {
        if (!pending.from_store) {
          ++staged.duplicates;
          staged.duplicate_inputs.push_back(pending.event);
        }
        continue;
      }
      staged.state.behaviour.Apply(pending.event->type, pending.event->category,
                                   pending.event->time, EventValue(*pending.event));
      staged.new_events.emplace_back(pending.id_hash, pending.event);
      ++(pending.from_store ? staged.stored_events_added : staged.accepted);
    }
    staged.pending.clear();
  }
  if (!staged.new_events.empty()) {
    staged.state_dirty = true;
    const auto by_time = [](const auto& a, const auto& b) {
      return a.second->time < b.second->time;
    };
    // Sources usually send a profile's events in time order; stable_sort would still allocate.
    if (!std::is_sorted(staged.new_events.begin(), staged.new_events.end(), by_time)) {
      std::stable_sort(staged.new_events.begin(), staged.new_events.end(), by_time);
    }
    TAILOR_RETURN_IF_ERROR(UpdateEventIdFilter(staged));
    staged.encoded_block = store::EncodeEventBlock(staged.new_events);
    staged.state.next_event_block++;
  }
  if (staged.state_dirty) staged.encoded_state = staged.state.Encode();
  return Status::Ok();
}

Status Engine::Impl::StageProfiles(WriteContext& context, std::span<ProfileInput> profiles,
                                   bool move_values, BatchReport& report,
                                   std::vector<ProfileId>& owners,
                                   std::optional<Schema>& schema_before) {
  std::vector<std::pair<uint32_t, TypedValue*>> slots;  // the row's traits, checked
  std::vector<uint32_t> clears;  // the row's traits given as missing (null): cleared
  // Rows of one file name the same traits in the same order: the previous row's names and slots
  // answer most lookups with one string compare instead of a hash lookup.
  std::vector<std::pair<std::string_view, uint32_t>> previous_names;
  for (size_t i = 0; i < profiles.size(); ++i) {
    ProfileInput& input = profiles[i];
    if (input.external_id.empty() || input.external_id.size() > kMaxIdBytes) {
      report.rejected.push_back({i, input.external_id.empty()
                                        ? "the profile id is missing"
                                        : fmt::format("ids are limited to {} bytes", kMaxIdBytes)});
      continue;
    }
    // Check every trait before changing anything, so a bad row changes nothing.
    std::string problem;
    slots.clear();
    clears.clear();
    for (size_t position = 0; position < input.traits.size(); ++position) {
      auto& [name, value] = input.traits[position];
      const TraitDef* trait = nullptr;
      if (position < previous_names.size() && previous_names[position].first == name) {
        trait = schema.FindSlot(previous_names[position].second);
      } else {
        trait = schema.Find(name);
      }
      if (trait == nullptr) {
        if (IsMissing(value)) continue;
        if (!schema_before) schema_before = schema;
        auto added = schema.Add(name, value.type, GuessTraitCategory(name));
        if (!added.ok()) {
          problem = added.status().message();
          break;
        }
        context.schema_changed = true;
        trait = *added;
      } else if (!IsMissing(value) && value.type != trait->type) {
        problem = schema.Check(name, value).message();
        break;
      }
      if (position >= previous_names.size()) previous_names.resize(position + 1);
      previous_names[position] = {name, trait->slot};
      if (IsMissing(value)) {
        clears.push_back(trait->slot);  // null: the trait is cleared
      } else {
        slots.emplace_back(trait->slot, &value);
      }
    }
    if (!problem.empty()) {
      report.rejected.push_back({i, std::move(problem)});
      continue;
    }
    auto staged = input.anonymous ? VisitorProfile(context, input.external_id)
                                  : KnownProfile(context, input.external_id);
    Result<store::ProfileRecord*> record =
        staged.ok() ? Record(**staged) : Result<store::ProfileRecord*>(staged.status());
    if (!record.ok()) return record.status();
    const Timestamp now = Now(clock);
    const Timestamp set_at = input.time != 0 ? input.time : now;
    (*record)->traits.reserve((*record)->traits.size() + slots.size());
    for (const auto& [slot, value] : slots) {
      (*record)->SetTrait(slot, move_values ? std::move(*value) : *value, set_at, input.source);
    }
    for (uint32_t slot : clears) (*record)->ClearTrait(slot, set_at, input.source);
    (*record)->updated_at = now;
    (*staged)->record_dirty = true;
    owners[i] = (*staged)->id;
    ++report.accepted;
  }
  return Status::Ok();
}

Status Engine::Impl::StageEvents(WriteContext& context, std::span<const EventInput> events,
                                 BatchReport& report, std::vector<ProfileId>& owners) {
  // Events of one profile usually come together: the previous event's owner is reused when the
  // ids are the same, skipping the id lookups.
  const EventInput* previous = nullptr;
  Staged* previous_owner = nullptr;
  for (size_t i = 0; i < events.size(); ++i) {
    const EventInput& input = events[i];
    std::string problem = CheckEvent(input);
    if (!problem.empty()) {
      report.rejected.push_back({i, std::move(problem)});
      continue;
    }
    Staged* owner = nullptr;
    if (previous != nullptr && input.profile_id == previous->profile_id &&
        input.anonymous_id == previous->anonymous_id) {
      owner = previous_owner;
    } else {
      auto resolved = ResolveOwner(context, input);
      if (!resolved.ok()) return resolved.status();
      owner = *resolved;
    }
    // Resolving the same ids again cannot merge their owner away, so it is still live.
    assert(!owner->deleted);
    previous = &input;
    previous_owner = owner;
    owners[i] = owner->id;
    owner->pending.push_back({IdHash(input), &input, /*from_store=*/false});
  }
  return Status::Ok();
}

void Engine::Impl::ReportEvents(const WriteContext& context, std::span<const EventInput> events,
                                std::vector<ProfileId> owners, BatchReport& report) {
  const EventInput* begin = events.data();
  const EventInput* end = begin + events.size();
  uint64_t duplicates = 0;
  for (const EventInput* duplicate : context.duplicate_inputs) {
    if (duplicate < begin || duplicate >= end) continue;
    report.duplicate_indexes.push_back(static_cast<size_t>(duplicate - begin));
    ++duplicates;
  }
  std::sort(report.duplicate_indexes.begin(), report.duplicate_indexes.end());
  uint64_t stored = 0;
  for (ProfileId owner : owners) stored += owner != kNoProfile;
  report.accepted += stored - duplicates;
  report.duplicates += duplicates;
  report.owners = std::move(owners);
}

Engine::Impl::WriteContext Engine::Impl::Begin(size_t expected_profiles) {
  WriteContext context;
  if (spare_batch) {
    context.batch = std::move(*spare_batch);
    spare_batch.reset();
  } else {
    context.batch = store->NewBatch();
  }
  context.profiles.reserve(expected_profiles);
  context.counters = counters;
  return context;
}

void Engine::Impl::Recycle(WriteContext& context) {
  context.batch.Clear();
  spare_batch = std::move(context.batch);
}

Status Engine::Impl::Commit(WriteContext& context) {
  std::vector<Staged*> work;
  work.reserve(context.profiles.size());
  for (auto& [id, staged] : context.profiles) work.push_back(&staged);
  std::mutex error_mutex;
  Status apply_error;
  tbb::parallel_for(tbb::blocked_range<size_t>(0, work.size(), kApplyGrain),
                    [&](const tbb::blocked_range<size_t>& range) {
                      for (size_t i = range.begin(); i != range.end(); ++i) {
                        Status status = ApplyPending(*work[i]);
                        if (!status.ok()) {
                          std::lock_guard lock(error_mutex);
                          if (apply_error.ok()) apply_error = status;
                        }
                      }
                    });
  if (!apply_error.ok()) {
    ids->Abort();
    return apply_error;
  }
  for (auto& [id, staged] : context.profiles) {
    const std::string key = store::ProfileKey(id);
    if (staged.deleted) {
      context.batch.Delete(store::Table::kProfiles, key);
      context.batch.Delete(store::Table::kState, key);
      continue;
    }
    context.accepted += staged.accepted;
    context.duplicates += staged.duplicates;
    context.duplicate_inputs.insert(context.duplicate_inputs.end(), staged.duplicate_inputs.begin(),
                                    staged.duplicate_inputs.end());
    context.counters.events += staged.accepted + staged.stored_events_added;
    if (!staged.encoded_block.empty()) {
      context.batch.Put(store::Table::kEvents,
                        store::EventBlockKey(id, staged.state.next_event_block - 1),
                        staged.encoded_block);
    }
    if (staged.state_dirty) {
      context.batch.Put(store::Table::kState, key, staged.encoded_state);
    }
    if (staged.record_dirty) {
      staged.encoded_record = store::EncodeProfile(*staged.record);
      context.batch.Put(store::Table::kProfiles, key, staged.encoded_record);
    }
  }
  context.counters.next_profile_id = ids->next_id();
  context.batch.Put(store::Table::kMeta, kCountersKey, context.counters.Encode());
  if (context.schema_changed) context.batch.Put(store::Table::kMeta, kSchemaKey, schema.Encode());
  Status status = store->Commit(context.batch);
  Recycle(context);
  if (!status.ok()) {
    ids->Abort();
    return status;
  }
  ids->Commit();
  counters = context.counters;
  if (context.schema_changed) PublishSchema();
  if (!observers.empty() && !context.profiles.empty()) Report(context);
  for (const auto& [id, staged] : context.profiles) {
    if (!staged.state_dirty || id < first_session_id) continue;
    const size_t index = id - first_session_id;
    if (index >= session_state_written.size()) session_state_written.resize(index + 1);
    session_state_written[index] = true;
  }
  return Status::Ok();
}

void Engine::Impl::Report(const WriteContext& context) const {
  std::vector<CommittedProfile> committed;
  std::deque<ProfileView> records;  // stable addresses
  committed.reserve(context.profiles.size());
  for (const auto& [id, staged] : context.profiles) {
    CommittedProfile& out = committed.emplace_back();
    out.id = id;
    out.created = staged.created;
    out.removed = staged.deleted;
    if (staged.deleted) continue;
    if (staged.record_dirty && staged.record) {
      out.record = &records.emplace_back(ViewOf(*staged.record, schema));
    }
    if (staged.state_dirty) {
      out.behaviour = &staged.state.behaviour;
      out.stored_state = staged.encoded_state;
    }
    out.event_block = staged.encoded_block;
    out.stored_record = staged.encoded_record;
  }
  for (const auto& [handle, observer] : observers) observer(committed);
}

Status Engine::Impl::Abort(WriteContext&, Status status) {
  ids->Abort();
  return status;
}

Status Engine::UpsertProfiles(std::span<const ProfileInput> profiles, BatchReport& report) {
  BatchReport no_events;
  WriteRequest request{profiles, {}, &report, &no_events};
  return WriteImpl(std::span(&request, 1), /*move_values=*/false);
}

Status Engine::UpsertProfilesMoving(std::span<ProfileInput> profiles, BatchReport& report) {
  BatchReport no_events;
  WriteRequest request{profiles, {}, &report, &no_events};
  return WriteImpl(std::span(&request, 1), /*move_values=*/true);
}

Status Engine::IngestEvents(std::span<const EventInput> events, BatchReport& report) {
  BatchReport no_profiles;
  WriteRequest request{{}, events, &no_profiles, &report};
  return WriteImpl(std::span(&request, 1), /*move_values=*/false);
}

Status Engine::Write(std::span<const ProfileInput> profiles, std::span<const EventInput> events,
                     BatchReport& profile_report, BatchReport& event_report) {
  WriteRequest request{profiles, events, &profile_report, &event_report};
  return WriteImpl(std::span(&request, 1), /*move_values=*/false);
}

Status Engine::WriteGroup(std::span<const WriteRequest> requests) {
  return WriteImpl(requests, /*move_values=*/false);
}

Status Engine::WriteImpl(std::span<const WriteRequest> requests, bool move_values) {
  size_t profile_count = 0, event_count = 0;
  for (const WriteRequest& request : requests) {
    profile_count += request.profiles.size();
    event_count += request.events.size();
  }
  if (profile_count == 0 && event_count == 0) return Status::Ok();  // no commit, no sync
  std::lock_guard lock(impl_->writer);
  // Profiles' events usually arrive together: a batch touches far fewer profiles than events.
  auto context = impl_->Begin(profile_count + event_count / 8 + 1);
  // Copied only when a call adds traits (rare), to roll the schema back if the commit fails.
  std::optional<Schema> schema_before;
  const auto restore_schema = [&] {
    if (schema_before) impl_->schema = std::move(*schema_before);
  };
  // Request by request, in order: each one's profiles first (a visitor's traits create the
  // profile its events then go to), then its events.
  std::vector<std::vector<ProfileId>> profile_owners(requests.size());
  std::vector<std::vector<ProfileId>> event_owners(requests.size());
  Status staged;
  for (size_t r = 0; r < requests.size() && staged.ok(); ++r) {
    const WriteRequest& request = requests[r];
    profile_owners[r].assign(request.profiles.size(), kNoProfile);
    event_owners[r].assign(request.events.size(), kNoProfile);
    // Moving is only asked for by UpsertProfilesMoving, whose profiles are the caller's to give.
    std::span<ProfileInput> profiles(const_cast<ProfileInput*>(request.profiles.data()),
                                     request.profiles.size());
    staged = impl_->StageProfiles(context, profiles, move_values, *request.profile_report,
                                  profile_owners[r], schema_before);
    if (staged.ok()) {
      staged = impl_->StageEvents(context, request.events, *request.event_report, event_owners[r]);
    }
  }
  if (!staged.ok()) {
    restore_schema();
    return impl_->Abort(context, staged);
  }
  // An event linking a visitor may have merged the profile its traits went to.
  for (auto* all : {&profile_owners, &event_owners}) {
    for (std::vector<ProfileId>& owners : *all) {
      for (ProfileId& owner : owners) {
        if (owner != kNoProfile) owner = Impl::FinalOwner(context, owner);
      }
    }
  }
  Status status = impl_->Commit(context);
  if (!status.ok()) {
    restore_schema();
    return status;
  }
  std::vector<std::pair<ProfileId, ProfileId>> merges;
  for (const auto& [id, staged_profile] : context.profiles) {
    if (staged_profile.merged_into != kNoProfile) {
      merges.emplace_back(id, Impl::FinalOwner(context, id));
    }
  }
  for (size_t r = 0; r < requests.size(); ++r) {
    const WriteRequest& request = requests[r];
    request.profile_report->owners = std::move(profile_owners[r]);
    Impl::ReportEvents(context, request.events, std::move(event_owners[r]), *request.event_report);
    request.event_report->merges = merges;
  }
  return Status::Ok();
}

}  // namespace tailor
