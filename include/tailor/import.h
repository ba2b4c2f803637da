#pragma once

// Bulk import of a CSV or NDJSON file into an engine, in atomic, durable batches.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "tailor/engine.h"
#include "tailor/ingest.h"

namespace tailor {

struct ImportOptions {
  ingest::RecordKind kind = ingest::RecordKind::kEvents;
  std::optional<ingest::Mapping> mapping;  // nullopt: the file is in tailor's reference shape
  size_t batch_rows = 10000;
  // One line per rejected row ("line<TAB>reason"); empty: no reject file.
  std::string reject_path;
  // In bulk-load mode (Engine::durable_on_commit() false) the engine is flushed every this many
  // batches, and progress is reported only then, when the batches are durable.
  size_t checkpoint_batches = 200;
  // Called when batches have become durable (after each commit, or at each bulk-load
  // checkpoint), with the totals so far.
  struct Progress {
    uint64_t bytes_read, total_bytes, batches, rows, accepted, last_line;
  };
  std::function<void(const Progress&)> on_progress;
  // Stop (as a crash would) after this many committed batches; for fault-injection tests.
  std::optional<uint64_t> stop_after_batches;
};

struct ImportSummary {
  uint64_t rows = 0;        // data rows read
  uint64_t accepted = 0;    // stored
  uint64_t duplicates = 0;  // already stored (same event id for the same profile)
  uint64_t rejected = 0;    // refused; reasons in the reject file
  uint64_t batches = 0;     // committed batches
  double seconds = 0;
  struct FirstRejects {
    uint64_t line;
    std::string reason;
  };
  std::vector<FirstRejects> first_rejects;  // the first few, for the summary
};

// Reads `path` and stores its rows. Every committed batch is durable; a failure in the middle
// leaves the batches before it stored, and running the import again adds nothing twice.
Result<ImportSummary> ImportFile(Engine& engine, const std::string& path,
                                 const ImportOptions& options);

}  // namespace tailor
