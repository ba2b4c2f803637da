#include "tailor/service.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <mutex>
#include <shared_mutex>

#include "service/service_impl.h"
#include "tailor/population.h"

namespace tailor {
namespace {

// Events of one coalesced engine write at most: bounds a commit's size and its writers' wait.
constexpr size_t kMaxCoalescedEvents = 50'000;
// The live snapshot is refreshed in the background for this long after a question that read it.
constexpr int64_t kKeepSnapshotFreshMs = 60'000;

}  // namespace

Service::Service() : impl_(std::make_unique<Impl>()) {}
Service::~Service() {
  if (engine_ && impl_->live_snapshot) engine_->RemoveCommitObserver(impl_->snapshot_observer);
}

// What one cached id costs, estimated: the key (a std::string, 32 bytes, more for ids over 15
// characters), its profile id, the hash map's slot padding and control byte, the map's spare room.
constexpr size_t kIdCacheEntryBytes = 64;

Result<std::unique_ptr<Service>> Service::Open(const std::string& data_dir,
                                               ServiceOptions options) {
  auto service = std::unique_ptr<Service>(new Service());
  // One clock for everything the service stamps: windows, record and trait times, versions.
  if (!options.clock) options.clock = SystemClockMillis;
  if (!options.engine.clock) options.engine.clock = options.clock;
  const size_t budget =
      options.memory_budget != 0 ? options.memory_budget : working_set::DefaultBudget();
  // Under 256 MiB (tests, tiny machines) the budget is the working set's alone.
  size_t id_cache_bytes = 0;
  if (budget >= (size_t{256} << 20)) {
    if (options.engine.store.memory_limit_bytes == 0) {
      options.engine.store.memory_limit_bytes =
          std::clamp<size_t>(budget / 4, size_t{64} << 20, size_t{1} << 30);
    }
    // The id cache: an eighth (a miss reads the ids table, whose filters and blocks are cached).
    id_cache_bytes = budget / 8;
    options.engine.id_cache_entries =
        std::min(options.engine.id_cache_entries, id_cache_bytes / kIdCacheEntryBytes);
  }
  TAILOR_ASSIGN_OR_RETURN(service->engine_, Engine::Open(data_dir, options.engine));
  service->impl_->working_set = std::make_unique<working_set::WorkingSet>(
      *service->engine_,
      working_set::Options{.budget_bytes =
                               budget - options.engine.store.memory_limit_bytes - id_cache_bytes});
  // Every commit marks what it touched for the live snapshot's next refresh.
  snapshot::LiveSnapshot& live_snapshot =
      *(service->impl_->live_snapshot =
            std::make_unique<snapshot::LiveSnapshot>(service->engine_->store()));
  service->impl_->snapshot_observer = service->engine_->AddCommitObserver(
      [&live_snapshot](std::span<const CommittedProfile> committed) {
        std::vector<ProfileId> ids;
        ids.reserve(committed.size());
        for (const CommittedProfile& profile : committed) ids.push_back(profile.id);
        live_snapshot.MarkChanged(ids);
      });
  service->catalog_ =
      std::make_unique<segments::SegmentCatalog>(service->engine_->store(), options.clock);
  service->impl_->surveys = std::make_unique<surveys::SurveyStore>(service->engine_->store());
  TAILOR_RETURN_IF_ERROR(service->impl_->surveys->Load());
  service->clock_ = options.clock;
  Impl& impl = *service->impl_;
  impl.options = std::move(options);
  if (!impl.options.geoip_database.empty()) {
    TAILOR_ASSIGN_OR_RETURN(impl.geoip, geo::GeoIpDatabase::Open(impl.options.geoip_database));
  }
  TAILOR_RETURN_IF_ERROR(impl.ReloadItems(*service->engine_));
  TAILOR_ASSIGN_OR_RETURN(impl.live, segments::LiveSegments::Load(*service->catalog_));
  impl.observers.push_back(MakeMembershipObserver(impl, *service->catalog_));
  impl.signals_slot = impl.working_set->RegisterExtension();
  impl.observers.push_back(MakeSignalsObserver(impl));
  impl.reco_slot = impl.working_set->RegisterExtension();
  TAILOR_RETURN_IF_ERROR(impl.RefreshLastSequence(*service->catalog_));
  if (impl.options.evaluate_on_open && impl.live->segment_count() > 0) {
    TAILOR_RETURN_IF_ERROR(service->EvaluateAll().status());
  }
  return service;
}

// --- Observing the profiles a write touched --------------------------------------------------

namespace {

void AddName(std::vector<std::string>& names, const std::string& name) {
  if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
}

}  // namespace

Status Service::Impl::Observe(std::vector<std::pair<ProfileId, segments::ProfileChange>> touched,
                              Timestamp now) {
  if (observers.empty() || touched.empty()) return Status::Ok();
  // Which observers each profile concerns; a profile none is concerned by is not loaded.
  const size_t count = observers.size();
  std::vector<std::vector<bool>> concerned;
  concerned.reserve(touched.size());
  std::erase_if(touched, [&](const auto& entry) {
    std::vector<bool> which(count);
    bool any = false;
    for (size_t k = 0; k < count; ++k) any |= (which[k] = observers[k]->Concerns(entry.second));
    if (any) concerned.push_back(std::move(which));
    return !any;
  });
  if (touched.empty()) return Status::Ok();
  // Only the events some observer reads are decoded: copying out the others is most of a long
  // history's cost.
  bool every_type = false;
  std::vector<std::string> types;  // a few: comparing is cheaper than hashing every event's type
  for (const auto& observer : observers) {
    auto read = observer->EventTypesRead();
    if (!read) every_type = true;
    if (read) {
      for (std::string& type : *read) AddName(types, type);
    }
  }
  std::function<bool(std::string_view)> keep;
  if (!every_type) {
    keep = [&types](std::string_view type) {
      return std::find(types.begin(), types.end(), type) != types.end();
    };
  }
  // 1. Decide, in parallel over profiles.
  std::vector<std::vector<std::unique_ptr<ProfileObserver::Decision>>> decisions(touched.size());
  std::vector<Status> statuses(touched.size());
  tbb::parallel_for(
      tbb::blocked_range<size_t>(0, touched.size()), [&](const tbb::blocked_range<size_t>& range) {
        std::vector<EventInput>& pool = scratch_events.local();
        for (size_t i = range.begin(); i != range.end(); ++i) {
          statuses[i] = [&]() -> Status {
            const auto& [id, change] = touched[i];
            ObservedProfile observed{id, nullptr, {}, &change, now};
            auto resident = working_set->Get(id);
            if (!resident.ok() && resident.status().code() != StatusCode::kNotFound) {
              return resident.status();
            }
            if (resident.ok()) {
              observed.profile = resident->get();
              TAILOR_ASSIGN_OR_RETURN(observed.events, (*resident)->Events(pool, keep));
            }
            decisions[i].resize(count);
            for (size_t k = 0; k < count; ++k) {
              if (!concerned[i][k]) continue;
              TAILOR_ASSIGN_OR_RETURN(decisions[i][k], observers[k]->Decide(observed));
            }
            return Status::Ok();
          }();
        }
      });
  for (const Status& status : statuses) TAILOR_RETURN_IF_ERROR(status);
  // 2. Apply, profile by profile in the write's order, observers in order; 3. finish.
  for (size_t i = 0; i < touched.size(); ++i) {
    for (size_t k = 0; k < count; ++k) {
      if (concerned[i][k]) observers[k]->Apply(touched[i].first, std::move(decisions[i][k]));
    }
  }
  for (const auto& observer : observers) TAILOR_RETURN_IF_ERROR(observer->Finish());
  return Status::Ok();
}

namespace {

// The profiles a write touched, in first-touch order, each with what changed (indexed: a batch
// may touch thousands).
class TouchedProfiles {
 public:
  segments::ProfileChange& operator[](ProfileId profile) {
    auto [it, inserted] = index_.try_emplace(profile, touched_.size());
    if (inserted) touched_.emplace_back(profile, segments::ProfileChange{});
    return touched_[it->second].second;
  }
  std::vector<std::pair<ProfileId, segments::ProfileChange>> Take() { return std::move(touched_); }

 private:
  std::vector<std::pair<ProfileId, segments::ProfileChange>> touched_;
  absl::flat_hash_map<ProfileId, size_t> index_;
};

}  // namespace

Status Service::Impl::AfterEvents(std::span<const Engine::WriteRequest> requests, Timestamp now) {
  // The engine says where each input went (merges included); rejected inputs went nowhere.
  TouchedProfiles touched;
  for (const Engine::WriteRequest& request : requests) {
    const std::vector<ProfileId>& profile_owners = request.profile_report->owners;
    for (size_t i = 0; i < request.profiles.size() && i < profile_owners.size(); ++i) {
      if (profile_owners[i] == kNoProfile) continue;
      auto& change = touched[profile_owners[i]];
      for (const auto& [name, value] : request.profiles[i].traits) AddName(change.traits, name);
    }
    const std::vector<ProfileId>& event_owners = request.event_report->owners;
    for (size_t i = 0; i < request.events.size() && i < event_owners.size(); ++i) {
      if (event_owners[i] == kNoProfile) continue;
      AddName(touched[event_owners[i]].event_types, request.events[i].type);
    }
  }
  const std::vector<std::pair<ProfileId, ProfileId>> no_merges;
  const auto& merges = requests.empty() ? no_merges : requests.front().event_report->merges;
  // A merge brings another profile's traits and history: every segment may change.
  for (const auto& [from, into] : merges) {
    touched[from].everything = true;
    touched[into].everything = true;
  }
  return Observe(touched.Take(), now);
}

Status Service::Impl::AfterProfile(Engine& engine, std::string_view id,
                                   const segments::ProfileChange& change, Timestamp now) {
  auto profile = engine.Resolve(id);
  if (!profile.ok()) {
    return profile.status().code() == StatusCode::kNotFound ? Status::Ok() : profile.status();
  }
  return Observe(*profile, change, now);
}

Status Service::Impl::Feed(segments::SegmentCatalog& catalog,
                           std::vector<segments::MembershipChange>& changes) {
  if (changes.empty()) return Status::Ok();
  TAILOR_RETURN_IF_ERROR(catalog.AppendChanges(changes));
  membership_changes += changes.size();
  PublishSequence(changes.back().sequence);
  return Status::Ok();
}

void Service::Impl::PublishSequence(uint64_t sequence) {
  {
    std::lock_guard lock(feed_mutex);
    last_sequence = std::max(last_sequence, sequence);
  }
  feed_changed.notify_all();
}

Status Service::Impl::RefreshLastSequence(const segments::SegmentCatalog& catalog) {
  // The feed's end: read forward from the last known sequence.
  uint64_t after = last_sequence;
  for (;;) {
    TAILOR_ASSIGN_OR_RETURN(auto changes, catalog.ReadChanges(after, 4096));
    if (changes.empty()) break;
    after = changes.back().sequence;
  }
  PublishSequence(after);
  return Status::Ok();
}

Status Service::Impl::ReloadItems(Engine& engine) {
  TAILOR_ASSIGN_OR_RETURN(segments::ItemCatalog catalog, LoadItemCatalog(engine));
  PublishItems(std::move(catalog));
  return Status::Ok();
}

// --- Writes -------------------------------------------------------------------------------------

Status Service::IngestEvents(std::span<const EventInput> events, BatchReport& report) {
  BatchReport no_profiles;
  return Write({}, events, no_profiles, report);
}

Status Service::UpsertProfiles(std::span<const ProfileInput> profiles, BatchReport& report) {
  BatchReport no_events;
  return Write(profiles, {}, report, no_events);
}

// Concurrent writers coalesce: each queues its write; the first in the queue leads, writing
// every write queued by then as one engine write (one commit, one sync) and re-deciding each
// touched profile once; the others wait for their outcome. A writer returns only once its own
// data is durable.
Status Service::Write(std::span<const ProfileInput> profiles, std::span<const EventInput> events,
                      BatchReport& profile_report, BatchReport& event_report) {
  Impl::QueuedWrite mine{{profiles, events, &profile_report, &event_report}, {}, false};
  std::unique_lock queue_lock(impl_->queue_mutex);
  impl_->queue.push_back(&mine);
  impl_->queue_changed.wait(queue_lock, [&] { return mine.done || impl_->queue.front() == &mine; });
  if (mine.done) return mine.status;
  // The leader: everything queued now, up to a bound on the events of one commit.
  std::vector<Impl::QueuedWrite*> group;
  std::vector<Engine::WriteRequest> requests;
  size_t event_count = 0;
  for (Impl::QueuedWrite* queued : impl_->queue) {
    if (!group.empty() && event_count + queued->request.events.size() > kMaxCoalescedEvents) break;
    group.push_back(queued);
    requests.push_back(queued->request);
    event_count += queued->request.events.size();
  }
  queue_lock.unlock();
  Status status;
  {
    std::lock_guard lock(impl_->write_mutex);
    status = engine_->WriteGroup(requests);
    if (status.ok()) status = impl_->AfterEvents(requests, now());
  }
  ++impl_->engine_writes;
  impl_->coalesced_writes += group.size();
  queue_lock.lock();
  for (Impl::QueuedWrite* queued : group) {
    queued->status = status;
    queued->done = true;
    impl_->queue.pop_front();  // the group is the queue's front, in order
  }
  queue_lock.unlock();
  impl_->queue_changed.notify_all();
  return status;
}

Status Service::Identify(std::string_view anonymous_id, std::string_view profile_id, bool* merged) {
  std::lock_guard lock(impl_->write_mutex);
  TAILOR_RETURN_IF_ERROR(engine_->Identify(anonymous_id, profile_id, merged));
  // Merged anonymous history may hold the first touch.
  if (auto id = engine_->Resolve(profile_id); id.ok()) impl_->SetUntouched(*id, false);
  return impl_->AfterProfile(*engine_, profile_id, {{}, {}, true}, now());
}

Status Service::MergeProfiles(std::string_view into, std::string_view from) {
  std::lock_guard lock(impl_->write_mutex);
  auto from_id = engine_->Resolve(from);
  TAILOR_RETURN_IF_ERROR(engine_->MergeProfiles(into, from));
  if (auto id = engine_->Resolve(into); id.ok()) impl_->SetUntouched(*id, false);
  const Timestamp at = now();
  if (from_id.ok()) {  // the merged-away id leaves every segment
    TAILOR_RETURN_IF_ERROR(impl_->Observe(*from_id, {{}, {}, true}, at));
  }
  return impl_->AfterProfile(*engine_, into, {{}, {}, true}, at);
}

Status Service::DeleteProfile(std::string_view external_id) {
  std::lock_guard lock(impl_->write_mutex);
  auto id = engine_->Resolve(external_id);
  TAILOR_RETURN_IF_ERROR(engine_->DeleteProfile(external_id));
  if (!id.ok()) return Status::Ok();
  return impl_->Observe(*id, {{}, {}, true}, now());
}

void Service::AddObserver(std::unique_ptr<ProfileObserver> observer) {
  std::lock_guard lock(impl_->write_mutex);
  impl_->observers.push_back(std::move(observer));
}

Status Service::UpsertItems(std::span<const ItemInput> items, BatchReport& report) {
  std::lock_guard lock(impl_->write_mutex);
  TAILOR_RETURN_IF_ERROR(engine_->UpsertItems(items, report));
  segments::ItemCatalog catalog = *impl_->items;  // a new version: readers keep theirs
  std::vector<bool> rejected(items.size(), false);
  for (const BatchReport::Rejection& rejection : report.rejected) rejected[rejection.index] = true;
  bool stores_changed = false;
  for (size_t i = 0; i < items.size(); ++i) {
    if (rejected[i]) continue;
    auto old = catalog.find(items[i].id);
    stores_changed = stores_changed || items[i].category == "store" ||
                     (old != catalog.end() && old->second.category == "store");
    catalog.insert_or_assign(items[i].id, items[i]);
  }
  impl_->PublishItems(std::move(catalog));
  // A store opened, moved or closed: where people are now is measured against new stores, so
  // segments reading it (place.* signals also read the home traits) are evaluated again, at once.
  if (stores_changed) {
    bool reads_place = false;
    {
      std::shared_lock lock(impl_->live_mutex);
      reads_place = impl_->live->TraitReaders().count(std::string(signals::kHomeLatitudeTrait)) > 0;
    }
    if (reads_place) TAILOR_RETURN_IF_ERROR(impl_->EvaluateAllLocked(*this).status());
  }
  return Status::Ok();
}

// --- Segments -----------------------------------------------------------------------------------

Status Service::Impl::WarmSnapshot(Service& service, const segments::SegmentDefinition* adding) {
  TAILOR_ASSIGN_OR_RETURN(auto definitions, service.catalog_->List());
  if (adding != nullptr) definitions.push_back(*adding);
  std::vector<segments::Rule> rules;
  for (const auto& definition : definitions) {
    for (const std::string* text : {&definition.rule, &definition.exclude}) {
      if (text->empty()) continue;
      auto rule = segments::ParseRule(*text);
      if (!rule.ok()) return Status::Ok();  // refused under the lock, with its message
      rules.push_back(std::move(rule).value());
    }
  }
  std::vector<const segments::Rule*> reads;
  for (const segments::Rule& rule : rules) reads.push_back(&rule);
  return CurrentSnapshot(*service.engine_, reads, std::chrono::milliseconds(0)).status();
}

Status Service::PutSegment(segments::SegmentDefinition definition) {
  // The snapshot brought up to date first, without holding writes back: the exact refresh under
  // the lock then reads only the profiles written meanwhile (at 1M under load, a full refresh
  // under the lock stopped writes for seconds).
  TAILOR_RETURN_IF_ERROR(impl_->WarmSnapshot(*this, &definition));
  std::lock_guard lock(impl_->write_mutex);
  definition.updated_at = now();
  TAILOR_RETURN_IF_ERROR(catalog_->Put(std::move(definition), engine_->schema()));
  return impl_->EvaluateAllLocked(*this).status();
}

Status Service::DeleteSegment(std::string_view name) {
  std::lock_guard lock(impl_->write_mutex);
  TAILOR_RETURN_IF_ERROR(catalog_->Delete(name));
  TAILOR_ASSIGN_OR_RETURN(auto live, segments::LiveSegments::Load(*catalog_));
  std::unique_lock live_lock(impl_->live_mutex);
  impl_->live = std::move(live);
  return Status::Ok();
}

Status Service::PutScheme(segments::SchemeDefinition scheme) {
  std::lock_guard lock(impl_->write_mutex);
  return catalog_->PutScheme(std::move(scheme));
}

Result<std::vector<std::pair<std::string, segments::SegmentResult>>> Service::EvaluateAll() {
  TAILOR_RETURN_IF_ERROR(impl_->WarmSnapshot(*this, nullptr));  // as PutSegment does
  std::lock_guard lock(impl_->write_mutex);
  return impl_->EvaluateAllLocked(*this);
}

Result<std::vector<std::pair<std::string, segments::SegmentResult>>>
Service::Impl::EvaluateAllLocked(Service& service) {
  const auto start = std::chrono::steady_clock::now();
  const Timestamp at = service.now();
  TAILOR_RETURN_IF_ERROR(ReloadItems(*service.engine_));
  // Every event field any segment reads must be in the snapshot.
  TAILOR_ASSIGN_OR_RETURN(auto definitions, service.catalog_->List());
  std::vector<segments::Rule> rules;
  rules.reserve(2 * definitions.size());
  for (const auto& definition : definitions) {
    for (const std::string* text : {&definition.rule, &definition.exclude}) {
      if (text->empty()) continue;
      TAILOR_ASSIGN_OR_RETURN(rules.emplace_back(), segments::ParseRule(*text));
    }
  }
  std::vector<const segments::Rule*> reads;
  for (const segments::Rule& rule : rules) reads.push_back(&rule);
  // Exact: the write lock is held, so the refresh sees every write.
  TAILOR_ASSIGN_OR_RETURN(auto version,
                          CurrentSnapshot(*service.engine_, reads, std::chrono::milliseconds(0)));
  const snapshot::Snapshot* snapshot = version.snapshot.get();
  segments::EvalContext context{snapshot, at, items.get(), {}};
  context.stores = stores.get();
  TAILOR_ASSIGN_OR_RETURN(auto results, service.catalog_->EvaluateAll(context));
  TAILOR_ASSIGN_OR_RETURN(auto reloaded, segments::LiveSegments::Load(*service.catalog_));
  auto timers_now = reloaded->NextChanges(*snapshot, at);
  {
    std::unique_lock lock(live_mutex);
    live = std::move(reloaded);
    timers.Reset(timers_now);
  }
  TAILOR_RETURN_IF_ERROR(RefreshLastSequence(*service.catalog_));
  ++evaluations;
  last_evaluation_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return results;
}

Result<size_t> Service::AdvanceTime() {
  std::lock_guard lock(impl_->write_mutex);
  const Timestamp at = now();
  std::vector<ProfileId> due;
  {
    std::unique_lock live_lock(impl_->live_mutex);
    due = impl_->timers.PopDue(at);
  }
  // Every profile whose window edge passed, re-decided together (in parallel).
  std::vector<std::pair<ProfileId, segments::ProfileChange>> touched;
  touched.reserve(due.size());
  for (ProfileId profile : due)
    touched.emplace_back(profile, segments::ProfileChange{{}, {}, true});
  impl_->timer_updates += due.size();
  const uint64_t before = impl_->membership_changes;
  TAILOR_RETURN_IF_ERROR(impl_->Observe(std::move(touched), at));
  return static_cast<size_t>(impl_->membership_changes - before);
}

size_t Service::timer_count() const {
  std::shared_lock lock(impl_->live_mutex);
  return impl_->timers.size();
}

std::optional<Timestamp> Service::next_timer() const {
  std::shared_lock lock(impl_->live_mutex);
  return impl_->timers.Earliest();
}

// --- Whole-population questions -----------------------------------------------------------------

Result<snapshot::LiveSnapshot::Version> Service::Impl::CurrentSnapshot(
    Engine& engine, const std::vector<const segments::Rule*>& rules,
    std::chrono::milliseconds max_age, const std::vector<std::string>& extra_fields) {
  std::vector<std::string> fields = extra_fields;
  for (const segments::Rule* rule : rules) {
    if (rule == nullptr) continue;
    for (std::string& field : segments::RequiredEventFields(*rule)) fields.push_back(field);
  }
  // Every write acknowledged before this call is marked by now.
  const uint64_t marks = live_snapshot->marks();
  snapshot::LiveSnapshot::Version latest = live_snapshot->Latest();
  const auto has = [&latest](const std::string& field) {
    return std::find(latest.event_fields.begin(), latest.event_fields.end(), field) !=
           latest.event_fields.end();
  };
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  if (latest.snapshot != nullptr && std::all_of(fields.begin(), fields.end(), has) &&
      (latest.marks_included >= marks ||
       (max_age.count() > 0 && now_ms - latest.refreshed_at_ms <= max_age.count()))) {
    latest.parts_rebuilt = 0;
    return latest;
  }
  // A refresh under way (the background one) will do if it read late enough.
  return live_snapshot->Refresh(
      [&engine] {
        return snapshot::LiveSnapshot::Source{engine.shared_schema(), engine.profile_id_limit()};
      },
      fields, now_ms - max_age.count(), max_age.count() == 0 ? marks : 0);
}

Status Service::RefreshSnapshot() {
  // Only while someone asks whole-population questions: a refresh of a large store under heavy
  // writes reads most of it again, which no one should pay for when no one is looking.
  if (SystemClockMillis() - impl_->last_population_ms > kKeepSnapshotFreshMs) return Status::Ok();
  return impl_->CurrentSnapshot(*engine_, {}, std::chrono::milliseconds(0)).status();
}

Result<Service::LivePopulation> Service::Population(const std::vector<const segments::Rule*>& rules,
                                                    std::chrono::milliseconds max_age) {
  impl_->last_population_ms = SystemClockMillis();
  TAILOR_ASSIGN_OR_RETURN(auto version, impl_->CurrentSnapshot(*engine_, rules, max_age));
  LivePopulation population;
  population.snapshot = std::move(version.snapshot);
  population.refreshed_at_ms = version.refreshed_at_ms;
  population.parts_rebuilt = version.parts_rebuilt;
  population.items = impl_->CurrentItems();
  population.stores = impl_->CurrentStores();
  return population;
}

// --- Reads --------------------------------------------------------------------------------------

working_set::WorkingSet& Service::working_set() { return *impl_->working_set; }

snapshot::LiveSnapshot::Stats Service::snapshot_stats() const {
  return impl_->live_snapshot ? impl_->live_snapshot->stats() : snapshot::LiveSnapshot::Stats{};
}

std::vector<std::string> Service::SegmentsOf(ProfileId profile) const {
  std::shared_lock lock(impl_->live_mutex);
  return impl_->live->SegmentsOf(profile);
}

Status PutDefinition(store::Store& store, std::string_view key, std::string_view value) {
  store::Batch batch = store.NewBatch();
  batch.Put(store::Table::kDefinitions, key, value);
  return store.Commit(batch);
}

Result<bool> Service::IsMember(std::string_view segment, ProfileId profile) const {
  std::shared_lock lock(impl_->live_mutex);
  const segments::ProfileSet* members = impl_->live->members(segment);
  if (members == nullptr) return NotFound("no segment '{}'", segment);
  return members->contains(profile);
}

Result<segments::ProfileSet> Service::Members(std::string_view segment) const {
  std::shared_lock lock(impl_->live_mutex);
  const segments::ProfileSet* members = impl_->live->members(segment);
  if (members == nullptr) return NotFound("no segment '{}'", segment);
  return *members;
}

Result<SegmentExplanation> Service::Explain(std::string_view segment, std::string_view profile) {
  TAILOR_ASSIGN_OR_RETURN(segments::SegmentDefinition definition, catalog_->Get(segment));
  TAILOR_ASSIGN_OR_RETURN(working_set::ProfileHandle resident, impl_->working_set->Get(profile));
  const ProfileView& view = resident->view;
  TAILOR_ASSIGN_OR_RETURN(std::vector<EventInput> events, resident->Events());
  TAILOR_ASSIGN_OR_RETURN(segments::Rule rule, segments::ParseRule(definition.rule));
  const std::shared_ptr<const segments::ItemCatalog> items = impl_->CurrentItems();
  segments::ProfileRow row{view.id, &view.traits, events, items.get(), now(), {}};
  const std::shared_ptr<const signals::StoreIndex> stores = impl_->CurrentStores();
  row.stores = stores.get();
  row.in_segment = [this, id = view.id](std::string_view name) {
    auto member = IsMember(name, id);
    return member.ok() && *member;
  };
  SegmentExplanation explanation;
  explanation.profile = view.external_id;
  explanation.rule = segments::Explain(rule, row);
  if (!definition.exclude.empty()) {
    TAILOR_ASSIGN_OR_RETURN(segments::Rule exclude, segments::ParseRule(definition.exclude));
    explanation.exclude = segments::Explain(exclude, row);
  }
  explanation.anonymous = view.anonymous;
  explanation.member = !view.anonymous && explanation.rule.matched &&
                       !(explanation.exclude && explanation.exclude->matched);
  return explanation;
}

bool Service::WaitForChanges(uint64_t after, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->feed_mutex);
  return impl_->feed_changed.wait_for(lock, timeout, [&] { return impl_->last_sequence > after; });
}

uint64_t Service::last_sequence() const {
  std::lock_guard lock(impl_->feed_mutex);
  return impl_->last_sequence;
}

Service::Counters Service::counters() const {
  Counters counters;
  counters.membership_changes = impl_->membership_changes;
  counters.live_updates = impl_->live_updates;
  counters.timer_updates = impl_->timer_updates;
  counters.evaluations = impl_->evaluations;
  counters.last_evaluation_seconds = impl_->last_evaluation_seconds;
  counters.writes = impl_->coalesced_writes;
  counters.engine_writes = impl_->engine_writes;
  counters.signal_events = impl_->signal_events;
  counters.signal_rebuilds = impl_->signal_rebuilds;
  counters.signal_update_p50_us = impl_->signal_update_times.QuantileMicros(0.5);
  counters.signal_update_p99_us = impl_->signal_update_times.QuantileMicros(0.99);
  return counters;
}

}  // namespace tailor
