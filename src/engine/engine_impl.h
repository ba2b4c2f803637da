#pragma once

// Engine internals shared by its files: Engine::Impl and the helpers more than one file uses.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "identity/identity.h"
#include "store/records.h"
#include "tailor/engine.h"

namespace tailor {
namespace engine_internal {

// Keys of the meta table.
inline constexpr std::string_view kSchemaKey = "schema";
inline constexpr std::string_view kCountersKey = "counters";
// Limits on what one event or profile may carry; larger input is refused, not truncated. Ids
// (profile, anonymous, event and item ids) share this one; the rest are in event_checks.cc.
inline constexpr size_t kMaxIdBytes = 512;

// The store's global counters (meta table, kCountersKey).
struct Counters {
  uint64_t profiles = 0, anonymous_profiles = 0, events = 0, items = 0;
  ProfileId next_profile_id = 0;

  std::string Encode() const;
  bool Decode(std::string_view bytes);
};

// The hash an event is deduplicated by: of its id, else of everything it says.
uint64_t IdHash(const EventInput& event);
// What is wrong with `event` (empty: nothing); EventProblem in the public header says the same.
std::string CheckEvent(const EventInput& event);

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
ProfileView ViewOf(const store::ProfileRecord& record, const Schema& schema);

}  // namespace engine_internal

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
  engine_internal::Counters counters;
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
    engine_internal::IdSet known_ids;  // loaded lazily: existing + new event id hashes
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
    engine_internal::Counters counters;
    bool schema_changed = false;
    // Totals over the caller's events, known after ApplyPending.
    uint64_t accepted = 0, duplicates = 0;
    std::vector<const EventInput*> duplicate_inputs;
  };

  class StagedDirectory;  // identity_ops.cc: a write as identity resolution sees it

  // Defined in write_path.cc, except merging and resolving ids (FinalOwner, MergeInto,
  // KnownProfile, VisitorProfile, ResolveOwner: the rules of identity/resolution.h), in
  // identity_ops.cc.
  // Where `id` ended up after the merges of this batch.
  static ProfileId FinalOwner(const WriteContext& context, ProfileId id);

  // The staged profile `id`; the id must exist (it came from the id map). Nothing is read yet.
  Staged* LoadProfile(WriteContext& context, ProfileId id);

  // Reads the profile's behavioural state if not read yet. Thread-safe for distinct profiles.
  Status LoadState(Staged& staged) const;

  Result<store::ProfileRecord*> Record(Staged& staged);

  Staged& CreateProfile(WriteContext& context, std::string_view external_id, bool anonymous);

  // The known profile `external_id`, created when new.
  Result<Staged*> KnownProfile(WriteContext& context, std::string_view external_id);

  // The id hashes of every stored event of the profile (a scan of its blocks' headers).
  Status StoredEventIds(const Staged& staged, std::vector<uint64_t>& hashes) const;

  // Puts the stored ids into known_ids, once per batch: only when the id filter cannot tell.
  Status LoadEventIds(Staged& staged) const;

  // Adds the batch's new ids to the profile's id filter, rebuilding it from every id when it is
  // full or was written before filters existed (the state is migrated on its first write).
  Status UpdateEventIdFilter(Staged& staged) const;

  // Checks the pending events of one profile against the ids it has, folds the new ones into
  // its state and encodes what Commit writes. Touches only `staged` and the store (reads), so
  // distinct profiles run in parallel.
  Status ApplyPending(Staged& staged) const;

  // Moves everything of `from` into `into`; `from` is deleted.
  Status MergeInto(WriteContext& context, Staged& into, Staged& from);

  // identity::Visitor and identity::Owner on this write: the staged profile the ids resolve to.
  Result<Staged*> VisitorProfile(WriteContext& context, std::string_view anonymous_id);

  Result<Staged*> ResolveOwner(WriteContext& context, const EventInput& event);

  // Stages profile upserts into `context` (UpsertProfiles). A call that adds a trait to the
  // schema first copies it into `schema_before`, to roll back if the commit fails. On an error
  // the caller aborts the context.
  Status StageProfiles(WriteContext& context, std::span<ProfileInput> profiles, bool move_values,
                       BatchReport& report, std::vector<ProfileId>& owners,
                       std::optional<Schema>& schema_before);

  // Stages events into `context` (IngestEvents): owners resolved, events pending on them.
  Status StageEvents(WriteContext& context, std::span<const EventInput> events, BatchReport& report,
                     std::vector<ProfileId>& owners);

  // After the commit: what became of each event of `events` (one request of the write; the
  // duplicates are told apart by address).
  static void ReportEvents(const WriteContext& context, std::span<const EventInput> events,
                           std::vector<ProfileId> owners, BatchReport& report);

  WriteContext Begin(size_t expected_profiles = 0);

  // Keeps the batch's buffer for the next write: a bulk import would otherwise grow a fresh
  // multi-megabyte buffer by doubling for every batch.
  void Recycle(WriteContext& context);

  // Applies the pending events of every staged profile (in parallel: this is most of the work
  // of an ingest), writes everything into the batch and commits it.
  Status Commit(WriteContext& context);

  // Tells the observer what the commit changed, profile by profile.
  void Report(const WriteContext& context) const;

  Status Abort(WriteContext&, Status status);
};

}  // namespace tailor
