#pragma once

// The engine wires the modules together: it owns the store, the schema and the id map, and is
// the one entry point for front ends (CLI, server) and library users.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/clock.h"
#include "tailor/schema.h"
#include "tailor/snapshot.h"
#include "tailor/state.h"
#include "tailor/status.h"
#include "tailor/store.h"
#include "tailor/types.h"

namespace tailor {

struct EngineOptions {
  store::StoreOptions store;
  // Bulk load: writes skip the write-ahead log; Flush() makes them durable. Only for a process
  // that owns the store for a load it can re-run (the CLI import): an API write acknowledged
  // in this mode would not survive a crash until the next Flush.
  bool bulk_load = false;
  // Stamps record times (created, updated, when each trait was set); the system clock if unset.
  Clock clock;
  // Ids (external and anonymous) whose profile is cached in memory, about 64 bytes each; beyond
  // it the cache starts over and lookups read the store's ids table. The default holds every id
  // of a 10M-profile bulk load.
  size_t id_cache_entries = 16'000'000;
};

// Outcome of one batch: which inputs were stored, which were already there, which were refused.
struct BatchReport {
  uint64_t accepted = 0;
  uint64_t duplicates = 0;  // events whose id the profile already had (nothing written)
  std::vector<size_t> duplicate_indexes;  // IngestEvents: their positions in the call, ascending
  struct Rejection {
    size_t index;  // position in the batch
    std::string reason;
  };
  std::vector<Rejection> rejected;
  // UpsertProfiles / IngestEvents: the dense id each input of the call went to (after any merge
  // the call made), kNoProfile for rejected inputs. Callers re-deciding membership need no lookup.
  std::vector<ProfileId> owners;
  // Profiles this call merged (an event linking a visitor's anonymous id to a user): the
  // profile merged away, then the one that took in its history and traits.
  std::vector<std::pair<ProfileId, ProfileId>> merges;
};

// An event as stored: what arrived, without profile_id / anonymous_id (the owner says who).
using StoredEventView = EventInput;

struct ProfileView {
  ProfileId id = kNoProfile;
  std::string external_id;
  bool anonymous = false;
  TraitMap traits;  // by trait name, in schema order
  // The traits whose value the person declared (survey answers), and those tailor inferred
  // (analytics written back: RFM, clusters, scores), in schema order.
  std::vector<std::string> declared_traits, inferred_traits;
  std::vector<std::string> aliases;
  state::BehaviourState behaviour;
  Timestamp created_at = 0, updated_at = 0;
  uint64_t event_count = 0;
  std::vector<StoredEventView> latest_events;  // newest first
};

// What one commit did to one profile, as handed to the commit observer (Engine::SetCommitObserver).
// Pointers are valid during the call only.
struct CommittedProfile {
  ProfileId id = kNoProfile;
  // Created by this commit: `record`, `behaviour` and `event_block` are all it has.
  bool created = false;
  bool removed = false;  // deleted, or merged into another profile
  // The rewritten record (ids, traits, times; no behaviour or events), null when unchanged.
  const ProfileView* record = nullptr;
  const state::BehaviourState* behaviour = nullptr;  // when changed
  std::string_view event_block;  // the block of events this commit added ("" when none)
  // The stored bytes of the record and the state, as written (when rewritten; else empty).
  std::string_view stored_record, stored_state;
};

// A profile's record and state as the store holds them (encoded), for a cache that hands them
// back to the engine (ResidentRecords) instead of the engine reading them again.
struct StoredProfile {
  std::string record;
  std::string state;  // empty: the profile has no state yet (no event)
};

// Where the engine finds a profile's stored record and state without reading the store: the
// working set, which holds them as committed. Must answer exactly what the store holds, or false.
class ResidentRecords {
 public:
  virtual ~ResidentRecords() = default;
  virtual bool Find(ProfileId id, StoredProfile& out) const = 0;
};
// Called after every successful commit that touched profiles, under the engine's writer lock:
// observers see commits one at a time, in commit order, and must be quick.
using CommitObserver = std::function<void(std::span<const CommittedProfile>)>;

// The events of a profile's stored blocks (Engine::EventBlocks, CommittedProfile::event_block), in
// time order, ties in arrival order: what Engine::Events returns.
Result<std::vector<StoredEventView>> DecodeEventBlocks(std::span<const std::string> blocks);
// The same into the front of `pool`, reusing its events' storage (it grows, never shrinks):
// decoding history after history into one pool allocates little (the live path's re-decisions).
// The span is valid until the pool is used again. `keep`, if set: only events of the types it
// accepts (the others are skipped without a copy).
Result<std::span<const StoredEventView>> DecodeEventBlocks(
    std::span<const std::string> blocks, std::vector<StoredEventView>& pool,
    const std::function<bool(std::string_view type)>& keep = {});

struct EngineStats {
  uint64_t profiles = 0;            // known profiles
  uint64_t anonymous_profiles = 0;  // anonymous visitors not yet identified
  uint64_t events = 0;
  uint64_t items = 0;
  uint64_t bytes_on_disk = 0;  // SST files of every table + write-ahead log
  uint64_t memtable_bytes = 0;
  std::vector<std::pair<std::string, store::TableSize>> tables;
};

// Thread-safety: every method may be called from any thread. Writes are serialized by one
// writer lock; reads go straight to the store and see committed data.
// Why IngestEvents would refuse `event` (owner, type, time, sizes, amounts), "" when it would
// not: for callers that must take or refuse several events together (an order's lines).
std::string EventProblem(const EventInput& event);

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> Open(const std::string& data_dir,
                                              const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Each batch is committed atomically and is durable (per the sync policy) when the call
  // returns ok. Inputs that fail validation are listed in `report.rejected` and the rest are
  // stored; a non-ok Status means nothing of the batch was stored.
  Status UpsertProfiles(std::span<const ProfileInput> profiles, BatchReport& report);
  // The same, but moves trait values out of `profiles` instead of copying them (bulk import).
  Status UpsertProfilesMoving(std::span<ProfileInput> profiles, BatchReport& report);
  Status IngestEvents(std::span<const EventInput> events, BatchReport& report);
  // UpsertProfiles then IngestEvents as one atomic, durable commit (one sync): what a collected
  // request stores (its enrichment traits with its events).
  Status Write(std::span<const ProfileInput> profiles, std::span<const EventInput> events,
               BatchReport& profile_report, BatchReport& event_report);
  // Several writes in one atomic, durable commit (one sync), applied in order as if one after
  // the other: concurrent requests coalesced (Service::Write). Each request's reports tell its
  // own outcome; a non-ok Status means none of them was stored.
  struct WriteRequest {
    std::span<const ProfileInput> profiles;
    std::span<const EventInput> events;
    BatchReport* profile_report;
    BatchReport* event_report;
  };
  Status WriteGroup(std::span<const WriteRequest> requests);
  Status UpsertItems(std::span<const ItemInput> items, BatchReport& report);

  // Links `anonymous_id` to the known profile `profile_id` (created if new) and moves the
  // anonymous history into it. An anonymous id already linked to another known profile stays
  // with the first one (first link wins). `merged`, if given: whether a visitor's anonymous
  // profile was merged in (most identifies re-link an id already linked and merge nothing).
  Status Identify(std::string_view anonymous_id, std::string_view profile_id,
                  bool* merged = nullptr);
  // Moves everything of `from` into `into` (events, missing traits, aliases); `from` then
  // resolves to `into`. Both must be known profiles.
  Status MergeProfiles(std::string_view into, std::string_view from);
  // Right to be forgotten: removes the profile, its events and every id that pointed to it.
  Status DeleteProfile(std::string_view external_id);

  // Looks a profile up by external id (or an anonymous id / merged id that resolves to it).
  Result<ProfileView> GetProfile(std::string_view id, size_t latest_events = 10);
  // By dense id (kNotFound once deleted or merged away): no id lookup. `stored`, if given, gets
  // the record and state bytes read.
  Result<ProfileView> GetProfile(ProfileId id, size_t latest_events,
                                 StoredProfile* stored = nullptr);
  Result<ProfileId> Resolve(std::string_view id);
  // The external id of dense id `profile` (kNotFound if it was deleted or merged away).
  Result<std::string> ExternalId(ProfileId profile);
  // All events of a profile in time order.
  Result<std::vector<StoredEventView>> Events(ProfileId profile);
  // The same as stored: the profile's event blocks in block order (DecodeEventBlocks reads them).
  Result<std::vector<std::string>> EventBlocks(ProfileId profile);
  // Observers (the working set, the live snapshot) told what each commit changed, in the order
  // added; returns a handle for RemoveCommitObserver.
  uint64_t AddCommitObserver(CommitObserver observer);
  void RemoveCommitObserver(uint64_t handle);
  // Writes find records and states here before reading the store (null: none); it must outlive
  // the engine or be unset first.
  void SetResidentRecords(const ResidentRecords* records);
  // Dense ids in use are below this (the next id to be allocated).
  ProfileId profile_id_limit() const;
  // A catalogue item; kNotFound if absent.
  Result<ItemInput> GetItem(std::string_view item_id);
  // The whole catalogue, in item id order.
  Result<std::vector<ItemInput>> ListItems();

  // Schema: declare traits ahead of data, or change a category.
  Schema schema() const;
  // The same, shared: no copy (the hot read paths). Replaced, never changed, when traits are added.
  std::shared_ptr<const Schema> shared_schema() const;
  Status DeclareTraits(const std::vector<TraitDef>& traits);
  Status SetTraitCategory(std::string_view name, TraitCategory category);

  // A columnar copy of everything committed so far (profiles that exist when it starts; later
  // writes are not in it). Takes seconds for millions of profiles; writes go on meanwhile.
  Result<std::unique_ptr<snapshot::Snapshot>> BuildSnapshot(
      const snapshot::SnapshotOptions& options = {}) const;

  EngineStats Stats() const;
  // Memtables to disk and the log synced (e.g. at the end of a bulk import).
  Status Flush();
  // Rewrites every table into its final levels (after a bulk load, which leaves files in level
  // 0; otherwise the first open compacts them in the background). Takes a while.
  Status Compact();
  // True when commits are durable as they return; false in bulk-load mode (durable at Flush).
  bool durable_on_commit() const;
  store::Store& store();

 private:
  struct Impl;
  Engine();
  // UpsertProfiles, IngestEvents and Write: profiles staged first, then events, one commit.
  Status WriteImpl(std::span<const WriteRequest> requests, bool move_values);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tailor
