#include "tailor/engine.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "common/coding.h"
#include "common/value_coding.h"
#include "identity/identity.h"
#include "store/records.h"

namespace tailor {
namespace {

constexpr std::string_view kSchemaKey = "schema";
constexpr std::string_view kCountersKey = "counters";
// Profiles per parallel task when applying a batch: enough to amortize scheduling.
constexpr size_t kApplyGrain = 32;
// Limits on what one event or profile may carry; larger input is refused, not truncated.
constexpr size_t kMaxIdBytes = 512;
constexpr size_t kMaxFieldBytes = 8192;
constexpr size_t kMaxProperties = 256;
// Events must lie between 1970 and 2200: anything else is a unit mistake (seconds vs ms).
constexpr Timestamp kMinEventTime = 0;
constexpr Timestamp kMaxEventTime = 7'258'118'400'000;

struct Counters {
  uint64_t profiles = 0, anonymous_profiles = 0, events = 0, items = 0;
  ProfileId next_profile_id = 0;

  std::string Encode() const {
    std::string out;
    coding::PutVarint64(out, profiles);
    coding::PutVarint64(out, anonymous_profiles);
    coding::PutVarint64(out, events);
    coding::PutVarint64(out, items);
    coding::PutVarint64(out, next_profile_id);
    return out;
  }
  bool Decode(std::string_view bytes) {
    coding::Reader reader(bytes);
    uint64_t next = 0;
    const bool ok = reader.GetVarint64(profiles) && reader.GetVarint64(anonymous_profiles) &&
                    reader.GetVarint64(events) && reader.GetVarint64(items) &&
                    reader.GetVarint64(next);
    next_profile_id = static_cast<ProfileId>(next);
    return ok;
  }
};

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

}  // namespace

std::string EventProblem(const EventInput& event) { return CheckEvent(event); }

namespace {

// Event id hashes of one profile: a short vector while small (most profiles), a hash set beyond.
class IdSet {
 public:
  // Returns false when `id` was there already.
  bool Insert(uint64_t id) {
    if (large_.empty()) {
      if (std::find(small_.begin(), small_.end(), id) != small_.end()) return false;
      if (small_.size() < kSmallLimit) {
        small_.push_back(id);
        return true;
      }
      large_.insert(small_.begin(), small_.end());
      small_.clear();
    }
    return large_.insert(id).second;
  }

 private:
  static constexpr size_t kSmallLimit = 48;
  std::vector<uint64_t> small_;
  std::unordered_set<uint64_t> large_;
};

// A profile record as readers see it: trait names from the schema (no behaviour, no events).
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
  return view;
}

// Blocks are sorted inside; a stable sort merges them and keeps arrival order on ties. Most
// histories are already in order (one block, or blocks written as time went on), and sorting
// events (strings and all) is costly: check first.
void SortByTime(std::vector<StoredEventView>::iterator begin,
                std::vector<StoredEventView>::iterator end) {
  const auto by_time = [](const auto& a, const auto& b) { return a.time < b.time; };
  if (!std::is_sorted(begin, end, by_time)) std::stable_sort(begin, end, by_time);
}

}  // namespace

struct Engine::Impl {
  std::unique_ptr<store::Store> store;
  Clock clock;                // record and trait times (EngineOptions::clock)
  mutable std::mutex writer;  // serializes every write and guards the members below
  Schema schema;              // guarded by `writer`
  // A copy of `schema` as last committed, for readers: they share it without the writer lock.
  mutable std::mutex published_mutex;
  std::shared_ptr<const Schema> published = std::make_shared<const Schema>();
  void PublishSchema() {
    auto copy = std::make_shared<const Schema>(schema);
    std::lock_guard lock(published_mutex);
    published = std::move(copy);
  }
  std::shared_ptr<const Schema> PublishedSchema() const {
    std::lock_guard lock(published_mutex);
    return published;
  }
  Counters counters;
  std::unique_ptr<identity::IdMap> ids;
  bool bulk_load = false;
  // Profiles created since Open have ids from first_session_id on; the bit says whether their
  // state was ever written. A profile without it has no state to read: skipping that Get is most
  // of what a bulk load of fresh profiles would otherwise spend looking up absent keys.
  ProfileId first_session_id = 0;
  std::vector<bool> session_state_written;
  std::optional<store::Batch> spare_batch;
  std::vector<std::pair<uint64_t, CommitObserver>> observers;  // guarded by `writer`
  std::atomic<const ResidentRecords*> resident{nullptr};
  // The resident copy of `id`'s record and state, if any.
  bool FindResident(ProfileId id, StoredProfile& out) const {
    const ResidentRecords* records = resident.load();
    return records != nullptr && records->Find(id, out);
  }
  uint64_t next_observer = 1;

  // Everything one write batch does to one profile, staged in memory until it commits.
  struct Staged {
    ProfileId id = kNoProfile;
    // The profile record (ids, traits): read only when a change needs it, since ingesting
    // events does not.
    std::optional<store::ProfileRecord> record;
    bool record_dirty = false;
    // Behavioural state, read when first needed (for most profiles in ApplyPending, in parallel).
    state::ProfileState state;
    bool state_loaded = false;
    bool state_dirty = false;
    // Events routed here by this batch, not yet checked for duplicates. They point into the
    // caller's input or into owned_events; `from_store` marks events moved by a merge.
    struct Pending {
      uint64_t id_hash;
      const EventInput* event;
      bool from_store;
    };
    std::vector<Pending> pending;
    // Events this batch stores, sorted by time before encoding.
    std::vector<std::pair<uint64_t, const EventInput*>> new_events;
    IdSet known_ids;                   // loaded lazily: existing + new event id hashes
    std::vector<uint64_t> stored_ids;  // the stored ones, when loaded (reused by a filter rebuild)
    bool ids_loaded = false;
    bool deleted = false;
    bool created = false;
    ProfileId merged_into = kNoProfile;  // set when this batch merged the profile away
    // Filled by ApplyPending: what Commit writes.
    std::string encoded_block, encoded_state, encoded_record;
    uint64_t accepted = 0, duplicates = 0, stored_events_added = 0;
    std::vector<const EventInput*> duplicate_inputs;  // the caller's events among `duplicates`
  };
  struct WriteContext {
    store::Batch batch;
    std::unordered_map<ProfileId, Staged> profiles;
    std::deque<EventInput> owned_events;  // events read back from the store (merges)
    Counters counters;
    bool schema_changed = false;
    // Totals over the caller's events, known after ApplyPending.
    uint64_t accepted = 0, duplicates = 0;
    std::vector<const EventInput*> duplicate_inputs;
  };

  // Where `id` ended up after the merges of this batch.
  static ProfileId FinalOwner(const WriteContext& context, ProfileId id) {
    for (auto it = context.profiles.find(id);
         it != context.profiles.end() && it->second.merged_into != kNoProfile;
         it = context.profiles.find(id)) {
      id = it->second.merged_into;
    }
    return id;
  }

  // The staged profile `id`; the id must exist (it came from the id map). Nothing is read yet.
  Staged* LoadProfile(WriteContext& context, ProfileId id) {
    auto [it, inserted] = context.profiles.try_emplace(id);
    if (inserted) it->second.id = id;
    return &it->second;
  }

  // Reads the profile's behavioural state if not read yet. Thread-safe for distinct profiles.
  Status LoadState(Staged& staged) const {
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

  Result<store::ProfileRecord*> Record(Staged& staged) {
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

  Staged& CreateProfile(WriteContext& context, std::string_view external_id, bool anonymous) {
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

  // The known profile `external_id`, created when new.
  Result<Staged*> KnownProfile(WriteContext& context, std::string_view external_id) {
    TAILOR_ASSIGN_OR_RETURN(ProfileId id, ids->Lookup(store::KnownIdKey(external_id)));
    if (id == kNoProfile) return &CreateProfile(context, external_id, /*anonymous=*/false);
    return LoadProfile(context, id);
  }

  // The id hashes of every stored event of the profile (a scan of its blocks' headers).
  Status StoredEventIds(const Staged& staged, std::vector<uint64_t>& hashes) const {
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

  // Puts the stored ids into known_ids, once per batch: only when the id filter cannot tell.
  Status LoadEventIds(Staged& staged) const {
    if (staged.ids_loaded) return Status::Ok();
    staged.ids_loaded = true;
    TAILOR_RETURN_IF_ERROR(StoredEventIds(staged, staged.stored_ids));
    for (uint64_t hash : staged.stored_ids) staged.known_ids.Insert(hash);
    return Status::Ok();
  }

  // Adds the batch's new ids to the profile's id filter, rebuilding it from every id when it is
  // full or was written before filters existed (the state is migrated on its first write).
  Status UpdateEventIdFilter(Staged& staged) const {
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

  // Checks the pending events of one profile against the ids it has, folds the new ones into
  // its state and encodes what Commit writes. Touches only `staged` and the store (reads), so
  // distinct profiles run in parallel.
  Status ApplyPending(Staged& staged) const {
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

  // Moves everything of `from` into `into`; `from` is deleted.
  Status MergeInto(WriteContext& context, Staged& into, Staged& from) {
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
      into_record->SetTrait(slot, std::move(value), from_record->trait_times[i]);
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

  // Links anonymous_id to `known`, merging an anonymous profile that holds its history.
  Status Link(WriteContext& context, Staged& known, std::string_view anonymous_id) {
    const std::string key = store::AnonymousIdKey(anonymous_id);
    TAILOR_ASSIGN_OR_RETURN(ProfileId current, ids->Lookup(key));
    if (current == known.id) return Status::Ok();
    if (current == kNoProfile) {
      TAILOR_ASSIGN_OR_RETURN(store::ProfileRecord * record, Record(known));
      ids->Link(context.batch, key, known.id);
      record->aliases.push_back(key);
      known.record_dirty = true;
      return Status::Ok();
    }
    Staged* holder = LoadProfile(context, current);
    TAILOR_ASSIGN_OR_RETURN(store::ProfileRecord * holder_record, Record(*holder));
    if (!holder_record->anonymous) return Status::Ok();  // first link wins
    return MergeInto(context, known, *holder);
  }

  // The profile an anonymous id resolves to: the known profile it is linked to, else the
  // visitor's own anonymous profile (created when new).
  Result<Staged*> VisitorProfile(WriteContext& context, std::string_view anonymous_id) {
    TAILOR_ASSIGN_OR_RETURN(ProfileId id, ids->Lookup(store::AnonymousIdKey(anonymous_id)));
    if (id == kNoProfile) return &CreateProfile(context, anonymous_id, /*anonymous=*/true);
    return LoadProfile(context, id);
  }

  Result<Staged*> ResolveOwner(WriteContext& context, const EventInput& event) {
    if (!event.profile_id.empty()) {
      TAILOR_ASSIGN_OR_RETURN(Staged * owner, KnownProfile(context, event.profile_id));
      if (!event.anonymous_id.empty()) {
        TAILOR_RETURN_IF_ERROR(Link(context, *owner, event.anonymous_id));
      }
      return owner;
    }
    return VisitorProfile(context, event.anonymous_id);
  }

  // Stages profile upserts into `context` (UpsertProfiles). A call that adds a trait to the
  // schema first copies it into `schema_before`, to roll back if the commit fails. On an error
  // the caller aborts the context.
  Status StageProfiles(WriteContext& context, std::span<ProfileInput> profiles, bool move_values,
                       BatchReport& report, std::vector<ProfileId>& owners,
                       std::optional<Schema>& schema_before) {
    std::vector<std::pair<uint32_t, TypedValue*>> slots;  // the row's traits, checked
    // Rows of one file name the same traits in the same order: the previous row's names and slots
    // answer most lookups with one string compare instead of a hash lookup.
    std::vector<std::pair<std::string_view, uint32_t>> previous_names;
    for (size_t i = 0; i < profiles.size(); ++i) {
      ProfileInput& input = profiles[i];
      if (input.external_id.empty() || input.external_id.size() > kMaxIdBytes) {
        report.rejected.push_back(
            {i, input.external_id.empty()
                    ? "the profile id is missing"
                    : fmt::format("ids are limited to {} bytes", kMaxIdBytes)});
        continue;
      }
      // Check every trait before changing anything, so a bad row changes nothing.
      std::string problem;
      slots.clear();
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
        if (!IsMissing(value)) slots.emplace_back(trait->slot, &value);
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
        (*record)->SetTrait(slot, move_values ? std::move(*value) : *value, set_at);
      }
      (*record)->updated_at = now;
      (*staged)->record_dirty = true;
      owners[i] = (*staged)->id;
      ++report.accepted;
    }
    return Status::Ok();
  }

  // Stages events into `context` (IngestEvents): owners resolved, events pending on them.
  Status StageEvents(WriteContext& context, std::span<const EventInput> events, BatchReport& report,
                     std::vector<ProfileId>& owners) {
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

  // After the commit: what became of each event of `events` (one request of the write; the
  // duplicates are told apart by address).
  static void ReportEvents(const WriteContext& context, std::span<const EventInput> events,
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

  WriteContext Begin(size_t expected_profiles = 0) {
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

  // Keeps the batch's buffer for the next write: a bulk import would otherwise grow a fresh
  // multi-megabyte buffer by doubling for every batch.
  void Recycle(WriteContext& context) {
    context.batch.Clear();
    spare_batch = std::move(context.batch);
  }

  // Applies the pending events of every staged profile (in parallel: this is most of the work
  // of an ingest), writes everything into the batch and commits it.
  Status Commit(WriteContext& context) {
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
      context.duplicate_inputs.insert(context.duplicate_inputs.end(),
                                      staged.duplicate_inputs.begin(),
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

  // Tells the observer what the commit changed, profile by profile.
  void Report(const WriteContext& context) const {
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

  Status Abort(WriteContext&, Status status) {
    ids->Abort();
    return status;
  }
};

Engine::Engine() : impl_(std::make_unique<Impl>()) {}
Engine::~Engine() = default;

store::Store& Engine::store() { return *impl_->store; }

Result<std::unique_ptr<Engine>> Engine::Open(const std::string& data_dir,
                                             const EngineOptions& options) {
  std::unique_ptr<Engine> engine(new Engine());
  store::StoreOptions store_options = options.store;
  if (options.bulk_load) store_options.write_ahead_log = false;
  TAILOR_ASSIGN_OR_RETURN(engine->impl_->store, store::Store::Open(data_dir, store_options));
  engine->impl_->bulk_load = options.bulk_load;
  engine->impl_->clock = options.clock;
  std::string bytes;
  Status status = engine->impl_->store->Get(store::Table::kMeta, kSchemaKey, bytes);
  if (status.ok()) {
    TAILOR_ASSIGN_OR_RETURN(engine->impl_->schema, Schema::Decode(bytes));
    engine->impl_->PublishSchema();
  } else if (status.code() != StatusCode::kNotFound) {
    return status;
  }
  status = engine->impl_->store->Get(store::Table::kMeta, kCountersKey, bytes);
  if (status.ok()) {
    if (!engine->impl_->counters.Decode(bytes)) return Corruption("store counters are malformed");
  } else if (status.code() != StatusCode::kNotFound) {
    return status;
  }
  engine->impl_->ids = std::make_unique<identity::IdMap>(*engine->impl_->store,
                                                         engine->impl_->counters.next_profile_id);
  engine->impl_->first_session_id = engine->impl_->counters.next_profile_id;
  return engine;
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

Status Engine::UpsertItems(std::span<const ItemInput> items, BatchReport& report) {
  std::lock_guard lock(impl_->writer);
  auto context = impl_->Begin();
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    const ItemInput& input = items[i];
    if (input.id.empty() || input.id.size() > kMaxIdBytes) {
      report.rejected.push_back(
          {i, input.id.empty() ? "the item id is missing" : "item id too long"});
      continue;
    }
    std::string existing;
    Status found = impl_->store->Get(store::Table::kItems, input.id, existing);
    if (found.code() == StatusCode::kNotFound && seen.insert(input.id).second) {
      context.counters.items++;
    } else if (!found.ok() && found.code() != StatusCode::kNotFound) {
      return impl_->Abort(context, found);
    }
    store::ItemRecord record{input.id, input.name, input.category, input.price, input.attributes};
    context.batch.Put(store::Table::kItems, input.id, store::EncodeItem(record));
    ++report.accepted;
  }
  return impl_->Commit(context);
}

Status Engine::Identify(std::string_view anonymous_id, std::string_view profile_id, bool* merged) {
  if (anonymous_id.empty() || profile_id.empty()) {
    return InvalidArgument("identify needs both an anonymous id and a profile id");
  }
  std::lock_guard lock(impl_->writer);
  auto context = impl_->Begin();
  auto known = impl_->KnownProfile(context, profile_id);
  if (!known.ok()) return impl_->Abort(context, known.status());
  Status status = impl_->Link(context, **known, anonymous_id);
  if (!status.ok()) return impl_->Abort(context, status);
  const bool merged_one = std::any_of(context.profiles.begin(), context.profiles.end(),
                                      [](const auto& entry) { return entry.second.deleted; });
  TAILOR_RETURN_IF_ERROR(impl_->Commit(context));
  if (merged != nullptr) *merged = merged_one;
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

uint64_t Engine::AddCommitObserver(CommitObserver observer) {
  std::lock_guard lock(impl_->writer);
  const uint64_t handle = impl_->next_observer++;
  impl_->observers.emplace_back(handle, std::move(observer));
  return handle;
}

void Engine::RemoveCommitObserver(uint64_t handle) {
  std::lock_guard lock(impl_->writer);
  std::erase_if(impl_->observers, [handle](const auto& entry) { return entry.first == handle; });
}

void Engine::SetResidentRecords(const ResidentRecords* records) { impl_->resident = records; }

ProfileId Engine::profile_id_limit() const {
  std::lock_guard lock(impl_->writer);
  return impl_->counters.next_profile_id;
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

Schema Engine::schema() const { return *impl_->PublishedSchema(); }

std::shared_ptr<const Schema> Engine::shared_schema() const { return impl_->PublishedSchema(); }

Status Engine::DeclareTraits(const std::vector<TraitDef>& traits) {
  std::lock_guard lock(impl_->writer);
  const Schema before = impl_->schema;
  bool changed = false;
  for (const TraitDef& trait : traits) {
    if (impl_->schema.Find(trait.name) != nullptr) continue;
    auto added = impl_->schema.Add(trait.name, trait.type, trait.category);
    if (!added.ok()) {
      impl_->schema = before;
      return added.status();
    }
    changed = true;
  }
  if (!changed) return Status::Ok();
  store::Batch batch = impl_->store->NewBatch();
  batch.Put(store::Table::kMeta, kSchemaKey, impl_->schema.Encode());
  Status status = impl_->store->Commit(batch);
  if (!status.ok()) {
    impl_->schema = before;
    return status;
  }
  impl_->PublishSchema();
  return status;
}

Status Engine::SetTraitCategory(std::string_view name, TraitCategory category) {
  std::lock_guard lock(impl_->writer);
  const Schema before = impl_->schema;
  TAILOR_RETURN_IF_ERROR(impl_->schema.SetCategory(name, category));
  store::Batch batch = impl_->store->NewBatch();
  batch.Put(store::Table::kMeta, kSchemaKey, impl_->schema.Encode());
  Status status = impl_->store->Commit(batch);
  if (!status.ok()) {
    impl_->schema = before;
    return status;
  }
  impl_->PublishSchema();
  return status;
}

Result<std::unique_ptr<snapshot::Snapshot>> Engine::BuildSnapshot(
    const snapshot::SnapshotOptions& options) const {
  Schema schema_now;
  ProfileId profile_count = 0;
  snapshot::SnapshotOptions sized = options;
  {
    std::lock_guard lock(impl_->writer);
    schema_now = impl_->schema;
    profile_count = impl_->counters.next_profile_id;
    if (sized.expected_events == 0) sized.expected_events = impl_->counters.events;
  }
  return snapshot::Build(*impl_->store, schema_now, profile_count, sized);
}

EngineStats Engine::Stats() const {
  EngineStats stats;
  {
    std::lock_guard lock(impl_->writer);
    stats.profiles = impl_->counters.profiles;
    stats.anonymous_profiles = impl_->counters.anonymous_profiles;
    stats.events = impl_->counters.events;
    stats.items = impl_->counters.items;
  }
  for (int i = 0; i < store::kTableCount; ++i) {
    const auto table = static_cast<store::Table>(i);
    const store::TableSize size = impl_->store->Size(table);
    stats.bytes_on_disk += size.live_bytes_on_disk;
    stats.memtable_bytes += size.memtable_bytes;
    stats.tables.emplace_back(std::string(i == 0 ? "meta" : store::TableName(table)), size);
  }
  stats.bytes_on_disk += impl_->store->WalBytes();
  return stats;
}

Status Engine::Flush() { return impl_->store->Flush(); }

Status Engine::Compact() { return impl_->store->CompactAll(); }

bool Engine::durable_on_commit() const { return !impl_->bulk_load; }

}  // namespace tailor
