// tailor import profiles|events|items FILE [--mapping FILE] [--reject-file FILE]

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "progress.h"
#include "tailor/import.h"
#include "tailor/json_writer.h"

namespace tailor::cli {
namespace {

struct ImportArgs {
  std::string kind;
  std::string file;
  std::string mapping_path;
  std::string reject_path;
  size_t batch_rows = 10000;
  bool log_batches = false;
  bool wal = false;
  size_t checkpoint_batches = 200;
  uint64_t stop_after_batches = 0;
};

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot read '{}'", path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int RunImport(const GlobalOptions& global, const ImportArgs& args) {
  const auto kind = ingest::ParseRecordKind(args.kind);
  if (!kind) {
    return ReportError(
        global, InvalidArgument("import what? '{}' is not profiles, events or items", args.kind));
  }
  ImportOptions options;
  options.kind = *kind;
  options.batch_rows = std::max<size_t>(1, args.batch_rows);
  if (!args.mapping_path.empty()) {
    auto text = ReadWholeFile(args.mapping_path);
    if (!text.ok()) return ReportError(global, text.status());
    auto mapping = ingest::ParseMapping(*text, *kind);
    if (!mapping.ok()) return ReportError(global, mapping.status().WithContext(args.mapping_path));
    options.mapping = std::move(mapping).value();
  }
  options.reject_path = args.reject_path.empty()
                            ? std::filesystem::path(args.file).filename().string() + ".rejects.tsv"
                            : args.reject_path;
  if (args.stop_after_batches > 0) options.stop_after_batches = args.stop_after_batches;
  options.checkpoint_batches = std::max<size_t>(1, args.checkpoint_batches);
  auto engine = OpenEngine(global, /*create_if_missing=*/true, /*bulk_load=*/!args.wal);
  if (!engine) return 1;
  ProgressBar progress(fmt::format("import {}", args.kind));
  options.on_progress = [&](const ImportOptions::Progress& p) {
    if (args.log_batches) {
      // One line each time batches become durable: what must survive a kill -9.
      std::printf("committed batch=%llu rows=%llu accepted=%llu last_line=%llu\n",
                  static_cast<unsigned long long>(p.batches),
                  static_cast<unsigned long long>(p.rows),
                  static_cast<unsigned long long>(p.accepted),
                  static_cast<unsigned long long>(p.last_line));
      std::fflush(stdout);
    }
    progress.Update(p.bytes_read, p.total_bytes, p.rows);
  };
  auto summary = ImportFile(*engine, args.file, options);
  progress.Finish();
  if (!summary.ok()) return ReportError(global, summary.status());
  if (summary->rejected == 0) std::filesystem::remove(options.reject_path);
  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("kind")
        .String(args.kind)
        .Key("file")
        .String(args.file)
        .Key("rows")
        .Uint(summary->rows)
        .Key("accepted")
        .Uint(summary->accepted)
        .Key("duplicates")
        .Uint(summary->duplicates)
        .Key("rejected")
        .Uint(summary->rejected)
        .Key("batches")
        .Uint(summary->batches)
        .Key("seconds")
        .Double(summary->seconds)
        .Key("reject_file");
    if (summary->rejected > 0) {
      json.String(options.reject_path);
    } else {
      json.Null();
    }
    json.Key("first_rejects").BeginArray();
    for (const auto& reject : summary->first_rejects) {
      json.BeginObject()
          .Key("line")
          .Uint(reject.line)
          .Key("reason")
          .String(reject.reason)
          .EndObject();
    }
    json.EndArray().EndObject();
    std::printf("%s\n", json.str().c_str());
  } else {
    std::printf("%s: %llu rows, %llu accepted, %llu duplicates, %llu rejected in %.2f s\n",
                args.file.c_str(), static_cast<unsigned long long>(summary->rows),
                static_cast<unsigned long long>(summary->accepted),
                static_cast<unsigned long long>(summary->duplicates),
                static_cast<unsigned long long>(summary->rejected), summary->seconds);
    for (const auto& reject : summary->first_rejects) {
      std::printf("  line %llu: %s\n", static_cast<unsigned long long>(reject.line),
                  reject.reason.c_str());
    }
    if (summary->rejected > 0) {
      std::printf("every rejected row, with its line and reason: %s\n",
                  options.reject_path.c_str());
    }
  }
  return 0;
}

}  // namespace

void RegisterImport(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* command =
      app.add_subcommand("import", "import profiles, events or items from CSV/NDJSON");
  command->add_option("kind", args->kind, "profiles | events | items")->required();
  command->add_option("file", args->file, "CSV or NDJSON file")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("--mapping", args->mapping_path, "mapping file (JSON), see docs/mapping.md")
      ->check(CLI::ExistingFile);
  command->add_option(
      "--reject-file", args->reject_path,
      "where rejected rows go (default: FILE.rejects.tsv in the current directory)");
  command->add_option("--batch-rows", args->batch_rows, "rows per atomic, durable batch")
      ->capture_default_str();
  command->add_flag("--log-batches", args->log_batches,
                    "print a line each time batches become durable");
  command->add_flag("--wal", args->wal,
                    "make every batch durable through the write-ahead log as it commits (default: "
                    "bulk load, durable at checkpoints every 200 batches and at the end)");
  command
      ->add_option("--checkpoint-batches", args->checkpoint_batches,
                   "bulk load: batches between durable checkpoints")
      ->capture_default_str();
  command->add_option("--stop-after-batches", args->stop_after_batches)->group("");
  command->callback([&global, &exit_code, args] { exit_code = RunImport(global, *args); });
}

}  // namespace tailor::cli
