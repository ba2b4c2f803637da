#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#include "tailor/import.h"

namespace tailor {
namespace {

constexpr size_t kSampleRows = 1000;
constexpr size_t kFirstRejectsKept = 10;
constexpr size_t kQueueDepth = 3;

struct RowReject {
  uint64_t line;
  std::string reason;
};

// One batch of parsed records with the file lines they came from. Batches are recycled: the
// first `used` records are this batch's; the rest keep their buffers for the next one.
struct ParsedBatch {
  std::vector<ProfileInput> profiles;
  std::vector<EventInput> events;
  std::vector<ItemInput> items;
  size_t used = 0;
  std::vector<uint64_t> lines;  // line of each record
  std::vector<RowReject> rejects;
  uint64_t rows = 0;
  uint64_t bytes_read = 0;

  template <typename T>
  static T& Slot(std::vector<T>& records, size_t index) {
    if (records.size() <= index) records.resize(index + 1);
    return records[index];
  }
  void Reset() {
    used = 0;
    lines.clear();
    rejects.clear();
    rows = 0;
    bytes_read = 0;
  }
};

// A bounded hand-off between the parsing thread and the committing thread.
class BatchQueue {
 public:
  void Push(ParsedBatch batch) {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return queue_.size() < kQueueDepth || closed_; });
    if (closed_) return;
    queue_.push_back(std::move(batch));
    ready_.notify_one();
  }
  bool Pop(ParsedBatch& batch) {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !queue_.empty() || done_; });
    if (queue_.empty()) return false;
    batch = std::move(queue_.front());
    queue_.pop_front();
    space_.notify_one();
    return true;
  }
  void Finish() {
    std::lock_guard lock(mutex_);
    done_ = true;
    ready_.notify_all();
  }
  // The consumer gave up: unblock the producer.
  void Close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    space_.notify_all();
  }
  bool closed() {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  // A processed batch goes back for reuse, so its records keep their allocations.
  void Recycle(ParsedBatch batch) {
    std::lock_guard lock(mutex_);
    if (free_.size() < kQueueDepth + 1) free_.push_back(std::move(batch));
  }
  ParsedBatch Fresh() {
    std::lock_guard lock(mutex_);
    if (free_.empty()) return ParsedBatch{};
    ParsedBatch batch = std::move(free_.back());
    free_.pop_back();
    batch.Reset();
    return batch;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<ParsedBatch> queue_;
  std::vector<ParsedBatch> free_;
  bool done_ = false, closed_ = false;
};

std::vector<std::string> WantedColumns(const ingest::Mapping& mapping) {
  std::vector<std::string> columns;
  for (const auto& [target, source] : mapping.fields) {
    if (!source.column.empty()) columns.push_back(source.column);
  }
  for (const auto& [name, source] : mapping.extras) {
    if (!source.column.empty()) columns.push_back(source.column);
  }
  return columns;
}

}  // namespace

Result<ImportSummary> ImportFile(Engine& engine, const std::string& path,
                                 const ImportOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const ingest::Mapping mapping = options.mapping.value_or(ingest::DefaultMapping(options.kind));
  const ingest::FileFormat format = mapping.format.value_or(ingest::FormatFromPath(path));
  TAILOR_ASSIGN_OR_RETURN(
      std::unique_ptr<ingest::RowReader> reader,
      ingest::OpenRowReader(path, format, mapping.delimiter, WantedColumns(mapping)));

  // The first rows fix the types of traits the schema does not know yet.
  std::vector<ingest::Row> sample;
  std::vector<std::string> sample_errors;
  std::deque<std::string> sample_storage;  // the reader reuses its buffers: keep copies
  {
    ingest::Row row;
    std::string error;
    while (sample.size() < kSampleRows && reader->Next(row, error)) {
      sample_errors.push_back(error);
      for (auto& value : row.values) value = sample_storage.emplace_back(value);
      sample.push_back(row);
    }
  }
  TAILOR_ASSIGN_OR_RETURN(
      ingest::RecordBuilder builder,
      ingest::RecordBuilder::Create(mapping, reader->columns(), engine.schema(), sample));
  if (options.kind == ingest::RecordKind::kProfiles) {
    std::vector<TraitDef> traits;
    for (const auto& extra : builder.extra_defs()) {
      traits.push_back(TraitDef{extra.name, extra.type, extra.category, 0});
    }
    TAILOR_RETURN_IF_ERROR(engine.DeclareTraits(traits));
  }

  std::FILE* reject_file = nullptr;
  if (!options.reject_path.empty()) {
    reject_file = std::fopen(options.reject_path.c_str(), "w");
    if (reject_file == nullptr)
      return IoError("cannot write reject file '{}'", options.reject_path);
    std::fprintf(reject_file, "line\treason\n");
  }

  BatchQueue queue;
  // Parsing runs on its own thread so that it overlaps the store's writes.
  std::thread parser([&] {
    ParsedBatch batch;
    auto add_row = [&](const ingest::Row& row, const std::string& error) {
      ++batch.rows;
      if (!error.empty()) {
        batch.rejects.push_back({row.line, error});
        return;
      }
      Status status;
      switch (options.kind) {
        case ingest::RecordKind::kProfiles:
          status = builder.BuildProfile(row, ParsedBatch::Slot(batch.profiles, batch.used));
          break;
        case ingest::RecordKind::kEvents:
          status = builder.BuildEvent(row, ParsedBatch::Slot(batch.events, batch.used));
          break;
        case ingest::RecordKind::kItems:
          status = builder.BuildItem(row, ParsedBatch::Slot(batch.items, batch.used));
          break;
      }
      if (status.ok()) {
        ++batch.used;
        batch.lines.push_back(row.line);
      } else {
        batch.rejects.push_back({row.line, status.message()});
      }
    };
    auto ship = [&] {
      batch.bytes_read = reader->bytes_read();
      queue.Push(std::move(batch));
      batch = queue.Fresh();
    };
    for (size_t i = 0; i < sample.size(); ++i) {
      add_row(sample[i], sample_errors[i]);
      if (batch.rows >= options.batch_rows) ship();
    }
    ingest::Row row;
    std::string error;
    while (!queue.closed() && reader->Next(row, error)) {
      add_row(row, error);
      if (batch.rows >= options.batch_rows) ship();
    }
    if (batch.rows > 0) ship();
    queue.Finish();
  });

  ImportSummary summary;
  Status failure;
  ParsedBatch batch;
  uint64_t last_line = 0, bytes_read = 0;
  auto record_reject = [&](uint64_t line, const std::string& reason) {
    ++summary.rejected;
    if (summary.first_rejects.size() < kFirstRejectsKept)
      summary.first_rejects.push_back({line, reason});
    if (reject_file != nullptr)
      std::fprintf(reject_file, "%llu\t%s\n", static_cast<unsigned long long>(line),
                   reason.c_str());
  };
  while (queue.Pop(batch)) {
    if (options.stop_after_batches && summary.batches >= *options.stop_after_batches) {
      failure = Status(StatusCode::kInternal, "stopped after the requested number of batches");
      break;
    }
    BatchReport report;
    Status status;
    switch (options.kind) {
      case ingest::RecordKind::kProfiles:
        status = engine.UpsertProfilesMoving(std::span(batch.profiles.data(), batch.used), report);
        break;
      case ingest::RecordKind::kEvents:
        status = engine.IngestEvents(std::span(batch.events.data(), batch.used), report);
        break;
      case ingest::RecordKind::kItems:
        status = engine.UpsertItems(std::span(batch.items.data(), batch.used), report);
        break;
    }
    if (!status.ok()) {
      failure = status.WithContext(
          fmt::format("batch ending at line {}", batch.lines.empty() ? 0 : batch.lines.back()));
      break;
    }
    ++summary.batches;
    summary.rows += batch.rows;
    summary.accepted += report.accepted;
    summary.duplicates += report.duplicates;
    for (const RowReject& reject : batch.rejects) record_reject(reject.line, reject.reason);
    for (const auto& rejection : report.rejected)
      record_reject(batch.lines[rejection.index], rejection.reason);
    if (!batch.lines.empty()) last_line = batch.lines.back();
    bytes_read = batch.bytes_read;
    if (!engine.durable_on_commit() && summary.batches % options.checkpoint_batches == 0) {
      Status flushed = engine.Flush();
      if (!flushed.ok()) {
        failure = flushed;
        break;
      }
    }
    if (options.on_progress &&
        (engine.durable_on_commit() || summary.batches % options.checkpoint_batches == 0)) {
      options.on_progress({bytes_read, reader->total_bytes(), summary.batches, summary.rows,
                           summary.accepted, last_line});
    }
    queue.Recycle(std::move(batch));
  }
  queue.Close();
  while (queue.Pop(batch)) {
  }
  parser.join();
  if (reject_file != nullptr) std::fclose(reject_file);
  if (!failure.ok()) return failure;
  if (!engine.durable_on_commit()) {
    TAILOR_RETURN_IF_ERROR(engine.Flush());
    if (options.on_progress) {
      options.on_progress({bytes_read, reader->total_bytes(), summary.batches, summary.rows,
                           summary.accepted, last_line});
    }
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace tailor
