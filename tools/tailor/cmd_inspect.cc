// tailor stats | profile show|delete|merge | identify | schema show|set-category

#include <cstdio>

#include "commands.h"
#include "progress.h"
#include "tailor/json_writer.h"
#include "tailor/population.h"
#include "tailor/profile_json.h"
#include "tailor/signals.h"

namespace tailor::cli {
namespace {

std::string TimeText(Timestamp time) { return IsoTime(time); }
void WriteValue(JsonWriter& json, const TypedValue& value) { WriteTypedValue(json, value); }

std::string ValueText(const TypedValue& value) {
  JsonWriter json;
  WriteValue(json, value);
  return json.str();
}

int RunStats(const GlobalOptions& global) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  const EngineStats stats = engine->Stats();
  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("data_dir")
        .String(global.data_dir)
        .Key("profiles")
        .Uint(stats.profiles)
        .Key("anonymous_profiles")
        .Uint(stats.anonymous_profiles)
        .Key("events")
        .Uint(stats.events)
        .Key("items")
        .Uint(stats.items)
        .Key("traits")
        .Uint(engine->schema().traits().size())
        .Key("bytes_on_disk")
        .Uint(stats.bytes_on_disk)
        .Key("memtable_bytes")
        .Uint(stats.memtable_bytes)
        .Key("process_peak_rss_bytes")
        .Uint(PeakRssBytes())
        .Key("tables")
        .BeginObject();
    for (const auto& [name, size] : stats.tables) {
      json.Key(name)
          .BeginObject()
          .Key("sst_bytes")
          .Uint(size.live_bytes_on_disk)
          .Key("memtable_bytes")
          .Uint(size.memtable_bytes)
          .Key("estimated_keys")
          .Uint(size.estimated_keys)
          .EndObject();
    }
    json.EndObject().EndObject();
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  std::printf("store        %s\n", global.data_dir.c_str());
  std::printf("profiles     %llu known, %llu anonymous\n",
              static_cast<unsigned long long>(stats.profiles),
              static_cast<unsigned long long>(stats.anonymous_profiles));
  std::printf("events       %llu\n", static_cast<unsigned long long>(stats.events));
  std::printf("items        %llu\n", static_cast<unsigned long long>(stats.items));
  std::printf("traits       %zu\n", engine->schema().traits().size());
  std::printf("on disk      %.1f MiB (+ %.1f MiB in memtables)\n", stats.bytes_on_disk / 1048576.0,
              stats.memtable_bytes / 1048576.0);
  std::printf("memory       %.1f MiB peak resident\n", PeakRssBytes() / 1048576.0);
  return 0;
}

int RunProfileShow(const GlobalOptions& global, const std::string& id, size_t events) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  auto profile = engine->GetProfile(id, events);
  if (!profile.ok()) return ReportError(global, profile.status());
  const ProfileView& view = *profile;
  if (global.json) {
    JsonWriter json;
    WriteProfileJson(json, view, /*segments=*/nullptr, view.latest_events);
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  std::printf("profile %s%s (internal id %u)\n", view.external_id.c_str(),
              view.anonymous ? " [anonymous]" : "", view.id);
  std::printf("\ntraits\n");
  for (const auto& [name, value] : view.traits) {
    std::printf("  %-20s %s\n", name.c_str(), ValueText(value).c_str());
  }
  if (!view.aliases.empty()) {
    std::printf("\naliases\n");
    for (const std::string& alias : view.aliases) std::printf("  %s\n", alias.c_str());
  }
  std::printf("\nbehaviour: %llu events",
              static_cast<unsigned long long>(view.behaviour.event_count));
  if (view.behaviour.event_count > 0) {
    std::printf(", first %s, last %s", TimeText(view.behaviour.first_seen).c_str(),
                TimeText(view.behaviour.last_seen).c_str());
  }
  std::printf("\n");
  for (const auto& [type, aggregate] : view.behaviour.by_type) {
    std::printf("  %-18s %6llu  value %10s  last %s\n", type.c_str(),
                static_cast<unsigned long long>(aggregate.count),
                aggregate.value_sum.ToString().c_str(), TimeText(aggregate.last).c_str());
  }
  // Signals: what the events say of the person right now (tailor signals ID for all of them).
  if (auto all = engine->Events(view.id); all.ok() && !all->empty()) {
    signals::SignalOptions options;
    options.time_zone = signals::ProfileTimeZone(view.traits);
    signals::SignalState state(options);
    for (const EventInput& event : *all) state.Add(event);
    const Timestamp now = std::max(state.sessions().current_last, state.purchases().last);
    std::printf("\nsignals (as of the latest event; tailor signals %s for all)\n", id.c_str());
    if (state.first_touch()) {
      std::printf(
          "  first touch        %s (%s)\n", state.first_touch()->source.c_str(),
          std::string(signals::ReferrerClassName(state.first_touch()->referrer_class)).c_str());
    }
    for (std::string_view dimension : {"category", "brand"}) {
      const auto top = state.Top(dimension, now);
      if (top.empty()) continue;
      std::printf("  top %-14s %s\n", std::string(dimension).c_str(), top.front().first.c_str());
    }
    std::printf("  sessions           %llu, usual hour %d (%s)\n",
                static_cast<unsigned long long>(state.sessions().count), state.usual_hour(),
                options.time_zone.empty() ? "UTC" : options.time_zone.c_str());
    if (state.purchases().count > 1) {
      std::printf("  purchases          every %.1f days, next expected %s\n",
                  state.purchases().mean_gap_days(),
                  TimeText(state.purchases().expected_next()).c_str());
    }
    if (state.position()) {  // where they were last seen, against home and the stores
      auto items = LoadItemCatalog(*engine);
      const std::shared_ptr<const signals::StoreIndex> stores =
          items.ok() ? StoreIndexOf(*items) : nullptr;
      signals::PlaceContext place;
      place.home = signals::HomeOf(view.traits);
      place.stores = stores.get();
      const signals::Whereabouts where = state.WhereaboutsAt(state.position_time(), place);
      std::printf("  last position      %.5f, %.5f (%s)", where.position->latitude,
                  where.position->longitude, TimeText(where.time).c_str());
      if (where.distance_home_km) std::printf(", %.1f km from home", *where.distance_home_km);
      if (where.nearest_store) {
        std::printf(", store %s at %.2f km", where.nearest_store->id.c_str(),
                    where.nearest_store->km);
      }
      std::printf("\n");
    }
  }
  std::printf("\nlatest events\n");
  for (const auto& event : view.latest_events) {
    std::printf("  %s  %-16s %s %s%s\n", TimeText(event.time).c_str(), event.type.c_str(),
                event.item_id.c_str(), event.category.c_str(),
                event.context.page_url.empty() ? "" : (" " + event.context.page_url).c_str());
  }
  return 0;
}

int RunSimpleWrite(const GlobalOptions& global, const std::function<Status(Engine&)>& action,
                   const std::string& done) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  Status status = action(*engine);
  if (!status.ok()) return ReportError(global, status);
  if (global.json) {
    JsonWriter json;
    json.BeginObject().Key("ok").Bool(true).Key("message").String(done).EndObject();
    std::printf("%s\n", json.str().c_str());
  } else {
    std::printf("%s\n", done.c_str());
  }
  return 0;
}

int RunSchemaShow(const GlobalOptions& global) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  const Schema schema = engine->schema();
  if (global.json) {
    JsonWriter json;
    json.BeginObject().Key("traits").BeginArray();
    for (const TraitDef& trait : schema.traits()) {
      WriteTraitDef(json, trait);
    }
    json.EndArray().EndObject();
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  for (const TraitDef& trait : schema.traits()) {
    std::printf("%-22s %-10s %s\n", trait.name.c_str(),
                std::string(TraitTypeName(trait.type)).c_str(),
                std::string(TraitCategoryName(trait.category)).c_str());
  }
  return 0;
}

}  // namespace

void RegisterInspect(CLI::App& app, GlobalOptions& global, int& exit_code) {
  app.add_subcommand("stats", "counts and sizes of the store")->callback([&] {
    exit_code = RunStats(global);
  });

  CLI::App* profile = app.add_subcommand("profile", "show, delete or merge profiles");
  profile->require_subcommand(1);
  auto show_id = std::make_shared<std::string>();
  auto show_events = std::make_shared<size_t>(10);
  CLI::App* show = profile->add_subcommand("show", "traits, behaviour and latest events");
  show->add_option("id", *show_id, "profile id (or an anonymous id linked to it)")->required();
  show->add_option("--events", *show_events, "how many latest events")->capture_default_str();
  show->callback(
      [&, show_id, show_events] { exit_code = RunProfileShow(global, *show_id, *show_events); });
  auto delete_id = std::make_shared<std::string>();
  CLI::App* remove = profile->add_subcommand("delete", "forget a profile and all its events");
  remove->add_option("id", *delete_id)->required();
  remove->callback([&, delete_id] {
    exit_code = RunSimpleWrite(
        global, [&](Engine& engine) { return engine.DeleteProfile(*delete_id); },
        fmt::format("deleted {}", *delete_id));
  });
  auto merge_into = std::make_shared<std::string>();
  auto merge_from = std::make_shared<std::string>();
  CLI::App* merge = profile->add_subcommand("merge", "merge profile FROM into INTO");
  merge->add_option("into", *merge_into)->required();
  merge->add_option("from", *merge_from)->required();
  merge->callback([&, merge_into, merge_from] {
    exit_code = RunSimpleWrite(
        global, [&](Engine& engine) { return engine.MergeProfiles(*merge_into, *merge_from); },
        fmt::format("merged {} into {}", *merge_from, *merge_into));
  });

  auto anonymous_id = std::make_shared<std::string>();
  auto known_id = std::make_shared<std::string>();
  CLI::App* identify = app.add_subcommand("identify", "link an anonymous id to a known profile");
  identify->add_option("anonymous_id", *anonymous_id)->required();
  identify->add_option("profile_id", *known_id)->required();
  identify->callback([&, anonymous_id, known_id] {
    exit_code = RunSimpleWrite(
        global, [&](Engine& engine) { return engine.Identify(*anonymous_id, *known_id); },
        fmt::format("{} is now {}", *anonymous_id, *known_id));
  });

  app.add_subcommand("compact", "rewrite the store's files into their final levels")->callback([&] {
    exit_code = RunSimpleWrite(
        global, [](Engine& engine) { return engine.Compact(); }, "compacted");
  });

  CLI::App* schema = app.add_subcommand("schema", "show traits or change a trait's category");
  schema->require_subcommand(1);
  schema->add_subcommand("show", "traits with type and category")->callback([&] {
    exit_code = RunSchemaShow(global);
  });
  auto trait_name = std::make_shared<std::string>();
  auto category_name = std::make_shared<std::string>();
  CLI::App* set_category = schema->add_subcommand("set-category", "change a trait's category");
  set_category->add_option("trait", *trait_name)->required();
  set_category->add_option("category", *category_name)->required();
  set_category->callback([&, trait_name, category_name] {
    const auto category = ParseTraitCategory(*category_name);
    if (!category) {
      exit_code = ReportError(global, InvalidArgument("unknown category '{}'", *category_name));
      return;
    }
    exit_code = RunSimpleWrite(
        global, [&](Engine& engine) { return engine.SetTraitCategory(*trait_name, *category); },
        fmt::format("{} is {}", *trait_name, *category_name));
  });
}

}  // namespace tailor::cli
