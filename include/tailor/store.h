#pragma once

// The durable store: one embedded RocksDB database in a data directory, split into tables
// (column families). Key layouts are in docs/storage_format.md. Only the store module includes
// RocksDB; other modules see tables, keys and batches.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tailor/status.h"

namespace tailor::store {

// When an acknowledged write reaches the disk.
enum class SyncPolicy {
  kEveryWrite,   // fsync before every Commit returns: nothing acknowledged is ever lost.
  kGroupCommit,  // concurrent commits share one fsync (RocksDB's write group); same guarantee.
  kPeriodic,     // the log is synced every `sync_interval_ms`; a crash may lose that window.
};
std::optional<SyncPolicy> ParseSyncPolicy(std::string_view name);

struct StoreOptions {
  SyncPolicy sync = SyncPolicy::kGroupCommit;
  // false: commits skip the write-ahead log and become durable only at Flush() (bulk loads,
  // where one process owns the store and re-running the load repairs a crash). Tables are
  // flushed atomically, so a crash leaves the state of some earlier Flush or later, never a mix.
  bool write_ahead_log = true;
  int sync_interval_ms = 100;
  bool create_if_missing = true;
  bool read_only = false;
  size_t block_cache_bytes = 256 << 20;
  // 0: the block cache above, and RocksDB's memtables as large as they grow (up to 4 x 128 MiB
  // for events and 4 x 64 MiB for each other table). Else the block cache and every memtable
  // together stay within this many bytes (memtables are charged to the cache; a table flushes
  // early when they reach half of it).
  size_t memory_limit_bytes = 0;
};

// On-disk format of this build. Opening a store written with another format fails with
// kFailedPrecondition rather than misreading it.
inline constexpr int kFormatVersion = 1;

// kDefinitions: segment and scheme definitions, their versions, sizes and members (segments).
enum class Table : uint8_t { kMeta = 0, kProfiles, kIds, kEvents, kItems, kState, kDefinitions };
inline constexpr int kTableCount = 7;
std::string_view TableName(Table table);

// A set of writes applied atomically by Store::Commit. Made by Store::NewBatch (it writes
// straight into RocksDB's batch format, with no copy in between).
class Batch {
 public:
  Batch();  // an empty batch; assign one from Store::NewBatch before use
  ~Batch();
  Batch(Batch&&) noexcept;
  Batch& operator=(Batch&&) noexcept;

  void Put(Table table, std::string_view key, std::string_view value);
  void Delete(Table table, std::string_view key);
  // Deletes every key in [begin, end).
  void DeleteRange(Table table, std::string_view begin, std::string_view end);
  size_t bytes() const;
  size_t count() const;
  void Clear();

 private:
  friend class Store;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct TableSize {
  uint64_t live_bytes_on_disk = 0;  // SST files
  uint64_t memtable_bytes = 0;
  uint64_t estimated_keys = 0;
};

// A point in time of the whole store: reads through it see exactly the commits made before it
// was taken. Holds old data alive (RocksDB snapshot) until destroyed; keep it short-lived.
class ReadPoint {
 public:
  virtual ~ReadPoint() = default;
};

// Thread-safe: any number of readers and committers may use one Store at once.
class Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  Batch NewBatch() const;
  // kNotFound when absent.
  Status Get(Table table, std::string_view key, std::string& value) const;
  // Applies `batch` atomically; when it returns ok the writes are durable as the sync policy says.
  Status Commit(Batch& batch);

  // Calls `visit(key, value)` for every key in [begin, end) in key order (end empty: to the end
  // of the table) until it returns false. Sees one consistent point in time: `at` if given (and
  // then bypasses the block cache, as bulk reads should), else the moment the scan starts.
  Status Scan(Table table, std::string_view begin, std::string_view end,
              const std::function<bool(std::string_view, std::string_view)>& visit,
              const ReadPoint* at = nullptr) const;
  std::unique_ptr<ReadPoint> TakeReadPoint() const;

  // Writes memtables to files and syncs the log: after it returns, reopening needs no replay.
  Status Flush();
  // Compacts everything (after a bulk import, so reads touch fewer files).
  Status CompactAll();

  TableSize Size(Table table) const;
  uint64_t WalBytes() const;
  const std::string& dir() const { return dir_; }

 private:
  struct Impl;
  explicit Store(std::string dir);
  std::string dir_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tailor::store
