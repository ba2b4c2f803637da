#pragma once

// The working set: profiles resident in memory, the one owner of per-profile live state. The
// live path (collection's enrichment, membership re-decisions, profile reads) asks it instead of
// the store. It is kept exact by the engine's commit observer: after every commit a resident
// profile takes the commit's rewritten record, behaviour and new event block (the same bytes the
// store holds), a profile the commit created becomes resident without a read, and a deleted or
// merged-away one leaves. A miss loads the profile from the store once.
//
// Memory is bounded by a budget: profiles are kept in shards by id, each with its share of the
// budget, and evicted by the clock (second chance) policy, so profiles read again since the hand
// last passed stay. Events are kept as the store's encoded blocks (tens of bytes per event) and
// decoded when read.
//
// Later modules (signals, intent, decisions shown, contact caps) keep their own per-profile state
// here as an Extension in a slot they register once: it lives and is evicted with the profile
// (counted in its bytes) and is dropped when the profile is removed; the module rebuilds it from
// the profile when it finds the slot empty. Nothing in the write path changes for them.
//
// Thread-safety: every method may be called from any thread. Readers get an immutable handle;
// a commit changing a profile someone still holds copies it first (copy on write).

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/engine.h"
#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::working_set {

// Per-profile state of a later module, kept in the working set.
class Extension {
 public:
  virtual ~Extension() = default;
  // A copy, for copy on write.
  virtual std::unique_ptr<Extension> Clone() const = 0;
  // Heap bytes it holds, counted against the budget.
  virtual size_t bytes() const = 0;
};

struct ResidentProfile {
  // Traits, ids, times and behaviour as Engine::GetProfile returns them (latest_events empty).
  ProfileView view;
  // The stored event blocks, in block order.
  std::vector<std::string> event_blocks;
  // The record and state as stored, handed back to the engine's writes (ResidentRecords).
  StoredProfile stored;
  // By slot (WorkingSet::RegisterExtension); null until the module sets it.
  std::vector<std::unique_ptr<Extension>> extensions;
  size_t bytes = 0;  // what the profile costs the budget

  // Every event in time order, ties in arrival order (Engine::Events).
  Result<std::vector<StoredEventView>> Events() const { return DecodeEventBlocks(event_blocks); }
  // The same into the front of `pool`, reusing its storage, only the types `keep` accepts when
  // it is set (DecodeEventBlocks).
  Result<std::span<const StoredEventView>> Events(
      std::vector<StoredEventView>& pool,
      const std::function<bool(std::string_view type)>& keep = {}) const {
    return DecodeEventBlocks(event_blocks, pool, keep);
  }
  const Extension* extension(size_t slot) const {
    return slot < extensions.size() ? extensions[slot].get() : nullptr;
  }
};

using ProfileHandle = std::shared_ptr<const ResidentProfile>;

struct Options {
  size_t budget_bytes = 0;  // 0: DefaultBudget()
  size_t shards = 64;
};

// A quarter of the machine's physical memory.
size_t DefaultBudget();

struct Stats {
  uint64_t resident = 0;  // profiles in memory
  uint64_t bytes = 0;     // what they cost
  uint64_t budget = 0;
  uint64_t hits = 0;    // reads answered from memory
  uint64_t misses = 0;  // reads that loaded the profile from the store
  uint64_t evictions = 0;
  uint64_t created = 0;  // profiles made resident by the commit that created them
};

class WorkingSet : public ResidentRecords {
 public:
  // Observes `engine`'s commits until destroyed, and answers its writes' reads of records and
  // states it holds; the engine must outlive it.
  WorkingSet(Engine& engine, Options options = {});
  ~WorkingSet() override;
  WorkingSet(const WorkingSet&) = delete;
  WorkingSet& operator=(const WorkingSet&) = delete;

  // Whether a profile loaded on a miss is kept. A one-off read (a random profile looked up once)
  // would only push out a profile that is used: reads from outside the write path keep a profile
  // on its second miss within a while (a small per-shard memory of recent misses).
  enum class Admit { kAlways, kOnSecondMiss };
  // The profile, loaded from the store on a miss; kNotFound once deleted or merged away.
  Result<ProfileHandle> Get(ProfileId id, Admit admit = Admit::kAlways);
  // By external id, anonymous id or merged-away id (resolved through the store's id table, and
  // remembered: an id read again finds its profile without the store, once the profile it names
  // is checked to still carry it).
  Result<ProfileHandle> Get(std::string_view id, Admit admit = Admit::kAlways);
  // The resident copy only, never loading (null when not resident).
  ProfileHandle Peek(ProfileId id) const;

  // A slot for a module's per-profile state; call once, at start-up.
  size_t RegisterExtension();
  // Sets the slot's state of a resident profile (loading it on a miss); no effect once the
  // profile is gone.
  Status SetExtension(ProfileId id, size_t slot, std::unique_ptr<Extension> state);

  // Changes the slot's state of a resident profile in place: `update` gets the profile and the
  // slot (null when the module has set nothing) under the shard's lock and may replace or change
  // the slot (only); readers
  // holding the profile keep the state they have (copy on write), and the profile's bytes are
  // counted again. Returns false, calling nothing, when the profile is not resident: its state is
  // rebuilt when next needed.
  bool UpdateExtension(ProfileId id, size_t slot,
                       const std::function<void(const ResidentProfile& profile,
                                                std::unique_ptr<Extension>& state)>& update);

  // Drops one profile, or all (tests).
  void Evict(ProfileId id);
  void EvictAll();

  Stats stats() const;

  // ResidentRecords: the stored record and state of a resident profile (no load on a miss).
  bool Find(ProfileId id, StoredProfile& out) const override;

 private:
  struct Shard;
  Shard& ShardOf(ProfileId id) const;
  void OnCommit(std::span<const CommittedProfile> committed);
  Result<std::shared_ptr<ResidentProfile>> Load(ProfileId id);

  struct IdStripe;
  IdStripe& StripeOf(std::string_view id) const;

  Engine& engine_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::unique_ptr<IdStripe>> id_stripes_;  // ids resolved before, by their hash
  const size_t shard_budget_;                          // each shard's share of the budget
  std::atomic<size_t> extension_slots_{0};
  std::atomic<uint64_t> hits_{0}, misses_{0}, evictions_{0}, created_{0};
  uint64_t observer_ = 0;  // the engine's handle
};

}  // namespace tailor::working_set
