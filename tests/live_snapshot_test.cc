// The live snapshot, refreshed part by part as profiles change, equals a snapshot built from the
// whole store at every step: new profiles, new events, new traits (a schema change), merges,
// deletes, a new event field.

#include <gtest/gtest.h>

#include <random>

#include "tailor/engine.h"
#include "tailor/snapshot.h"
#include "test_util.h"

namespace tailor {
namespace {

using ::tailor::testing::TempDir;
constexpr Timestamp kT = 1'800'000'000'000;

// Everything a snapshot says, as text (codes decoded: dictionaries may number strings apart).
std::string Describe(const snapshot::Snapshot& s) {
  std::string out;
  const snapshot::EventColumns& events = s.events();
  std::vector<std::string> extra_names;
  for (const auto& [name, column] : events.extra) extra_names.push_back(name);
  std::sort(extra_names.begin(), extra_names.end());
  const auto text = [](const snapshot::EventStringColumn& column, size_t i) {
    return column.codes[i] == snapshot::kNullCode ? std::string("-")
                                                  : std::string(column.dictionary[column.codes[i]]);
  };
  for (ProfileId id = 0; id < s.profile_count(); ++id) {
    out += fmt::format("{} {}{} {}:", id, s.known().Test(id) ? "K" : "",
                       s.anonymous().Test(id) ? "A" : "", s.external_id(id));
    for (const snapshot::TraitColumn& trait : s.traits()) {
      if (!trait.present.Test(id)) continue;
      out += " " + trait.name + "=";
      switch (trait.type) {
        case TraitType::kString:
          out += trait.dictionary[trait.codes[id]];
          break;
        case TraitType::kDouble:
          out += fmt::format("{}", trait.doubles[id]);
          break;
        case TraitType::kStringList:
          for (uint32_t k = trait.list_offsets[id]; k < trait.list_offsets[id + 1]; ++k) {
            out += std::string(trait.dictionary[trait.list_codes[k]]) + ";";
          }
          break;
        default:
          out += fmt::format("{}", trait.ints[id]);
      }
    }
    for (uint64_t e = events.offsets[id]; e < events.offsets[id + 1]; ++e) {
      out += fmt::format(" [{} {} {} {} {} {} {}", events.time[e], events.types[events.type[e]],
                         events.value[e], events.price[e], events.quantity[e], text(events.item, e),
                         text(events.category, e));
      for (const std::string& name : extra_names) out += " " + text(events.extra.at(name), e);
      out += "]";
    }
    out += "\n";
  }
  return out;
}

TEST(LiveSnapshot, RefreshedPartsEqualAFullBuildAfterEveryStep) {
  TempDir dir;
  EngineOptions options;
  options.store.create_if_missing = true;
  options.clock = [] { return kT; };
  auto engine = Engine::Open(dir.path(), options);
  ASSERT_TRUE(engine.ok());
  Engine& e = **engine;
  // Parts of 16: a write touching at most 4 of a part's profiles is spliced, more reads it whole.
  snapshot::LiveSnapshot live(e.store(), /*part_profiles=*/16);
  e.AddCommitObserver([&live](std::span<const CommittedProfile> committed) {
    std::vector<ProfileId> ids;
    for (const CommittedProfile& profile : committed) ids.push_back(profile.id);
    live.MarkChanged(ids);
  });
  std::mt19937 random(5);
  const auto pick = [&](int n) { return static_cast<int>(random() % n); };
  std::vector<std::string> fields = {"order_id"};
  size_t rebuilt_total = 0, spliced_total = 0;
  for (int step = 0; step < 60; ++step) {
    const int what = pick(10);
    BatchReport report;
    if (what < 5) {
      std::vector<EventInput> events;
      for (int i = 0; i < 1 + pick(6); ++i) {
        EventInput event;
        event.profile_id = "p" + std::to_string(pick(40));
        if (pick(4) == 0) event.anonymous_id = "v" + std::to_string(pick(10));
        event.type = pick(2) == 0 ? "view" : "purchase";
        event.time = kT - pick(1000) * 1000;
        event.item_id = "i" + std::to_string(pick(5));
        // New strings now and then: a splice adds them to its part's dictionaries.
        event.category = pick(2) == 0 ? "" : "c" + std::to_string(pick(3 + step));
        event.order_id = pick(3) == 0 ? "o" + std::to_string(pick(9)) : "";
        event.context.utm_campaign = pick(2) == 0 ? "spring" : "";
        event.price = Decimal::FromUnits(pick(50));
        events.push_back(std::move(event));
      }
      ASSERT_OK(e.IngestEvents(events, report));
    } else if (what < 7) {
      // A new trait now and then: the schema changes and every part is read again.
      ProfileInput input{
          "p" + std::to_string(pick(40)),
          {{"t" + std::to_string(pick(6)), {TraitType::kInt, int64_t{pick(100)}}},
           {"tier", {TraitType::kString, "tier" + std::to_string(pick(step + 2))}},
           {"tags",
            {TraitType::kStringList, StringList{"a" + std::to_string(pick(step + 2)), "b"}}}}};
      ASSERT_OK(e.UpsertProfiles(std::span(&input, 1), report));
    } else if (what == 7) {
      Status merged =
          e.MergeProfiles("p" + std::to_string(pick(40)), "p" + std::to_string(pick(40)));
      ASSERT_TRUE(merged.ok() || merged.code() == StatusCode::kNotFound);
    } else if (what == 8) {
      Status deleted = e.DeleteProfile("p" + std::to_string(pick(40)));
      ASSERT_TRUE(deleted.ok() || deleted.code() == StatusCode::kNotFound);
    } else if (step > 30 && fields.size() == 1) {
      fields.push_back("utm_campaign");  // a new field: every part is read again
    }
    auto version = live.Refresh(
        [&e] {
          return snapshot::LiveSnapshot::Source{e.shared_schema(), e.profile_id_limit()};
        },
        fields);
    ASSERT_TRUE(version.ok()) << version.status().ToString();
    rebuilt_total += version->parts_rebuilt;
    spliced_total += version->parts_spliced;
    snapshot::SnapshotOptions full_options;
    full_options.event_fields = fields;
    auto full = e.BuildSnapshot(full_options);
    ASSERT_TRUE(full.ok());
    ASSERT_EQ(Describe(*version->snapshot), Describe(**full)) << "step " << step;
    EXPECT_EQ(live.marks(), version->marks_included);  // current: every change is in it
  }
  // Parts rebuilt only where something changed: far fewer than every part at every step.
  const size_t parts = (e.profile_id_limit() + 15) / 16;
  EXPECT_LT(rebuilt_total, parts * 60 / 2);
  EXPECT_GT(spliced_total, 20u);  // most changed parts were spliced, not read whole
}

}  // namespace
}  // namespace tailor
