// The engine's frame: Open, the schema, items, observers, snapshots, stats and upkeep.

#include "tailor/engine.h"

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/coding.h"
#include "engine/engine_impl.h"
#include "identity/identity.h"
#include "store/records.h"

namespace tailor {

using engine_internal::kCountersKey;
using engine_internal::kMaxIdBytes;
using engine_internal::kSchemaKey;

namespace engine_internal {

std::string Counters::Encode() const {
  std::string out;
  coding::PutVarint64(out, profiles);
  coding::PutVarint64(out, anonymous_profiles);
  coding::PutVarint64(out, events);
  coding::PutVarint64(out, items);
  coding::PutVarint64(out, next_profile_id);
  return out;
}

bool Counters::Decode(std::string_view bytes) {
  coding::Reader reader(bytes);
  uint64_t next = 0;
  const bool ok = reader.GetVarint64(profiles) && reader.GetVarint64(anonymous_profiles) &&
                  reader.GetVarint64(events) && reader.GetVarint64(items) &&
                  reader.GetVarint64(next);
  next_profile_id = static_cast<ProfileId>(next);
  return ok;
}

}  // namespace engine_internal

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
  engine->impl_->ids = std::make_unique<identity::IdMap>(
      *engine->impl_->store, engine->impl_->counters.next_profile_id, options.id_cache_entries);
  engine->impl_->first_session_id = engine->impl_->counters.next_profile_id;
  return engine;
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
