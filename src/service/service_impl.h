#pragma once

// Service internals shared by service.cc (writes, segments, timers) and collect_apply.cc.

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <tbb/enumerable_thread_specific.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <queue>
#include <shared_mutex>
#include <span>
#include <vector>

#include "service/live_signals.h"
#include "tailor/geo.h"
#include "tailor/population.h"
#include "tailor/profile_observer.h"
#include "tailor/service.h"
#include "tailor/snapshot.h"

namespace tailor {

// Window-edge timers: at most one pending time per profile (the earliest edge).
class Timers {
 public:
  void Schedule(ProfileId profile, Timestamp at) {
    scheduled_[profile] = at;
    heap_.push({at, profile});
  }
  void Cancel(ProfileId profile) { scheduled_.erase(profile); }
  void Reset(const std::vector<std::pair<ProfileId, Timestamp>>& timers) {
    scheduled_.clear();
    heap_ = {};
    for (const auto& [profile, at] : timers) Schedule(profile, at);
  }
  // Profiles whose timer is at or before `now`, each once; their timers are removed.
  std::vector<ProfileId> PopDue(Timestamp now) {
    std::vector<ProfileId> due;
    while (!heap_.empty() && heap_.top().first <= now) {
      const auto [at, profile] = heap_.top();
      heap_.pop();
      auto it = scheduled_.find(profile);
      if (it == scheduled_.end() || it->second != at) continue;  // superseded or cancelled
      scheduled_.erase(it);
      due.push_back(profile);
    }
    return due;
  }
  std::optional<Timestamp> Earliest() {
    while (!heap_.empty()) {
      auto it = scheduled_.find(heap_.top().second);
      if (it != scheduled_.end() && it->second == heap_.top().first) return heap_.top().first;
      heap_.pop();
    }
    return std::nullopt;
  }
  size_t size() const { return scheduled_.size(); }

 private:
  using Entry = std::pair<Timestamp, ProfileId>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
  absl::flat_hash_map<ProfileId, Timestamp> scheduled_;
};

struct Service::Impl {
  ServiceOptions options;
  // Writes (store + membership + feed) one at a time, so the feed follows the store's order.
  std::mutex write_mutex;
  // Guards `live` and `timers`: membership reads from many threads, updates from the writer.
  mutable std::shared_mutex live_mutex;
  std::unique_ptr<segments::LiveSegments> live;
  Timers timers;
  std::unique_ptr<working_set::WorkingSet> working_set;
  std::unique_ptr<surveys::SurveyStore> surveys;
  mutable std::mutex intent_mutex;
  std::shared_ptr<const intent::IntentRules> intent_rules;  // loaded on first use
  std::shared_ptr<const intent::IntentModel> intent_model;  // null: none trained
  bool intent_model_loaded = false;
  std::unique_ptr<snapshot::LiveSnapshot> live_snapshot;
  uint64_t snapshot_observer = 0;              // the engine's handle
  std::atomic<int64_t> last_population_ms{0};  // wall clock of the last Population call
  // Per thread: the decoded history of the profile being re-decided (reused, so decoding
  // allocates little).
  tbb::enumerable_thread_specific<std::vector<EventInput>> scratch_events;
  // The item catalogue, replaced (never changed) by item writes under write_mutex: readers off
  // the write path (previews, explain) take the current one without waiting for writes.
  std::shared_ptr<const segments::ItemCatalog> items = std::make_shared<segments::ItemCatalog>();
  mutable std::mutex items_mutex;  // guards the pointer
  // Its stores (place.h), replaced with it.
  std::shared_ptr<const signals::StoreIndex> stores = StoreIndexOf(segments::ItemCatalog{});
  std::shared_ptr<const segments::ItemCatalog> CurrentItems() const {
    std::lock_guard lock(items_mutex);
    return items;
  }
  std::shared_ptr<const signals::StoreIndex> CurrentStores() const {
    std::lock_guard lock(items_mutex);
    return stores;
  }
  void PublishItems(segments::ItemCatalog catalog) {
    auto published_stores = StoreIndexOf(catalog);
    auto published = std::make_shared<const segments::ItemCatalog>(std::move(catalog));
    std::lock_guard lock(items_mutex);
    items = std::move(published);
    stores = std::move(published_stores);
  }
  // Recommendations: the model in force (replaced whole), the catalogue and the live snapshot's
  // marks it was trained on (stale when either moved), and one training run at a time.
  mutable std::mutex reco_mutex;  // guards the fields below
  std::shared_ptr<const reco::Model> reco_model;
  std::shared_ptr<const segments::ItemCatalog> reco_items;  // the catalogue it read
  std::optional<uint64_t> reco_marks;                       // nullopt: the catalogue alone
  std::shared_ptr<const reco::ItemRules> reco_rules;        // null: not read from the store yet
  std::optional<reco::CatalogueOptions> reco_catalogue;     // nullopt: not read from the store yet
  std::mutex reco_training;
  std::unique_ptr<geo::GeoIpDatabase> geoip;  // when options.geoip_database is set

  // How often each answer was given, per trait (a scale's numbers as text, a list's values one
  // by one), counted once per snapshot version for the next question's expected value.
  using AnswerCounts = std::map<std::string, uint64_t, std::less<>>;
  std::mutex answer_counts_mutex;
  std::shared_ptr<const snapshot::Snapshot> answer_counts_snapshot;
  std::map<std::string, std::shared_ptr<const AnswerCounts>, std::less<>> answer_counts;

  // Known profiles whose whole history was searched for a first touch and held none: later
  // writes need not read it again. Forgotten at restart, and when a merge brings in history.
  std::mutex untouched_mutex;
  absl::flat_hash_set<ProfileId> untouched;
  bool IsUntouched(ProfileId profile) {
    std::lock_guard lock(untouched_mutex);
    return untouched.contains(profile);
  }
  void SetUntouched(ProfileId profile, bool value) {
    std::lock_guard lock(untouched_mutex);
    if (value) {
      untouched.insert(profile);
    } else {
      untouched.erase(profile);
    }
  }

  // Writes waiting to be coalesced into one engine write (Service::Write): the first is the
  // leader, which writes everything queued when it starts.
  struct QueuedWrite {
    Engine::WriteRequest request;
    Status status;
    bool done = false;
  };
  std::mutex queue_mutex;
  std::condition_variable queue_changed;
  std::deque<QueuedWrite*> queue;
  std::atomic<uint64_t> coalesced_writes{0}, engine_writes{0};

  mutable std::mutex feed_mutex;
  mutable std::condition_variable feed_changed;
  uint64_t last_sequence = 0;

  std::atomic<uint64_t> membership_changes{0}, live_updates{0}, timer_updates{0}, evaluations{0};
  std::atomic<double> last_evaluation_seconds{0};

  // Signals and session intent per profile (live_signals.h): the working-set slot, and what
  // their updates cost.
  size_t signals_slot = 0;
  size_t reco_slot = 0;  // each resident profile's reco::Activity (reco_serve.cc)
  std::atomic<uint64_t> signal_events{0}, signal_rebuilds{0};
  UpdateTimes signal_update_times;

  // Observers of the touched profiles, in order (membership first: MakeMembershipObserver).
  std::vector<std::unique_ptr<ProfileObserver>> observers;
  // Hands the touched profiles to the observers (decide in parallel, apply in order, finish).
  // With write_mutex held.
  Status Observe(std::vector<std::pair<ProfileId, segments::ProfileChange>> touched, Timestamp now);
  Status Observe(ProfileId profile, const segments::ProfileChange& change, Timestamp now) {
    return Observe({{profile, change}}, now);
  }
  Status Feed(segments::SegmentCatalog& catalog, std::vector<segments::MembershipChange>& changes);
  // After one (coalesced) engine write: each touched profile re-decided once.
  Status AfterEvents(std::span<const Engine::WriteRequest> requests, Timestamp now);
  Status AfterProfile(Engine& engine, std::string_view id, const segments::ProfileChange& change,
                      Timestamp now);
  Status ReloadItems(Engine& engine);
  Status RefreshLastSequence(const segments::SegmentCatalog& catalog);
  void PublishSequence(uint64_t sequence);
  Result<std::vector<std::pair<std::string, segments::SegmentResult>>> EvaluateAllLocked(
      Service& service);
  // Whether `snapshot` holds `value` as profile `id`'s trait `name`.
  static bool Holds(const snapshot::Snapshot& snapshot, ProfileId id, const std::string& name,
                    const TypedValue& value);
  // Upserts each profile's traits that `snapshot` does not hold yet, in batches, and clears the
  // `owned` traits (a run's results) of every profile not in `wanted`; returns how many profiles
  // were written (label_scheme.cc).
  Result<uint64_t> WriteChangedTraits(Service& service, const snapshot::Snapshot& snapshot,
                                      std::vector<std::pair<ProfileId, TraitMap>> wanted,
                                      const std::vector<TraitDef>& owned);
  // Declares the traits the schema lacks; kFailedPrecondition for one it has with another type.
  Status DeclareTraits(Service& service, const std::vector<TraitDef>& traits);
  // `trait` set to each profile's value (by external id) where it changed; every id resolved
  // first (kNotFound before anything changes), the trait declared when new.
  Result<uint64_t> WriteTraitOf(Service& service, const TraitDef& trait,
                                const std::vector<std::pair<std::string, TypedValue>>& values);
  // The segments and the scheme of `scheme` made or updated, under the write lock, with one
  // evaluation if anything changed; returns whether the scheme is new.
  Result<bool> PutLabelScheme(Service& service, const LabelScheme& scheme);
  // Refreshes the live snapshot with the fields of every segment (and `adding`), without the
  // write lock, so that the exact refresh of an evaluation under the lock has little to read.
  Status WarmSnapshot(Service& service, const segments::SegmentDefinition* adding);
  // The live snapshot with at least the fields `rules` read, refreshed if it changed and is
  // older than `max_age`. Any thread.
  Result<snapshot::LiveSnapshot::Version> CurrentSnapshot(
      Engine& engine, const std::vector<const segments::Rule*>& rules,
      std::chrono::milliseconds max_age, const std::vector<std::string>& extra_fields = {});
};

// Live segment membership, the first observer (membership_observer.cc).
std::unique_ptr<ProfileObserver> MakeMembershipObserver(Service::Impl& impl,
                                                        segments::SegmentCatalog& catalog);

// Signals and session intent folded per event (live_signals.cc).
std::unique_ptr<ProfileObserver> MakeSignalsObserver(Service::Impl& impl);

// One profile's live signals for a read: the working set's state when it holds every event of
// the profile, else its history folded now (and kept for the next read when the profile is
// resident and unchanged meanwhile). By external, anonymous or merged-away id.
struct LiveSignalsRead {
  working_set::ProfileHandle profile;
  const LiveSignals* live = nullptr;  // in `profile`, or `folded`
  std::unique_ptr<LiveSignals> folded;
};
Result<LiveSignalsRead> ReadLiveSignals(Service::Impl& impl, std::string_view id);
// The same for a profile already read; `kept`: whether the working set holds it (else a fold is
// not kept for the next read).
LiveSignalsRead ReadLiveSignals(Service::Impl& impl, working_set::ProfileHandle profile);
// Stores one definition (rules, options, a model's JSON) durably under `key`; the caller holds
// the lock of what it puts in force, so the store and memory agree.
Status PutDefinition(store::Store& store, std::string_view key, std::string_view value);
// The live state of `profile` when it holds every event, else null.
const LiveSignals* CurrentLiveSignals(const Service::Impl& impl,
                                      const working_set::ResidentProfile& profile);

}  // namespace tailor
