// `tailor bench signals --data DIR`: the generated events (DIR/events.csv, first --events rows:
// whole histories of the first profiles) in time order, written through the service in batches
// as collected requests would be, on a fresh store. Reports what updating the signals and the
// session intent cost per event (the observer's own timing: its share of decoding the write's
// new block, and its fold), the write rate, and reading one profile's signals and intent.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "tailor/ingest.h"
#include "tailor/json_writer.h"
#include "tailor/service.h"

namespace tailor::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

struct SignalsBenchArgs {
  std::string data;
  std::string store;
  size_t events = 2'000'000;
  size_t batch = 500;
  size_t reads = 20'000;
};

Result<std::vector<EventInput>> ReadEvents(const std::string& path, size_t limit) {
  TAILOR_ASSIGN_OR_RETURN(auto reader,
                          ingest::OpenRowReader(path, ingest::FormatFromPath(path), ',', {}));
  TAILOR_ASSIGN_OR_RETURN(
      ingest::RecordBuilder builder,
      ingest::RecordBuilder::Create(ingest::DefaultMapping(ingest::RecordKind::kEvents),
                                    reader->columns(), Schema{}, {}));
  std::vector<EventInput> events;
  ingest::Row row;
  std::string error;
  while (events.size() < limit && reader->Next(row, error)) {
    if (!error.empty()) return InvalidArgument("{} line {}: {}", path, row.line, error);
    EventInput event;
    TAILOR_RETURN_IF_ERROR(builder.BuildEvent(row, event));
    events.push_back(std::move(event));
  }
  return events;
}

int RunBenchSignals(GlobalOptions global, const SignalsBenchArgs& args) {
  namespace fs = std::filesystem;
  const auto read_start = SteadyClock::now();
  auto events = ReadEvents((fs::path(args.data) / "events.csv").string(), args.events);
  if (!events.ok()) return ReportError(global, events.status());
  // As they would arrive: in time order, profiles interleaved.
  std::stable_sort(events->begin(), events->end(),
                   [](const EventInput& a, const EventInput& b) { return a.time < b.time; });
  const double read_seconds = SecondsSince(read_start);
  const std::string store = args.store.empty()
                                ? (fs::temp_directory_path() / "tailor-bench-signals").string()
                                : args.store;
  std::error_code ignored;
  fs::remove_all(store, ignored);
  ServiceOptions options;
  const Timestamp last = events->empty() ? 0 : events->back().time;
  options.clock = [last] { return last; };
  options.engine.store.create_if_missing = true;
  auto service = Service::Open(store, std::move(options));
  if (!service.ok()) return ReportError(global, service.status());
  const auto write_start = SteadyClock::now();
  for (size_t begin = 0; begin < events->size(); begin += args.batch) {
    const size_t count = std::min(args.batch, events->size() - begin);
    BatchReport report;
    Status written = (*service)->IngestEvents(
        std::span<const EventInput>(*events).subspan(begin, count), report);
    if (!written.ok()) return ReportError(global, written);
  }
  const double write_seconds = SecondsSince(write_start);
  const Service::Counters counters = (*service)->counters();

  // Reads of random profiles' signals and intent (the working set's state).
  std::vector<std::string> ids;
  for (const EventInput& e : *events) {
    if (!e.profile_id.empty()) ids.push_back(e.profile_id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<double> signal_us, intent_us;
  uint64_t state = 88172645463325252ull;
  for (size_t i = 0; i < args.reads && !ids.empty(); ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    const std::string& id = ids[state % ids.size()];
    auto start = SteadyClock::now();
    auto signals = (*service)->Signals(id, last);
    signal_us.push_back(SecondsSince(start) * 1e6);
    if (!signals.ok()) return ReportError(global, signals.status());
    start = SteadyClock::now();
    auto intent = (*service)->Intent(id, last);
    intent_us.push_back(SecondsSince(start) * 1e6);
    if (!intent.ok()) return ReportError(global, intent.status());
  }
  const double events_per_second = write_seconds > 0 ? events->size() / write_seconds : 0;
  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("benchmark")
        .String("signals")
        .Key("events")
        .Uint(events->size())
        .Key("batch")
        .Uint(args.batch)
        .Key("write_seconds")
        .Double(write_seconds)
        .Key("events_per_second")
        .Double(events_per_second)
        .Key("signal_events")
        .Uint(counters.signal_events)
        .Key("signal_rebuilds")
        .Uint(counters.signal_rebuilds)
        .Key("update_median_us")
        .Double(counters.signal_update_p50_us)
        .Key("update_p99_us")
        .Double(counters.signal_update_p99_us)
        .Key("signals_read_median_us")
        .Double(Percentile(signal_us, 0.5))
        .Key("signals_read_p99_us")
        .Double(Percentile(signal_us, 0.99))
        .Key("intent_read_median_us")
        .Double(Percentile(intent_us, 0.5))
        .Key("intent_read_p99_us")
        .Double(Percentile(intent_us, 0.99))
        .EndObject();
    std::printf("%s\n", json.str().c_str());
  } else {
    std::printf(
        "%zu events (read and sorted in %.1f s) written through the service in batches "
        "of %zu: %.1f s, %.0f events/s\n",
        events->size(), read_seconds, args.batch, write_seconds, events_per_second);
    std::printf(
        "signals and intent updated per event: median %.2f us, p99 %.2f us (%llu events "
        "folded, %llu profiles folded whole)\n",
        counters.signal_update_p50_us, counters.signal_update_p99_us,
        static_cast<unsigned long long>(counters.signal_events),
        static_cast<unsigned long long>(counters.signal_rebuilds));
    std::printf(
        "reading one profile (%zu random known profiles): signals median %.1f us, p99 "
        "%.1f us; intent median %.1f us, p99 %.1f us\n",
        signal_us.size(), Percentile(signal_us, 0.5), Percentile(signal_us, 0.99),
        Percentile(intent_us, 0.5), Percentile(intent_us, 0.99));
  }
  service->reset();
  fs::remove_all(store, ignored);
  return 0;
}

}  // namespace

void RegisterBenchSignals(CLI::App& bench, GlobalOptions& global, int& exit_code) {
  auto args = std::make_shared<SignalsBenchArgs>();
  CLI::App* command = bench.add_subcommand(
      "signals", "generated events written through the service: signals and intent per event");
  command->add_option("--data", args->data, "folder of the generator's events.csv")->required();
  command->add_option("--events", args->events, "the file's first rows (whole histories)")
      ->capture_default_str();
  command->add_option("--batch", args->batch, "events per write")->capture_default_str();
  command->add_option("--reads", args->reads, "profile reads timed")->capture_default_str();
  command->add_option("--store", args->store, "fresh store folder (default: a temporary one)");
  command->callback([&global, &exit_code, args] { exit_code = RunBenchSignals(global, *args); });
}

}  // namespace tailor::cli
