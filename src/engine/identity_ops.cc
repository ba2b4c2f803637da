// Identity operations on a staged write: the rules of identity/resolution.h carried out (merging
// moves a profile's events, traits and ids), explicit merges, deleting a profile.

#include <algorithm>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/engine_impl.h"
#include "identity/resolution.h"
#include "store/records.h"
#include "tailor/engine.h"

namespace tailor {

ProfileId Engine::Impl::FinalOwner(const WriteContext& context, ProfileId id) {
  for (auto it = context.profiles.find(id);
       it != context.profiles.end() && it->second.merged_into != kNoProfile;
       it = context.profiles.find(id)) {
    id = it->second.merged_into;
  }
  return id;
}

Status Engine::Impl::MergeInto(WriteContext& context, Staged& into, Staged& from) {
  TAILOR_ASSIGN_OR_RETURN(store::ProfileRecord * into_record, Record(into));
  TAILOR_ASSIGN_OR_RETURN(store::ProfileRecord * from_record, Record(from));
  TAILOR_RETURN_IF_ERROR(LoadState(from));
  if (from.state.next_event_block > 0) {
    std::vector<store::StoredEvent> moved;
    Status decode_status;
    TAILOR_RETURN_IF_ERROR(store->Scan(store::Table::kEvents, store::EventRangeBegin(from.id),
                                       store::EventRangeBegin(from.id + 1),
                                       [&](std::string_view, std::string_view value) {
                                         auto events = store::DecodeEventBlock(value);
                                         if (!events.ok()) {
                                           decode_status = events.status();
                                           return false;
                                         }
                                         for (auto& event : *events)
                                           moved.push_back(std::move(event));
                                         return true;
                                       }));
    TAILOR_RETURN_IF_ERROR(decode_status);
    context.batch.DeleteRange(store::Table::kEvents, store::EventRangeBegin(from.id),
                              store::EventRangeBegin(from.id + 1));
    // Events are re-added to `into` when its pending events are applied; take them out of the
    // global count now.
    context.counters.events -= moved.size();
    for (auto& stored : moved) {
      const EventInput* event = &context.owned_events.emplace_back(std::move(stored.event));
      into.pending.push_back({stored.id_hash, event, /*from_store=*/true});
    }
  }
  // Events of this batch that were routed to `from` go to `into` instead.
  into.pending.insert(into.pending.end(), from.pending.begin(), from.pending.end());
  from.pending.clear();
  // Trait by trait, the value set later wins (an anonymous visitor's answer given after the
  // known profile's older one replaces it).
  for (size_t i = 0; i < from_record->traits.size(); ++i) {
    auto& [slot, value] = from_record->traits[i];
    // Each value keeps its source: an inferred one never replaces a declared one, a declared
    // one replaces an inferred one, else the later value wins.
    into_record->SetTrait(slot, std::move(value), from_record->trait_times[i],
                          from_record->SourceOf(slot));
  }
  std::vector<std::string> moved_ids = std::move(from_record->aliases);
  moved_ids.push_back(from_record->anonymous ? store::AnonymousIdKey(from_record->external_id)
                                             : store::KnownIdKey(from_record->external_id));
  for (std::string& key : moved_ids) {
    ids->Link(context.batch, key, into.id);
    into_record->aliases.push_back(std::move(key));
  }
  into_record->updated_at = Now(clock);
  into.record_dirty = true;
  from.deleted = true;
  from.merged_into = into.id;
  (from_record->anonymous ? context.counters.anonymous_profiles : context.counters.profiles)--;
  return Status::Ok();
}

// The engine's staged write as identity resolution sees it (identity/resolution.h).
class Engine::Impl::StagedDirectory final : public identity::Directory {
 public:
  StagedDirectory(Engine::Impl& impl, Engine::Impl::WriteContext& context)
      : impl_(impl), context_(context) {}

  Result<ProfileId> FindKnown(std::string_view profile_id) override {
    return impl_.ids->Lookup(store::KnownIdKey(profile_id));
  }
  Result<ProfileId> FindAnonymous(std::string_view anonymous_id) override {
    return impl_.ids->Lookup(store::AnonymousIdKey(anonymous_id));
  }
  Result<ProfileId> Create(std::string_view id, bool anonymous) override {
    return impl_.CreateProfile(context_, id, anonymous).id;
  }
  Result<bool> IsAnonymous(ProfileId profile) override {
    TAILOR_ASSIGN_OR_RETURN(store::ProfileRecord * record,
                            impl_.Record(*impl_.LoadProfile(context_, profile)));
    return record->anonymous;
  }
  Status AddAlias(ProfileId known, std::string_view anonymous_id) override {
    Engine::Impl::Staged& staged = *impl_.LoadProfile(context_, known);
    TAILOR_ASSIGN_OR_RETURN(store::ProfileRecord * record, impl_.Record(staged));
    std::string key = store::AnonymousIdKey(anonymous_id);
    impl_.ids->Link(context_.batch, key, known);
    record->aliases.push_back(std::move(key));
    staged.record_dirty = true;
    return Status::Ok();
  }
  Status Merge(ProfileId into, ProfileId from) override {
    return impl_.MergeInto(context_, *impl_.LoadProfile(context_, into),
                           *impl_.LoadProfile(context_, from));
  }

 private:
  Engine::Impl& impl_;
  Engine::Impl::WriteContext& context_;
};

Result<Engine::Impl::Staged*> Engine::Impl::KnownProfile(WriteContext& context,
                                                         std::string_view external_id) {
  StagedDirectory directory(*this, context);
  TAILOR_ASSIGN_OR_RETURN(ProfileId id, identity::Known(directory, external_id));
  return LoadProfile(context, id);
}

Result<Engine::Impl::Staged*> Engine::Impl::VisitorProfile(WriteContext& context,
                                                           std::string_view anonymous_id) {
  StagedDirectory directory(*this, context);
  TAILOR_ASSIGN_OR_RETURN(ProfileId id, identity::Visitor(directory, anonymous_id));
  return LoadProfile(context, id);
}

Result<Engine::Impl::Staged*> Engine::Impl::ResolveOwner(WriteContext& context,
                                                         const EventInput& event) {
  StagedDirectory directory(*this, context);
  TAILOR_ASSIGN_OR_RETURN(ProfileId id,
                          identity::Owner(directory, event.profile_id, event.anonymous_id));
  return LoadProfile(context, id);
}

Status Engine::Identify(std::string_view anonymous_id, std::string_view profile_id, bool* merged) {
  if (anonymous_id.empty() || profile_id.empty()) {
    return InvalidArgument("identify needs both an anonymous id and a profile id");
  }
  std::lock_guard lock(impl_->writer);
  auto context = impl_->Begin();
  Impl::StagedDirectory directory(*impl_, context);
  auto known = identity::Known(directory, profile_id);
  if (!known.ok()) return impl_->Abort(context, known.status());
  Result<bool> linked = identity::Link(directory, *known, anonymous_id);
  if (!linked.ok()) return impl_->Abort(context, linked.status());
  TAILOR_RETURN_IF_ERROR(impl_->Commit(context));
  if (merged != nullptr) *merged = *linked;
  return Status::Ok();
}

Status Engine::MergeProfiles(std::string_view into, std::string_view from) {
  std::lock_guard lock(impl_->writer);
  auto context = impl_->Begin();
  auto into_id = impl_->ids->Lookup(store::KnownIdKey(into));
  auto from_id = impl_->ids->Lookup(store::KnownIdKey(from));
  if (!into_id.ok()) return into_id.status();
  if (!from_id.ok()) return from_id.status();
  if (*into_id == kNoProfile) return NotFound("no profile '{}'", into);
  if (*from_id == kNoProfile) return NotFound("no profile '{}'", from);
  if (*into_id == *from_id) return Status::Ok();  // already one profile
  Impl::Staged* into_staged = impl_->LoadProfile(context, *into_id);
  Impl::Staged* from_staged = impl_->LoadProfile(context, *from_id);
  Status status = impl_->MergeInto(context, *into_staged, *from_staged);
  if (!status.ok()) return impl_->Abort(context, status);
  return impl_->Commit(context);
}

Status Engine::DeleteProfile(std::string_view external_id) {
  std::lock_guard lock(impl_->writer);
  auto context = impl_->Begin();
  auto id = impl_->ids->Lookup(store::KnownIdKey(external_id));
  if (!id.ok()) return id.status();
  if (*id == kNoProfile) {
    id = impl_->ids->Lookup(store::AnonymousIdKey(external_id));
    if (!id.ok()) return id.status();
  }
  if (*id == kNoProfile) return NotFound("no profile '{}'", external_id);
  Impl::Staged& profile = *impl_->LoadProfile(context, *id);
  auto record = impl_->Record(profile);
  if (!record.ok()) return impl_->Abort(context, record.status());
  Status loaded = impl_->LoadState(profile);
  if (!loaded.ok()) return impl_->Abort(context, loaded);
  context.batch.DeleteRange(store::Table::kEvents, store::EventRangeBegin(*id),
                            store::EventRangeBegin(*id + 1));
  impl_->ids->Unlink(context.batch, (*record)->anonymous
                                        ? store::AnonymousIdKey((*record)->external_id)
                                        : store::KnownIdKey((*record)->external_id));
  for (const std::string& alias : (*record)->aliases) impl_->ids->Unlink(context.batch, alias);
  context.counters.events -= profile.state.behaviour.event_count;
  ((*record)->anonymous ? context.counters.anonymous_profiles : context.counters.profiles)--;
  profile.deleted = true;
  return impl_->Commit(context);
}

}  // namespace tailor
