#pragma once

// The `tailor` CLI: each cmd_*.cc registers its verbs on the CLI11 app. Verbs print text for
// people, or one JSON object with --json, and return the process exit code.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "tailor/engine.h"
#include "tailor/place.h"

namespace tailor::cli {

struct GlobalOptions {
  std::string data_dir = "./tailor-data";
  std::string sync = "group-commit";
  bool json = false;
};

// Opens the engine of --data-dir; prints the error and returns nullptr on failure.
// `bulk_load`: commits skip the log and become durable at flushes (EngineOptions::bulk_load).
std::unique_ptr<Engine> OpenEngine(const GlobalOptions& global, bool create_if_missing,
                                   bool bulk_load = false);
// A snapshot of the store of --data-dir (traits and the core event columns, no extra event
// fields); prints the error and returns nullptr on failure.
std::unique_ptr<snapshot::Snapshot> StoreSnapshot(const GlobalOptions& global);
// Every event of one profile (by profile, anonymous or merged-away id), in time order, from the
// store of --data-dir, and its traits and the catalogue's stores (place.h) when asked; kNotFound
// for an unknown id.
Result<std::vector<EventInput>> ProfileEvents(
    const GlobalOptions& global, const std::string& id, TraitMap* traits = nullptr,
    std::shared_ptr<const signals::StoreIndex>* stores = nullptr);
// Reads a --now option: "2026-11-01T00:00:00Z" (the Z optional); `fallback` when empty
// (empty fallback: the clock). kInvalidArgument names the bad text.
Result<Timestamp> ParseNow(const std::string& text, const std::string& fallback = "");
// The value at quantile `p` (0..1) of `values` (the nearest rank); 0 when empty. For benchmarks.
double Percentile(std::vector<double> values, double p);
// Prints `status` as "error: ..." (or as {"error": ...} with --json) and returns exit code 1.
int ReportError(const GlobalOptions& global, const Status& status);

// Each registration adds a subcommand whose callback stores its exit code in `exit_code`.
void RegisterImport(CLI::App& app, GlobalOptions& global, int& exit_code);
void RegisterInspect(CLI::App& app, GlobalOptions& global, int& exit_code);
void RegisterBench(CLI::App& app, GlobalOptions& global, int& exit_code);
void RegisterDemo(CLI::App& app, GlobalOptions& global, int& exit_code);
void RegisterSegments(CLI::App& app, GlobalOptions& global, int& exit_code);
void RegisterServe(CLI::App& app, GlobalOptions& global, int& exit_code);
void RegisterAnalytics(CLI::App& app, GlobalOptions& global, int& exit_code);
void RegisterSurvey(CLI::App& app, GlobalOptions& global, int& exit_code);
void RegisterIntent(CLI::App& app, GlobalOptions& global, int& exit_code);
void RegisterReco(CLI::App& app, GlobalOptions& global, int& exit_code);
void RegisterSignals(CLI::App& app, GlobalOptions& global, int& exit_code);
void RegisterClv(CLI::App& app, GlobalOptions& global, int& exit_code);
void RegisterPropensity(CLI::App& app, GlobalOptions& global, int& exit_code);
void RegisterProfileSegment(CLI::App& app, GlobalOptions& global, int& exit_code);
// Adds `segments` under the `bench` command.
void RegisterBenchSegments(CLI::App& bench, GlobalOptions& global, int& exit_code);
// Adds `intent` under the `bench` command.
void RegisterBenchIntent(CLI::App& bench, GlobalOptions& global, int& exit_code);
// Adds `signals` under the `bench` command.
void RegisterBenchSignals(CLI::App& bench, GlobalOptions& global, int& exit_code);
// `tailor bench reco` (cmd_bench_reco.cc).
void RegisterBenchReco(CLI::App& bench, GlobalOptions& global, int& exit_code);

}  // namespace tailor::cli
