#include "tailor/store.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

namespace tailor::store {
namespace {

constexpr std::string_view kTableNames[kTableCount] = {
    "default", "profiles", "ids", "events", "items", "state", "definitions"};
constexpr std::string_view kFormatKey = "format_version";

Status FromRocks(const rocksdb::Status& status, std::string_view what) {
  if (status.ok()) return Status::Ok();
  if (status.IsNotFound()) return NotFound("{}: {}", what, status.ToString());
  if (status.IsCorruption()) return Corruption("{}: {}", what, status.ToString());
  if (status.IsInvalidArgument()) return FailedPrecondition("{}: {}", what, status.ToString());
  if (status.IsIOError()) return IoError("{}: {}", what, status.ToString());
  return Internal("{}: {}", what, status.ToString());
}

rocksdb::Slice ToSlice(std::string_view text) { return rocksdb::Slice(text.data(), text.size()); }

rocksdb::ColumnFamilyOptions TableOptions(Table table, const std::shared_ptr<rocksdb::Cache>& cache,
                                          bool bulk_load, size_t memory_limit) {
  rocksdb::ColumnFamilyOptions options;
  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = cache;
  // Point lookups read (and decompress) one whole block: small blocks for the tables read by id.
  table_options.block_size = table == Table::kEvents ? (16 << 10) : (4 << 10);
  table_options.format_version = 5;
  if (table != Table::kEvents) {
    // Point lookups by id dominate these tables, and many miss (a new id, a profile without
    // state): filters in files and in memtables answer most misses without a search.
    table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    options.memtable_prefix_bloom_size_ratio = 0.05;
    options.memtable_whole_key_filtering = true;
  }
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
  // LZ4 everywhere: a cold profile's first read decompresses a block of each table, and ZSTD's
  // decompression was a fifth of the cold write path (docs/benchmarks.md, session 5).
  options.compression = rocksdb::kLZ4Compression;
  options.bottommost_compression = rocksdb::kLZ4Compression;
  options.level_compaction_dynamic_level_bytes = true;
  options.write_buffer_size = table == Table::kEvents ? (128 << 20) : (64 << 20);
  // Within a memory limit, a memtable is at most an eighth of it: several tables fill theirs at
  // once, and a full one stays in memory until its flush ends.
  if (memory_limit != 0) {
    options.write_buffer_size =
        std::min<size_t>(options.write_buffer_size, std::max<size_t>(memory_limit / 8, 4 << 20));
  }
  options.max_write_buffer_number = 4;
  options.target_file_size_base = 64 << 20;
  options.max_bytes_for_level_base = 512 << 20;
  if (bulk_load) {
    // A bulk load writes each key once, in key order per table: compacting while loading
    // only rewrites data. Files stay in level 0 (disjoint, so reads stay cheap) until the next
    // normal open compacts them in the background.
    options.disable_auto_compactions = true;
    options.level0_file_num_compaction_trigger = 1 << 30;
    options.level0_slowdown_writes_trigger = 1 << 30;
    options.level0_stop_writes_trigger = 1 << 30;
    options.soft_pending_compaction_bytes_limit = 0;
    options.hard_pending_compaction_bytes_limit = 0;
  }
  return options;
}

}  // namespace

std::optional<SyncPolicy> ParseSyncPolicy(std::string_view name) {
  if (name == "every-write" || name == "always") return SyncPolicy::kEveryWrite;
  if (name == "group-commit" || name == "group") return SyncPolicy::kGroupCommit;
  if (name == "periodic") return SyncPolicy::kPeriodic;
  return std::nullopt;
}

std::string_view TableName(Table table) { return kTableNames[static_cast<int>(table)]; }

struct Batch::Impl {
  rocksdb::WriteBatch batch;
  const std::vector<rocksdb::ColumnFamilyHandle*>* handles = nullptr;
  Status error;  // the first failed operation, reported at Commit

  rocksdb::ColumnFamilyHandle* handle(Table table) const {
    return (*handles)[static_cast<int>(table)];
  }
  void Check(const rocksdb::Status& status) {
    if (!status.ok() && error.ok()) error = FromRocks(status, "building a write batch");
  }
};

Batch::Batch() : impl_(std::make_unique<Impl>()) {}
Batch::~Batch() = default;
Batch::Batch(Batch&&) noexcept = default;
Batch& Batch::operator=(Batch&&) noexcept = default;

void Batch::Put(Table table, std::string_view key, std::string_view value) {
  assert(impl_->handles != nullptr && "a Batch must come from Store::NewBatch");
  impl_->Check(impl_->batch.Put(impl_->handle(table), ToSlice(key), ToSlice(value)));
}
void Batch::Delete(Table table, std::string_view key) {
  assert(impl_->handles != nullptr && "a Batch must come from Store::NewBatch");
  impl_->Check(impl_->batch.Delete(impl_->handle(table), ToSlice(key)));
}
void Batch::DeleteRange(Table table, std::string_view begin, std::string_view end) {
  assert(impl_->handles != nullptr && "a Batch must come from Store::NewBatch");
  impl_->Check(impl_->batch.DeleteRange(impl_->handle(table), ToSlice(begin), ToSlice(end)));
}
size_t Batch::bytes() const { return impl_->batch.GetDataSize(); }
size_t Batch::count() const { return impl_->batch.Count(); }
void Batch::Clear() {
  impl_->batch.Clear();
  impl_->error = Status::Ok();
}

struct Store::Impl {
  StoreOptions options;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::thread syncer;
  std::mutex syncer_mutex;
  std::condition_variable syncer_wake;
  bool stopping = false;

  rocksdb::ColumnFamilyHandle* handle(Table table) const {
    return handles[static_cast<int>(table)];
  }
};

Store::Store(std::string dir) : dir_(std::move(dir)), impl_(std::make_unique<Impl>()) {}

Store::~Store() {
  if (impl_->syncer.joinable()) {
    {
      std::lock_guard lock(impl_->syncer_mutex);
      impl_->stopping = true;
    }
    impl_->syncer_wake.notify_all();
    impl_->syncer.join();
  }
  if (impl_->db) {
    if (!impl_->options.read_only && !impl_->options.write_ahead_log) {
      // Without the log, unflushed commits would be lost at close.
      rocksdb::FlushOptions flush_options;
      impl_->db->Flush(flush_options, impl_->handles).PermitUncheckedError();
    }
    if (!impl_->options.read_only) impl_->db->SyncWAL().PermitUncheckedError();
    for (auto* handle : impl_->handles)
      impl_->db->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    impl_->db->Close().PermitUncheckedError();
  }
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, const StoreOptions& options) {
  std::unique_ptr<Store> store(new Store(dir));
  store->impl_->options = options;
  std::error_code error;
  const bool exists = std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", error);
  if (!exists && (!options.create_if_missing || options.read_only)) {
    return NotFound("no tailor store in '{}' (import data first, or check --data-dir)", dir);
  }
  if (!exists) {
    std::filesystem::create_directories(dir, error);
    if (error) return IoError("cannot create '{}': {}", dir, error.message());
  }
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 4;
  db_options.bytes_per_sync = 4 << 20;
  db_options.max_total_wal_size = 1ull << 30;
  db_options.keep_log_file_num = 3;
  db_options.max_open_files = 1000;
  // Tables are flushed together, so a store written without the log (bulk import) is always a
  // consistent cut across them.
  db_options.atomic_flush = true;
  auto cache = rocksdb::NewLRUCache(options.memory_limit_bytes != 0 ? options.memory_limit_bytes
                                                                    : options.block_cache_bytes);
  if (options.memory_limit_bytes != 0) {
    db_options.write_buffer_manager =
        std::make_shared<rocksdb::WriteBufferManager>(options.memory_limit_bytes / 2, cache);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (int i = 0; i < kTableCount; ++i) {
    families.emplace_back(std::string(kTableNames[i]),
                          TableOptions(static_cast<Table>(i), cache, !options.write_ahead_log,
                                       options.memory_limit_bytes));
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status status =
      options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, dir, families, &store->impl_->handles, &raw)
          : rocksdb::DB::Open(db_options, dir, families, &store->impl_->handles, &raw);
  if (!status.ok()) {
    if (status.IsIOError() && status.ToString().find("lock") != std::string::npos) {
      return FailedPrecondition("store '{}' is in use by another tailor process: {}", dir,
                                status.ToString());
    }
    return FromRocks(status, fmt::format("opening store '{}'", dir));
  }
  store->impl_->db.reset(raw);

  // The format version is written once, when the store is created, and checked at every open.
  std::string version;
  Status found = store->Get(Table::kMeta, kFormatKey, version);
  if (found.code() == StatusCode::kNotFound) {
    if (options.read_only) return FailedPrecondition("store '{}' has no format version", dir);
    Batch batch = store->NewBatch();
    batch.Put(Table::kMeta, kFormatKey, std::to_string(kFormatVersion));
    TAILOR_RETURN_IF_ERROR(store->Commit(batch));
  } else if (!found.ok()) {
    return found;
  } else if (version != std::to_string(kFormatVersion)) {
    return FailedPrecondition(
        "store '{}' has on-disk format {}, this tailor reads format {}: use a matching tailor "
        "or export and re-import the data",
        dir, version, kFormatVersion);
  }
  if (options.sync == SyncPolicy::kPeriodic && !options.read_only) {
    Impl* impl = store->impl_.get();
    impl->syncer = std::thread([impl] {
      std::unique_lock lock(impl->syncer_mutex);
      while (!impl->stopping) {
        impl->syncer_wake.wait_for(lock, std::chrono::milliseconds(impl->options.sync_interval_ms));
        impl->db->SyncWAL().PermitUncheckedError();
      }
    });
  }
  return store;
}

Status Store::Get(Table table, std::string_view key, std::string& value) const {
  rocksdb::Status status =
      impl_->db->Get(rocksdb::ReadOptions(), impl_->handle(table), ToSlice(key), &value);
  if (status.IsNotFound()) return Status(StatusCode::kNotFound, "");
  return FromRocks(status, "reading the store");
}

Batch Store::NewBatch() const {
  Batch batch;
  batch.impl_->handles = &impl_->handles;
  return batch;
}

Status Store::Commit(Batch& batch) {
  if (impl_->options.read_only) return FailedPrecondition("the store is open read-only");
  if (batch.impl_->handles != &impl_->handles) {
    return Internal("a batch must be made by the store that commits it");
  }
  TAILOR_RETURN_IF_ERROR(batch.impl_->error);
  rocksdb::WriteOptions write_options;
  write_options.disableWAL = !impl_->options.write_ahead_log;
  write_options.sync =
      impl_->options.write_ahead_log && impl_->options.sync != SyncPolicy::kPeriodic;
  return FromRocks(impl_->db->Write(write_options, &batch.impl_->batch), "writing to the store");
}

namespace {
class RocksReadPoint final : public ReadPoint {
 public:
  RocksReadPoint(rocksdb::DB* db) : db_(db), snapshot_(db->GetSnapshot()) {}
  ~RocksReadPoint() override { db_->ReleaseSnapshot(snapshot_); }
  const rocksdb::Snapshot* snapshot() const { return snapshot_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
};
}  // namespace

std::unique_ptr<ReadPoint> Store::TakeReadPoint() const {
  return std::make_unique<RocksReadPoint>(impl_->db.get());
}

Status Store::Scan(Table table, std::string_view begin, std::string_view end,
                   const std::function<bool(std::string_view, std::string_view)>& visit,
                   const ReadPoint* at) const {
  rocksdb::ReadOptions read_options;
  if (at != nullptr) {
    read_options.snapshot = static_cast<const RocksReadPoint*>(at)->snapshot();
    // Point-in-time scans are bulk reads (snapshots) that touch each block once: keep them from
    // evicting the blocks that point lookups need.
    read_options.fill_cache = false;
  }
  rocksdb::Slice upper;
  if (!end.empty()) {
    upper = ToSlice(end);
    read_options.iterate_upper_bound = &upper;
  }
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read_options, impl_->handle(table)));
  for (it->Seek(ToSlice(begin)); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    const rocksdb::Slice value = it->value();
    if (!visit(std::string_view(key.data(), key.size()),
               std::string_view(value.data(), value.size()))) {
      break;
    }
  }
  return FromRocks(it->status(), "scanning the store");
}

Status Store::Flush() {
  if (impl_->options.read_only) return Status::Ok();
  rocksdb::FlushOptions flush_options;
  flush_options.wait = true;
  TAILOR_RETURN_IF_ERROR(FromRocks(impl_->db->Flush(flush_options, impl_->handles), "flushing"));
  return FromRocks(impl_->db->SyncWAL(), "syncing the log");
}

Status Store::CompactAll() {
  for (auto* handle : impl_->handles) {
    rocksdb::CompactRangeOptions compact_options;
    TAILOR_RETURN_IF_ERROR(FromRocks(
        impl_->db->CompactRange(compact_options, handle, nullptr, nullptr), "compacting"));
  }
  return Status::Ok();
}

TableSize Store::Size(Table table) const {
  TableSize size;
  auto* handle = impl_->handle(table);
  impl_->db->GetIntProperty(handle, rocksdb::DB::Properties::kLiveSstFilesSize,
                            &size.live_bytes_on_disk);
  impl_->db->GetIntProperty(handle, rocksdb::DB::Properties::kCurSizeAllMemTables,
                            &size.memtable_bytes);
  impl_->db->GetIntProperty(handle, rocksdb::DB::Properties::kEstimateNumKeys,
                            &size.estimated_keys);
  return size;
}

uint64_t Store::WalBytes() const {
  std::error_code error;
  uint64_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, error)) {
    if (entry.path().extension() == ".log") bytes += entry.file_size(error);
  }
  return bytes;
}

}  // namespace tailor::store
