// tailor: customer segmentation and real-time personalization. See README.md.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>

#include "commands.h"
#include "tailor/clock.h"
#include "tailor/json_writer.h"
#include "tailor/population.h"

namespace tailor::cli {

std::unique_ptr<Engine> OpenEngine(const GlobalOptions& global, bool create_if_missing,
                                   bool bulk_load) {
  EngineOptions options;
  options.store.create_if_missing = create_if_missing;
  options.bulk_load = bulk_load;
  const auto sync = store::ParseSyncPolicy(global.sync);
  if (!sync) {
    ReportError(global,
                InvalidArgument("--sync must be every-write, group-commit or periodic, not '{}'",
                                global.sync));
    return nullptr;
  }
  options.store.sync = *sync;
  auto engine = Engine::Open(global.data_dir, options);
  if (!engine.ok()) {
    ReportError(global, engine.status());
    return nullptr;
  }
  return std::move(engine).value();
}

Result<std::vector<EventInput>> ProfileEvents(const GlobalOptions& global, const std::string& id,
                                              TraitMap* traits,
                                              std::shared_ptr<const signals::StoreIndex>* stores) {
  EngineOptions options;
  options.store.create_if_missing = false;
  TAILOR_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(global.data_dir, options));
  TAILOR_ASSIGN_OR_RETURN(ProfileId profile, engine->Resolve(id));
  if (traits != nullptr) {
    TAILOR_ASSIGN_OR_RETURN(ProfileView view, engine->GetProfile(profile, 0));
    *traits = std::move(view.traits);
  }
  if (stores != nullptr) {
    TAILOR_ASSIGN_OR_RETURN(segments::ItemCatalog items, LoadItemCatalog(*engine));
    *stores = StoreIndexOf(items);
  }
  return engine->Events(profile);
}

std::unique_ptr<snapshot::Snapshot> StoreSnapshot(const GlobalOptions& global) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return nullptr;
  snapshot::SnapshotOptions options;
  options.event_fields = {};
  auto snapshot = engine->BuildSnapshot(options);
  if (!snapshot.ok()) {
    ReportError(global, snapshot.status());
    return nullptr;
  }
  return std::move(snapshot).value();
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

Result<Timestamp> ParseNow(const std::string& text, const std::string& fallback) {
  const std::string& given = text.empty() ? fallback : text;
  if (given.empty()) {
    return SystemClockMillis();
  }
  std::tm parts{};
  const char* end = strptime(given.c_str(), "%Y-%m-%dT%H:%M:%S", &parts);
  if (end == nullptr || (*end != '\0' && std::string_view(end) != "Z")) {
    return InvalidArgument("--now must look like 2026-11-01T00:00:00Z, not '{}'", given);
  }
  return static_cast<Timestamp>(timegm(&parts)) * 1000;
}

int ReportError(const GlobalOptions& global, const Status& status) {
  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("error")
        .BeginObject()
        .Key("code")
        .String(StatusCodeName(status.code()))
        .Key("message")
        .String(status.message())
        .EndObject()
        .EndObject();
    std::printf("%s\n", json.str().c_str());
  } else {
    std::fprintf(stderr, "error: %s\n", status.message().c_str());
  }
  return 1;
}

}  // namespace tailor::cli

int main(int argc, char** argv) {
  using namespace tailor::cli;  // NOLINT(google-build-using-namespace): main only
  CLI::App app{"tailor: customer segmentation and real-time personalization"};
  app.require_subcommand(1);
  app.fallthrough();  // --data-dir and --json may also follow the verb
  GlobalOptions global;
  app.add_option("--data-dir", global.data_dir, "store directory")->capture_default_str();
  app.add_option("--sync", global.sync, "durability: every-write, group-commit, periodic")
      ->capture_default_str();
  app.add_flag("--json", global.json, "print one JSON object");
  // Any option from a TOML file: top-level keys are the global options (data-dir = "..."),
  // a [serve] table holds tailor serve's (docs/api.md#configuration). Flags given win.
  app.set_config("--config", "", "read options from a TOML file (docs/api.md#configuration)");
  app.allow_config_extras(CLI::config_extras_mode::error);  // a misspelt setting is not ignored
  int exit_code = 0;
  RegisterImport(app, global, exit_code);
  RegisterInspect(app, global, exit_code);
  RegisterBench(app, global, exit_code);
  RegisterDemo(app, global, exit_code);
  RegisterSegments(app, global, exit_code);
  RegisterServe(app, global, exit_code);
  RegisterAnalytics(app, global, exit_code);
  RegisterPropensity(app, global, exit_code);
  RegisterClv(app, global, exit_code);
  RegisterSignals(app, global, exit_code);
  RegisterIntent(app, global, exit_code);
  RegisterReco(app, global, exit_code);
  RegisterSurvey(app, global, exit_code);
  RegisterProfileSegment(app, global, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  } catch (const std::exception& error) {
    // Last resort: tailor code does not throw, but a library might.
    std::fprintf(stderr, "error: %s\n", error.what());
    return 2;
  }
  return exit_code;
}
