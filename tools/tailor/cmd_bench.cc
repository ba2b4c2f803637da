// tailor bench ingest --data DIR: imports DIR/{items,profiles,events}.csv into a fresh store and
// reports time, events/s and peak memory. The store is durable (flushed and synced) at the end.

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "progress.h"
#include "tailor/import.h"
#include "tailor/json_writer.h"

namespace tailor::cli {
namespace {

struct BenchArgs {
  std::string data;
  std::string store_dir;
  bool keep = false;
  bool wal = false;
  size_t batch_rows = 10000;
};

int RunBenchIngest(GlobalOptions global, const BenchArgs& args) {
  namespace fs = std::filesystem;
  const std::string store_dir = args.store_dir.empty()
                                    ? (fs::temp_directory_path() / "tailor-bench-ingest").string()
                                    : args.store_dir;
  std::error_code error;
  fs::remove_all(store_dir, error);
  global.data_dir = store_dir;
  const auto start = std::chrono::steady_clock::now();
  auto engine = OpenEngine(global, /*create_if_missing=*/true, /*bulk_load=*/!args.wal);
  if (!engine) return 1;
  struct Step {
    const char* kind;
    ingest::RecordKind record_kind;
    ImportSummary summary;
  };
  Step steps[] = {{"items", ingest::RecordKind::kItems, {}},
                  {"profiles", ingest::RecordKind::kProfiles, {}},
                  {"events", ingest::RecordKind::kEvents, {}}};
  for (Step& step : steps) {
    ImportOptions options;
    options.kind = step.record_kind;
    options.batch_rows = args.batch_rows;
    options.reject_path =
        (fs::path(store_dir) / (std::string(step.kind) + ".rejects.tsv")).string();
    ProgressBar progress(fmt::format("bench {}", step.kind));
    options.on_progress = [&](const ImportOptions::Progress& p) {
      progress.Update(p.bytes_read, p.total_bytes, p.rows);
    };
    auto summary = ImportFile(
        *engine, (fs::path(args.data) / (std::string(step.kind) + ".csv")).string(), options);
    progress.Finish();
    if (!summary.ok()) return ReportError(global, summary.status());
    step.summary = *summary;
  }
  const auto flush_start = std::chrono::steady_clock::now();
  Status flushed = engine->Flush();
  if (!flushed.ok()) return ReportError(global, flushed);
  const auto end = std::chrono::steady_clock::now();
  const double total_seconds = std::chrono::duration<double>(end - start).count();
  const double flush_seconds = std::chrono::duration<double>(end - flush_start).count();
  const EngineStats stats = engine->Stats();
  const ImportSummary& events = steps[2].summary;
  if (global.json) {
    JsonWriter json;
    json.BeginObject().Key("benchmark").String("ingest").Key("data").String(args.data);
    for (const Step& step : steps) {
      json.Key(step.kind)
          .BeginObject()
          .Key("rows")
          .Uint(step.summary.rows)
          .Key("accepted")
          .Uint(step.summary.accepted)
          .Key("rejected")
          .Uint(step.summary.rejected)
          .Key("seconds")
          .Double(step.summary.seconds)
          .EndObject();
    }
    json.Key("mode")
        .String(args.wal ? "wal" : "bulk")
        .Key("flush_seconds")
        .Double(flush_seconds)
        .Key("total_seconds")
        .Double(total_seconds)
        .Key("events_per_second")
        .Double(events.accepted / events.seconds)
        .Key("stored_profiles")
        .Uint(stats.profiles)
        .Key("stored_events")
        .Uint(stats.events)
        .Key("bytes_on_disk")
        .Uint(stats.bytes_on_disk)
        .Key("peak_rss_bytes")
        .Uint(PeakRssBytes())
        .EndObject();
    std::printf("%s\n", json.str().c_str());
  } else {
    for (const Step& step : steps) {
      std::printf("%-9s %10llu rows in %7.2f s (%.0f rows/s)\n", step.kind,
                  static_cast<unsigned long long>(step.summary.rows), step.summary.seconds,
                  step.summary.rows / std::max(step.summary.seconds, 1e-9));
    }
    std::printf(
        "flush     %.2f s\ntotal     %.2f s, %.0f events/s, peak memory %.0f MiB, %.0f MiB on "
        "disk\n",
        flush_seconds, total_seconds, events.accepted / events.seconds, PeakRssBytes() / 1048576.0,
        stats.bytes_on_disk / 1048576.0);
  }
  engine.reset();
  if (!args.keep) fs::remove_all(store_dir, error);
  return 0;
}

int RunBenchSnapshot(const GlobalOptions& global, int threads) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  snapshot::SnapshotOptions options;
  options.threads = threads;
  const auto start = std::chrono::steady_clock::now();
  auto snap = engine->BuildSnapshot(options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!snap.ok()) return ReportError(global, snap.status());
  const snapshot::Snapshot& built = **snap;
  const size_t events = built.events().size();
  const size_t known = built.known().Count();
  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("benchmark")
        .String("snapshot")
        .Key("data_dir")
        .String(global.data_dir)
        .Key("seconds")
        .Double(seconds)
        .Key("profiles")
        .Uint(known)
        .Key("dense_ids")
        .Uint(built.profile_count())
        .Key("events")
        .Uint(events)
        .Key("traits")
        .Uint(built.traits().size())
        .Key("memory_bytes")
        .Uint(built.memory_bytes())
        .Key("bytes_per_event")
        .Double(static_cast<double>(built.events().memory_bytes()) / std::max<size_t>(events, 1))
        .Key("peak_rss_bytes")
        .Uint(PeakRssBytes())
        .EndObject();
    std::printf("%s\n", json.str().c_str());
  } else {
    std::printf("snapshot of %zu profiles (%u dense ids), %zu events, %zu traits in %.2f s\n",
                known, built.profile_count(), events, built.traits().size(), seconds);
    std::printf("memory %.0f MiB (%.1f bytes per event in event columns), peak RSS %.0f MiB\n",
                built.memory_bytes() / 1048576.0,
                static_cast<double>(built.events().memory_bytes()) / std::max<size_t>(events, 1),
                PeakRssBytes() / 1048576.0);
  }
  return 0;
}

}  // namespace

void RegisterBench(CLI::App& app, GlobalOptions& global, int& exit_code) {
  CLI::App* bench =
      app.add_subcommand("bench", "benchmarks on generated data (docs/benchmarks.md)");
  bench->require_subcommand(1);
  auto args = std::make_shared<BenchArgs>();
  CLI::App* ingest =
      bench->add_subcommand("ingest", "import DIR/{items,profiles,events}.csv into a fresh store");
  ingest->add_option("--data", args->data, "folder with the generator's CSVs")
      ->required()
      ->check(CLI::ExistingDirectory);
  ingest->add_option("--store", args->store_dir, "store to create (default: a temp folder)");
  ingest->add_flag("--keep", args->keep, "keep the store afterwards");
  ingest->add_flag("--wal", args->wal, "every batch durable through the log (default: bulk load)");
  ingest->add_option("--batch-rows", args->batch_rows)->capture_default_str();
  ingest->callback([&global, &exit_code, args] { exit_code = RunBenchIngest(global, *args); });
  RegisterBenchSegments(*bench, global, exit_code);
  RegisterBenchIntent(*bench, global, exit_code);
  RegisterBenchSignals(*bench, global, exit_code);
  RegisterBenchReco(*bench, global, exit_code);
  auto threads = std::make_shared<int>(0);
  CLI::App* snapshot_command =
      bench->add_subcommand("snapshot", "build the columnar snapshot of --data-dir and time it");
  snapshot_command->add_option("--threads", *threads, "worker threads (0: one per core)");
  snapshot_command->callback(
      [&global, &exit_code, threads] { exit_code = RunBenchSnapshot(global, *threads); });
}

}  // namespace tailor::cli
