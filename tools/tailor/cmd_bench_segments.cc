// tailor bench segments: evaluates a folder of segment rules (default: the 20 reference segments
// in bench/segments) and its priority schemes on the store, timing the snapshot and each rule.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "commands.h"
#include "progress.h"
#include "tailor/json_writer.h"
#include "tailor/live_segments.h"
#include "tailor/population.h"
#include "tailor/rule.h"
#include "tailor/segment_catalog.h"
#include "tailor/segments.h"

namespace tailor::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
// The clock of the generated reference data (../shared/bench, --now of gen_customers).
constexpr const char* kReferenceNow = "2026-11-01T00:00:00Z";

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Result<std::string> ReadText(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return IoError("cannot read '{}'", path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct SchemeMember {
  std::string name;
  std::optional<segments::Rule> rule;  // nullopt: otherwise
};

// docs/rule_language.md#schemes: `member: rule` lines in priority order, `otherwise` last.
Result<std::vector<SchemeMember>> ParseScheme(const std::string& text, const std::string& file) {
  std::vector<SchemeMember> members;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) {
      return InvalidArgument("{}:{}: expected 'member: rule'", file, number);
    }
    SchemeMember member;
    member.name = line.substr(start, colon - start);
    const std::string rule_text = line.substr(colon + 1);
    if (rule_text.find_first_not_of(" \t") != std::string::npos &&
        rule_text.substr(rule_text.find_first_not_of(" \t")) == "otherwise") {
      members.push_back(std::move(member));
      continue;
    }
    auto rule = segments::ParseRule(rule_text);
    if (!rule.ok()) return rule.status().WithContext(fmt::format("{}:{}", file, number));
    member.rule = std::move(rule).value();
    members.push_back(std::move(member));
  }
  return members;
}

int RunBenchSegments(const GlobalOptions& global, const std::string& rules_dir,
                     const std::string& now_text) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  // Rules, by file name.
  std::map<std::string, segments::Rule> rules;
  std::vector<std::pair<std::string, std::vector<SchemeMember>>> schemes;
  std::vector<fs::path> paths;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(rules_dir, error)) paths.push_back(entry.path());
  if (error)
    return ReportError(global, IoError("cannot list '{}': {}", rules_dir, error.message()));
  std::sort(paths.begin(), paths.end());
  for (const fs::path& path : paths) {
    auto text = ReadText(path);
    if (!text.ok()) return ReportError(global, text.status());
    if (path.extension() == ".rule") {
      auto rule = segments::ParseRule(*text);
      if (!rule.ok()) return ReportError(global, rule.status().WithContext(path.string()));
      rules.emplace(path.stem().string(), std::move(rule).value());
    } else if (path.extension() == ".scheme") {
      auto members = ParseScheme(*text, path.string());
      if (!members.ok()) return ReportError(global, members.status());
      schemes.emplace_back(path.stem().string(), std::move(members).value());
    }
  }
  // The reference data's clock, unless given.
  auto parsed_now = ParseNow(now_text, kReferenceNow);
  if (!parsed_now.ok()) return ReportError(global, parsed_now.status());
  const Timestamp now_millis = *parsed_now;

  const auto snapshot_start = Clock::now();
  std::vector<const segments::Rule*> reads;
  for (const auto& [name, rule] : rules) reads.push_back(&rule);
  for (const auto& [name, members] : schemes) {
    for (const SchemeMember& member : members) {
      if (member.rule) reads.push_back(&*member.rule);
    }
  }
  auto population = LoadPopulation(*engine, reads);
  if (!population.ok()) return ReportError(global, population.status());
  const std::unique_ptr<snapshot::Snapshot>& snap = (*population)->snapshot;
  const double snapshot_seconds = SecondsSince(snapshot_start);

  std::map<std::string, segments::ProfileSet> members;
  segments::EvalContext context = (*population)->Context(now_millis);
  context.segment = [&](std::string_view name) -> const segments::ProfileSet* {
    auto it = members.find(std::string(name));
    return it == members.end() ? nullptr : &it->second;
  };
  struct Timing {
    std::string name;
    uint64_t count;
    double seconds;
  };
  std::vector<Timing> timings;
  double total_seconds = 0;
  // Evaluate in rounds: a rule whose references are all evaluated goes next.
  while (members.size() < rules.size()) {
    bool progressed = false;
    for (const auto& [name, rule] : rules) {
      if (members.count(name)) continue;
      bool ready = true;
      for (const std::string& reference : segments::SegmentReferences(rule)) {
        ready = ready && members.count(reference) > 0;
      }
      if (!ready) continue;
      const auto start = Clock::now();
      auto set = segments::Evaluate(rule, context);
      const double seconds = SecondsSince(start);
      if (!set.ok()) return ReportError(global, set.status().WithContext(name));
      total_seconds += seconds;
      timings.push_back({name, set->cardinality(), seconds});
      members.emplace(name, std::move(set).value());
      progressed = true;
    }
    if (!progressed) {
      return ReportError(global, InvalidArgument("segments refer to unknown or cyclic segments"));
    }
  }
  std::sort(timings.begin(), timings.end(),
            [](const Timing& a, const Timing& b) { return a.name < b.name; });
  size_t bitmap_bytes = 0;
  for (const auto& [name, set] : members) bitmap_bytes += set.getSizeInBytes();

  // Baseline: one pass reading the event columns an event rule reads first (time, type and
  // the per-profile offsets), doing nothing but summing them: how long a scan bound by memory
  // bandwidth takes on this machine.
  const auto scan_start = Clock::now();
  const snapshot::EventColumns& columns = snap->events();
  uint64_t checksum = 0;
  for (uint32_t profile = 0; profile < snap->profile_count(); ++profile) {
    for (size_t row = columns.offsets[profile]; row < columns.offsets[profile + 1]; ++row) {
      checksum += static_cast<uint64_t>(columns.time[row]) + columns.type[row];
    }
  }
  const double scan_seconds = SecondsSince(scan_start);
  const double scan_gib_per_second =
      static_cast<double>(columns.size() * 12) / (1 << 30) / std::max(scan_seconds, 1e-9);

  // Schemes: each profile goes to its first matching member.
  struct MemberCount {
    std::string name;
    uint64_t count, unprioritized;
  };
  std::vector<std::pair<std::string, std::vector<MemberCount>>> scheme_counts;
  double scheme_seconds = 0;
  for (const auto& [scheme, scheme_members] : schemes) {
    const auto start = Clock::now();
    segments::ProfileSet assigned;
    std::vector<MemberCount> counts;
    segments::ProfileSet everyone;
    for (size_t word = 0; word < snap->known().words.size(); ++word) {
      for (int bit = 0; bit < 64; ++bit) {
        if ((snap->known().words[word] >> bit) & 1) everyone.add(word * 64 + bit);
      }
    }
    for (const SchemeMember& member : scheme_members) {
      segments::ProfileSet set = everyone;
      if (member.rule) {
        auto evaluated = segments::Evaluate(*member.rule, context);
        if (!evaluated.ok())
          return ReportError(global, evaluated.status().WithContext(member.name));
        set = std::move(evaluated).value();
      }
      const uint64_t unprioritized = set.cardinality();
      set -= assigned;
      counts.push_back({member.name, set.cardinality(), unprioritized});
      assigned |= set;
    }
    scheme_seconds += SecondsSince(start);
    scheme_counts.emplace_back(scheme, std::move(counts));
  }

  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("benchmark")
        .String("segments")
        .Key("profiles")
        .Uint(snap->known().Count())
        .Key("events")
        .Uint(snap->events().size())
        .Key("snapshot_seconds")
        .Double(snapshot_seconds)
        .Key("total_query_s")
        .Double(total_seconds)
        .Key("snapshot_memory_bytes")
        .Uint(snap->memory_bytes())
        .Key("queries")
        .BeginArray();
    for (const Timing& timing : timings) {
      json.BeginObject()
          .Key("name")
          .String(timing.name)
          .Key("count")
          .Uint(timing.count)
          .Key("seconds")
          .Double(timing.seconds)
          .EndObject();
    }
    json.EndArray().Key("scheme_seconds").Double(scheme_seconds).Key("schemes").BeginArray();
    for (const auto& [scheme, counts] : scheme_counts) {
      json.BeginObject().Key("name").String(scheme).Key("members").BeginArray();
      for (const MemberCount& member : counts) {
        json.BeginObject()
            .Key("member")
            .String(member.name)
            .Key("count")
            .Uint(member.count)
            .Key("unprioritized")
            .Uint(member.unprioritized)
            .EndObject();
      }
      json.EndArray().EndObject();
    }
    json.EndArray().Key("peak_rss_bytes").Uint(PeakRssBytes()).EndObject();
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  std::printf("snapshot of %zu profiles, %zu events in %.2f s\n", snap->known().Count(),
              snap->events().size(), snapshot_seconds);
  for (const Timing& timing : timings) {
    std::printf("  %-40s %9llu  %8.4f s\n", timing.name.c_str(),
                static_cast<unsigned long long>(timing.count), timing.seconds);
  }
  std::printf("%zu segments in %.3f s\n", timings.size(), total_seconds);
  std::printf(
      "one pass over the event time and type columns (single thread): %.3f s, %.1f GiB/s "
      "(checksum %llu)\n",
      scan_seconds, scan_gib_per_second, static_cast<unsigned long long>(checksum));
  std::printf(
      "memory: snapshot %.0f MiB (%.0f bytes per profile), segment bitmaps %.1f MiB "
      "(%.2f bytes per profile per segment)\n",
      snap->memory_bytes() / 1048576.0,
      static_cast<double>(snap->memory_bytes()) / std::max<size_t>(snap->known().Count(), 1),
      bitmap_bytes / 1048576.0,
      static_cast<double>(bitmap_bytes) /
          std::max<size_t>(snap->known().Count() * std::max<size_t>(members.size(), 1), 1));
  for (const auto& [scheme, counts] : scheme_counts) {
    std::printf("scheme %s\n", scheme.c_str());
    for (const MemberCount& member : counts) {
      std::printf("  %-20s %9llu  (%llu without priority)\n", member.name.c_str(),
                  static_cast<unsigned long long>(member.count),
                  static_cast<unsigned long long>(member.unprioritized));
    }
  }
  std::printf("schemes in %.3f s, peak memory %.0f MiB\n", scheme_seconds,
              PeakRssBytes() / 1048576.0);
  return 0;
}

// tailor bench live: the real-time path for N events on random profiles: store the event, read
// the profile back, re-decide every catalogue segment for it, feed the changes. Run `tailor
// segment eval` first (the starting members).
int RunBenchLive(const GlobalOptions& global, size_t events, const std::string& now_text) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  segments::SegmentCatalog catalog(engine->store());
  auto live = segments::LiveSegments::Load(catalog);
  if (!live.ok()) return ReportError(global, live.status());
  auto item_catalog = LoadItemCatalog(*engine);
  if (!item_catalog.ok()) return ReportError(global, item_catalog.status());
  auto parsed_now = ParseNow(now_text, kReferenceNow);
  if (!parsed_now.ok()) return ReportError(global, parsed_now.status());
  const Timestamp now = *parsed_now;
  const uint64_t profiles = engine->Stats().profiles;
  if (profiles == 0) return ReportError(global, FailedPrecondition("the store has no profiles"));
  // xorshift seeded by --now: the same run picks the same profiles, another now others.
  uint64_t state = 88172645463325252ull ^ static_cast<uint64_t>(now);
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  std::vector<double> update_us, total_us;
  size_t changes_fed = 0;
  for (size_t i = 0; i < events; ++i) {
    EventInput event;
    event.id = fmt::format("bench-live-{}-{}", now, i);
    event.profile_id = fmt::format("c{:07}", 1 + next() % profiles);
    event.type = next() % 2 ? "purchase" : "add_to_cart";
    event.time = now - static_cast<Timestamp>(next() % 86'400'000);
    event.item_id = "i000001";
    event.category = "golf_clubs";
    event.price = Decimal::FromMicros(99'500'000);
    event.quantity = 1;
    const auto start = Clock::now();
    BatchReport report;
    Status stored = engine->IngestEvents(std::vector<EventInput>{event}, report);
    if (!stored.ok()) return ReportError(global, stored);
    auto view = engine->GetProfile(event.profile_id, 0);
    if (!view.ok()) return ReportError(global, view.status());
    auto history = engine->Events(view->id);
    if (!history.ok()) return ReportError(global, history.status());
    const segments::ProfileRow row{view->id, &view->traits, *history, &*item_catalog, now, {}};
    const auto update_start = Clock::now();
    std::vector<segments::MembershipChange> changes =
        (*live)->Update(row, segments::ProfileChange{{}, {event.type}, false});
    update_us.push_back(SecondsSince(update_start) * 1e6);
    Status fed = catalog.AppendChanges(changes);
    if (!fed.ok()) return ReportError(global, fed);
    changes_fed += changes.size();
    total_us.push_back(SecondsSince(start) * 1e6);
  }
  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("benchmark")
        .String("live")
        .Key("events")
        .Uint(events)
        .Key("segments")
        .Uint((*live)->segment_count())
        .Key("changes_fed")
        .Uint(changes_fed)
        .Key("update_median_us")
        .Double(Percentile(update_us, 0.5))
        .Key("update_p99_us")
        .Double(Percentile(update_us, 0.99))
        .Key("total_median_us")
        .Double(Percentile(total_us, 0.5))
        .Key("total_p99_us")
        .Double(Percentile(total_us, 0.99))
        .EndObject();
    std::printf("%s\n", json.str().c_str());
  } else {
    std::printf("%zu events on random profiles, %zu segments, %zu membership changes fed\n", events,
                (*live)->segment_count(), changes_fed);
    std::printf("re-deciding the segments for the profile: median %.1f us, p99 %.1f us\n",
                Percentile(update_us, 0.5), Percentile(update_us, 0.99));
    std::printf(
        "whole path (store event, read profile + history, decide, feed): median %.1f us, "
        "p99 %.1f us\n",
        Percentile(total_us, 0.5), Percentile(total_us, 0.99));
  }
  return 0;
}

}  // namespace

void RegisterBenchSegments(CLI::App& bench, GlobalOptions& global, int& exit_code) {
  auto rules_dir = std::make_shared<std::string>("bench/segments");
  auto now = std::make_shared<std::string>();
  CLI::App* command = bench.add_subcommand(
      "segments", "evaluate the segments (.rule) and schemes (.scheme) of a folder on the store");
  command->add_option("--rules", *rules_dir, "folder of .rule and .scheme files")
      ->capture_default_str();
  command->add_option("--now", *now, "evaluation time (default 2026-11-01T00:00:00Z, the data's)");
  command->callback([&global, &exit_code, rules_dir, now] {
    exit_code = RunBenchSegments(global, *rules_dir, *now);
  });
  auto events = std::make_shared<size_t>(2000);
  auto live_now = std::make_shared<std::string>();
  CLI::App* live = bench.add_subcommand(
      "live", "per-event membership updates on random profiles (after `tailor segment eval`)");
  live->add_option("--events", *events)->capture_default_str();
  live->add_option("--now", *live_now, "evaluation time (default 2026-11-01T00:00:00Z)");
  live->callback([&global, &exit_code, events, live_now] {
    exit_code = RunBenchLive(global, *events, *live_now);
  });
}

}  // namespace tailor::cli
