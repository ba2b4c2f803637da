// `tailor signals ID`: one profile's real-time signals (include/tailor/signals.h).

#include <cmath>
#include <cstdio>

#include "commands.h"
#include "tailor/json_writer.h"
#include "tailor/signals.h"

namespace tailor::cli {
namespace {

struct SignalsArgs {
  std::string id, now;
  double affinity_half_life_days = 30;
};

void PrintTop(const signals::SignalState& state, std::string_view dimension, Timestamp now) {
  const auto top = state.Top(dimension, now);
  if (top.empty()) return;
  std::printf("  %-11s", std::string(dimension).c_str());
  for (size_t i = 0; i < std::min<size_t>(5, top.size()); ++i) {
    std::printf(" %s %.2f", top[i].first.c_str(), top[i].second / top.front().second);
  }
  std::printf("\n");
}

int Run(const GlobalOptions& global, const SignalsArgs& args) {
  auto now = ParseNow(args.now);
  if (!now.ok()) return ReportError(global, now.status());
  TraitMap traits;
  std::shared_ptr<const signals::StoreIndex> stores;
  auto events = ProfileEvents(global, args.id, &traits, &stores);
  if (!events.ok()) return ReportError(global, events.status());
  signals::SignalOptions options;
  options.affinity_half_life_days = args.affinity_half_life_days;
  options.time_zone = signals::ProfileTimeZone(traits);  // usual hours in their local time
  signals::SignalState state(options);
  for (const EventInput& event : *events) {
    if (event.time <= *now) state.Add(event);  // as of --now: nothing after it
  }
  signals::PlaceContext place;
  place.home = signals::HomeOf(traits);
  place.stores = stores.get();
  if (global.json) {
    JsonWriter json;
    signals::WriteSignals(json, state, *now, place);
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  const auto touch = [](const char* name, const std::optional<signals::Touch>& t) {
    if (!t) return;
    std::printf("  %-14s %s / %s%s%s (%s), %s\n", name, t->source.c_str(), t->medium.c_str(),
                t->campaign.empty() ? "" : " / ", t->campaign.c_str(),
                std::string(signals::ReferrerClassName(t->referrer_class)).c_str(),
                IsoTime(t->time).c_str());
  };
  std::printf("%s: %llu events\nacquisition\n", args.id.c_str(),
              static_cast<unsigned long long>(state.events()));
  touch("first touch", state.first_touch());
  touch("last touch", state.last_touch());
  touch("this session", state.session_touch());
  std::printf("affinity (1 = the strongest of its kind, %.0f-day half-life)\n",
              options.affinity_half_life_days);
  for (std::string_view dimension : {"category", "brand", "price_band", "item"}) {
    PrintTop(state, dimension, *now);
  }
  if (!state.searches().empty()) {
    std::printf("searches:");
    for (const std::string& query : state.searches()) std::printf(" \"%s\"", query.c_str());
    std::printf("\n");
  }
  std::printf("engagement: email open rate %.2f, click rate %.2f%s\n",
              state.OpenRate("email", *now), state.ClickRate("email", *now),
              state.unsubscribed() ? " (unsubscribed)" : "");
  const auto& s = state.sessions();
  std::printf("sessions: %llu, mean %.1f min; last started %s; usual hour %d, weekday %d (%s)\n",
              static_cast<unsigned long long>(s.count), s.mean_minutes(),
              s.count ? IsoTime(s.current_start).c_str() : "-", state.usual_hour(),
              state.usual_weekday(), options.time_zone.empty() ? "UTC" : options.time_zone.c_str());
  const auto& p = state.purchases();
  std::printf("purchases: %llu", static_cast<unsigned long long>(p.count));
  if (p.count > 1) {
    std::printf(", every %.1f days; next expected %s", p.mean_gap_days(),
                IsoTime(p.expected_next()).c_str());
  }
  std::printf("\n");
  if (!state.country().empty() || !state.city().empty()) {
    std::printf("place: %s %s (%s)\n", state.country().c_str(), state.city().c_str(),
                IsoTime(state.place_time()).c_str());
  }
  const signals::Whereabouts where = state.WhereaboutsAt(*now, place);
  if (where.position) {
    std::printf("position: %.5f, %.5f", where.position->latitude, where.position->longitude);
    if (where.accuracy_km > 0) std::printf(" (within %.0f km)", where.accuracy_km);
    std::printf(", %s%s", IsoTime(where.time).c_str(), where.current ? " (now)" : "");
    if (where.distance_home_km) std::printf("; %.2f km from home", *where.distance_home_km);
    if (where.nearest_store) {
      std::printf("; nearest store %s at %.2f km%s", where.nearest_store->id.c_str(),
                  where.nearest_store->km, where.near_store ? " (near it now)" : "");
    }
    std::printf("\n");
  }
  return 0;
}

}  // namespace

void RegisterSignals(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto args = std::make_shared<SignalsArgs>();
  CLI::App* command = app.add_subcommand(
      "signals", "one profile's real-time signals: touches, affinity, engagement, sessions");
  command->add_option("id", args->id, "profile, anonymous or merged-away id")->required();
  command->add_option("--now", args->now, "as of this time (default: the clock)");
  command->add_option("--affinity-half-life-days", args->affinity_half_life_days)
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->callback([&, args] { exit_code = Run(global, *args); });
}

}  // namespace tailor::cli
