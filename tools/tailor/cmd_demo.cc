// tailor demo: generates a deterministic demo dataset, imports it into --data-dir and shows what
// tailor holds (until the server lands, this is the main job of `make demo`).

#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "tailor/demo_data.h"
#include "tailor/import.h"

namespace tailor::cli {
namespace {

int RunDemo(const GlobalOptions& global, uint32_t profiles) {
  namespace fs = std::filesystem;
  const std::string source = (fs::path(global.data_dir) / "source").string();
  demo::DemoDataOptions data_options;
  data_options.out_dir = source;
  data_options.profiles = profiles;
  auto generated = demo::WriteDemoData(data_options);
  if (!generated.ok()) return ReportError(global, generated.status());
  std::printf("generated %llu profiles, %llu events, %llu items in %s\n",
              static_cast<unsigned long long>(generated->profiles),
              static_cast<unsigned long long>(generated->events),
              static_cast<unsigned long long>(generated->items), source.c_str());
  auto engine = OpenEngine(global, /*create_if_missing=*/true, /*bulk_load=*/true);
  if (!engine) return 1;
  for (const auto& [kind, name] : {std::pair{ingest::RecordKind::kItems, "items"},
                                   std::pair{ingest::RecordKind::kProfiles, "profiles"},
                                   std::pair{ingest::RecordKind::kEvents, "events"}}) {
    ImportOptions options;
    options.kind = kind;
    options.reject_path = (fs::path(source) / (std::string(name) + ".rejects.tsv")).string();
    auto summary =
        ImportFile(*engine, (fs::path(source) / (std::string(name) + ".csv")).string(), options);
    if (!summary.ok()) return ReportError(global, summary.status());
    std::printf("imported %-8s %8llu rows, %8llu accepted, %llu rejected in %.2f s\n", name,
                static_cast<unsigned long long>(summary->rows),
                static_cast<unsigned long long>(summary->accepted),
                static_cast<unsigned long long>(summary->rejected), summary->seconds);
  }
  Status flushed = engine->Flush();
  if (!flushed.ok()) return ReportError(global, flushed);
  const EngineStats stats = engine->Stats();
  std::printf(
      "\nstore %s: %llu profiles (%llu anonymous visitors), %llu events, %llu items, "
      "%.1f MiB on disk\n\n",
      global.data_dir.c_str(), static_cast<unsigned long long>(stats.profiles),
      static_cast<unsigned long long>(stats.anonymous_profiles),
      static_cast<unsigned long long>(stats.events), static_cast<unsigned long long>(stats.items),
      stats.bytes_on_disk / 1048576.0);
  engine.reset();
  std::printf(
      "try:\n  build/tailor --data-dir %s stats\n  build/tailor --data-dir %s profile show "
      "c0000001\n",
      global.data_dir.c_str(), global.data_dir.c_str());
  return 0;
}

}  // namespace

void RegisterDemo(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto profiles = std::make_shared<uint32_t>(20000);
  CLI::App* demo = app.add_subcommand("demo", "generate a demo dataset and import it");
  demo->add_option("--profiles", *profiles, "profiles to generate")->capture_default_str();
  demo->callback([&global, &exit_code, profiles] { exit_code = RunDemo(global, *profiles); });
}

}  // namespace tailor::cli
